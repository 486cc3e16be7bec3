"""explain: membership derived from ranges equals the engine's own, and golden explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from replay.analysis.explain import explain_record
from replay.analysis.membership import carriers, exact_carriers
from replay.analysis.timeline import explain_shard
from replay.cli.main import app
from replay.engine.runner import replay
from replay.engine.streams import StreamEngine
from replay.formats.capture import read_capture, write_capture
from replay.formats.runfiles import read_run
from replay.function import Duration, Fault, FunctionModel
from replay.lanes import lane_of
from replay.testing import Rec, make_capture, msg, rec, simulate
from replay.vocabulary import SourceKind
from tests.replay.support import golden, small_demo

POISON = "shardId-000000000003#537"  # the demo's schema-2 record in the 6,000-record variant


def _records(n: int, keys: int, spacing: float, shards: int = 1) -> list[Rec]:
    return [
        rec(
            f"k{i % keys}",
            {"n": i, "bad": i % 11 == 5},
            at=i * spacing,
            shard=f"s{i % shards}",
            name=f"r{i}",
        )
        for i in range(n)
    ]


def _partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed = [r["kinesis"]["sequenceNumber"] for r in event["Records"] if '"bad":true' in _data(r)]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed[:1]]}


def _data(record: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(record["kinesis"]["data"]).decode()


BAD = Fault(when="json_extract(data, '$.bad')::BOOLEAN", error="Unhandled")
SCENARIOS: dict[str, tuple[list[Rec], dict[str, Any], Any]] = {
    "bisect and retries": (
        _records(60, 7, 0.05),
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 10,
            "MaximumRetryAttempts": 2,
            "BisectBatchOnFunctionError": True,
        },
        FunctionModel(faults=(BAD,)),
    ),
    "parallelization factor 3": (
        _records(80, 9, 0.02, shards=2),
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 5,
            "ParallelizationFactor": 3,
            "MaximumRetryAttempts": 1,
        },
        FunctionModel(faults=(BAD,)),
    ),
    "record age while retrying": (
        _records(40, 3, 0.5),
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 4,
            "MaximumRecordAgeInSeconds": 60,
            "MaximumRetryAttempts": -1,
        },
        FunctionModel(
            duration=Duration(base_ms=4000),
            faults=(Fault(when="json_extract(data, '$.n')::INT = 3", error="Unhandled"),),
        ),
    ),
    "partial batch responses": (
        _records(50, 5, 0.05),
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 8,
            "MaximumRetryAttempts": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
        _partial,
    ),
    "filters and transient faults": (
        _records(60, 4, 0.1),
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 6,
            "MaximumRetryAttempts": 3,
            "FilterCriteria": {"Filters": [{"Pattern": '{"data": {"bad": [false]}}'}]},
        },
        FunctionModel(faults=(Fault(probability=0.4, error="Unhandled"),)),
    ),
    "throttles": (
        _records(40, 6, 0.01),
        {"StartingPosition": "TRIM_HORIZON", "BatchSize": 3, "ParallelizationFactor": 4},
        FunctionModel(reserved_concurrency=1, duration=Duration(base_ms=300)),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_carriers_equal_the_engines_own_batches(name: str) -> None:
    records, config, function = SCENARIOS[name]
    sim = simulate(records, config, function, seed=7)
    inv, out = sim.run.invocations, sim.run.records
    label_of_row = {
        i: r.label for i, r in enumerate(sorted(records, key=lambda r: (r.shard, int(r.label[1:]))))
    }
    truth: dict[str, list[int]] = {}
    for k, i in enumerate(sim.invocations):
        for label in i.records:
            truth.setdefault(label, []).append(k)
    keys = [r.key for r in sorted(records, key=lambda r: (r.shard, int(r.label[1:])))]
    lanes = lane_of(keys, int(config.get("ParallelizationFactor", 1)))
    rows = out.to_pylist()
    assert len(sim.invocations) == inv.num_rows
    for row_no, row in enumerate(rows):
        shard_rows = [r for r in rows if r["shard"] == row["shard"]]
        positions = {r["seq"]: r["pos"] for r in shard_rows}
        done = None if row["done"] is None else round(row["done"].timestamp() * 1000)
        got = carriers(
            inv,
            positions,
            shard=row["shard"],
            lane=int(lanes[row_no]),
            pos=row["pos"],
            disposition=row["disposition"],
            deliveries=row["deliveries"],
            done_ms=done,
        )
        assert got == truth.get(label_of_row[row_no], []), (name, label_of_row[row_no], row)


def test_lane_of_is_the_engines_rule() -> None:
    keys = [f"user-{i}" for i in range(200)] + [None]
    engine_lanes = StreamEngine._lane_of(None, pa.array(keys, pa.string()), 7)  # type: ignore[arg-type]
    assert np.array_equal(lane_of(keys, 7), engine_lanes)


def test_poison_record_golden(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    out = CliRunner().invoke(app, ["explain", str(d / "run-safer"), "--record", POISON])
    assert out.exit_code == 0, out.output
    golden("explain_safer_poison.txt", out.output)
    x = explain_record(d / "run-safer", record=POISON)
    assert x.disposition == "discarded" and x.reason == "RetryAttemptsExhausted"
    assert [s.rule for s in x.steps][-1] == "B23" and x.destination == (0,)


def test_blocked_record_in_production_golden(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    x = explain_record(d / "run-production", record=POISON)
    assert x.reason == "RetentionExpired" and x.fate_rule == "B28"
    assert len(x.steps) == x.deliveries and all(s.next == "retry" for s in x.steps)
    out = CliRunner().invoke(app, ["explain", str(d / "run-production"), "--record", POISON])
    golden("explain_production_poison.txt", out.output)


def test_shard_timeline_golden(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    shard = POISON.split("#")[0]
    t = explain_shard(d / "run-safer", shard)
    assert len(t.blocks) == 1 and t.blocks[0].culprit == f"record {POISON}"
    out = CliRunner().invoke(app, ["explain", str(d / "run-production"), "--shard", shard])
    golden("explain_production_shard.txt", out.output)
    js = CliRunner().invoke(app, ["explain", str(d / "run-safer"), "--shard", shard, "-F", "json"])
    assert json.loads(js.output)["blocks"][0]["ended_by"] == "1 record(s) RetryAttemptsExhausted"


def test_record_by_seq_and_errors(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    x = explain_record(d / "run-safer", record=POISON)
    same = explain_record(d / "run-safer", record=f"{x.shard}:{x.seq}")
    assert same == x
    from replay.errors import UserError

    with pytest.raises(UserError, match="no record 1 in shard"):
        explain_record(d / "run-safer", record=f"{x.shard}:1")
    with pytest.raises(UserError, match="expected SHARD:SEQ"):
        explain_record(d / "run-safer", record="nonsense")
    with pytest.raises(UserError, match="not in the run"):
        explain_shard(d / "run-safer", "shardId-9")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_record_rows_are_the_engines_own_batches(name: str) -> None:
    """``exact_carriers`` reads each record's attempts back from invocations.parquet
    ``record_rows`` (B21 batches, B31 bisect halves, B50 lanes, throttled attempts). The column
    itself is what every scenario test's ``Simulation.invocations`` is built from."""
    records, config, function = SCENARIOS[name]
    sim = simulate(records, config, function, seed=7)
    labels = sorted(records, key=lambda r: (r.shard, int(r.label[1:])))
    for row_no, r in enumerate(labels):
        want = [k for k, i in enumerate(sim.invocations) if r.label in i.records]
        assert exact_carriers(sim.run.invocations, row_no) == want, (name, r.label)


