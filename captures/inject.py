"""Re-drive a capture into a stream, queue or topic: ``esm-replay inject CAPTURE --to TARGET``.

Targets: a Kinesis stream ARN, an SQS queue (ARN or URL), or ``kafka://TOPIC`` (bootstrap from
``--bootstrap``/``--kafka-config``; ``kafka://HOST:PORT,.../TOPIC`` also works). The plan —
records, keys, batches, API calls, expected duration — is always computed and printed; nothing is
sent unless ``execute`` is true.

What is preserved: Kinesis partition keys, SQS bodies, message attributes, MessageGroupId and
deduplication ids, Kafka keys, headers and partitions (when the target topic has enough), and the
order of records per key. Records go out in capture order per shard (by arrival, made monotonic
per shard), and a batch never holds two records with the same key: a partially failed batch is
retried for its failed entries only, which therefore cannot overtake a later record of their key.

Pacing: ``rate`` records per second, or ``speed`` × the original timing (2 = twice as fast), or as
fast as the target accepts when neither is given.

Safety: the capture's own source (the stream, queue or topic it was read from) is refused as a
target unless ``to_source`` is set: re-sending would add a second copy of every record to it.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from captures.aws import Arn, AwsOptions, aws_errors, is_throttle, require, user_error
from captures.kafka import BrokerErrors, KafkaOptions, kafka_errors, producer, topic_metadata
from replay.errors import UserError
from replay.formats.capture import SourceInfo, read_capture
from replay.vocabulary import SourceKind

_LIMITS = {"kinesis": (500, 5 * 1024 * 1024), "sqs": (10, 1024 * 1024), "kafka": (1000, 1 << 60)}


@dataclass(frozen=True)
class Target:
    """Where to inject: ``kind`` kinesis | sqs | kafka, and the name (stream, queue URL, topic)."""

    kind: str
    name: str
    bootstrap: str | None = None
    region: str | None = None
    account: str | None = None


def parse_target(text: str, *, bootstrap: str | None = None) -> Target:
    """Parse ``--to`` (``bootstrap``: the Kafka servers when the URI does not name them).

    Raises:
        UserError: not a Kinesis stream ARN, SQS queue ARN/URL or kafka:// URI.
    """
    if text.startswith("kafka://"):
        rest = text[len("kafka://") :]
        if "/" in rest:
            boot, _, topic = rest.rpartition("/")
            return Target("kafka", topic, bootstrap=boot or bootstrap)
        return Target("kafka", rest, bootstrap=bootstrap)
    if text.startswith(("https://", "http://")):
        _, account, region = _queue_identity(text)
        return Target("sqs", text, region=region, account=account)
    arn = Arn.parse(text)
    if arn is not None and arn.service == "kinesis" and arn.resource.startswith("stream/"):
        name = arn.resource.split("/", 1)[1]
        return Target("kinesis", name, region=arn.region, account=arn.account)
    if arn is not None and arn.service == "sqs":
        return Target("sqs", text, region=arn.region, account=arn.account)
    raise UserError(
        f"--to {text!r}: expected a Kinesis stream ARN, an SQS queue ARN or URL, or kafka://TOPIC"
    )


_SQS_HOST_REGION = re.compile(r"^(?:sqs\.([a-z0-9-]+)\.|([a-z0-9-]+)\.queue\.)amazonaws\.")


def _queue_identity(text: str) -> tuple[str, str | None, str | None]:
    """(name, account, region) of an SQS queue ARN or URL (None: the text does not say)."""
    arn = Arn.parse(text)
    if arn is not None:
        return arn.resource, arn.account or None, arn.region or None
    url = urllib.parse.urlsplit(text)
    segments = [seg for seg in url.path.split("/") if seg]
    name = segments[-1] if segments else ""
    account = segments[-2] if len(segments) >= 2 else None
    m = _SQS_HOST_REGION.match(url.hostname or "")
    return name, account, (m.group(1) or m.group(2)) if m else None


def _servers(text: str) -> set[str]:
    return {s.strip().lower() for s in text.split(",") if s.strip()}


def is_own_source(source: SourceInfo, target: Target) -> bool:
    """Whether ``target`` is the stream, queue or topic ``source`` describes.

    Kinesis and SQS: the same name, and the same account and region wherever both are known.
    Kafka: the same topic on a cluster sharing a bootstrap server with the capture's (a capture
    whose servers are unknown, e.g. an imported MSK event, never matches).
    """

    def same(a: str | None, b: str | None) -> bool:
        return not a or not b or a == b

    if target.kind == "kafka":
        if source.kind is not SourceKind.KAFKA or source.name != target.name:
            return False
        servers = str(source.settings.get("BootstrapServers") or "")
        return bool(target.bootstrap and _servers(servers) & _servers(target.bootstrap))
    arn = Arn.parse(source.arn or "")
    if arn is None:
        return False
    if target.kind == "kinesis":
        return (
            source.kind is SourceKind.KINESIS
            and arn.resource == f"stream/{target.name}"
            and same(arn.region, target.region)
            and same(arn.account, target.account)
        )
    if source.kind is not SourceKind.SQS:
        return False
    name, account, region = _queue_identity(target.name)
    return arn.resource == name and same(arn.account, account) and same(arn.region, region)


def _own_source_error(capture: str, to: str) -> UserError:
    return UserError(
        f"inject: {to} is where {capture} was captured from; sending its records there again "
        "adds a second copy of each: pass --to-source to do it anyway"
    )


@dataclass(frozen=True)
class Batch:
    """Rows (indices into the ordered records) sent in one call, and when it is due (s from start)."""

    rows: tuple[int, ...]
    due_s: float


@dataclass(frozen=True)
class Plan:
    """What ``inject`` would do."""

    capture: str
    target: Target
    kind: SourceKind
    records: pa.Table
    batches: tuple[Batch, ...]
    keys: int
    rate: float | None
    speed: float | None
    original_s: float
    source: SourceInfo | None = None
    to: str = ""

    @property
    def own_source(self) -> bool:
        """Whether the target is the capture's own source (refused unless ``to_source``)."""
        return self.source is not None and is_own_source(self.source, self.target)

    @property
    def duration_s(self) -> float:
        """Expected pacing time (0 when sent as fast as possible)."""
        return self.batches[-1].due_s if self.batches else 0.0

    def lines(self) -> list[str]:
        """The plan, for printing."""
        t = self.target
        where = {"kinesis": "kinesis stream", "sqs": "sqs queue", "kafka": "kafka topic"}[t.kind]
        calls = {"kinesis": "PutRecords", "sqs": "SendMessageBatch", "kafka": "produce batches"}[
            t.kind
        ]
        if self.rate:
            pacing = f"{self.rate:g} records/s (~{self.duration_s:.1f} s)"
        elif self.speed:
            pacing = f"speed x{self.speed:g} of the original {self.original_s:.1f} s (~{self.duration_s:.1f} s)"
        else:
            pacing = "as fast as the target accepts"
        return [
            f"inject plan: {self.records.num_rows} records from {self.capture} "
            f"({self.kind.value}, {self.keys} keys) into {where} {t.name}",
            "  order: per key as captured; keys, groups, attributes and headers kept",
            f"  calls: {len(self.batches)} {calls} (a batch never holds two records of one key)",
            f"  pacing: {pacing}",
            *(
                ["  target: the capture's own source (--execute refuses it without --to-source)"]
                if self.own_source
                else []
            ),
        ]


