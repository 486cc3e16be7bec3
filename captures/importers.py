"""Import AWS JSON into a capture: ``esm-replay capture import FILE... --source KIND -o CAPTURE``.

Accepted inputs, detected per file (see docs/capture-format.md for examples):

- Lambda event JSON as a function receives it: one event, a JSON array of events, or JSON Lines
  holding one event or one record per line — Kinesis and DynamoDB (``{"Records": [...]}``), SQS
  (``{"Records": [...]}``) and Kafka (``{"eventSource", ..., "records": {"<topic>-<p>": [...]}}``).
- AWS CLI output: ``aws kinesis get-records`` and ``aws dynamodbstreams get-records``, and
  ``aws sqs receive-message`` (``{"Messages": [...]}``); one file per page, all pages together.
- ``kcat -C -J`` output for Kafka (JSON Lines, one record per line).

Parsing is one small function per (source kind, input form), registered in ``_PARSERS``; each
appends one record's values to column lists, and the Arrow table is built column-wise at the end.
Each source kind then resolves its identity (ARN, region, queue or topic, settings) in one function
of its own.

Every problem is one :class:`~replay.errors.ImportFormatError` line naming the file, the record
(0-based, in file order) and, for JSON Lines, the line. Nothing is written unless every record of
every file is valid (and :func:`replay.capture.write_capture` writes atomically).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.errors import CaptureError, ImportFormatError, UserError
from replay.events import (
    DEFAULT_KAFKA_TIMESTAMP_TYPE,
    KAFKA_MSK_EVENT_SOURCE,
    KAFKA_SELF_MANAGED_EVENT_SOURCE,
    SQS_EVENT_SOURCE,
    EventContext,
    dynamodb_size_bytes,
    record_sizes,
)
from replay.formats.capture import (
    EXTRA_FIELDS,
    Capture,
    Manifest,
    SourceInfo,
    conform,
    write_capture,
)
from replay.timeutil import parse_time
from replay.vocabulary import SourceKind

DEFAULT_KINESIS_SHARD = "shardId-000000000000"
"""Shard id given to ``aws kinesis get-records`` output, which names no shard (``--shard`` overrides)."""
DEFAULT_DYNAMODB_SHARD = "shardId-00000000000000000000-00000000"
"""Shard id given to DynamoDB records, which never name their shard (``--shard`` overrides)."""

LAMBDA = "lambda"
CLI = "cli"
RECEIVE = "receive-message"
KCAT = "kcat"
_FORM_LABELS = {
    LAMBDA: "Lambda event JSON",
    CLI: "AWS CLI get-records output",
    RECEIVE: "aws sqs receive-message output",
    KCAT: "kcat -J output",
}
_EVENT_SOURCES = {
    SourceKind.KINESIS: "aws:kinesis",
    SourceKind.DYNAMODB: "aws:dynamodb",
    SourceKind.SQS: SQS_EVENT_SOURCE,
}
_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
# "aws:SelfManagedKafka" appears in some published sample events; Lambda sends "SelfManagedKafka".
_KAFKA_EVENT_SOURCES = {
    KAFKA_MSK_EVENT_SOURCE: False,
    KAFKA_SELF_MANAGED_EVENT_SOURCE: True,
    "aws:SelfManagedKafka": True,
}
_KAFKA_TIMESTAMP_TYPES = (DEFAULT_KAFKA_TIMESTAMP_TYPE, "LOG_APPEND_TIME")
_KCAT_TIMESTAMP_TYPES = {"create": "CREATE_TIME", "logappend": "LOG_APPEND_TIME"}

KAFKA_SETTING_BOOTSTRAP_SERVERS = "BootstrapServers"
"""``manifest.source.settings`` key of a Kafka capture's bootstrap servers (the event's
``bootstrapServers``, comma-separated)."""
KAFKA_SETTING_SELF_MANAGED = "SelfManaged"
"""``manifest.source.settings`` key: true for self-managed Apache Kafka, false for Amazon MSK."""


@dataclass(frozen=True)
class ImportResult:
    """What ``capture import`` produced.

    Attributes:
        capture: the capture as written.
        records: records in the capture (after dropping duplicates).
        duplicates: records dropped because their shard and sequence number were seen before.
        files: input files read.
        notes: one-line remarks for the user (forms detected, defaults taken, duplicates).
    """

    capture: Capture
    records: int
    duplicates: int
    files: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Sink:
    """Column lists that parsers append to, one value per record (shard ``None``: not carried)."""

    shard: list[str | None] = field(default_factory=list)
    seq: list[str] = field(default_factory=list)
    arrival: list[int] = field(default_factory=list)
    key: list[str | None] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    extra: dict[str, list[Any]] = field(default_factory=dict)
    # Source identity as each record states it, with where it was stated, for the agreement check.
    arns: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    computed_size_bytes: list[str] = field(default_factory=list)
    # SQS: records without SequenceNumber (needed when the queue turns out to be FIFO).
    no_sequence_number: list[str] = field(default_factory=list)
    # Kafka: event-level identity and the topics seen, each with where it was first stated.
    event_sources: dict[str, str] = field(default_factory=dict)
    bootstrap_servers: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    tombstones: list[str] = field(default_factory=list)

    def add(self, shard: str | None, seq: str, arrival: int, key: str | None, data: bytes) -> None:
        """Append the core values of one record."""
        self.shard.append(shard)
        self.seq.append(seq)
        self.arrival.append(arrival)
        self.key.append(key)
        self.data.append(data)

    def add_extra(self, **values: Any) -> None:
        """Append one record's source-specific column values."""
        for name, value in values.items():
            self.extra.setdefault(name, []).append(value)

    def saw(self, rec: Mapping[str, Any], where: str) -> None:
        """Remember the record's ``eventSourceARN``, ``awsRegion`` and ``invokeIdentityArn`` (each
        value with the first place it was seen)."""
        for attr, seen in (
            ("eventSourceARN", self.arns),
            ("awsRegion", self.regions),
            ("invokeIdentityArn", self.roles),
        ):
            value = rec.get(attr)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise ImportFormatError(f"{where}: {attr} must be a non-empty string")
            seen.setdefault(value, where)

    def saw_kafka_event(self, event: Mapping[str, Any], where: str) -> None:
        """Remember a Kafka event's ``eventSource``, ``eventSourceArn`` and ``bootstrapServers``."""
        source = event.get("eventSource")
        if source is not None:
            if source not in _KAFKA_EVENT_SOURCES:
                allowed = ", ".join(repr(s) for s in _KAFKA_EVENT_SOURCES)
                raise ImportFormatError(
                    f"{where}: eventSource is {source!r}, expected one of {allowed} for --source kafka"
                )
            self.event_sources.setdefault(source, where)
        for attr, seen in (
            ("eventSourceArn", self.arns),
            ("bootstrapServers", self.bootstrap_servers),
        ):
            value = event.get(attr)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise ImportFormatError(f"{where}: {attr} must be a non-empty string")
            seen.setdefault(value, where)


RecordParser = Callable[[Mapping[str, Any], str, _Sink], None]
FormDetector = Callable[[Mapping[str, Any], Any], str | None]


# --------------------------------------------------------------------------- field readers


def _missing(where: str, name: str) -> ImportFormatError:
    return ImportFormatError(f"{where}: {name} is missing")


