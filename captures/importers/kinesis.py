"""Kinesis records: from a Lambda event (B90) and from ``aws kinesis get-records`` output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from captures.importers.fields import (
    CLI,
    LAMBDA,
    base64_bytes,
    check_event_source,
    decimal_string,
    json_object,
    optional_string,
    required_string,
)
from captures.importers.sink import Sink
from replay.errors import ImportFormatError
from replay.vocabulary import SourceKind


def detect_kinesis(first: Mapping[str, Any], top: Any) -> str | None:
    """A ``kinesis`` object means a Lambda event record; ``SequenceNumber``/``Data`` CLI output."""
    if "kinesis" in first:
        return LAMBDA
    if "SequenceNumber" in first or "Data" in first:
        return CLI
    return None


def parse_kinesis_lambda(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A record of a Kinesis Lambda event (B90): shard id from ``eventID`` ``<shard>:<seq>``.

    Old sample events have no ``approximateArrivalTimestamp``: see :meth:`Sink.arrival_ms`."""
    check_event_source(rec, SourceKind.KINESIS, where)
    kin = json_object(rec, "kinesis", "kinesis", where)
    seq = decimal_string(kin, "sequenceNumber", "kinesis.sequenceNumber", where)
    key = required_string(kin, "partitionKey", "kinesis.partitionKey", where)
    data = base64_bytes(kin, "data", "kinesis.data", where)
    arrival = sink.arrival_ms(
        kin, "approximateArrivalTimestamp", "kinesis.approximateArrivalTimestamp", where
    )
    shard = None
    event_id = optional_string(rec, "eventID", "eventID", where)
    if event_id is not None:
        shard, sep, id_seq = event_id.rpartition(":")
        if not sep or not shard:
            raise ImportFormatError(
                f"{where}: eventID {event_id!r} is not '<shardId>:<sequenceNumber>'"
            )
        if id_seq != seq:
            raise ImportFormatError(
                f"{where}: eventID {event_id!r} does not end with kinesis.sequenceNumber {seq}"
            )
    sink.saw(rec, where)
    sink.add(shard, seq, arrival, key, data)


def parse_kinesis_cli(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A record of ``aws kinesis get-records`` output (no shard id; CLI v2 prints ISO times)."""
    seq = decimal_string(rec, "SequenceNumber", "SequenceNumber", where)
    key = required_string(rec, "PartitionKey", "PartitionKey", where)
    data = base64_bytes(rec, "Data", "Data", where)
    arrival = sink.arrival_ms(
        rec, "ApproximateArrivalTimestamp", "ApproximateArrivalTimestamp", where
    )
    sink.add(None, seq, arrival, key, data)