def _order(records: pa.Table) -> pa.Table:
    """Records in send order: by arrival made non-decreasing within each shard, then shard, pos."""
    records = records.sort_by([("shard", "ascending"), ("pos", "ascending")])
    arrival = records.column("arrival").cast(pa.int64()).to_numpy().copy()
    shards = records.column("shard").to_pylist()
    for i in range(1, len(shards)):
        if shards[i] == shards[i - 1] and arrival[i] < arrival[i - 1]:
            arrival[i] = arrival[i - 1]
    order = np.lexsort(
        (records.column("pos").to_numpy(), np.array(shards, dtype=object).astype(str), arrival)
    )
    return records.take(pa.array(order)).append_column("_due_ms", pa.array(arrival[order]))


def plan_inject(
    capture_path: str,
    to: str,
    *,
    rate: float | None = None,
    speed: float | None = None,
    bootstrap: str | None = None,
) -> Plan:
    """Compute the injection plan (nothing is sent).

    ``bootstrap``: the Kafka servers of a ``kafka://TOPIC`` target (from ``--bootstrap``).

    Raises:
        UserError: a bad target, both or invalid pacing options, or a source/target mismatch.
    """
    if rate is not None and speed is not None:
        raise UserError("inject: give --rate or --speed, not both")
    if (rate is not None and rate <= 0) or (speed is not None and speed <= 0):
        raise UserError("inject: --rate and --speed must be positive")
    target = parse_target(to, bootstrap=bootstrap)
    capture = read_capture(capture_path)
    kind = capture.kind
    if kind is SourceKind.DYNAMODB:
        raise UserError(f"{capture_path}: DynamoDB captures cannot be injected (no stream writes)")
    records = _order(capture.records)
    due_ms = records.column("_due_ms").to_numpy()
    keys = records.column("key").to_pylist()
    sizes = [
        len(d) + len(k or "") for d, k in zip(records.column("data").to_pylist(), keys, strict=True)
    ]
    max_n, max_bytes = _LIMITS[target.kind]
    origin = float(due_ms[0]) if len(due_ms) else 0.0
    batches: list[Batch] = []
    current: list[int] = []
    seen: set[str | None] = set()
    nbytes = 0

    def due(i: int) -> float:
        if rate:
            return i / rate
        if speed:
            return (float(due_ms[i]) - origin) / 1000.0 / speed
        return 0.0

    for i, key in enumerate(keys):
        marker = key if key is not None else f"\0{i}"
        full = len(current) >= max_n or nbytes + sizes[i] > max_bytes
        late = current and due(i) > due(current[0]) + 0.05
        if current and (full or marker in seen or late):
            batches.append(Batch(tuple(current), due(current[0])))
            current, seen, nbytes = [], set(), 0
        current.append(i)
        seen.add(marker)
        nbytes += sizes[i]
    if current:
        batches.append(Batch(tuple(current), due(current[0])))
    span = (float(due_ms[-1]) - origin) / 1000.0 if len(due_ms) else 0.0
    nkeys = len(set(keys))
    return Plan(
        capture_path,
        target,
        kind,
        records,
        tuple(batches),
        nkeys,
        rate,
        speed,
        span,
        source=capture.manifest.source,
        to=to,
    )