def _object(parent: Mapping[str, Any], key: str, name: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if not isinstance(value, dict):
        raise ImportFormatError(f"{where}: {name} must be a JSON object")
    return value


def _string(parent: Mapping[str, Any], key: str, name: str, where: str) -> str:
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if not isinstance(value, str):
        raise ImportFormatError(f"{where}: {name} must be a string, got {value!r}")
    return value


def _optional_string(parent: Mapping[str, Any], key: str, name: str, where: str) -> str | None:
    return None if parent.get(key) is None else _string(parent, key, name, where)


def _sequence(parent: Mapping[str, Any], key: str, name: str, where: str) -> str:
    """A sequence number: decimal digits of any length (Kinesis uses 56), kept as text."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)  # JSON integers are exact in Python; accept them as written
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        raise ImportFormatError(
            f"{where}: {name} must be a string of decimal digits, got {value!r}"
        )
    return value


def _time_ms(parent: Mapping[str, Any], key: str, name: str, where: str) -> int:
    """Epoch seconds (number or numeric text) or ISO-8601 (AWS CLI v2) -> epoch milliseconds."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ImportFormatError(f"{where}: {name} must be epoch seconds or ISO-8601, got {value!r}")
    try:
        return parse_time(value, field=f"{where}: {name}")
    except UserError as exc:
        raise ImportFormatError(str(exc)) from None


def _base64(parent: Mapping[str, Any], key: str, name: str, where: str) -> bytes:
    text = _string(parent, key, name, where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImportFormatError(f"{where}: {name} is not valid base64") from None


def _check_event_source(rec: Mapping[str, Any], kind: SourceKind, where: str) -> None:
    found = rec.get("eventSource")
    expected = _EVENT_SOURCES[kind]
    if found is not None and found != expected:
        raise ImportFormatError(
            f"{where}: eventSource is {found!r}, expected {expected!r} for --source {kind.value}"
        )


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _integer(parent: Mapping[str, Any], key: str, name: str, where: str) -> int:
    """A non-negative integer, as a JSON number or a string of decimal digits."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImportFormatError(f"{where}: {name} must be a non-negative integer, got {value!r}")
    return value


def _utf8(text: str, name: str, where: str) -> bytes:
    """Text as UTF-8; a JSON string holding a lone surrogate (``"\\ud800"``) is refused."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportFormatError(f"{where}: {name} is not valid Unicode text") from None


# --------------------------------------------------------------------------- Kinesis parsers


def _detect_kinesis(first: Mapping[str, Any], top: Any) -> str | None:
    if "kinesis" in first:
        return LAMBDA
    if "SequenceNumber" in first or "Data" in first:
        return CLI
    return None


def _parse_kinesis_lambda(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A record of a Kinesis Lambda event (B90): shard id from ``eventID`` ``<shard>:<seq>``."""
    _check_event_source(rec, SourceKind.KINESIS, where)
    kin = _object(rec, "kinesis", "kinesis", where)
    seq = _sequence(kin, "sequenceNumber", "kinesis.sequenceNumber", where)
    key = _string(kin, "partitionKey", "kinesis.partitionKey", where)
    data = _base64(kin, "data", "kinesis.data", where)
    arrival = _time_ms(
        kin, "approximateArrivalTimestamp", "kinesis.approximateArrivalTimestamp", where
    )
    shard = None
    event_id = _optional_string(rec, "eventID", "eventID", where)
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


def _parse_kinesis_cli(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A record of ``aws kinesis get-records`` output (no shard id; CLI v2 prints ISO times)."""
    seq = _sequence(rec, "SequenceNumber", "SequenceNumber", where)
    key = _string(rec, "PartitionKey", "PartitionKey", where)
    data = _base64(rec, "Data", "Data", where)
    arrival = _time_ms(rec, "ApproximateArrivalTimestamp", "ApproximateArrivalTimestamp", where)
    sink.add(None, seq, arrival, key, data)


# --------------------------------------------------------------------------- DynamoDB parser


def _detect_dynamodb(first: Mapping[str, Any], top: Any) -> str | None:
    if "dynamodb" not in first:
        return None
    cli_page = isinstance(top, dict) and "NextShardIterator" in top
    return CLI if cli_page or "eventSourceARN" not in first else LAMBDA


def _parse_dynamodb(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A DynamoDB stream record, from a Lambda event or ``aws dynamodbstreams get-records``.

    The ``dynamodb`` object is stored verbatim (key order kept) except where the event AWS sends
    differs from the input: an ISO-8601 ``ApproximateCreationDateTime`` (CLI v2) becomes epoch
    seconds, and a missing ``SizeBytes`` is computed (D01's derived fact).
    """
    _check_event_source(rec, SourceKind.DYNAMODB, where)
    ddb = dict(_object(rec, "dynamodb", "dynamodb", where))
    seq = _sequence(ddb, "SequenceNumber", "dynamodb.SequenceNumber", where)
    arrival = _time_ms(
        ddb, "ApproximateCreationDateTime", "dynamodb.ApproximateCreationDateTime", where
    )
    if isinstance(ddb["ApproximateCreationDateTime"], str):
        ddb["ApproximateCreationDateTime"] = arrival / 1000
    keys = _object(ddb, "Keys", "dynamodb.Keys", where)
    ddb, size_bytes = _with_size_bytes(ddb, where, sink)
    name = _optional_string(rec, "eventName", "eventName", where)
    if name is not None and name not in _EVENT_NAMES:
        raise ImportFormatError(
            f"{where}: eventName is {name!r}; allowed: {', '.join(_EVENT_NAMES)}"
        )
    identity = rec.get("userIdentity")
    if identity is not None and not isinstance(identity, dict):
        raise ImportFormatError(f"{where}: userIdentity must be a JSON object")
    extras = {
        "event_id": _optional_string(rec, "eventID", "eventID", where),
        "event_name": name,
        "event_version": _optional_string(rec, "eventVersion", "eventVersion", where),
        "stream_view_type": _optional_string(
            ddb, "StreamViewType", "dynamodb.StreamViewType", where
        ),
        "user_identity": _dumps(_lambda_identity(identity)) if identity is not None else None,
        "size_bytes": size_bytes,
    }
    sink.saw(rec, where)
    # Keys canonical (sorted, compact): the item identity that orders records (B49).
    key = json.dumps(keys, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sink.add(None, seq, arrival, key, _dumps(ddb).encode("utf-8"))
    sink.add_extra(**extras)


def _with_size_bytes(ddb: dict[str, Any], where: str, sink: _Sink) -> tuple[dict[str, Any], int]:
    given = ddb.get("SizeBytes")
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 0:
            raise ImportFormatError(f"{where}: dynamodb.SizeBytes must be a non-negative integer")
        return ddb, given
    try:
        computed = dynamodb_size_bytes(ddb)
    except ValueError as exc:
        raise ImportFormatError(f"{where}: dynamodb.{exc}") from None
    sink.computed_size_bytes.append(where)
    # Put it where AWS does: just before StreamViewType (the last key), else at the end.
    out: dict[str, Any] = {}
    for k, v in ddb.items():
        if k == "StreamViewType":
            out["SizeBytes"] = computed
        out[k] = v
    out.setdefault("SizeBytes", computed)
    return out, computed


def _lambda_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The Lambda event's ``userIdentity`` (B91): camelCase ``{type, principalId}``.

    The DynamoDB Streams API (and so the CLI) spells it ``{PrincipalId, Type}``.
    """
    if "Type" in identity or "PrincipalId" in identity:
        out = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
        return {k: v for k, v in out.items() if v is not None}
    return dict(identity)


# --------------------------------------------------------------------------- SQS parsers


def _detect_sqs(first: Mapping[str, Any], top: Any) -> str | None:
    if "messageId" in first:
        return LAMBDA
    if "MessageId" in first:
        return RECEIVE
    return None


def _parse_sqs_lambda(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A record of an SQS Lambda event (S01, S03, B92). ``receiptHandle`` belongs to one receive
    and is not kept; the replay makes its own (S02)."""
    _check_event_source(rec, SourceKind.SQS, where)
    attributes = _object(rec, "attributes", "attributes", where)
    message_attributes = _message_attributes(rec, "messageAttributes", where, cli=False)
    sink.saw(rec, where)
    _add_sqs(
        sink,
        where,
        message_id=_string(rec, "messageId", "messageId", where),
        body=_string(rec, "body", "body", where),
        attributes=attributes,
        attributes_name="attributes",
        message_attributes=message_attributes,
        md5_of_body=_optional_string(rec, "md5OfBody", "md5OfBody", where),
        md5_of_attributes=_optional_string(
            rec, "md5OfMessageAttributes", "md5OfMessageAttributes", where
        ),
    )


def _parse_sqs_receive(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A message of ``aws sqs receive-message`` output: PascalCase, binary values base64 as the
    CLI prints them, system attributes only when asked for (``--attribute-names All``)."""
    attributes = rec.get("Attributes") or {}
    if not isinstance(attributes, dict):
        raise ImportFormatError(f"{where}: Attributes must be a JSON object")
    message_attributes = _message_attributes(rec, "MessageAttributes", where, cli=True)
    _add_sqs(
        sink,
        where,
        message_id=_string(rec, "MessageId", "MessageId", where),
        body=_string(rec, "Body", "Body", where),
        attributes=attributes,
        attributes_name="Attributes",
        message_attributes=message_attributes,
        md5_of_body=_optional_string(rec, "MD5OfBody", "MD5OfBody", where),
        md5_of_attributes=_optional_string(
            rec, "MD5OfMessageAttributes", "MD5OfMessageAttributes", where
        ),
    )


def _message_attributes(
    rec: Mapping[str, Any], key: str, where: str, *, cli: bool
) -> dict[str, dict[str, Any]]:
    """The message attributes under ``key`` (event or CLI spelling), each in the event's shape."""
    raw = rec.get(key)
    if raw is not None and not isinstance(raw, dict):
        raise ImportFormatError(f"{where}: {key} must be a JSON object")
    return {
        name: _message_attribute(value, f"{key}.{name}", where, cli=cli)
        for name, value in (raw or {}).items()
    }


def _message_attribute(value: Any, name: str, where: str, *, cli: bool) -> dict[str, Any]:
    """One message attribute in the Lambda event's shape (S03): ``stringValue`` or
    ``binaryValue``, ``stringListValues``, ``binaryListValues`` (``[]`` when absent, as AWS sends
    them), ``dataType``. The CLI spells the same fields in PascalCase."""

    def key(camel: str) -> str:
        return camel[0].upper() + camel[1:] if cli else camel

    if not isinstance(value, dict):
        raise ImportFormatError(f"{where}: {name} must be a JSON object")
    data_type = _string(value, key("dataType"), f"{name}.{key('dataType')}", where)
    string_value = value.get(key("stringValue"))
    binary_value = value.get(key("binaryValue"))
    out: dict[str, Any] = {}
    if (string_value is None) == (binary_value is None):
        raise ImportFormatError(
            f"{where}: {name} must have exactly one of {key('stringValue')} and {key('binaryValue')}"
        )
    if string_value is not None:
        out["stringValue"] = _string(
            value, key("stringValue"), f"{name}.{key('stringValue')}", where
        )
    else:
        _base64(value, key("binaryValue"), f"{name}.{key('binaryValue')}", where)
        out["binaryValue"] = binary_value
    for lists in ("stringListValues", "binaryListValues"):
        items = value.get(key(lists))
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ImportFormatError(f"{where}: {name}.{key(lists)} must be a list of strings")
        out[lists] = items
    out["dataType"] = data_type
    return out


def _attribute_ms(attributes: Mapping[str, Any], key: str, name: str, where: str) -> int | None:
    """An epoch-milliseconds system attribute (a string of digits), ``None`` when absent."""
    if attributes.get(key) is None:
        return None
    return int(_sequence(attributes, key, name, where))


def _add_sqs(
    sink: _Sink,
    where: str,
    *,
    message_id: str,
    body: str,
    attributes: Mapping[str, Any],
    attributes_name: str,
    message_attributes: Mapping[str, Any],
    md5_of_body: str | None,
    md5_of_attributes: str | None,
) -> None:
    """Append one SQS message: typed columns from the system attributes, every attribute as
    received in ``attributes`` (values must be strings, as SQS sends them)."""
    for name, value in attributes.items():
        if not isinstance(value, str):
            raise ImportFormatError(
                f"{where}: {attributes_name}.{name} must be a string, got {value!r}"
            )

    def attr(key: str) -> str | None:
        return _optional_string(attributes, key, f"{attributes_name}.{key}", where)

    sent = _attribute_ms(attributes, "SentTimestamp", f"{attributes_name}.SentTimestamp", where)
    if sent is None:
        hint = " (receive with --attribute-names All)" if attributes_name == "Attributes" else ""
        raise ImportFormatError(f"{where}: {attributes_name}.SentTimestamp is missing{hint}")
    receive_count = _attribute_ms(
        attributes, "ApproximateReceiveCount", f"{attributes_name}.ApproximateReceiveCount", where
    )
    sequence_number = None
    if attributes.get("SequenceNumber") is not None:
        sequence_number = _sequence(
            attributes, "SequenceNumber", f"{attributes_name}.SequenceNumber", where
        )
    else:
        sink.no_sequence_number.append(where)
    group = attr("MessageGroupId")
    # The message id stands in for seq until the queue is known to be FIFO (see _sqs_identity).
    sink.add(None, message_id, sent, group, _utf8(body, "body", where))
    sink.add_extra(
        message_id=message_id,
        md5_of_body=md5_of_body,
        sender_id=attr("SenderId"),
        group_id=group,
        dedup_id=attr("MessageDeduplicationId"),
        sequence_number=sequence_number,
        trace_header=attr("AWSTraceHeader"),
        receive_count=receive_count,
        first_receive=_attribute_ms(
            attributes,
            "ApproximateFirstReceiveTimestamp",
            f"{attributes_name}.ApproximateFirstReceiveTimestamp",
            where,
        ),
        delay_seconds=None,
        attributes=_dumps(attributes),
        message_attributes=_dumps(message_attributes) if message_attributes else None,
        md5_of_message_attributes=md5_of_attributes,
    )


# --------------------------------------------------------------------------- Kafka parsers


def _detect_kafka(first: Mapping[str, Any], top: Any) -> str | None:
    if "payload" in first or "tstype" in first or "broker" in first:
        return KCAT
    if "topic" in first and ("value" in first or "timestampType" in first):
        return LAMBDA
    return None


def _parse_kafka_lambda(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A record of a Kafka Lambda event (B93): ``key``/``value`` base64, ``headers`` as
    ``[{"<name>": [byte, ...]}]``, kept verbatim."""
    timestamp_type = _string(rec, "timestampType", "timestampType", where)
    if timestamp_type not in _KAFKA_TIMESTAMP_TYPES:
        raise ImportFormatError(
            f"{where}: timestampType is {timestamp_type!r}; allowed: {', '.join(_KAFKA_TIMESTAMP_TYPES)} "
            "(a record without a timestamp cannot be replayed in time)"
        )
    key = None if rec.get("key") is None else _base64(rec, "key", "key", where)
    value = None if rec.get("value") is None else _base64(rec, "value", "value", where)
    headers = rec.get("headers")
    if headers is None:
        headers = []
    _check_lambda_headers(headers, where)
    _add_kafka(
        sink,
        where,
        topic=_string(rec, "topic", "topic", where),
        partition=_integer(rec, "partition", "partition", where),
        offset=_integer(rec, "offset", "offset", where),
        timestamp_ms=_integer(rec, "timestamp", "timestamp", where),
        timestamp_type=timestamp_type,
        key=key,
        value=value,
        headers=headers,
    )


def _check_lambda_headers(headers: Any, where: str) -> None:
    """``[{"<name>": [byte, ...]}, ...]``; bytes may be signed (Java) or unsigned, and a value may
    be null (a Kafka header without value)."""
    if not isinstance(headers, list):
        raise ImportFormatError(f"{where}: headers must be a JSON array")
    for i, header in enumerate(headers):
        if not isinstance(header, dict) or len(header) != 1:
            raise ImportFormatError(f"{where}: headers[{i}] must be an object with one name")
        ((name, value),) = header.items()
        _utf8(name, f"headers[{i}] name", where)
        ok = value is None or (
            isinstance(value, list)
            and all(
                isinstance(b, int) and not isinstance(b, bool) and -128 <= b <= 255 for b in value
            )
        )
        if not ok:
            raise ImportFormatError(f"{where}: headers[{i}].{name} must be a list of byte values")


def _parse_kafka_kcat(rec: Mapping[str, Any], where: str, sink: _Sink) -> None:
    """A line of ``kcat -C -J`` output: ``{"topic", "partition", "offset", "tstype", "ts",
    "broker", "headers", "key", "payload"}``. Key, payload and header values are the raw bytes
    as text; bytes that are not UTF-8 reach us as surrogate escapes and are restored exactly."""
    tstype, ts = rec.get("tstype"), rec.get("ts")
    if tstype is None or ts is None:
        raise ImportFormatError(
            f"{where}: tstype/ts are missing: the record has no timestamp to replay it by"
        )
    if tstype not in _KCAT_TIMESTAMP_TYPES:
        raise ImportFormatError(
            f"{where}: tstype is {tstype!r}; allowed: {', '.join(_KCAT_TIMESTAMP_TYPES)}"
        )
    _add_kafka(
        sink,
        where,
        topic=_string(rec, "topic", "topic", where),
        partition=_integer(rec, "partition", "partition", where),
        offset=_integer(rec, "offset", "offset", where),
        timestamp_ms=_integer(rec, "ts", "ts", where),
        timestamp_type=_KCAT_TIMESTAMP_TYPES[tstype],
        key=_kcat_bytes(rec.get("key"), "key", where),
        value=_kcat_bytes(rec.get("payload"), "payload", where),
        headers=_kcat_headers(rec.get("headers"), where),
    )


def _kcat_bytes(value: Any, name: str, where: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportFormatError(
            f"{where}: {name} must be a string or null, got {type(value).__name__} "
            "(deserialised kcat output such as -s avro is not supported: consume raw bytes)"
        )
    return value.encode("utf-8", "surrogateescape")


def _kcat_headers(raw: Any, where: str) -> list[dict[str, Any]]:
    """kcat prints headers as ``[name, value, name, value, ...]`` (or, with a header map, as
    ``{name: [value, ...]}``); Lambda's shape is ``[{name: [byte, ...]}]`` with unsigned bytes
    (UNCONFIRMED: Java may print bytes >= 0x80 as negative numbers)."""
    if raw is None:
        return []
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, list) and len(raw) % 2 == 0:
        pairs = list(zip(raw[::2], raw[1::2], strict=True))
    elif isinstance(raw, dict) and all(isinstance(v, list) for v in raw.values()):
        pairs = [(name, v) for name, values in raw.items() for v in values]
    else:
        raise ImportFormatError(f"{where}: headers must be [name, value, ...] as kcat prints them")
    out: list[dict[str, Any]] = []
    for name, value in pairs:
        if not isinstance(name, str):
            raise ImportFormatError(f"{where}: header name {name!r} is not a string")
        _utf8(name, f"header name {name!r}", where)
        data = _kcat_bytes(value, f"header {name}", where)
        out.append({name: None if data is None else list(data)})
    return out


def _add_kafka(
    sink: _Sink,
    where: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    timestamp_type: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[Any],
) -> None:
    """Append one Kafka record; ``shard`` is ``"<topic>-<partition>"``, ``seq`` the offset, ``key``
    the key as text (base64 when it is not UTF-8). A tombstone (null value) is stored with an empty
    value: the capture format has no null payload."""
    _utf8(topic, "topic", where)
    if partition >= 2**31 or offset >= 2**63:
        raise ImportFormatError(f"{where}: partition or offset is out of Kafka's range")
    sink.topics.setdefault(topic, where)
    if value is None:
        sink.tombstones.append(where)
    key_text = None
    if key is not None:
        try:
            key_text = key.decode("utf-8")
        except UnicodeDecodeError:
            key_text = base64.b64encode(key).decode("ascii")
    sink.add(f"{topic}-{partition}", str(offset), timestamp_ms, key_text, value or b"")
    sink.add_extra(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp_type=timestamp_type,
        key_bytes=key,
        headers=_dumps(headers),
    )


# --------------------------------------------------------------------------- registry

_DETECTORS: dict[SourceKind, FormDetector] = {
    SourceKind.KINESIS: _detect_kinesis,
    SourceKind.DYNAMODB: _detect_dynamodb,
    SourceKind.SQS: _detect_sqs,
    SourceKind.KAFKA: _detect_kafka,
}
_PARSERS: dict[tuple[SourceKind, str], RecordParser] = {
    (SourceKind.KINESIS, LAMBDA): _parse_kinesis_lambda,
    (SourceKind.KINESIS, CLI): _parse_kinesis_cli,
    (SourceKind.DYNAMODB, LAMBDA): _parse_dynamodb,
    (SourceKind.DYNAMODB, CLI): _parse_dynamodb,
    (SourceKind.SQS, LAMBDA): _parse_sqs_lambda,
    (SourceKind.SQS, RECEIVE): _parse_sqs_receive,
    (SourceKind.KAFKA, LAMBDA): _parse_kafka_lambda,
    (SourceKind.KAFKA, KCAT): _parse_kafka_kcat,
}
_EXPECTED = {
    SourceKind.KINESIS: "a Lambda Kinesis event record (kinesis.*) or aws kinesis get-records "
    "output (SequenceNumber, Data)",
    SourceKind.DYNAMODB: "a DynamoDB stream record (dynamodb.*) from a Lambda event or "
    "aws dynamodbstreams get-records",
    SourceKind.SQS: "an SQS record from a Lambda event (messageId, body) or aws sqs "
    "receive-message output (MessageId, Body)",
    SourceKind.KAFKA: "a Kafka record from a Lambda event (topic, value) or kcat -J output "
    "(topic, payload)",
}


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class _Document:
    """One top-level JSON value of a file; ``line`` is set for JSON Lines."""

    value: Any
    line: int | None


def _read_documents(path: Path, *, raw_bytes: bool = False) -> list[_Document]:
    """Parse a file as one JSON value or, failing that with trailing data, as JSON Lines.

    With ``raw_bytes`` (Kafka), bytes that are not UTF-8 are kept as surrogate escapes: kcat
    writes binary keys and payloads into its JSON as they are.
    """
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = blob.decode("utf-8-sig", "surrogateescape" if raw_bytes else "strict")
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise ImportFormatError(f"{path}: empty file; expected Lambda event JSON or AWS CLI output")
    try:
        return [_Document(json.loads(text), None)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise ImportFormatError(
                f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
            ) from None
    docs = []
    # Only "\n" ends a line: str.splitlines() would also split inside strings holding U+0085 or
    # U+2028, which JSON writes unescaped.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                docs.append(_Document(json.loads(line), lineno))
            except json.JSONDecodeError as exc:
                raise ImportFormatError(
                    f"{path}: line {lineno}: not valid JSON (column {exc.colno}: {exc.msg})"
                ) from None
    return docs


@dataclass(frozen=True)
class _Item:
    """One record of a file, its JSON Lines line, and the Kafka event that held it (if any)."""

    record: Any
    line: int | None
    kafka_event: Mapping[str, Any] | None = None


def _container_records(item: Any, key: str, where: str) -> list[Any]:
    inner = item[key]
    if not isinstance(inner, list):
        raise ImportFormatError(f"{where}: {key} must be a JSON array")
    return inner


def _kafka_event_items(event: Mapping[str, Any], line: int | None, where: str) -> Iterator[_Item]:
    """The records of a Kafka event, partition by partition; each must sit under its own
    ``"<topic>-<partition>"`` key (B93)."""
    groups = event["records"]
    if not isinstance(groups, dict):
        raise ImportFormatError(f"{where}: records must be a JSON object of partitions")
    for group, records in groups.items():
        if not isinstance(records, list):
            raise ImportFormatError(f"{where}: records[{group!r}] must be a JSON array")
        for rec in records:
            placed = (
                f"{rec.get('topic')}-{rec.get('partition')}" if isinstance(rec, dict) else group
            )
            if placed != group and "topic" in rec and "partition" in rec:
                raise ImportFormatError(
                    f"{where}: a record of topic {rec['topic']!r} partition "
                    f"{rec['partition']!r} sits under records[{group!r}]"
                )
            yield _Item(rec, line, event)


def _records(path: Path, docs: list[_Document]) -> Iterator[_Item]:
    """Every record of the file with its line (JSON Lines): events are unwrapped, arrays flattened.

    Containers: ``{"Records": [...]}`` (Lambda events of Kinesis, DynamoDB, SQS), ``{"Messages":
    [...]}`` (aws sqs receive-message) and ``{"eventSource": ..., "records": {...}}`` (Kafka)."""
    for doc in docs:
        where = f"{path}: line {doc.line}" if doc.line else str(path)
        items = doc.value if isinstance(doc.value, list) else [doc.value]
        for item in items:
            if isinstance(item, dict) and "Records" in item:
                for rec in _container_records(item, "Records", where):
                    yield _Item(rec, doc.line)
            elif isinstance(item, dict) and "Messages" in item:
                for rec in _container_records(item, "Messages", where):
                    yield _Item(rec, doc.line)
            elif isinstance(item, dict) and "records" in item and "eventSource" in item:
                yield from _kafka_event_items(item, doc.line, where)
            else:
                yield _Item(item, doc.line)


def _parse_file(path: Path, kind: SourceKind, sink: _Sink) -> tuple[str, int]:
    """Parse every record of one file into ``sink``; return the form detected and the count."""
    docs = _read_documents(path, raw_bytes=kind is SourceKind.KAFKA)
    top = docs[0].value if len(docs) == 1 else None
    form: str | None = None
    count = 0
    for index, item in enumerate(_records(path, docs)):
        rec, line = item.record, item.line
        where = f"{path}: line {line}, record {index}" if line else f"{path}: record {index}"
        if not isinstance(rec, dict):
            raise ImportFormatError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        if form is None:
            form = _DETECTORS[kind](rec, top)
            if form is None:
                raise ImportFormatError(f"{where}: not {_EXPECTED[kind]} (is --source right?)")
        if item.kafka_event is not None:
            sink.saw_kafka_event(item.kafka_event, where)
        _PARSERS[(kind, form)](rec, where, sink)
        count += 1
    return form or LAMBDA, count


# --------------------------------------------------------------------------- source settings


def _int_setting(low: int, high: int) -> Callable[[Any, str], int]:
    def parse(value: Any, what: str) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ImportFormatError(f"{what}: {value!r} is not an integer from {low} to {high}")
        return value

    return parse


def _bool_setting(value: Any, what: str) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ImportFormatError(f"{what}: {value!r} is not true or false")
    return value


def _redrive_setting(value: Any, what: str) -> dict[str, Any]:
    """``{"deadLetterTargetArn": ARN, "maxReceiveCount": 1..1000}``; SQS returns it as JSON text,
    sometimes with the count as a string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ImportFormatError(f"{what}: {value!r} is not JSON") from None
    if not isinstance(value, dict):
        raise ImportFormatError(f"{what}: must be a JSON object")
    target = value.get("deadLetterTargetArn")
    if not isinstance(target, str) or not target.startswith("arn:"):
        raise ImportFormatError(f"{what}: deadLetterTargetArn must be a queue ARN")
    count = _int_setting(1, 1000)(value.get("maxReceiveCount"), f"{what}: maxReceiveCount")
    return {**value, "deadLetterTargetArn": target, "maxReceiveCount": count}


_SQS_SETTINGS: dict[str, Callable[[Any, str], Any]] = {
    "VisibilityTimeout": _int_setting(0, 43_200),
    "RedrivePolicy": _redrive_setting,
    "FifoQueue": _bool_setting,
    "DelaySeconds": _int_setting(0, 900),
    "MessageRetentionPeriod": _int_setting(60, 1_209_600),
    "ContentBasedDeduplication": _bool_setting,
}
"""Queue attributes that change ESM behaviour, with their ranges (SQS SetQueueAttributes)."""
_QUEUE_ARN = "QueueArn"


def parse_setting_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["K=V", ...]`` (``--source-setting``, repeatable) as a mapping; values stay text.

    Raises:
        ImportFormatError: an item without ``=`` or with an empty name.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ImportFormatError(f"--source-setting {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def read_queue_attributes(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The queue settings in an ``aws sqs get-queue-attributes --attribute-names All`` JSON file.

    Returns:
        The attributes of :data:`_SQS_SETTINGS` that the file holds, plus ``QueueArn`` when
        present (it names the source); values as the file gives them (text), typed later by the
        import. Other attributes (ApproximateNumberOfMessages, Policy, ...) are left out.

    Raises:
        ImportFormatError: the file is missing, not JSON, or not get-queue-attributes output.
    """
    where = f"--queue-attributes {os.fspath(path)}"
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ImportFormatError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFormatError(f"{where}: not a JSON file ({exc})") from None
    attributes = doc.get("Attributes", doc) if isinstance(doc, dict) else None
    if not isinstance(attributes, dict):
        raise ImportFormatError(
            f'{where}: expected {{"Attributes": {{...}}}} from get-queue-attributes'
        )
    wanted = {*_SQS_SETTINGS, _QUEUE_ARN}
    return {k: v for k, v in attributes.items() if k in wanted}


def _sqs_settings(given: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Typed queue settings (AWS names, ints as ints, RedrivePolicy an object) and the QueueArn."""
    settings: dict[str, Any] = {}
    queue_arn: str | None = None
    for name, value in given.items():
        what = f"--source-setting {name}"
        if name == _QUEUE_ARN:
            if not isinstance(value, str) or not value:
                raise ImportFormatError(f"{what}: must be the queue's ARN")
            queue_arn = value
            continue
        parse = _SQS_SETTINGS.get(name)
        if parse is None:
            close = difflib.get_close_matches(name, list(_SQS_SETTINGS), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ImportFormatError(
                f"{what}: not a queue setting esm-replay uses; {hint}known: {', '.join(_SQS_SETTINGS)}"
            )
        settings[name] = parse(value, what)
    return settings, queue_arn


# --------------------------------------------------------------------------- source identity


@dataclass(frozen=True)
class _Identity:
    """What the import learnt about the source: the manifest's source and function parts, the
    context that sizes the records, and each record's shard."""

    source: SourceInfo
    ctx: EventContext
    shards: list[str]
    function: dict[str, Any] = field(default_factory=dict)


_ARN_RESOURCES = {
    SourceKind.KINESIS: "stream",
    SourceKind.DYNAMODB: "table",
    SourceKind.KAFKA: "cluster",
}


def _arn_parts(arn: str, kind: SourceKind, what: str) -> tuple[str, str]:
    """(region, name) of a source ARN: the Kinesis stream, the DynamoDB table, the SQS queue or
    the MSK cluster."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[3] or not parts[5]:
        raise ImportFormatError(
            f"{what}: {arn!r} is not an ARN (arn:aws:{kind.value}:REGION:ACCOUNT:RESOURCE)"
        )
    if parts[2] != kind.value:
        raise ImportFormatError(f"{what}: {arn!r} is a {parts[2]} ARN but --source is {kind.value}")
    if kind is SourceKind.SQS:
        if "/" in parts[5]:
            raise ImportFormatError(f"{what}: {arn!r} does not name a queue (...:ACCOUNT:QUEUE)")
        return parts[3], parts[5]
    resource = parts[5].split("/")
    expected = _ARN_RESOURCES[kind]
    if len(resource) < 2 or resource[0] != expected or not resource[1]:
        raise ImportFormatError(f"{what}: {arn!r} does not name a {expected} ({expected}/NAME...)")
    return parts[3], resource[1]


def _resolve_arn(sink: _Sink, arn: str | None) -> str:
    seen = sink.arns
    if len(seen) > 1:
        (a, wa), (b, wb) = list(seen.items())[:2]
        raise ImportFormatError(
            f"conflicting eventSourceARN values: {a!r} ({wa}) and {b!r} ({wb}); "
            "import one source at a time"
        )
    if arn is not None:
        if seen and arn not in seen:
            ((found, where),) = seen.items()
            raise ImportFormatError(
                f"--arn {arn!r} conflicts with eventSourceARN {found!r} ({where})"
            )
        return arn
    if not seen:
        raise ImportFormatError(
            "the input carries no eventSourceARN; give the source with --arn ARN"
        )
    return next(iter(seen))


def _resolve_region(arn_region: str, region: str | None) -> str:
    if region is not None and region != arn_region:
        raise ImportFormatError(
            f"--region {region!r} conflicts with the ARN's region {arn_region!r}"
        )
    return arn_region


def _resolve_role(sink: _Sink, notes: list[str]) -> str | None:
    """The function's execution role, as Kinesis events state it in ``invokeIdentityArn``.

    Kept in ``manifest.function.Role`` so rebuilt events (and sizes) carry it; a role that changed
    during the capture keeps the first one, with a note.
    """
    if not sink.roles:
        return None
    first = next(iter(sink.roles))
    if len(sink.roles) > 1:
        notes.append(
            f"records name {len(sink.roles)} different invokeIdentityArn values; kept {first}"
        )
    return first


def _stream_identity(
    sink: _Sink,
    kind: SourceKind,
    arn: str | None,
    shard: str | None,
    region: str | None,
    notes: list[str],
) -> _Identity:
    """Kinesis and DynamoDB: the stream ARN from the records or ``--arn``; shard ids from the
    records or ``--shard``; the Kinesis execution role from ``invokeIdentityArn``."""
    source_arn = _resolve_arn(sink, arn)
    arn_region, name = _arn_parts(source_arn, kind, "--arn" if arn else "eventSourceARN")
    src_region = _resolve_region(arn_region, region)
    if sink.computed_size_bytes:
        notes.append(
            f"dynamodb.SizeBytes was missing in {len(sink.computed_size_bytes)} records and was "
            f"computed (first: {sink.computed_size_bytes[0]})"
        )
    shards = _shard_ids(sink, kind, shard, notes)
    role = _resolve_role(sink, notes)
    ctx = EventContext(kind, source_arn, src_region)
    if role is not None:
        ctx = EventContext(kind, source_arn, src_region, invoke_identity_arn=role)
    source = SourceInfo(kind=kind, arn=source_arn, region=src_region, name=name)
    return _Identity(source, ctx, shards, {"Role": role} if role is not None else {})


def _sqs_identity(
    sink: _Sink, arn: str | None, region: str | None, given: Mapping[str, Any]
) -> _Identity:
    """SQS: the queue from ``eventSourceARN``, ``--arn`` or the queue attributes' ``QueueArn``;
    FIFO from the ``.fifo`` name (``FifoQueue`` must agree), and then ``seq`` is the
    SequenceNumber; every record's shard is the queue name."""
    settings, queue_arn = _sqs_settings(given)
    if queue_arn is not None:
        if arn is not None and arn != queue_arn:
            raise ImportFormatError(f"--arn {arn!r} conflicts with QueueArn {queue_arn!r}")
        arn = queue_arn
    source_arn = _resolve_arn(sink, arn)
    arn_region, queue = _arn_parts(source_arn, SourceKind.SQS, "--arn" if arn else "eventSourceARN")
    src_region = _resolve_region(arn_region, region)
    fifo = queue.endswith(".fifo")
    if settings.get("FifoQueue", fifo) != fifo:
        ends = "ends" if fifo else "does not end"
        raise ImportFormatError(
            f"--source-setting FifoQueue: is {settings['FifoQueue']} but queue {queue!r} {ends} "
            "with .fifo, as every FIFO queue's name does"
        )
    if fifo:
        if sink.no_sequence_number:
            raise ImportFormatError(
                f"{sink.no_sequence_number[0]}: SequenceNumber is missing, and {queue} is a FIFO queue"
            )
        sink.seq[:] = sink.extra["sequence_number"]
    source = SourceInfo(
        kind=SourceKind.SQS,
        arn=source_arn,
        region=src_region,
        name=queue,
        fifo=fifo,
        settings=settings,
    )
    ctx = EventContext(SourceKind.SQS, source_arn, src_region)
    return _Identity(source, ctx, [queue] * len(sink.seq))


def _one_value(seen: Mapping[str, str], what: str) -> str | None:
    """The single value the input states for ``what``; two different ones are refused."""
    if len(seen) > 1:
        (a, wa), (b, wb) = list(seen.items())[:2]
        raise ImportFormatError(f"conflicting {what} values: {a!r} ({wa}) and {b!r} ({wb})")
    return next(iter(seen), None)


def _kafka_identity(
    sink: _Sink,
    arn: str | None,
    region: str | None,
    bootstrap_servers: str | None,
    notes: list[str],
) -> _Identity:
    """Kafka (B94): Amazon MSK when the events say ``aws:kafka`` or a cluster ARN is given
    (``--arn``, ``eventSourceArn``); self-managed when they say ``SelfManagedKafka``, or when
    nothing names a cluster. One topic per capture, as an ESM reads one topic."""
    if len(sink.topics) > 1:
        (a, wa), (b, wb) = list(sink.topics.items())[:2]
        raise ImportFormatError(
            f"records of topics {a!r} ({wa}) and {b!r} ({wb}): an ESM reads one topic; "
            "import one topic at a time"
        )
    topic = next(iter(sink.topics))
    kinds = {_KAFKA_EVENT_SOURCES[s]: w for s, w in sink.event_sources.items()}
    if len(kinds) > 1:
        raise ImportFormatError(
            f"conflicting eventSource values: Amazon MSK ({kinds[False]}) and self-managed Kafka "
            f"({kinds[True]})"
        )
    self_managed = kinds.get(True) is not None or (not kinds and arn is None and not sink.arns)
    source_arn: str | None = None
    src_region = region
    if self_managed:
        if arn is not None:
            raise ImportFormatError(
                f"--arn {arn!r}: the events come from self-managed Kafka ({kinds[True]}), which "
                "has no source ARN"
            )
        if not kinds:
            notes.append(
                "nothing names an MSK cluster: imported as self-managed Apache Kafka "
                "(give --arn CLUSTER_ARN for Amazon MSK)"
            )
    else:
        source_arn = _resolve_arn(sink, arn)
        what = "--arn" if arn else "eventSourceArn"
        src_region = _resolve_region(_arn_parts(source_arn, SourceKind.KAFKA, what)[0], region)
    servers = _kafka_bootstrap_servers(sink, bootstrap_servers, notes)
    settings: dict[str, Any] = {KAFKA_SETTING_SELF_MANAGED: self_managed}
    if servers is not None:
        settings[KAFKA_SETTING_BOOTSTRAP_SERVERS] = servers
    source = SourceInfo(
        kind=SourceKind.KAFKA, arn=source_arn, region=src_region, name=topic, settings=settings
    )
    ctx = EventContext(
        SourceKind.KAFKA,
        source_arn or "",
        src_region or "",
        bootstrap_servers=servers,
        kafka_self_managed=self_managed,
    )
    return _Identity(source, ctx, [s for s in sink.shard if s is not None])


def _kafka_bootstrap_servers(sink: _Sink, given: str | None, notes: list[str]) -> str | None:
    stated = _one_value(sink.bootstrap_servers, "bootstrapServers")
    if given is not None and stated is not None and given != stated:
        raise ImportFormatError(
            f"--bootstrap-servers {given!r} conflicts with bootstrapServers {stated!r} "
            f"({sink.bootstrap_servers[stated]})"
        )
    servers = given if given is not None else stated
    if servers is None:
        notes.append(
            "the bootstrap servers are unknown: rebuilt events carry no bootstrapServers "
            "(give --bootstrap-servers HOST:PORT,...)"
        )
    return servers


# --------------------------------------------------------------------------- table


def _order_key(seq: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(length, digits) with leading zeros stripped: ordering these as (int, text) orders the
    sequence numbers as integers, at any width, without converting them to numbers."""
    digits = pc.utf8_ltrim(seq, characters="0")
    return pc.utf8_length(digits), digits


def _first_occurrences(identity: list[pa.Array]) -> np.ndarray:
    """A mask of the rows whose identity was not seen in an earlier row (input order)."""
    n = len(identity[0])
    keyed = pa.table({f"k{i}": col for i, col in enumerate(identity)}).append_column(
        "input", pa.array(np.arange(n, dtype=np.int64))
    )
    groups = keyed.group_by([f"k{i}" for i in range(len(identity))], use_threads=False)
    firsts = groups.aggregate([("input", "min")]).column("input_min").to_numpy()
    keep = np.zeros(n, dtype=bool)
    keep[firsts] = True
    return keep


def _conflicts(table: pa.Table, identity: list[pa.Array], keep: np.ndarray) -> int:
    """How many dropped duplicates differ in ``data`` from the record kept for their identity."""
    ids = list(zip(*(col.to_pylist() for col in identity), strict=True))
    kept = {ids[i]: i for i in np.flatnonzero(keep)}
    data = table.column("data")
    return sum(data[int(i)] != data[kept[ids[i]]] for i in np.flatnonzero(~keep))


def _arrange(table: pa.Table, kind: SourceKind, fifo: bool) -> tuple[pa.Table, int, int]:
    """Drop repeated records (the first in input order is kept), order them as the ESM reads,
    number ``pos``.

    Identity: (shard, integer sequence number or offset); for SQS the message id. Order per
    shard: the sequence number or offset as an integer; for SQS the SentTimestamp, then (FIFO)
    the SequenceNumber as an integer, then input order.

    Returns:
        The table, the number of duplicates dropped, and how many of those differed in content
        from the record kept.
    """
    shard = table.column("shard").combine_chunks()
    length, digits = _order_key(table.column("seq").combine_chunks())
    if kind is SourceKind.SQS:
        identity = [shard, table.column("message_id").combine_chunks()]
    else:
        identity = [shard, digits]
    keep = _first_occurrences(identity)
    duplicates = int((~keep).sum())
    conflicting = _conflicts(table, identity, keep) if duplicates else 0
    mask = pa.array(keep)
    order: dict[str, pa.Array] = {"shard": shard.filter(mask)}
    if kind is SourceKind.SQS:
        order["arrival"] = table.column("arrival").combine_chunks().filter(mask)
    if kind is not SourceKind.SQS or fifo:
        order["len"], order["digits"] = length.filter(mask), digits.filter(mask)
    table = table.filter(mask)
    order["input"] = pa.array(np.arange(table.num_rows, dtype=np.int64))
    indices = pc.sort_indices(pa.table(order), sort_keys=[(c, "ascending") for c in order])
    return _with_pos(table.take(indices)), duplicates, conflicting


def _with_pos(table: pa.Table) -> pa.Table:
    n = table.num_rows
    shard = table.column("shard").combine_chunks()
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
        starts[1:] = pc.not_equal(shard.slice(1), shard.slice(0, n - 1)).to_numpy(
            zero_copy_only=False
        )
    index = np.arange(n, dtype=np.int64)
    first = np.maximum.accumulate(np.where(starts, index, 0)) if n else index
    return table.append_column("pos", pa.array(index - first))


def _extra_types(kind: SourceKind) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in EXTRA_FIELDS[kind]}


def _table(sink: _Sink, kind: SourceKind, shards: list[str]) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "shard": pa.array(shards, type=pa.string()),
        "seq": pa.array(sink.seq, type=pa.string()),
        "arrival": pa.array(sink.arrival, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "key": pa.array(sink.key, type=pa.string()),
        "data": pa.array(sink.data, type=pa.binary()),
    }
    for name, typ in _extra_types(kind).items():
        columns[name] = pa.array(sink.extra.get(name, [None] * len(sink.seq)), type=typ)
    return pa.table(columns)


def _shard_ids(sink: _Sink, kind: SourceKind, shard: str | None, notes: list[str]) -> list[str]:
    missing = sum(1 for s in sink.shard if s is None)
    if shard is not None and missing < len(sink.shard):
        notes.append(f"--shard {shard} applies only to records without a shard id of their own")
    if not missing:
        return [s for s in sink.shard if s is not None]
    if shard is None:
        shard = DEFAULT_DYNAMODB_SHARD if kind is SourceKind.DYNAMODB else DEFAULT_KINESIS_SHARD
        why = (
            "DynamoDB stream records do not name their shard"
            if kind is SourceKind.DYNAMODB
            else "aws kinesis get-records output does not name its shard"
        )
        notes.append(f"{why}: {missing} records were put in shard {shard} (name it with --shard)")
    return [s if s is not None else shard for s in sink.shard]


# --------------------------------------------------------------------------- entry points


def _import(
    paths: Sequence[str | os.PathLike[str]],
    source: SourceKind,
    arn: str | None,
    shard: str | None,
    region: str | None,
    source_settings: Mapping[str, Any] | None,
    bootstrap_servers: str | None,
) -> tuple[Manifest, pa.Table, int, tuple[str, ...]]:
    if not paths:
        raise ImportFormatError("no input files given")
    if shard is not None and not source.is_stream:
        raise ImportFormatError(
            f"--shard: {source.value} records name their own shard (the queue, or topic-partition)"
        )
    if source_settings and source is not SourceKind.SQS:
        raise ImportFormatError(f"--source-setting: {source.value} sources take no settings here")
    if bootstrap_servers is not None and source is not SourceKind.KAFKA:
        raise ImportFormatError(f"--bootstrap-servers applies to kafka sources, not {source.value}")
    sink = _Sink()
    notes: list[str] = []
    for p in paths:
        path = Path(p)
        form, count = _parse_file(path, source, sink)
        notes.append(f"{path}: {_FORM_LABELS[form]}, {count} records")
    if not sink.seq:
        raise ImportFormatError(f"no records in {', '.join(str(p) for p in paths)}")
    if source is SourceKind.SQS:
        identity = _sqs_identity(sink, arn, region, source_settings or {})
    elif source is SourceKind.KAFKA:
        identity = _kafka_identity(sink, arn, region, bootstrap_servers, notes)
    else:
        identity = _stream_identity(sink, source, arn, shard, region, notes)
    table, duplicates, conflicting = _arrange(
        _table(sink, source, identity.shards), source, identity.source.fifo
    )
    if duplicates:
        same = "message id" if source is SourceKind.SQS else "shard and sequence number"
        if source is SourceKind.KAFKA:
            same = "topic, partition and offset"
        notes.append(f"{duplicates} duplicate records (same {same}) were dropped")
    if conflicting:
        notes.append(f"{conflicting} of those differed in content from the record kept (the first)")
    if sink.tombstones:
        notes.append(
            f"{len(sink.tombstones)} records have a null value (tombstones) and were stored with "
            f"an empty one (first: {sink.tombstones[0]})"
        )
    table = conform(table.append_column("size", record_sizes(table, identity.ctx)), source)
    manifest = Manifest(source=identity.source, function=identity.function, created_by="import")
    return manifest, table, duplicates, tuple(notes)


def import_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    source: SourceKind,
    arn: str | None = None,
    shard: str | None = None,
    region: str | None = None,
    source_settings: Mapping[str, Any] | None = None,
    bootstrap_servers: str | None = None,
) -> tuple[Manifest, pa.Table, int]:
    """Read AWS JSON files into a manifest and a records table, validating everything.

    Records are ordered per shard as the ESM reads them (streams and Kafka: by sequence number or
    offset compared as integers; SQS: by SentTimestamp, then FIFO SequenceNumber); ``pos`` is the
    0-based rank within the shard; a record seen before (same shard and sequence number or offset;
    SQS: same message id) is dropped. ``size`` comes from :func:`replay.events.record_sizes`.

    Args:
        paths: input files: Lambda event JSON (object, array or JSON Lines), AWS CLI output
            (kinesis/dynamodbstreams get-records, sqs receive-message) or kcat -J output.
        source: the source kind the files hold.
        arn: the stream, queue or MSK cluster ARN; optional when the records carry it (then it
            must match). For SQS, ``source_settings["QueueArn"]`` may give it too.
        shard: shard id for stream records that carry none (DynamoDB records, Kinesis CLI output).
        region: the region; must match the ARN's when given.
        source_settings: SQS queue settings by AWS attribute name (``VisibilityTimeout``,
            ``RedrivePolicy``, ``FifoQueue``, ``DelaySeconds``, ``MessageRetentionPeriod``,
            ``ContentBasedDeduplication``, and ``QueueArn``), as text (``--source-setting K=V``,
            :func:`read_queue_attributes`) or typed; stored typed in ``manifest.source.settings``.
        bootstrap_servers: Kafka: the cluster's bootstrap servers (``host:port,...``); must match
            the events' ``bootstrapServers`` when both are given.

    Returns:
        The manifest, the records table (capture schema plus nothing else), duplicates dropped.

    Raises:
        ImportFormatError: one line naming the file, record and problem.
    """
    manifest, table, duplicates, _ = _import(
        paths, source, arn, shard, region, source_settings, bootstrap_servers
    )
    return manifest, table, duplicates


def import_to_capture(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    source: SourceKind,
    arn: str | None = None,
    shard: str | None = None,
    region: str | None = None,
    overwrite: bool = False,
    source_settings: Mapping[str, Any] | None = None,
    bootstrap_servers: str | None = None,
) -> ImportResult:
    """Import AWS JSON files and write them as a capture at ``out`` (atomically).

    Arguments as for :func:`import_files`.

    Raises:
        ImportFormatError: an input file is malformed (nothing is written).
        CaptureError: ``out`` exists and ``overwrite`` is false.
    """
    target = Path(out)
    if target.exists() and not overwrite:
        raise CaptureError(f"{target}: already exists; choose another output or remove it")
    manifest, table, duplicates, notes = _import(
        paths, source, arn, shard, region, source_settings, bootstrap_servers
    )
    capture = write_capture(target, manifest, table, overwrite=overwrite)
    return ImportResult(
        capture=capture,
        records=capture.records.num_rows,
        duplicates=duplicates,
        files=len(paths),
        notes=notes,
    )
