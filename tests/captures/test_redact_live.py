"""Live captures with ``--redact`` (librdkafka's mock cluster, moto): a rule that matches nothing
is one warning line on stderr and listed in the manifest, also after ``--resume``; a bad rule is
refused before the source is contacted."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from replay.formats.capture import read_capture
from tests.captures.conftest import Aws
from tests.captures.util import all_bytes, now_ms, put_kinesis

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _produce(boot: str, topic: str, n: int, t0: int, secrets: int) -> None:
    """``n`` records on partition 0; the first ``secrets`` carry a ``secret`` field."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": boot, "linger.ms": 5, "enable.idempotence": True})
    for i in range(n):
        doc = {"i": i, **({"secret": f"s3cr3t-{i}"} if i < secrets else {})}
        p.produce(
            topic,
            partition=0,
            key=f"k{i}".encode(),
            value=json.dumps(doc).encode(),
            headers=[("trace", b"t")],
            timestamp=t0 + i,
        )
    assert p.flush(15) == 0


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_kafka_unmatched_rules_are_reported_also_after_resume(
    kafka_bootstrap: str, run_cli: RunCli, tmp_path: Path
) -> None:
    t0 = now_ms() - 10_000
    _produce(kafka_bootstrap, "k-redact", 40, t0, secrets=10)
    args = ["capture", "kafka", "--bootstrap", kafka_bootstrap, "--topic", "k-redact",
            "--from", str(t0 / 1000), "--to", str((t0 + 39) / 1000)]  # fmt: skip
    rules = ["--redact", "$.secret", "--redact", "$.secrte", "--redact", "header:trace"]
    full = tmp_path / "full"
    proc = run_cli(*args, "-o", str(full), *rules)
    assert _warnings(proc.stderr) == [
        "warning: --redact '$.secrte' matched nothing in 40 record(s)"
    ]
    cap = read_capture(full)
    assert cap.records.num_rows == 40 and b"s3cr3t" not in all_bytes(full)
    red = cap.manifest.redaction
    assert red is not None and red["unmatched"] == [{"target": "$.secrte", "method": "mask"}]
    assert red["records_redacted"] == 40  # every record had the header

    # An interrupted capture holding offsets 0..9 (the only ones with a secret), resumed: the
    # resumed run sees no secret, yet the rule matched -- in the part already written.
    cut = tmp_path / "cut"
    (cut / "records").mkdir(parents=True)
    table = pq.read_table(full / "records" / "part-00000.parquet")
    pq.write_table(
        table.filter(pc.less(table.column("offset"), 10)), cut / "records" / "part-00000.parquet"
    )
    manifest = json.loads((full / "manifest.json").read_text())
    manifest.update(complete=False, checkpoints={"k-redact-0": "9"})
    (cut / "manifest.json").write_text(json.dumps(manifest))
    proc = run_cli(*args, "-o", str(cut), "--resume", *rules)
    assert _warnings(proc.stderr) == [
        "warning: --redact '$.secrte' matched nothing in 40 record(s)"
    ]
    resumed = read_capture(cut)
    assert resumed.records.num_rows == 40 and b"s3cr3t" not in all_bytes(cut)
    assert resumed.manifest.redaction == red

    # Resuming with other rules would redact the rest differently: refused, nothing changes.
    (cut / "manifest.json").write_text(json.dumps(manifest))  # incomplete again
    before = all_bytes(cut)
    proc = run_cli(*args, "-o", str(cut), "--resume", "--redact", "$.secret", check=False)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "--resume: the capture was started with --redact '$.secret=mask'" in proc.stderr
    assert all_bytes(cut) == before


def kinesis_stream(aws: Aws, name: str, shards: int, records: int) -> tuple[Any, int]:
    """A new stream holding ``records`` records; its client and the time just before the puts."""
    k = aws.client("kinesis")
    k.create_stream(StreamName=name, ShardCount=shards)
    t_from = now_ms()
    put_kinesis(k, name, 0, records)
    time.sleep(0.05)
    return k, t_from


def test_kinesis_unmatched_rule_warning(aws: Aws, run_cli: RunCli, tmp_path: Path) -> None:
    _, t_from = kinesis_stream(aws, "pii-w", 1, 5)
    out = tmp_path / "k"
    proc = run_cli(
        "capture", "kinesis", "pii-w", "--from", str(t_from / 1000), "--to", str(now_ms() / 1000),
        "--no-follow", "-o", str(out), *aws.cli, "--redact", "$.i", "--redact", "$.id",
        "--redact", "attribute:x",
    )  # fmt: skip
    assert _warnings(proc.stderr) == [
        "warning: --redact '$.id' matched nothing in 5 record(s)",
        "warning: --redact 'attribute:x' matched nothing in 5 record(s) "
        "(attribute: rules apply to dynamodb and sqs records only)",
    ]
    redaction = read_capture(out).manifest.redaction
    assert redaction is not None
    assert [u["target"] for u in redaction["unmatched"]] == ["$.id", "attribute:x"]


def test_a_bad_rule_is_refused_before_the_source_is_contacted(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "k"
    proc = run_cli(
        "capture", "kafka", "--bootstrap", f"127.0.0.1:{port}", "--topic", "t", "--from", "0",
        "--to", "now", "-o", str(out), "--redact", "$.secret=rot13", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "unknown method 'rot13'" in proc.stderr
    assert not out.exists()
