"""capture kafka against librdkafka's mock cluster in another process: 6 partitions, a window.

The mock answers -1 to offsets_for_times (tooling.md 3), so the time range is found by scanning;
``--scan`` and the fallback are the same code path here. The capture must never commit offsets.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from captures.common import Window
from captures.kafka import KafkaOptions, capture_kafka
from replay.formats.capture import read_capture
from tests.captures.util import now_ms


def _produce(boot: str, topic: str, n: int, t0: int, step_ms: int = 10) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": boot, "linger.ms": 5, "enable.idempotence": True})
    for i in range(n):
        p.produce(
            topic,
            key=f"k{i % 13}".encode(),
            value=json.dumps({"i": i}).encode(),
            headers=[("trace", f"t{i}".encode()), ("bin", b"\x00\xff")],
            timestamp=t0 + i * step_ms,
        )
    assert p.flush(15) == 0


def test_six_partitions_window_by_scanning_no_commits(
    kafka_bootstrap: str, run_cli, tmp_path: Path
) -> None:
    t0 = now_ms() - 60_000
    _produce(kafka_bootstrap, "orders", 600, t0)
    out = tmp_path / "k"
    start, end = t0 + 1000, t0 + 3990  # records 100..399
    run_cli(
        "capture",
        "kafka",
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        "orders",
        "--from",
        str(start / 1000),
        "--to",
        str(end / 1000),
        "-o",
        str(out),
    )
    cap = read_capture(out)
    m = cap.manifest
    assert m.source.kind.value == "kafka" and m.source.settings["Partitions"] == 6
    assert len(m.shards) == 6
    recs = cap.records.to_pylist()
    assert sorted(json.loads(r["data"])["i"] for r in recs) == list(range(100, 400))
    for shard in {r["shard"] for r in recs}:
        offs = [r["offset"] for r in recs if r["shard"] == shard]
        assert offs == list(range(offs[0], offs[0] + len(offs)))  # contiguous, in order
        lo, hi = m.source.settings["offsets"][shard]
        assert (lo, hi) == (offs[0], offs[-1] + 1)
    r = recs[0]
    assert r["timestamp_type"] == "CREATE_TIME" and r["key"] == r["key_bytes"].decode()
    assert json.loads(r["headers"])[1] == {"bin": [0, 255]}
    # Per key, records keep the order they were produced in.
    by_key: dict[str, list[int]] = {}
    for rec in sorted(recs, key=lambda x: (x["shard"], x["pos"])):
        by_key.setdefault(rec["key"], []).append(json.loads(rec["data"])["i"])
    assert all(v == sorted(v) for v in by_key.values())
    # Nothing was committed under the group id librdkafka required.
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": "esm-replay-capture-never-joins"}
    )
    committed = c.committed([TopicPartition("orders", p) for p in range(6)], timeout=10)
    c.close()
    assert all(tp.offset < 0 for tp in committed)


def test_resume_reads_the_stored_plan(kafka_bootstrap: str, tmp_path: Path) -> None:
    t0 = now_ms() - 30_000
    _produce(kafka_bootstrap, "k-resume", 300, t0)
    window = Window(t0, t0 + 2990)
    opts = KafkaOptions(kafka_bootstrap)
    clean = capture_kafka(opts, "k-resume", window, str(tmp_path / "clean"))
    # An interrupted capture: the plan and one part are on disk, the manifest says incomplete.
    part = capture_kafka(opts, "k-resume", window, str(tmp_path / "cut"), flush_rows=50)
    man = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    man["complete"] = False
    (tmp_path / "cut" / "manifest.json").write_text(json.dumps(man))
    parts = sorted((tmp_path / "cut" / "records").glob("part-*.parquet"))
    for p in parts[2:]:
        p.unlink()
    _produce(kafka_bootstrap, "k-resume", 50, t0 + 100)  # later writes must not leak in
    resumed = capture_kafka(opts, "k-resume", window, str(tmp_path / "cut"), resume=True)
    assert part.records.num_rows == clean.records.num_rows == resumed.records.num_rows == 300
    cols = ["shard", "seq", "pos", "data"]
    assert resumed.records.select(cols).equals(clean.records.select(cols))
    time.sleep(0)
