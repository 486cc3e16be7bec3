"""The source's identity, the one JSON serialisation, and the invocation envelope around records.

Every other module of :mod:`replay.events` builds on these: :class:`EventContext` says which
source a record comes from, :func:`dumps` is how anything becomes bytes (payload sizes, S3
on-failure payloads), and :func:`build_event` wraps records in what the function receives —
``{"Records": [...]}``, the tumbling-window extras (ESM-SEMANTICS 2.7), or Kafka's ``records``
map (B93, B94).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from replay.timeutil import iso_ms, iso_s
from replay.vocabulary import SourceKind

DEFAULT_INVOKE_IDENTITY_ARN = "arn:aws:iam::123456789012:role/esm-replay"
KAFKA_MSK_EVENT_SOURCE = "aws:kafka"
KAFKA_SELF_MANAGED_EVENT_SOURCE = "SelfManagedKafka"

_ENVELOPE = b'{"Records":[]}'
EVENT_OVERHEAD: int = len(_ENVELOPE) - 1
"""Bytes of the ``{"Records":[]}`` envelope less one: each record's size counts the comma that
separates it from the next, and the last record has none, so for a non-empty event
``len(event_json(event)) == EVENT_OVERHEAD + sum(record sizes)``."""


@dataclass(frozen=True)
class EventContext:
    """What an event carries besides the records themselves: the source's identity.

    Attributes:
        kind: the source family; decides the record shape.
        source_arn: ``eventSourceARN`` of every record.
        region: ``awsRegion`` of every record.
        invoke_identity_arn: Kinesis ``invokeIdentityArn`` (the ESM's execution role).
        bootstrap_servers: Kafka ``bootstrapServers`` (comma-separated ``host:port``); the key is
            left out of the event when unknown.
        kafka_self_managed: a self-managed Kafka source (``eventSource`` ``SelfManagedKafka``, no
            ``eventSourceArn``) rather than Amazon MSK (B94).
    """

    kind: SourceKind
    source_arn: str
    region: str
    invoke_identity_arn: str = DEFAULT_INVOKE_IDENTITY_ARN
    bootstrap_servers: str | None = None
    kafka_self_managed: bool = False


@dataclass(frozen=True)
class WindowInfo:
    """The tumbling-window extras of one invocation (ESM-SEMANTICS 2.7).

    Attributes:
        start_ms: window start, epoch milliseconds (inclusive).
        end_ms: window end, epoch milliseconds (exclusive).
        state: the state returned by the previous invocation of this window (``{}`` at first).
        shard_id: the shard the window belongs to.
        final: ``isFinalInvokeForWindow``.
        terminated_early: ``isWindowTerminatedEarly`` (state grew past 1 MB).
    """

    start_ms: int
    end_ms: int
    state: dict[str, Any]
    shard_id: str
    final: bool
    terminated_early: bool


# --------------------------------------------------------------------------- serialisation


def dumps(obj: Any) -> str:
    """Compact JSON text of ``obj``, the one serialisation behind every payload byte count."""
    # Compact and UTF-8 (non-ASCII characters are not \u-escaped), as Lambda's own serialiser writes.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def json_values(texts: list[bytes]) -> list[Any]:
    """Parse many JSON texts with one call, as the elements of one array (much cheaper than one
    ``json.loads`` per text); a text that is not exactly one value is parsed alone, to fail there."""
    if not texts:
        return []
    try:
        values: list[Any] = json.loads(b"[" + b",".join(texts) + b"]")
    except ValueError:
        values = []
    if len(values) != len(texts):
        values = [json.loads(t) for t in texts]
    return values


def event_json(event: dict[str, Any]) -> bytes:
    """Serialise an event: compact JSON, UTF-8; what payload sizes and S3 payloads are made of."""
    return dumps(event).encode("utf-8")


# --------------------------------------------------------------------------- envelope


def envelope_overhead(
    ctx: EventContext, window: WindowInfo | None = None, partitions: Sequence[str] = ()
) -> int:
    """Bytes an event adds beyond the sum of its records' sizes (see the package's size identity).

    Args:
        ctx: the event context: Kafka's envelope carries the source's identity.
        window: tumbling-window extras, whose size depends on the state carried.
        partitions: Kafka only: the distinct ``"<topic>-<partition>"`` keys of the batch. Each
            opens its own array in the ``records`` map (B93); the commas that record sizes count
            are exactly the commas the map needs, so only the keys and brackets are added here.

    Returns:
        For Kinesis, DynamoDB and SQS, ``EVENT_OVERHEAD`` without a window, else the size of the
        window event with no records, less one. For Kafka, the size of the envelope with an empty
        ``records`` map, less one, plus ``len('"<key>":[]')`` per partition.
    """
    if ctx.kind is SourceKind.KAFKA:
        base = len(event_json(build_event([], ctx))) - 1
        return base + sum(len(dumps(p).encode("utf-8")) + 3 for p in partitions)
    if window is None:
        return EVENT_OVERHEAD
    return len(event_json(build_event([], ctx, window))) - 1


def _window_time(ms: int) -> str:
    # AWS shows whole seconds ("2020-12-09T07:04:00Z"); keep milliseconds only if a window has them.
    return iso_s(ms) if ms % 1000 == 0 else iso_ms(ms)


def build_event(
    records: list[dict[str, Any]], ctx: EventContext, window: WindowInfo | None = None
) -> dict[str, Any]:
    """Wrap records in the invocation event.

    Kinesis, DynamoDB and SQS: ``{"Records": records}``. With a window (2.7), the keys follow the
    AWS examples (services-kinesis-windows, services-ddb-windows): ``Records``, ``window``
    ``{start, end}`` (ISO-8601 UTC), ``state``, ``shardId``, ``eventSourceARN``,
    ``isFinalInvokeForWindow``, ``isWindowTerminatedEarly``.

    Kafka (B93, B94; with-msk.html and with-kafka.html examples): ``eventSource`` (``aws:kafka`` for
    MSK, ``SelfManagedKafka`` otherwise), ``eventSourceArn`` (MSK only), ``bootstrapServers`` (when
    known), ``records``: the records grouped by ``"<topic>-<partition>"`` in first-appearance order,
    each group keeping the records' order.
    """
    if ctx.kind is SourceKind.KAFKA:
        return _kafka_event(records, ctx)
    event: dict[str, Any] = {"Records": records}
    if window is not None:
        event["window"] = {
            "start": _window_time(window.start_ms),
            "end": _window_time(window.end_ms),
        }
        event["state"] = window.state
        event["shardId"] = window.shard_id
        event["eventSourceARN"] = ctx.source_arn
        event["isFinalInvokeForWindow"] = window.final
        event["isWindowTerminatedEarly"] = window.terminated_early
    return event


def _kafka_event(records: list[dict[str, Any]], ctx: EventContext) -> dict[str, Any]:
    event: dict[str, Any] = {}
    if ctx.kafka_self_managed:
        event["eventSource"] = KAFKA_SELF_MANAGED_EVENT_SOURCE
    else:
        event["eventSource"] = KAFKA_MSK_EVENT_SOURCE
        event["eventSourceArn"] = ctx.source_arn
    if ctx.bootstrap_servers is not None:
        event["bootstrapServers"] = ctx.bootstrap_servers
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        grouped.setdefault(f"{rec['topic']}-{rec['partition']}", []).append(rec)
    event["records"] = grouped
    return event