def _sqs_run(root: Path, fifo: bool) -> Path:
    """A queue with two poison messages (bodies with bad=true), redrive after 3 receives, batches
    of 10 gathered over a 1 s window: messages of one batch are not contiguous after retries."""
    settings = {"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "maxReceiveCount": 3}
    )}  # fmt: skip
    if fifo:
        settings["FifoQueue"] = "true"
    records = [
        msg({"n": i, "bad": i in (4, 17)}, at=i * 0.05, group=f"g{i % 3}" if fifo else None)
        for i in range(40)
    ]
    cap = make_capture(records, kind=SourceKind.SQS, settings=settings)
    write_capture(root / "capture", cap.manifest, cap.records)
    (root / "fn.yaml").write_text(
        "faults:\n  - when: \"json_extract(data, '$.bad')::BOOLEAN\"\n    error: Unhandled\n"
    )
    config = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 1 if not fifo else 0}
    (root / "esm.json").write_text(json.dumps(config))
    replay(
        root / "capture",
        root / "run",
        config_path=root / "esm.json",
        function=str(root / "fn.yaml"),
    )
    return root / "run"


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_explain_sqs_message_follows_its_receives(tmp_path: Path, fifo: bool) -> None:
    """B60/B66/B67: a poison message is received maxReceiveCount times, each receive failing
    (with its batch), then moved to the DLQ; explain --message shows exactly those receives."""
    run = _sqs_run(tmp_path, fifo)
    cap = read_capture(tmp_path / "capture")
    ids = cap.records.column("message_id").to_pylist()
    bodies = [json.loads(b) for b in cap.records.column("data").to_pylist()]
    poison = ids[next(i for i, b in enumerate(bodies) if b["n"] == 4)]
    x = explain_record(run, message=poison)
    assert x.disposition == "dead-lettered"
    assert len(x.steps) == x.deliveries == 3
    assert all(s.result == "error" for s in x.steps)
    inv = read_run(run).invocations
    for s in x.steps:
        row = inv.filter(pc.equal(inv.column("invocation"), s.invocation)).to_pylist()[0]
        assert row["records"] == len(row["record_rows"])
    out = CliRunner().invoke(app, ["explain", str(run), "--message", poison])
    assert out.exit_code == 0, out.output
    assert "dead-lettered" in out.output
    good = ids[next(i for i, b in enumerate(bodies) if b["n"] == 5)]
    y = explain_record(run, message=good)
    assert len(y.steps) == y.deliveries >= 1
    # without ReportBatchItemFailures a valid message shares its batch's fate: each receive that
    # carried a poison message failed, and 3 such receives send it to the DLQ too (B66, B67)
    failed = [s for s in y.steps if s.result == "error"]
    assert (y.disposition == "dead-lettered") == (len(failed) == 3)


