"""Live capture of a Kafka topic: every partition, assigned directly, for a time range.

The consumer is *assigned* its partitions: it never joins a consumer group and never commits an
offset (``enable.auto.commit`` off, no ``subscribe``), so production consumers and their lag are
untouched. The time range becomes an offset range per partition, fixed when the capture starts and
stored in the manifest (``source.settings.offsets``) so that a resumed capture reads exactly the
same records:

- start: the first offset whose timestamp is at or after ``--from``; end: the first offset whose
  timestamp is after ``--to``, capped at the high watermark seen at the start.
- Both come from ``offsets_for_times`` where the broker supports it. Where it answers -1 for a
  partition that holds records (librdkafka's mock cluster always does; ``--scan`` forces it), the
  bounds are found by scanning the partition from its low watermark and reading timestamps.

Records are ``shard`` ``<topic>-<partition>``, ``seq`` the offset, ``key`` the key as text (base64
when it is not UTF-8), ``data`` the value, plus the typed Kafka columns of docs/capture-format.md.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from captures.aws import require
from captures.common import ProgressFn, ShardProgress, Window, no_progress
from captures.redact import Redactor
from captures.writer import DEFAULT_FLUSH_ROWS, CaptureComplete, CaptureWriter
from replay.assignments import parse_assignments
from replay.errors import UserError
from replay.events import EventContext
from replay.formats.capture import Capture, Manifest, ShardInfo, SourceInfo, read_capture
from replay.vocabulary import SourceKind

TIMESTAMP_TYPES = {1: "CREATE_TIME", 2: "LOG_APPEND_TIME"}
_BATCH = 5000
METADATA_TIMEOUT_S = 10.0
# librdkafka logs every failed connection attempt (hundreds of lines for an unreachable broker);
# they go here, where nothing prints them, unless --kafka-config debug=... asks for them.
_LIBRDKAFKA_LOG = logging.getLogger("captures.kafka.librdkafka")
_LIBRDKAFKA_LOG.addHandler(logging.NullHandler())
_LIBRDKAFKA_LOG.propagate = False
_ALL_BROKERS_DOWN = -187  # KafkaError._ALL_BROKERS_DOWN


@dataclass(frozen=True)
class KafkaOptions:
    """How to reach the cluster: bootstrap servers plus any librdkafka settings (``K=V``)."""

    bootstrap: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)

    def config(self, **extra: Any) -> dict[str, Any]:
        """A librdkafka configuration dictionary."""
        conf: dict[str, Any] = dict(self.settings)
        if self.bootstrap:
            conf["bootstrap.servers"] = self.bootstrap
        if "bootstrap.servers" not in conf:
            raise UserError(
                "Kafka: give --bootstrap HOST:PORT (or --kafka-config bootstrap.servers=...)"
            )
        conf.update(extra)
        return conf

    @property
    def servers(self) -> str:
        """The bootstrap servers, as given (for messages)."""
        return str(self.config()["bootstrap.servers"])


class BrokerErrors:
    """librdkafka's ``error_cb``: what the client reported, for a one-line message."""

    def __init__(self) -> None:
        self.errors: list[Any] = []

    def __call__(self, err: Any) -> None:
        if len(self.errors) < 100:
            self.errors.append(err)

    @property
    def give_up(self) -> bool:
        """Every broker is down, or the error is fatal (bad credentials, TLS): retrying is futile."""
        return any(e.code() == _ALL_BROKERS_DOWN or e.fatal() for e in self.errors)

    def reason(self) -> str | None:
        """The first error that says what failed (rather than "1/1 brokers are down")."""
        for e in self.errors:
            if e.code() != _ALL_BROKERS_DOWN:
                return str(e.str())
        return str(self.errors[0].str()) if self.errors else None


def _client(cls_name: str, opts: KafkaOptions, errors: BrokerErrors, **extra: Any) -> Any:
    """A confluent-kafka ``Consumer`` or ``Producer`` that reports errors to ``errors`` and keeps
    librdkafka's log quiet.

    Raises:
        UserError: confluent-kafka is missing, or the configuration is refused.
    """
    import confluent_kafka

    conf = opts.config(**extra)
    conf.setdefault("error_cb", errors)
    if "debug" not in conf:
        conf.setdefault("logger", _LIBRDKAFKA_LOG)
    try:
        return getattr(confluent_kafka, cls_name)(conf)
    except confluent_kafka.KafkaException as exc:
        raise UserError(
            f"Kafka {opts.servers}: {_kafka_text(exc)} (check --kafka-config)"
        ) from None