@dataclass(frozen=True)
class InjectResult:
    """What was sent."""

    sent: int
    calls: int
    retried: int


def execute(
    plan: Plan,
    aws: AwsOptions,
    kafka: KafkaOptions | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    to_source: bool = False,
) -> InjectResult:
    """Send the planned batches, paced; retries only failed entries (throttling backs off).

    Raises:
        UserError: the target is the capture's own source and ``to_source`` is not set (checked
            before anything is sent), or the target cannot be reached.
    """
    if plan.own_source and not to_source:
        raise _own_source_error(plan.capture, plan.to or plan.target.name)
    sender = _sender(plan, aws, kafka, to_source=to_source)
    start = time.monotonic()
    sent = retried = 0
    cols = {name: plan.records.column(name).to_pylist() for name in plan.records.column_names}
    for batch in plan.batches:
        delay = start + batch.due_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pending = list(batch.rows)
        backoff = 0.2
        while pending:
            failed = sender(cols, pending)
            sent += len(pending) - len(failed)
            if failed:
                retried += len(failed)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            pending = failed
        if progress is not None:
            progress(sent)
    closer = getattr(sender, "close", None)
    if closer is not None:
        closer()
    return InjectResult(sent, len(plan.batches), retried)


Sender = Callable[[dict[str, list[Any]], list[int]], list[int]]


def _sender(plan: Plan, aws: AwsOptions, kafka: KafkaOptions | None, *, to_source: bool) -> Sender:
    t = plan.target
    if t.kind in ("kinesis", "sqs"):
        require("boto3", f"inject into {'Kinesis' if t.kind == 'kinesis' else 'SQS'}")
    if t.kind == "kinesis":
        return _kinesis_sender(aws.with_region(t.region), t.name)
    if t.kind == "sqs":
        sender, arn = _sqs_sender(aws.with_region(t.region), t.name, plan.kind)
        source_arn = plan.source.arn if plan.source is not None else None
        if not to_source and source_arn and arn == source_arn:
            raise _own_source_error(plan.capture, plan.to or t.name)
        return sender
    opts = kafka or KafkaOptions()
    if t.bootstrap:
        opts = KafkaOptions(t.bootstrap, opts.settings)
    effective = Target("kafka", t.name, bootstrap=opts.servers)
    if not to_source and plan.source is not None and is_own_source(plan.source, effective):
        raise _own_source_error(plan.capture, plan.to or t.name)
    return _KafkaSender(opts, t.name)


