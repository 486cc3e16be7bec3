"""SQS event records (S01, S03, B92), the deterministic receipt handle of a receive (S02), and the
order Lambda prints a message's system attributes in (B92).

An SQS record depends on the delivery as well as on the capture row (:class:`SqsDelivery`):
the receive count, the first-receive time and the receipt handle change from one receive to the
next (S02, B65).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.events.envelope import EventContext, json_values

SQS_EVENT_SOURCE = "aws:sqs"
RECEIPT_HANDLE_LENGTH = 180
"""Length of every :func:`receipt_handle` (``AQEB`` + 176 base64 characters), so that SQS record
sizes do not depend on the receive."""


@dataclass(frozen=True)
class SqsDelivery:
    """What changes from one delivery of an SQS message to the next (S02, B65), one entry per row.

    Attributes:
        receive_counts: ``ApproximateReceiveCount`` of each row (1 on the first receive).
        first_receive_ms: ``ApproximateFirstReceiveTimestamp`` of each row, epoch milliseconds.
        receipt_handles: ``receiptHandle`` of each row (see :func:`receipt_handle`).
    """

    receive_counts: Sequence[int]
    first_receive_ms: Sequence[int]
    receipt_handles: Sequence[str]


SQS_RECEIVE_COUNT = "ApproximateReceiveCount"
SQS_SENT = "SentTimestamp"
SQS_FIRST_RECEIVE = "ApproximateFirstReceiveTimestamp"
# Typed capture columns and the system attribute each one holds (docs/capture-format.md).
SQS_OPTIONAL_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("trace_header", "AWSTraceHeader"),
    ("sequence_number", "SequenceNumber"),
    ("group_id", "MessageGroupId"),
    ("sender_id", "SenderId"),
    ("dedup_id", "MessageDeduplicationId"),
)
SQS_TYPED_ATTRIBUTES: frozenset[str] = frozenset(
    {SQS_RECEIVE_COUNT, SQS_SENT, SQS_FIRST_RECEIVE} | {name for _, name in SQS_OPTIONAL_ATTRIBUTES}
)
"""System attributes rebuilt from typed columns or from the delivery; the ``attributes`` column
contributes only the others (such as ``DeadLetterQueueSourceArn``)."""
# The capture columns an SQS record is built from.
SQS_COLUMNS = (
    "seq",
    "arrival",
    "data",
    "message_id",
    "md5_of_body",
    "attributes",
    "message_attributes",
    "md5_of_message_attributes",
    *(column for column, _ in SQS_OPTIONAL_ATTRIBUTES),
)
# Lambda fills the attributes map as a Java HashMap: keys come out by hash bucket and, within a
# bucket, in insertion order. With this insertion order the model reproduces every order on record:
# the docs' FIFO example (ApproximateReceiveCount, SentTimestamp, SequenceNumber, MessageGroupId,
# SenderId, MessageDeduplicationId, ApproximateFirstReceiveTimestamp), real events where
# AWSTraceHeader follows ApproximateReceiveCount (they share a bucket), and DeadLetterQueueSourceArn
# first (events read from a dead-letter queue).
_SQS_INSERTION_ORDER = (
    SQS_RECEIVE_COUNT,
    "AWSTraceHeader",
    SQS_SENT,
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    SQS_FIRST_RECEIVE,
    "DeadLetterQueueSourceArn",
)
_SQS_KNOWN_KEY_RE = '"(?:' + "|".join(sorted(SQS_TYPED_ATTRIBUTES)) + ')"\\s*:'


def receipt_handle(message_id: str, receive_count: int) -> str:
    """The receipt handle of one receive of a message: deterministic, different per receive (S02).

    Real handles are opaque base64 beginning ``AQEB``; this one is ``AQEB`` plus 176 base64
    characters derived from the message id and the receive count, always
    :data:`RECEIPT_HANDLE_LENGTH` long.
    """
    digest = hashlib.shake_256(f"esm-replay/{message_id}/{receive_count}".encode()).digest(132)
    return "AQEB" + base64.b64encode(digest).decode("ascii")


def _java_hash_bucket(name: str, buckets: int) -> int:
    """The bucket of ``name`` in a ``java.util.HashMap`` of ``buckets`` buckets."""
    h = 0
    for (unit,) in struct.iter_unpack(">H", name.encode("utf-16-be")):
        h = (31 * h + unit) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & (buckets - 1)


@functools.lru_cache(maxsize=256)
def _sqs_attribute_order(names: tuple[str, ...]) -> tuple[str, ...]:
    buckets = 16
    while len(names) > buckets * 3 // 4:  # HashMap doubles past a 0.75 load factor
        buckets *= 2
    rank = {n: i for i, n in enumerate(_SQS_INSERTION_ORDER)}
    # sorted() is stable: names Lambda does not know keep their given order within a bucket.
    return tuple(
        sorted(names, key=lambda n: (_java_hash_bucket(n, buckets), rank.get(n, len(rank))))
    )


def order_sqs_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS system attributes in the order Lambda (and SQS) print them (B92; see the model above).

    UNCONFIRMED beyond the orders on record: the model is a HashMap's, fitted to the docs' FIFO
    example and to real events, not documented by AWS.
    """
    return {name: attributes[name] for name in _sqs_attribute_order(tuple(attributes))}