def _kafka_text(exc: BaseException) -> str:
    """The message of a ``KafkaException`` (its KafkaError's text)."""
    err: Any = exc.args[0] if exc.args else None
    text = err.str() if hasattr(err, "str") else str(exc)
    return " ".join(str(text).split())


@contextmanager
def kafka_errors(opts: KafkaOptions, what: str) -> Iterator[None]:
    """Turn a ``KafkaException`` inside the block into one line naming the servers and ``what``."""
    from confluent_kafka import KafkaException

    try:
        yield
    except KafkaException as exc:
        raise UserError(f"Kafka {opts.servers}: {what}: {_kafka_text(exc)}") from None


def topic_metadata(
    client: Any,
    servers: str,
    topic: str,
    errors: BrokerErrors,
    *,
    timeout: float = METADATA_TIMEOUT_S,
) -> Any:
    """The metadata of ``topic`` (None when the cluster does not list it).

    Gives up as soon as librdkafka reports every broker down (or a fatal error), else after
    ``timeout`` seconds.

    Raises:
        UserError: the cluster cannot be reached: one line with the servers and the reason.
    """
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            meta = client.list_topics(
                topic, timeout=max(0.1, min(1.0, deadline - time.monotonic()))
            )
            return meta.topics.get(topic)
        except KafkaException as exc:
            client.poll(0)  # serves error_cb
            if errors.give_up or time.monotonic() >= deadline:
                reason = errors.reason() or _kafka_text(exc)
                raise UserError(
                    f"Kafka {servers}: cannot get the metadata of topic {topic!r}: {reason}"
                ) from None


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """``--kafka-config K=V`` values as a dictionary.

    Raises:
        UserError: a value without ``=``.
    """
    return parse_assignments(
        pairs,
        lambda pair: UserError(
            f"--kafka-config {pair!r}: expected KEY=VALUE (a librdkafka setting)"
        ),
    )


def consumer(opts: KafkaOptions, errors: BrokerErrors | None = None) -> Any:
    """A consumer that can only be assigned partitions: no group, no commits.

    Raises:
        UserError: confluent-kafka is not installed, or the configuration is refused.
    """
    require("confluent_kafka", "capture kafka")
    # librdkafka wants a group.id even for assign(); it is never used to join or commit.
    return _client(
        "Consumer",
        opts,
        errors if errors is not None else BrokerErrors(),
        **{
            "group.id": "esm-replay-capture-never-joins",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        },
    )


def producer(opts: KafkaOptions, errors: BrokerErrors | None = None, **extra: Any) -> Any:
    """A producer (``extra``: librdkafka settings on top of ``opts``).

    Raises:
        UserError: confluent-kafka is not installed, or the configuration is refused.
    """
    require("confluent_kafka", "inject into Kafka")
    return _client("Producer", opts, errors if errors is not None else BrokerErrors(), **extra)


@dataclass(frozen=True)
class PartitionPlan:
    """The offsets ``[start, end)`` of one partition to capture."""

    partition: int
    start: int
    end: int


def _partitions(cons: Any, servers: str, topic: str, errors: BrokerErrors) -> list[int]:
    t = topic_metadata(cons, servers, topic, errors)
    if t is None or t.error is not None or not t.partitions:
        why = t.error.str() if t is not None and t.error is not None else "no partitions"
        raise UserError(f"Kafka {servers}: topic {topic!r}: {why}")
    return sorted(t.partitions)


def _offsets_for_times(cons: Any, topic: str, parts: list[int], ms: int) -> dict[int, int]:
    from confluent_kafka import TopicPartition

    found = cons.offsets_for_times([TopicPartition(topic, p, ms) for p in parts], timeout=10)
    return {tp.partition: tp.offset for tp in found}


