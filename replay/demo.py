"""The embedded sample incident, built deterministically and replayed two ways.

A 4-shard Kinesis stream ``orders`` carries ~100k order events over two hours. At 09:41 a producer
canary writes one event with ``"schema": 2``, which the consumer cannot parse: it raises. With the
configuration production had — every retry setting at its default — that one record blocks its
shard until it falls out of the stream's 24-hour retention. The safer configuration (bisect,
MaximumRetryAttempts 3, an on-failure SQS destination) isolates it in a minute and moves on.

A second incident, ``esm-replay demo --incident sqs``: an SQS queue ``orders-queue`` feeds a
worker with reserved concurrency 10. A ten-minute flash sale makes the ESM scale its pollers past
what the function may run; every throttled receive counts toward the queue's maxReceiveCount 3, and
valid orders land in the dead-letter queue (rule B67, then B65). ScalingConfig.MaximumConcurrency
set to the reserved concurrency (the fix AWS documents) keeps every order.

Everything here is seeded: the same capture and the same two runs come out byte for byte.

Each incident has its own default folder (``demo-output/kinesis``, ``demo-output/sqs``), and a
demo replaces only a previous demo of the same incident there (:func:`check_demo_target`). The
report ends with commands to try next, on the real paths and ids of this demo.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.analysis.compare import ComparisonRow, compare_runs
from replay.config import parse_config
from replay.engine.runner import RunRequest, run_capture
from replay.errors import UserError
from replay.extras import install_command
from replay.formats.atomic import KINDS, is_kind
from replay.formats.capture import Capture, Manifest, ShardInfo, SourceInfo, conform, write_capture
from replay.formats.runfiles import RunResult
from replay.function import Duration, Fault, FunctionModel
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import SourceKind

STREAM_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders-esm-failures"
START = parse_time("2024-11-05T09:00:00Z")
HOURS = 2
RECORDS = 100_000
SHARDS = 4
CUSTOMERS = 5_000
POISON_AT = parse_time("2024-11-05T09:41:07.250Z")
SEED = 20241105
MAX_HASH = 2**128

PRODUCTION: dict[str, Any] = {
    "FunctionName": "orders-projector",
    "EventSourceArn": STREAM_ARN,
    "StartingPosition": "LATEST",
    "BatchSize": 100,
}
SAFER: dict[str, Any] = {
    **PRODUCTION,
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 3,
    "MaximumRecordAgeInSeconds": 3600,
    "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN}},
}
FUNCTION = FunctionModel(
    name="orders-projector",
    timeout_s=30,
    memory_mb=512,
    duration=Duration(base_ms=25, per_record_ms=0.8),
    faults=(Fault(when="json_extract(data, '$.schema')::INT = 2", error="Unhandled"),),
    source="demo",
)


# ---- the SQS incident: throttling sends valid messages to the DLQ
QUEUE = "orders-queue"
SQS_QUEUE_ARN = f"arn:aws:sqs:eu-west-1:123456789012:{QUEUE}"
SQS_DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders-dlq"
SQS_BASE_RATE = 3  # messages per second for the hour
SQS_SALE = (1800, 2400, 40)  # flash sale: from, to (seconds into the hour), messages per second
SQS_RESERVED = 10
SQS_PRODUCTION: dict[str, Any] = {
    "FunctionName": "orders-worker",
    "EventSourceArn": SQS_QUEUE_ARN,
    "BatchSize": 10,
}
SQS_SAFER: dict[str, Any] = {
    **SQS_PRODUCTION,
    "ScalingConfig": {"MaximumConcurrency": SQS_RESERVED},
}
SQS_FUNCTION = FunctionModel(
    name="orders-worker",
    timeout_s=10,
    memory_mb=512,
    reserved_concurrency=SQS_RESERVED,
    duration=Duration(base_ms=800, per_record_ms=50),
    source="demo",
)
INCIDENTS = ("kinesis", "sqs")
DEMO_ROOT = Path("demo-output")
# What a demo writes into its folder, and the report its last step suggests (report.html and its
# report-*.png); nothing else may be there for it to write again.
DEMO_ENTRIES = ("capture", "run-production", "run-safer")
DEMO_REPORT = "report.html"
_DEMO_NAMES = (*DEMO_ENTRIES, DEMO_REPORT, "report-*.png")


@dataclass(frozen=True)
class DemoReport:
    """What the demo made and the comparison it printed."""

    capture: Path
    runs: tuple[Path, ...]
    names: tuple[str, ...]
    rows: list[ComparisonRow]
    story: str
    next_steps: str = ""


def _shard_ids() -> list[str]:
    return [f"shardId-{i:012d}" for i in range(SHARDS)]


def _shard_of(customers: np.ndarray) -> np.ndarray:
    """Kinesis routes a record by the MD5 of its partition key into equal hash-key ranges."""
    width = MAX_HASH // SHARDS
    by_customer = np.array(
        [
            min(int(hashlib.md5(f"customer-{c:05d}".encode()).hexdigest(), 16) // width, SHARDS - 1)
            for c in range(CUSTOMERS)
        ]
    )
    return by_customer[customers]


def build_sample_capture(path: Path) -> Capture:
    """Generate the sample stream (deterministic) and write it as a capture at ``path``."""
    rng = np.random.default_rng(SEED)
    arrival = np.sort(rng.integers(START, START + HOURS * 3_600_000, RECORDS - 1))
    arrival = np.sort(np.append(arrival, POISON_AT))
    customers = rng.integers(0, CUSTOMERS, RECORDS)
    keys = [f"customer-{c:05d}" for c in customers]
    amounts = rng.integers(100, 50_000, RECORDS)
    kinds = rng.choice(["created", "paid", "shipped"], RECORDS, p=[0.5, 0.3, 0.2])
    poison = int(np.searchsorted(arrival, POISON_AT))
    template = (
        '{"schema":1,"order_id":"o-%07d","customer":"%s","event":"order_%s","amount_cents":%d}'
    )
    payloads = [(template % (i, keys[i], kinds[i], amounts[i])).encode() for i in range(RECORDS)]
    # The poison record: a producer canary on schema 2, with a structured amount.
    payloads[poison] = json.dumps(
        {
            "schema": 2,
            "order_id": f"o-{poison:07d}",
            "customer": keys[poison],
            "event": "order_created",
            "amount": {"value": "12.50", "currency": "EUR"},
        },
        separators=(",", ":"),
    ).encode()
    shard_no = _shard_of(customers)
    shard_ids = _shard_ids()
    shard = [shard_ids[s] for s in shard_no]
    seq = np.empty(RECORDS, dtype=object)
    pos = np.zeros(RECORDS, dtype=np.int64)
    for s in range(SHARDS):
        idx = np.flatnonzero(shard_no == s)
        base = 49_656_000_000_000_000_000_000_000_000_000_000_000_000_000_000_002 + s * 10**30
        seq[idx] = [str(base + j * 1_000_000_000_000) for j in range(len(idx))]
        pos[idx] = np.arange(len(idx))
    table = pa.table(
        {
            "shard": pa.array(shard, pa.string()),
            "seq": pa.array(seq.tolist(), pa.string()),
            "pos": pa.array(pos, pa.int64()),
            "arrival": pa.array(arrival, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "key": pa.array(keys, pa.string()),
            "data": pa.array(payloads, pa.binary()),
        }
    )
    ctx = events.EventContext(kind=SourceKind.KINESIS, source_arn=STREAM_ARN, region="eu-west-1")
    table = table.append_column("size", events.record_sizes(table, ctx))
    width = MAX_HASH // SHARDS
    shards = tuple(
        ShardInfo(
            id=sid,
            hash_key_range=(
                str(i * width),
                str(MAX_HASH - 1 if i == SHARDS - 1 else (i + 1) * width - 1),
            ),
        )
        for i, sid in enumerate(shard_ids)
    )
    manifest = Manifest(
        source=SourceInfo(
            kind=SourceKind.KINESIS,
            arn=STREAM_ARN,
            region="eu-west-1",
            name="orders",
            settings={"RetentionPeriodHours": 24, "StreamMode": "PROVISIONED"},
        ),
        shards=shards,
        window_start_ms=START,
        window_end_ms=START + HOURS * 3_600_000,
        esm=(PRODUCTION,),
        function={"FunctionName": "orders-projector", "Timeout": 30, "MemorySize": 512},
        created_by="demo",
    )
    return write_capture(path, manifest, table, overwrite=True)


def build_sqs_capture(path: Path) -> Capture:
    """Generate the SQS incident's queue (deterministic) and write it as a capture at ``path``."""
    rng = np.random.default_rng(SEED)
    start, end, rate = SQS_SALE
    steady = rng.uniform(0, 3600, SQS_BASE_RATE * 3600)
    sale = rng.uniform(start, end, rate * (end - start))
    arrival = START + np.sort(np.round(np.concatenate([steady, sale]) * 1000)).astype(np.int64)
    n = len(arrival)
    template = '{"order_id":"o-%07d","customer":"customer-%05d","amount_cents":%d}'
    customers = rng.integers(0, CUSTOMERS, n)
    amounts = rng.integers(100, 50_000, n)
    bodies = [(template % (i, customers[i], amounts[i])).encode() for i in range(n)]
    ids = [f"7c3e{i:04x}"[-8:] + f"-0b1d-4c2e-9a5f-{i:012x}" for i in range(n)]
    table = pa.table(
        {
            "shard": pa.array([QUEUE] * n, pa.string()),
            "seq": pa.array(ids, pa.string()),
            "pos": pa.array(np.arange(n), pa.int64()),
            "arrival": pa.array(arrival, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "key": pa.nulls(n, pa.string()),
            "data": pa.array(bodies, pa.binary()),
            "size": pa.array(np.zeros(n, np.int32), pa.int32()),
            "message_id": pa.array(ids, pa.string()),
            "md5_of_body": pa.array([hashlib.md5(b).hexdigest() for b in bodies], pa.string()),
            "sender_id": pa.array(["AROAEXAMPLE:orders-api"] * n, pa.string()),
            "message_attributes": pa.array(["{}"] * n, pa.string()),
        }
    )
    table = conform(table, SourceKind.SQS)
    ctx = events.EventContext(kind=SourceKind.SQS, source_arn=SQS_QUEUE_ARN, region="eu-west-1")
    table = table.set_column(
        table.schema.get_field_index("size"), "size", events.record_sizes(table, ctx)
    )
    redrive = {"deadLetterTargetArn": SQS_DLQ_ARN, "maxReceiveCount": 3}
    manifest = Manifest(
        source=SourceInfo(
            kind=SourceKind.SQS,
            arn=SQS_QUEUE_ARN,
            region="eu-west-1",
            name=QUEUE,
            settings={
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps(redrive, separators=(",", ":")),
                "MessageRetentionPeriod": "345600",
            },
        ),
        shards=(ShardInfo(id=QUEUE),),
        window_start_ms=START,
        window_end_ms=START + 3_600_000,
        esm=(SQS_PRODUCTION,),
        function={
            "FunctionName": "orders-worker",
            "Timeout": 10,
            "MemorySize": 512,
            "ReservedConcurrentExecutions": SQS_RESERVED,
        },
        created_by="demo",
    )
    return write_capture(path, manifest, table, overwrite=True)


def default_out(incident: str) -> Path:
    """Where ``esm-replay demo --incident INCIDENT`` writes without ``--out``."""
    return DEMO_ROOT / incident


def _demo_kind(path: Path, kind: str) -> str | None:
    """The source kind of a capture or run the demo wrote at ``path`` (a capture's manifest says
    ``created_by: demo``, a run's run.json ``config_source: demo:NAME``), else None."""
    if not is_kind(path, kind):
        return None
    doc = json.loads((path / KINDS[kind][0]).read_text(encoding="utf-8"))
    if kind == "capture" and doc.get("created_by") == "demo":
        return str((doc.get("source") or {}).get("kind"))
    if kind == "run" and str(doc.get("config_source", "")).startswith("demo:"):
        return str((doc.get("capture") or {}).get("kind"))
    return None


def _own(name: str) -> bool:
    """A name the demo writes: an entry, the report, or a temporary sibling of one left by an
    interrupted write (``.capture.tmp-PID-...``, ``.report.html.tmp-PID``)."""
    if name.startswith("."):
        return any(fnmatch.fnmatchcase(name[1:], f"{own}.*") for own in _DEMO_NAMES)
    return any(fnmatch.fnmatchcase(name, own) for own in _DEMO_NAMES)


def check_demo_target(out: Path, incident: str) -> None:
    """Refuse, before anything is written, a folder that holds anything but a previous demo of
    ``incident``: the demo replaces only its own output.

    Raises:
        UserError: ``out`` is a file, holds something the demo does not write, or holds the demo
            of another incident (one line naming it).
    """
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise UserError(f"{out}: is a file, not a demo folder; choose another --out")
    names = [p.name for p in out.iterdir()]
    foreign = sorted(n for n in names if not _own(n))
    refuse = "the demo replaces only its own output; choose another --out"
    if foreign:
        raise UserError(f"{out}: holds {foreign[0]}, which the demo did not write; {refuse}")
    for name in (n for n in DEMO_ENTRIES if n in names):
        what = "capture" if name == "capture" else "run"
        kind = _demo_kind(out / name, what)
        if kind is None:
            raise UserError(f"{out / name}: is not a {what} the demo wrote; {refuse}")
        if kind != incident:
            raise UserError(
                f"{out}: holds the {kind} demo, not the {incident} one; choose another --out "
                f"(the {incident} demo's own is {default_out(incident)})"
            )


def run_demo(
    out: Path,
    *,
    incident: str = "kinesis",
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Build a sample incident, replay it as production ran and with the safer configuration,
    compare. ``incident``: ``kinesis`` (a poison record) or ``sqs`` (throttling ⇒ DLQ).

    Raises:
        UserError: ``out`` holds anything but a previous demo of this incident (nothing written).
    """
    out = Path(out)
    check_demo_target(out, incident)
    out.mkdir(parents=True, exist_ok=True)
    if incident == "sqs":
        capture = build_sqs_capture(out / "capture")
        configs, model, kind = (SQS_PRODUCTION, SQS_SAFER), SQS_FUNCTION, SourceKind.SQS
    else:
        capture = build_sample_capture(out / "capture")
        configs, model, kind = (PRODUCTION, SAFER), FUNCTION, SourceKind.KINESIS
    runs: list[RunResult] = []
    for name, raw in zip(("production", "safer"), configs, strict=True):
        config, _ = parse_config(dict(raw), kind=kind, where=f"demo {name} config")
        request = RunRequest(
            capture=capture.path,
            config=config,
            model=model,
            seed=0,
            config_source=f"demo:{name}",
        )
        target = out / f"run-{name}"
        if target.exists():
            shutil.rmtree(target)
        runs.append(run_capture(capture, request, target, overwrite=True, progress=progress))
    rows = compare_runs(runs)
    sqs = incident == "sqs"
    return DemoReport(
        capture=capture.path,
        runs=tuple(r.path for r in runs),
        names=("production", "safer"),
        rows=rows,
        story=_sqs_story(runs) if sqs else _story(runs),
        next_steps=_sqs_next_steps(out, runs) if sqs else _next_steps(out, capture),
    )


def poison_record(capture: Capture) -> str:
    """``SHARD:SEQ`` of the sample stream's poison record (the one event on schema 2)."""
    data = capture.records.column("data").to_pylist()
    row = next(i for i, d in enumerate(data) if b'"schema":2' in d)
    return f"{capture.records.column('shard')[row]}:{capture.records.column('seq')[row]}"


def _commands(out: Path, steps: list[tuple[str, list[str]]]) -> str:
    """``Next:`` and one step a pair: what it shows, then the command (paths and ids quoted for a
    shell), ending with the HTML report (with its install command when matplotlib is missing)."""
    prod, safer = out / "run-production", out / "run-safer"
    report = ["report", str(prod), str(safer), "-o", str(out / DEMO_REPORT)]
    extra = (
        ""
        if importlib.util.find_spec("matplotlib")
        else f"; first install matplotlib with {install_command('report')}"
    )
    steps = [*steps, (f"both runs as an HTML report with figures{extra}", report)]
    lines = ["Next:"]
    for what, argv in steps:
        lines.append(f"- {what}:")
        lines.append("    " + shlex.join(["esm-replay", *argv]))
    return "\n".join(lines) + "\n"


def _next_steps(out: Path, capture: Capture) -> str:
    prod, safer = str(out / "run-production"), str(out / "run-safer")
    poison = poison_record(capture)
    sql = "select run, disposition, reason, count(*) n from run_records group by all order by all"
    return _commands(
        out,
        [
            ("every attempt that carried the poison record in production, and the rule deciding "
             "each", ["explain", prod, "--record", poison]),
            ("how the safer configuration isolated it (bisect, retries, the on-failure record)",
             ["explain", safer, "--record", poison]),
            ("your own questions in SQL (docs/query.md)", ["query", sql, prod, safer]),
        ],
    )  # fmt: skip


def _sqs_next_steps(out: Path, runs: list[RunResult]) -> str:
    prod, safer = str(out / "run-production"), str(out / "run-safer")
    records = runs[0].records
    dead = [
        i for i, d in enumerate(records.column("disposition").to_pylist()) if d == "dead-lettered"
    ]
    steps: list[tuple[str, list[str]]] = []
    if dead:
        message = str(records.column("seq")[dead[0]])
        steps.append(
            ("the throttled receives that sent a valid order to the DLQ in production",
             ["explain", prod, "--message", message])
        )  # fmt: skip
    sql = "select run, disposition, count(*) n from run_records group by all order by all"
    steps.append(("your own questions in SQL (docs/query.md)", ["query", sql, prod, safer]))
    return _commands(out, steps)


def _story(runs: list[RunResult]) -> str:
    prod, safe = (r.summary for r in runs)
    blocked = max(prod["shards"].items(), key=lambda kv: kv[1]["blocked_ms"])
    lost = prod["reasons"].get("RetentionExpired", 0)
    return (
        f"Sample incident: {prod['records']:,} order events on a {SHARDS}-shard Kinesis stream, "
        f"{iso_ms(START)} + {HOURS} h.\n"
        f"At {iso_ms(POISON_AT)} one event with schema 2 arrives; the consumer raises on it.\n"
        f"- production (all retry settings at their defaults): {blocked[0]} blocked for "
        f"{blocked[1]['blocked_ms'] / 3_600_000:.1f} h, {prod['invocations']:,} invocations, "
        f"{lost} record(s) lost to retention, max iterator age "
        f"{(prod['iterator_age_ms']['max'] or 0) / 3_600_000:.1f} h.\n"
        f"- safer: blocked {safe['blocked_ms'] / 1000:.0f} s in all, {safe['destination_records']} "
        f"on-failure record(s) naming the poison record, {safe['duplicates']} duplicate deliveries from bisect.\n"
    )


def _sqs_story(runs: list[RunResult]) -> str:
    prod, safe = (r.summary for r in runs)
    start, end, rate = SQS_SALE
    return (
        f"Sample incident: {prod['records']:,} orders on the SQS queue {QUEUE} over 1 h "
        f"({SQS_BASE_RATE}/s, and {rate}/s during a flash sale from "
        f"{iso_ms(START + start * 1000)} to {iso_ms(START + end * 1000)}); the worker has reserved "
        f"concurrency {SQS_RESERVED}; the queue redrives to its DLQ after 3 receives.\n"
        f"- production (default scaling): "
        f"{prod['dispositions'].get('dead-lettered', 0):,} valid orders dead-lettered, "
        f"{prod['results'].get('throttled', 0):,} throttled invokes — each throttled receive "
        f"counted toward maxReceiveCount.\n"
        f"- safer (ScalingConfig.MaximumConcurrency {SQS_RESERVED}): "
        f"{safe['dispositions'].get('dead-lettered', 0):,} dead-lettered, "
        f"{safe['results'].get('throttled', 0):,} throttled.\n"
    )