@functools.lru_cache(maxsize=1024)
def _message_attribute_order(names: tuple[str, ...]) -> tuple[str, ...]:
    buckets = 16
    while len(names) > buckets * 3 // 4:
        buckets *= 2
    return tuple(sorted(names, key=lambda n: (_java_hash_bucket(n, buckets), n)))


def order_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Message attributes in the order Lambda delivers them (``messageAttributes``).

    SQS hands them over sorted by name (the order its MD5 of message attributes is computed in)
    and Lambda puts them in a Java HashMap, so they come out by hash bucket, and by name within
    a bucket. The model reproduces the order on record (S03: sent Title, Author, WeeksOn;
    delivered WeeksOn, Author, Title). UNCONFIRMED beyond that recording. Captures made from
    Lambda events keep the order the events had; ``receive-message`` output and the live agent
    (``capture sqs``), which see SQS's order, are put in this one when captured.
    """
    return {name: attributes[name] for name in _message_attribute_order(tuple(attributes))}


def _check_delivery(sqs: SqsDelivery, n: int) -> None:
    lengths = (len(sqs.receive_counts), len(sqs.first_receive_ms), len(sqs.receipt_handles))
    if lengths != (n, n, n):
        raise ValueError(f"SqsDelivery holds {lengths} entries; expected one per row ({n})")


def utf8(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Binary as text. SQS bodies are Unicode by definition; bytes that are not UTF-8 (a corrupt
    capture) become U+FFFD rather than stopping the replay."""
    try:
        return col.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array(
            [None if b is None else b.decode("utf-8", "replace") for b in col.to_pylist()],
            pa.string(),
        )