def _scan(
    cons: Any, topic: str, marks: dict[int, tuple[int, int]], window: Window
) -> dict[int, tuple[int, int]]:
    """Offset bounds by reading timestamps: one pass over all partitions at once.

    For each partition: start is the first offset with a timestamp at or after the window's start,
    end the first offset from there with a timestamp after the window's end (the high watermark
    when there is none).
    """
    from confluent_kafka import KafkaError, TopicPartition

    bounds: dict[int, list[int | None]] = {p: [None, None] for p in marks}
    todo = {p for p, (lo, hi) in marks.items() if lo < hi}
    for p in set(marks) - todo:
        bounds[p] = [marks[p][1], marks[p][1]]
    if todo:
        cons.assign([TopicPartition(topic, p, marks[p][0]) for p in sorted(todo)])
    idle = 0
    while todo and idle < 10:
        msgs = cons.consume(_BATCH, timeout=1.0)
        idle = 0 if msgs else idle + 1
        finished: set[int] = set()
        for m in msgs:
            p = m.partition()
            if p not in todo or p in finished:
                continue
            hi = marks[p][1]
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    finished.add(p)
                continue
            b = bounds[p]
            ts = m.timestamp()[1]
            if b[0] is None and ts >= window.start_ms:
                b[0] = m.offset()
            if b[0] is not None and ts > window.end_ms:
                b[1] = m.offset()
                finished.add(p)
            elif m.offset() + 1 >= hi:
                finished.add(p)
        for p in finished:
            hi = marks[p][1]
            b = bounds[p]
            bounds[p] = [hi if b[0] is None else b[0], hi if b[1] is None else b[1]]
            todo.discard(p)
            cons.incremental_unassign([TopicPartition(topic, p)])
    if todo:
        raise UserError(f"Kafka topic {topic!r}: scanning partitions {sorted(todo)} stalled")
    cons.unassign()
    return {p: (int(b[0]), int(b[1])) for p, b in bounds.items()}  # type: ignore[arg-type]


def plan(
    cons: Any,
    topic: str,
    window: Window,
    *,
    scan: bool = False,
    opts: KafkaOptions | None = None,
    errors: BrokerErrors | None = None,
) -> list[PartitionPlan]:
    """The offset range of every partition for ``window`` (see the module docstring).

    ``opts`` and ``errors`` (the consumer's) name the servers and the reason when the cluster
    cannot be reached.
    """
    from confluent_kafka import TopicPartition

    servers = opts.servers if opts is not None else "cluster"
    parts = _partitions(cons, servers, topic, errors or BrokerErrors())
    marks = {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts}
    starts = {} if scan else _offsets_for_times(cons, topic, parts, window.start_ms)
    ends = {} if scan else _offsets_for_times(cons, topic, parts, window.end_ms + 1)
    # -1 means "no record at or after that time" -- or, from brokers (and librdkafka's mock)
    # that do not implement the lookup, "unknown": partitions holding records are then scanned.
    unknown = {
        p: marks[p]
        for p in parts
        if marks[p][0] < marks[p][1] and (starts.get(p, -1) < 0 or ends.get(p, -1) < 0)
    }
    scanned = _scan(cons, topic, unknown, window) if unknown else {}
    out = []
    for p in parts:
        lo, hi = marks[p]
        if p in scanned:
            start, end = scanned[p]
        else:
            start, end = starts.get(p, hi), ends.get(p, hi)
        start = min(max(start, lo), hi)
        end = min(max(end, start), hi)
        out.append(PartitionPlan(p, start, end))
    return out