def _kinesis_sender(aws: AwsOptions, stream: str) -> Sender:
    client = aws.client("kinesis")

    def send(cols: dict[str, list[Any]], rows: list[int]) -> list[int]:
        entries = [
            {"Data": cols["data"][i], "PartitionKey": cols["key"][i] or str(cols["seq"][i])}
            for i in rows
        ]
        try:
            resp = client.put_records(StreamName=stream, Records=entries)
        except Exception as exc:
            if is_throttle(exc):
                return rows  # the whole call was throttled: retry it after a back-off
            mapped = user_error(exc, f"kinesis stream {stream}: PutRecords")
            if mapped is None:
                raise
            raise mapped from None
        return [rows[j] for j, r in enumerate(resp["Records"]) if r.get("ErrorCode")]

    return send


def _sqs_attributes(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    out: dict[str, Any] = {}
    for name, a in json.loads(text).items():
        entry: dict[str, Any] = {"DataType": a.get("dataType") or "String"}
        if a.get("stringValue") is not None:
            entry["StringValue"] = a["stringValue"]
        if a.get("binaryValue") is not None:
            entry["BinaryValue"] = base64.b64decode(a["binaryValue"])
        out[name] = entry
    return out


def _sqs_sender(aws: AwsOptions, queue: str, kind: SourceKind) -> tuple[Sender, str]:
    """The sender, and the queue's ARN as SQS gives it."""
    from captures.sqs import resolve_queue

    q, client, _ = resolve_queue(aws, queue)

    def send(cols: dict[str, list[Any]], rows: list[int]) -> list[int]:
        entries = []
        for j, i in enumerate(rows):
            entry: dict[str, Any] = {
                "Id": str(j),
                "MessageBody": cols["data"][i].decode("utf-8"),
            }
            if kind is SourceKind.SQS:
                attrs = _sqs_attributes(cols["message_attributes"][i])
                if attrs:
                    entry["MessageAttributes"] = attrs
            if q.fifo:
                entry["MessageGroupId"] = cols["key"][i] or "esm-replay"
                dedup = (
                    cols.get("dedup_id", [None] * (i + 1))[i] if kind is SourceKind.SQS else None
                )
                entry["MessageDeduplicationId"] = dedup or str(cols["seq"][i])[:128]
            entries.append(entry)
        with aws_errors(f"sqs queue {q.name}: SendMessageBatch"):
            resp = client.send_message_batch(QueueUrl=q.url, Entries=entries)
        return [rows[int(f["Id"])] for f in resp.get("Failed", [])]

    return send, q.arn


class _KafkaSender:
    """Produces with idempotence (per-partition order survives retries inside librdkafka)."""

    def __init__(self, opts: KafkaOptions, topic: str) -> None:
        self.topic = topic
        self.opts = opts
        broker_errors = BrokerErrors()
        self.producer = producer(
            opts, broker_errors, **{"enable.idempotence": True, "linger.ms": 5}
        )
        meta = topic_metadata(self.producer, opts.servers, topic, broker_errors)
        if meta is None or meta.error is not None:
            why = meta.error.str() if meta is not None else "not found"
            raise UserError(f"Kafka {opts.servers}: topic {topic!r}: {why}")
        self.partitions = len(meta.partitions)
        self.errors: list[str] = []

    def __call__(self, cols: dict[str, list[Any]], rows: list[int]) -> list[int]:
        for i in rows:
            kwargs: dict[str, Any] = {"value": cols["data"][i]}
            key = cols.get("key_bytes", cols["key"])[i]
            if key is not None:
                kwargs["key"] = key if isinstance(key, bytes) else str(key).encode("utf-8")
            part = cols.get("partition", [None] * (i + 1))[i]
            if part is not None and part < self.partitions:
                kwargs["partition"] = part
            headers = cols.get("headers", [None] * (i + 1))[i]
            if headers:
                kwargs["headers"] = [
                    (n, bytes(v)) for h in json.loads(headers) for n, v in h.items()
                ]
            with kafka_errors(self.opts, f"topic {self.topic!r}: produce"):
                self.producer.produce(self.topic, on_delivery=self._delivered, **kwargs)
            self.producer.poll(0)
        return []

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err))

    def close(self) -> None:
        left = self.producer.flush(30)
        if left or self.errors:
            raise UserError(f"kafka topic {self.topic!r}: {left} unsent, errors: {self.errors[:1]}")