def message_ids(t: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The ``messageId`` of each row."""
    # A row without message_id falls back to seq: the message id of a standard queue.
    return pc.coalesce(t.column("message_id"), t.column("seq"))


def _may_have_extra_attributes(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Rows whose ``attributes`` JSON may name attributes beyond :data:`SQS_TYPED_ATTRIBUTES`.

    Counts keys (``"...":``) against known keys in one regex pass each; a value holding an escaped
    quote before a colon can only over-count, which sends the row to the exact (parsing) path. (A
    key whose own name ends in an escaped quote and a known name could pass as that name; SQS
    system attribute names hold no quotes.)
    """
    keys = pc.count_substring_regex(col, '"\\s*:')
    known = pc.count_substring_regex(col, _SQS_KNOWN_KEY_RE)
    more = pc.fill_null(pc.greater(keys, known), False)
    flags: np.ndarray = more.to_numpy(zero_copy_only=False)
    return flags


def sqs_extra_attributes(col: pa.ChunkedArray | pa.Array) -> list[dict[str, Any] | None]:
    """Per row, the captured attributes that no typed column holds (``None`` for most rows)."""
    out: list[dict[str, Any] | None] = [None] * len(col)
    flagged = np.flatnonzero(_may_have_extra_attributes(col))
    if flagged.size:
        texts = col.take(pa.array(flagged, pa.int64())).to_pylist()
        for i, value in zip(flagged, json_values([t.encode("utf-8") for t in texts]), strict=True):
            extra = {k: v for k, v in value.items() if k not in SQS_TYPED_ATTRIBUTES}
            out[int(i)] = extra or None
    return out


def sqs_records(t: pa.Table, ctx: EventContext, sqs: SqsDelivery | None) -> list[dict[str, Any]]:
    """SQS records (S01, S03, B92): the body verbatim, every attribute value a string.

    ``attributes`` holds ApproximateReceiveCount, SentTimestamp and ApproximateFirstReceiveTimestamp
    (epoch ms), then SenderId, AWSTraceHeader and the FIFO trio (SequenceNumber, MessageGroupId,
    MessageDeduplicationId) where their columns are set, plus captured attributes no column
    holds; ordered by :func:`order_sqs_attributes`. ``messageAttributes`` is the stored Lambda-shape
    JSON (``{}`` when none) and ``md5OfMessageAttributes`` null when none (S01). A missing
    ``md5_of_body`` is computed.
    """
    n = t.num_rows
    ids = message_ids(t).to_pylist()
    sent = t.column("arrival").cast(pa.int64()).to_pylist()
    if sqs is None:
        counts: Sequence[int] = [1] * n
        firsts: Sequence[int] = sent
        handles: Sequence[str] = [receipt_handle(i, 1) for i in ids]
    else:
        _check_delivery(sqs, n)
        counts, firsts, handles = sqs.receive_counts, sqs.first_receive_ms, sqs.receipt_handles
    data = t.column("data").to_pylist()
    md5s = [
        m if m is not None else hashlib.md5(d, usedforsecurity=False).hexdigest()
        for m, d in zip(t.column("md5_of_body").to_pylist(), data, strict=True)
    ]
    attrs_json = t.column("message_attributes").to_pylist()
    present = [i for i, a in enumerate(attrs_json) if a is not None]
    message_attributes: list[Any] = [{}] * n
    for i, value in zip(
        present, json_values([attrs_json[i].encode() for i in present]), strict=True
    ):
        message_attributes[i] = value
    optional = [(name, t.column(col).to_pylist()) for col, name in SQS_OPTIONAL_ATTRIBUTES]
    extras = sqs_extra_attributes(t.column("attributes"))
    region, arn = ctx.region, ctx.source_arn
    out: list[dict[str, Any]] = []
    for i, (mid, body, md5_attrs) in enumerate(
        zip(
            ids,
            utf8(t.column("data")).to_pylist(),
            t.column("md5_of_message_attributes").to_pylist(),
            strict=True,
        )
    ):
        attributes: dict[str, Any] = {
            SQS_RECEIVE_COUNT: str(counts[i]),
            SQS_SENT: str(sent[i]),
            SQS_FIRST_RECEIVE: str(firsts[i]),
        }
        for name, values in optional:
            if values[i] is not None:
                attributes[name] = values[i]
        extra = extras[i]
        if extra is not None:
            attributes.update(extra)
        out.append(
            {
                "messageId": mid,
                "receiptHandle": handles[i],
                "body": body,
                "attributes": order_sqs_attributes(attributes),
                "messageAttributes": message_attributes[i],
                "md5OfMessageAttributes": md5_attrs,
                "md5OfBody": md5s[i],
                "eventSource": SQS_EVENT_SOURCE,
                "eventSourceARN": arn,
                "awsRegion": region,
            }
        )
    return out