def _text_key(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(key).decode("ascii")


def _headers(msg: Any) -> str | None:
    headers = msg.headers()
    if not headers:
        return None
    return json.dumps(
        [{name: list(value or b"")} for name, value in headers], separators=(",", ":")
    )


def rows(topic: str, partition: int, msgs: list[Any]) -> pa.Table:
    """Capture columns (all but ``pos`` and ``size``) for messages of one partition."""
    ts = [m.timestamp() for m in msgs]
    keys = [m.key() for m in msgs]
    return pa.table(
        {
            "shard": pa.array([f"{topic}-{partition}"] * len(msgs), type=pa.string()),
            "seq": pa.array([str(m.offset()) for m in msgs], type=pa.string()),
            "arrival": pa.array([t[1] for t in ts], type=pa.int64()).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            "key": pa.array([_text_key(k) for k in keys], type=pa.string()),
            "data": pa.array([m.value() or b"" for m in msgs], type=pa.binary()),
            "topic": pa.array([topic] * len(msgs), type=pa.string()),
            "partition": pa.array([partition] * len(msgs), type=pa.int32()),
            "offset": pa.array([m.offset() for m in msgs], type=pa.int64()),
            "timestamp_type": pa.array([TIMESTAMP_TYPES.get(t[0]) for t in ts], type=pa.string()),
            "key_bytes": pa.array(keys, type=pa.binary()),
            "headers": pa.array([_headers(m) for m in msgs], type=pa.string()),
        }
    )


def capture_kafka(
    opts: KafkaOptions,
    topic: str,
    window: Window,
    out: str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    scan: bool = False,
    redactor: Redactor | None = None,
    flush_rows: int = DEFAULT_FLUSH_ROWS,
    progress: ProgressFn = no_progress,
    endpoint_url: str | None = None,
) -> Capture:
    """Capture ``topic`` for ``window`` into ``out`` (resumable with ``resume``).

    Raises:
        UserError: the cluster or topic cannot be reached; on Ctrl-C the records read so far are
            checkpointed and the message says to ``--resume``.
    """
    errors = BrokerErrors()
    cons = consumer(opts, errors)
    try:
        with kafka_errors(opts, f"topic {topic!r}: reading offsets"):
            plans = plan(cons, topic, window, scan=scan, opts=opts, errors=errors)
        bootstrap = opts.servers
        source = SourceInfo(
            kind=SourceKind.KAFKA,
            arn=None,
            region=None,
            name=topic,
            settings={
                "BootstrapServers": bootstrap,
                "Partitions": len(plans),
                "offsets": {f"{topic}-{p.partition}": [p.start, p.end] for p in plans},
            },
        )
        manifest = Manifest(
            source=source,
            shards=tuple(ShardInfo(id=f"{topic}-{p.partition}") for p in plans),
            window_start_ms=window.start_ms,
            window_end_ms=window.end_ms,
            redaction=redactor.describe() if redactor else None,
            created_by="capture kafka",
        )
        ctx = EventContext(SourceKind.KAFKA, "", "")
        try:
            writer = CaptureWriter.open(
                out,
                manifest,
                ctx,
                resume=resume,
                overwrite=overwrite,
                redactor=redactor,
                flush_rows=flush_rows,
                endpoint_url=endpoint_url,
            )
        except CaptureComplete:
            return read_capture(out)
        # A resumed capture reads the offset ranges it planned the first time.
        stored = writer.manifest.source.settings.get("offsets") or {}
        plans = [
            PartitionPlan(p.partition, *stored.get(f"{topic}-{p.partition}", [p.start, p.end]))
            for p in plans
        ]
        try:
            with kafka_errors(opts, f"topic {topic!r}: reading records (resume with --resume)"):
                _read(cons, topic, plans, writer, progress)
        except KeyboardInterrupt:
            writer.checkpoint()
            raise UserError(
                f"interrupted; records read so far are saved in {out}; "
                "run the same command with --resume to continue"
            ) from None
        updates: dict[str, Any] = {}
        if redactor is not None:
            updates["redaction"] = redactor.describe()
        return writer.finish(**updates)
    finally:
        cons.close()


def _read(
    cons: Any, topic: str, plans: list[PartitionPlan], writer: CaptureWriter, progress: ProgressFn
) -> None:
    from confluent_kafka import KafkaError, TopicPartition

    todo: dict[int, PartitionPlan] = {}
    assign = []
    for p in plans:
        shard = f"{topic}-{p.partition}"
        last = writer.state.last_seq.get(shard)
        start = max(p.start, int(last) + 1) if last is not None else p.start
        progress(ShardProgress(shard, writer.count(shard), p.end - start, start >= p.end))
        if start < p.end:
            todo[p.partition] = PartitionPlan(p.partition, start, p.end)
            assign.append(TopicPartition(topic, p.partition, start))
    if not assign:
        return
    cons.assign(assign)
    idle_since = time.monotonic()
    while todo:
        eof: set[int] = set()
        msgs = cons.consume(_BATCH, timeout=1.0)
        by_part: dict[int, list[Any]] = {}
        for m in msgs:
            if m.error() is not None:
                # End of partition: nothing left below the high watermark, which is at or past
                # the plan's end (gaps from compaction or transaction markers end here too).
                if m.error().code() == KafkaError._PARTITION_EOF and m.partition() in todo:
                    eof.add(m.partition())
                continue
            plan_p = todo.get(m.partition())
            if plan_p is None or m.offset() >= plan_p.end:
                continue
            by_part.setdefault(plan_p.partition, []).append(m)
        for part, batch in by_part.items():
            shard = f"{topic}-{part}"
            writer.add(shard, rows(topic, part, batch))
            last = batch[-1].offset()
            end = todo[part].end
            progress(ShardProgress(shard, writer.count(shard), end - last - 1, last + 1 >= end))
            if last + 1 >= end:
                del todo[part]
                cons.incremental_unassign([TopicPartition(topic, part)])
        for part in eof:
            if part in todo:
                shard = f"{topic}-{part}"
                progress(ShardProgress(shard, writer.count(shard), 0, True))
                del todo[part]
                cons.incremental_unassign([TopicPartition(topic, part)])
        if by_part:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 30:
            raise UserError(
                f"Kafka topic {topic!r}: no records for 30 s while partitions "
                f"{sorted(todo)} still had offsets to read; resume with --resume"
            )
