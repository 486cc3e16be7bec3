"""Records in, exact invocations out: a small harness for scenario tests (bytewax's testing.py idea).

Build a stream capture in memory from a few records, replay it under a configuration and a function
(a Python callable, a :class:`~replay.function.FunctionModel`, or nothing), and get back plain
tuples that a test can compare with ``==``:

>>> run = simulate([rec("a"), rec("b")], {"StartingPosition": "TRIM_HORIZON"})
>>> [(i.records, i.result) for i in run.invocations]
[(('a', 'b'), 'ok')]

Times are seconds relative to the capture start (``T0``); records are named by their partition key
unless ``name`` is given, and sequence numbers are generated in order per shard.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from replay import events
from replay.config import parse_config
from replay.engine.base import EngineRun
from replay.engine.options import EngineOptions
from replay.engine.runner import check_function, check_span, engine_for
from replay.formats.capture import Capture, Manifest, ShardInfo, SourceInfo, conform, sort_records
from replay.function import FunctionModel
from replay.vocabulary import NOT_INVOKED, SourceKind

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z: the capture start of every test capture
KINESIS_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/test-stream"
DYNAMODB_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/test-table/stream/2023-11-14T22:13:20.000"
)
SHARD = "shardId-000000000000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:test-queue"
FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:test-queue.fifo"
MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/test-cluster/abcd1234-ab12-cd34-ef56-abcdef123456-1"


@dataclass(frozen=True)
class Rec:
    """One test record: payload, partition key, arrival (seconds after T0) and shard."""

    data: bytes
    key: str
    at: float = 0.0
    shard: str = SHARD
    name: str | None = None
    user_identity: str | None = None  # DynamoDB userIdentity as JSON text (TTL deletes, B91)
    event: str | None = None  # DynamoDB eventName
    delay_seconds: int | None = None  # SQS message timer
    kafka_key: str | None = None  # Kafka key (None: keyless)

    @property
    def label(self) -> str:
        """How the record appears in results."""
        return self.name or self.key


def rec(
    key: str, data: Any = None, *, at: float = 0.0, shard: str = SHARD, name: str | None = None
) -> Rec:
    """A Kinesis-style record; ``data`` may be bytes, str or a JSON-able object (default ``{"key": key}``)."""
    if data is None:
        data = {"key": key}
    if isinstance(data, str):
        payload = data.encode()
    elif isinstance(data, bytes):
        payload = data
    else:
        payload = json.dumps(data, separators=(",", ":")).encode()
    return Rec(payload, key, at, shard, name)


def msg(body: Any, *, at: float = 0.0, group: str | None = None, name: str | None = None,
        delay: int | None = None) -> Rec:  # fmt: skip
    """An SQS message sent at ``at`` (``group`` = MessageGroupId on a FIFO queue)."""
    data = (
        body
        if isinstance(body, bytes)
        else (body if isinstance(body, str) else json.dumps(body)).encode()
    )
    label = name or (body if isinstance(body, str) else data.decode("utf-8", "replace"))
    return Rec(data, group or "", at, "", label, delay_seconds=delay)


def krec(key: str | None, value: Any = None, *, at: float = 0.0, partition: int = 0,
         topic: str = "orders", name: str | None = None) -> Rec:  # fmt: skip
    """A Kafka record on ``topic``-``partition`` (offsets ascend in list order)."""
    data = (
        value
        if isinstance(value, bytes)
        else json.dumps(value if value is not None else {"key": key}).encode()
    )
    return Rec(data, key or "", at, f"{topic}-{partition}", name or key or "", kafka_key=key)


def ddb(keys: Mapping[str, Any], new: Mapping[str, Any] | None = None, *, event: str = "INSERT",
        old: Mapping[str, Any] | None = None, at: float = 0.0, view: str = "NEW_IMAGE",
        name: str | None = None, ttl_delete: bool = False) -> Rec:  # fmt: skip
    """A DynamoDB stream record from typed attribute maps (``{"id": {"S": "a"}}``)."""
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": (T0 + round(at * 1000)) / 1000,
        "Keys": dict(keys),
    }
    if new is not None:
        body["NewImage"] = dict(new)
    if old is not None:
        body["OldImage"] = dict(old)
    body["SizeBytes"] = events.dynamodb_size_bytes(body)
    body["StreamViewType"] = view
    key = json.dumps(keys, sort_keys=True, separators=(",", ":"))
    identity = '{"type":"Service","principalId":"dynamodb.amazonaws.com"}' if ttl_delete else None
    return Rec(
        json.dumps(body, separators=(",", ":")).encode(),
        key,
        at,
        SHARD,
        name or event,
        identity,
        event,
    )


def _seq_for(kind: SourceKind, fifo: bool, n: int) -> str:
    if kind is SourceKind.SQS:
        return f"{18_850_000_000_000_000_000 + n}" if fifo else message_id(n)
    if kind is SourceKind.KAFKA:
        return str(n)
    return seq_of(n)


def message_id(n: int) -> str:
    """The message id :func:`make_capture` gives the ``n``-th message of a standard queue."""
    return f"{n:08x}-1111-4222-8333-{n:012x}"


def _sqs_columns(records: Sequence[Rec], seqs: list[str], fifo: bool) -> dict[str, Any]:
    import hashlib

    ids = [message_id(i) for i in range(len(records))] if fifo else seqs
    return {
        "message_id": ids,
        "md5_of_body": [hashlib.md5(r.data).hexdigest() for r in records],
        "sender_id": ["AIDAIT2UOQQY3AUEKVGXU"] * len(records),
        "group_id": [r.key or None for r in records] if fifo else [None] * len(records),
        "dedup_id": [hashlib.sha256(r.data).hexdigest() if fifo else None for r in records],
        "sequence_number": seqs if fifo else [None] * len(records),
        "delay_seconds": pa.array([r.delay_seconds for r in records], pa.int32()),
        "message_attributes": ["{}"] * len(records),
    }


def _kafka_columns(records: Sequence[Rec], seqs: list[str]) -> dict[str, Any]:
    topics = [r.shard.rsplit("-", 1) for r in records]
    return {
        "topic": [t for t, _ in topics],
        "partition": pa.array([int(p) for _, p in topics], pa.int32()),
        "offset": pa.array([int(s) for s in seqs], pa.int64()),
        "timestamp_type": ["CREATE_TIME"] * len(records),
        "key_bytes": pa.array(
            [r.kafka_key.encode() if r.kafka_key is not None else None for r in records],
            pa.binary(),
        ),
        "headers": ["[]"] * len(records),
    }


def make_capture(
    records: Sequence[Rec],
    *,
    kind: SourceKind = SourceKind.KINESIS,
    arn: str | None = None,
    settings: Mapping[str, Any] | None = None,
    shards: Sequence[ShardInfo] = (),
) -> Capture:
    """An in-memory capture of ``records`` (sequence numbers ascend per shard in list order)."""
    return _build(records, kind=kind, arn=arn, settings=settings, shards=shards)[0]


def seq_of(index: int) -> str:
    """The sequence number :func:`make_capture` gives the ``index``-th record of a shard."""
    return str(49_000_000_000_000_000_000 + index * 1000 + 1)


def _build(
    records: Sequence[Rec],
    *,
    kind: SourceKind,
    arn: str | None,
    settings: Mapping[str, Any] | None,
    shards: Sequence[ShardInfo],
) -> tuple[Capture, dict[str, str]]:
    settings = dict(settings or {})
    fifo = str(settings.get("FifoQueue", "")).lower() == "true"
    default_arn = {
        SourceKind.KINESIS: KINESIS_ARN,
        SourceKind.DYNAMODB: DYNAMODB_ARN,
        SourceKind.SQS: FIFO_QUEUE_ARN if fifo else QUEUE_ARN,
        SourceKind.KAFKA: MSK_ARN,
    }
    arn = arn or default_arn[kind]
    if kind is SourceKind.SQS:
        records = [replace(r, shard=arn.rsplit(":", 1)[1]) for r in records]
    counters: dict[str, int] = {}
    seqs, pos = [], []
    for r in records:
        n = counters.get(r.shard, 0)
        counters[r.shard] = n + 1
        pos.append(n)
        seqs.append(_seq_for(kind, fifo, n))
    cols: dict[str, Any] = {
        "shard": [r.shard for r in records],
        "seq": seqs,
        "pos": pa.array(pos, pa.int64()),
        "arrival": pa.array([T0 + round(r.at * 1000) for r in records], pa.int64()).cast(
            pa.timestamp("ms", tz="UTC")
        ),
        "key": [r.key for r in records],
        "data": pa.array([r.data for r in records], pa.binary()),
    }
    if kind is SourceKind.DYNAMODB:
        bodies = [json.loads(r.data) for r in records]
        for body, seq in zip(bodies, seqs, strict=True):
            body["SequenceNumber"] = seq
        cols["data"] = pa.array(
            [json.dumps(b, separators=(",", ":")).encode() for b in bodies], pa.binary()
        )
        cols["event_id"] = [f"{i:032x}" for i in range(len(records))]
        cols["event_name"] = [r.event or "INSERT" for r in records]
        cols["event_version"] = ["1.1"] * len(records)
        cols["stream_view_type"] = [b.get("StreamViewType") for b in bodies]
        cols["size_bytes"] = pa.array([b.get("SizeBytes") for b in bodies], pa.int32())
        cols["user_identity"] = pa.array([r.user_identity for r in records], pa.string())
    if kind is SourceKind.SQS:
        cols.update(_sqs_columns(records, seqs, fifo))
    if kind is SourceKind.KAFKA:
        cols.update(_kafka_columns(records, seqs))
    table = pa.table(cols)
    ctx = events.EventContext(
        kind=kind, source_arn=arn, region="us-east-1",
        bootstrap_servers="b-1.test:9092,b-2.test:9092" if kind is SourceKind.KAFKA else None,
    )  # fmt: skip
    # conform first (missing optional columns become nulls), then size the event records
    table = conform(table.append_column("size", pa.array([0] * len(records), pa.int32())), kind)
    table = table.set_column(
        table.schema.get_field_index("size"), "size", events.record_sizes(table, ctx)
    )
    table = sort_records(table)
    manifest = Manifest(
        source=SourceInfo(
            kind=kind,
            arn=arn,
            region="us-east-1",
            name=arn.split("/")[1] if "/" in arn else arn.rsplit(":", 1)[1],
            fifo=fifo,
            settings=settings,
        ),
        shards=tuple(shards) or tuple(ShardInfo(id=s) for s in sorted(counters)),
        window_start_ms=T0,
        window_end_ms=T0 + round(max((r.at for r in records), default=0) * 1000),
    )
    labels = {f"{r.shard}:{seq}": r.label for r, seq in zip(records, seqs, strict=True)}
    return Capture(path=Path("<memory>"), manifest=manifest, records=table), labels


@dataclass(frozen=True)
class Invocation:
    """One attempt, in test-friendly form (times in seconds after T0)."""

    start: float
    end: float
    shard: str
    records: tuple[str, ...]
    result: str
    cause: str
    attempt: int
    next: str


@dataclass(frozen=True)
class Simulation:
    """The outcome of :func:`simulate`."""

    invocations: tuple[Invocation, ...]
    outcomes: dict[str, tuple[str, str | None, int]]  # label -> (disposition, reason, deliveries)
    destinations: tuple[dict[str, Any], ...]
    events: tuple[dict[str, Any], ...]
    run: EngineRun

    def delivered(self) -> list[tuple[str, ...]]:
        """The record labels of each attempt that reached the function."""
        return [i.records for i in self.invocations if i.result not in NOT_INVOKED]


def simulate(
    records: Sequence[Rec],
    config: Mapping[str, Any],
    function: Callable[[dict[str, Any], Any], Any] | FunctionModel | None = None,
    *,
    kind: SourceKind = SourceKind.KINESIS,
    seed: int = 0,
    options: EngineOptions | None = None,
    start: float | None = None,
    until: float | None = None,
    settings: Mapping[str, Any] | None = None,
    shards: Sequence[ShardInfo] = (),
    disabled: Sequence[tuple[float, float]] = (),
) -> Simulation:
    """Replay ``records`` under ``config`` (AWS JSON) and return exact, comparable results.

    A callable ``function`` is used as the handler; every event it receives is kept in
    ``Simulation.events`` (deep-copied through JSON) so tests can assert the exact payloads.
    """
    capture, labels = _build(records, kind=kind, arn=None, settings=settings, shards=shards)
    cfg, _ = parse_config(
        dict(config), kind=kind, fifo=capture.manifest.source.fifo, where="test config"
    )
    seen: list[dict[str, Any]] = []
    model = function if isinstance(function, FunctionModel) else FunctionModel()
    check_function(capture, cfg, model)  # B9, B88: before any engine is built, as a replay does
    start_ms = None if start is None else T0 + round(start * 1000)
    until_ms = None if until is None else T0 + round(until * 1000)
    check_span(capture, cfg, start_ms, until_ms)
    engine = engine_for(kind)(
        capture,
        cfg,
        model,
        seed=seed,
        options=options,
        start_ms=start_ms,
        until_ms=until_ms,
        disabled=[(T0 + round(a * 1000), T0 + round(b * 1000)) for a, b in disabled],
    )
    if callable(function) and not isinstance(function, FunctionModel):
        user = function

        def recording(event: dict[str, Any], context: Any) -> Any:
            seen.append(json.loads(json.dumps(event)))
            return user(event, context)

        engine.handler = recording
    run = engine.run()
    table = capture.records
    row_label = [
        labels[f"{s}:{q}"]
        for s, q in zip(
            table.column("shard").to_pylist(), table.column("seq").to_pylist(), strict=True
        )
    ]
    invocations = tuple(
        Invocation(
            start=(_ms(row["start"]) - T0) / 1000,
            end=(_ms(row["end"]) - T0) / 1000,
            shard=row["shard"],
            records=tuple(row_label[i] for i in row["record_rows"]),
            result=row["result"],
            cause=row["cause"],
            attempt=row["attempt"],
            next=row["next"],
        )
        for row in run.invocations.to_pylist()
    )
    outcomes = {
        row_label[i]: (r["disposition"], r["reason"], r["deliveries"])
        for i, r in enumerate(run.records.to_pylist())
    }
    return Simulation(invocations, outcomes, run.destinations, tuple(seen), run)


def _ms(value: Any) -> int:
    return round(value.timestamp() * 1000)
