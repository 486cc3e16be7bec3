"""Capture rows to event records: the one entry point, :func:`build_records`, that picks the
batch's rows and columns out of a capture table and hands them to the builder of the source's
family (Kinesis and DynamoDB in :mod:`.streams`, SQS in :mod:`.sqs`, Kafka in :mod:`.kafka`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from replay.events.envelope import EventContext
from replay.events.kafka import KAFKA_COLUMNS, kafka_records
from replay.events.sqs import SQS_COLUMNS, SqsDelivery, sqs_records
from replay.events.streams import dynamodb_records, kinesis_records
from replay.vocabulary import SourceKind


def _select(table: pa.Table, rows: np.ndarray | Sequence[int], columns: list[str]) -> pa.Table:
    idx = np.asarray(rows, dtype=np.int64)
    sub = table.select(columns)
    if (
        idx.size
        and idx[-1] - idx[0] + 1 == idx.size
        and (idx.size == 1 or bool(np.all(np.diff(idx) == 1)))
    ):
        # A batch is almost always a contiguous run of rows: a zero-copy slice beats a gather.
        return sub.slice(int(idx[0]), int(idx.size))
    return sub.take(pa.array(idx, type=pa.int64()))


def build_records(
    table: pa.Table,
    rows: np.ndarray | Sequence[int],
    ctx: EventContext,
    sqs: SqsDelivery | None = None,
) -> list[dict[str, Any]]:
    """Build one event record per row, in row order, exactly as AWS delivers it.

    Kinesis (B90, K01): ``kinesis{kinesisSchemaVersion, partitionKey, sequenceNumber, data (base64),
    approximateArrivalTimestamp (epoch seconds, ms precision)}``, ``eventSource``, ``eventVersion``,
    ``eventID`` ``"<shard>:<seq>"``, ``eventName``, ``invokeIdentityArn``, ``awsRegion``,
    ``eventSourceARN``.

    DynamoDB (D01, B91): ``eventID``, ``eventName``, ``eventVersion``, ``eventSource``, ``awsRegion``,
    ``dynamodb`` (the captured object, key order kept), ``eventSourceARN``, then ``userIdentity``
    when the row has one (TTL deletions).

    SQS (S01, S03, B92; see :func:`sqs_records`): ``messageId``, ``receiptHandle``, ``body``,
    ``attributes``, ``messageAttributes``, ``md5OfMessageAttributes``, ``md5OfBody``,
    ``eventSource``, ``eventSourceARN``, ``awsRegion``.

    Kafka (B93; see :func:`kafka_records`): ``topic``, ``partition``, ``offset``, ``timestamp``,
    ``timestampType``, ``key`` (omitted for a keyless record), ``value``, ``headers``.

    Args:
        table: capture records (the capture schema of ``ctx.kind``).
        rows: row indices into ``table``.
        ctx: source identity for ``eventSourceARN``, ``awsRegion``, ``invokeIdentityArn``.
        sqs: SQS only: this delivery's receive counts, first-receive times and receipt handles,
            aligned with ``rows``. Without it every row is on its first receive: count 1, first
            receive at its arrival, handle ``receipt_handle(message_id, 1)``.

    Raises:
        ValueError: ``sqs`` does not hold one entry per row.
    """
    if len(rows) == 0:
        return []
    if ctx.kind is SourceKind.KINESIS:
        return kinesis_records(
            _select(table, rows, ["shard", "seq", "key", "data", "arrival"]), ctx
        )
    if ctx.kind is SourceKind.DYNAMODB:
        cols = ["shard", "seq", "data", "event_id", "event_name", "event_version", "user_identity"]
        return dynamodb_records(_select(table, rows, cols), ctx)
    if ctx.kind is SourceKind.SQS:
        return sqs_records(_select(table, rows, list(SQS_COLUMNS)), ctx, sqs)
    return kafka_records(_select(table, rows, list(KAFKA_COLUMNS)), ctx)