def test_shard_timeline_of_a_fifo_group(tmp_path: Path) -> None:
    """--shard GROUP on a FIFO run: group g1 stalls behind message #4 (n=4, bad) from its first
    failed receive until SQS moves it to the DLQ after 3 receives (B65, B74); the summary and
    compare list the stalled groups; an unknown name lists shards and stalled groups."""
    run = _sqs_run(tmp_path, True)
    t = explain_shard(run, "g1")
    assert t.kind == "group" and t.records == 13 and len(t.blocks) == 1
    (blk,) = t.blocks
    assert blk.failed_attempts == 3 and blk.ended_by == "1 record(s) maxReceiveCount"
    assert blk.culprit.startswith("message test-queue.fifo#4 ")
    assert blk.end_ms - blk.start_ms == 90_000  # 3 receives x VisibilityTimeout 30 s
    meta = read_run(run).meta
    assert sorted(meta["summary"]["groups"]) == ["g1", "g2"]
    out = CliRunner().invoke(app, ["explain", str(run), "--shard", "g1"])
    assert out.exit_code == 0 and out.output.startswith("group g1: 13 records")
    compared = CliRunner().invoke(app, ["compare", str(run), "--format", "json"])
    rows = {r["key"]: r["values"] for r in json.loads(compared.output)["rows"]}
    assert rows["blocked_groups"] == [2] and rows["blocked_ms.group.g1"] == [90_000]
    from replay.errors import UserError

    with pytest.raises(UserError, match="stalled FIFO groups are g1, g2"):
        explain_shard(run, "nope")
