"""Filter views: what a pattern is matched against, built from one event record per source
(B52, B53, B71, B72, B80), with the payload held in one of the ``*Payload`` marker types so the
matcher can apply each source's "format mismatch" rule without knowing the source.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final

from replay.vocabulary import SourceKind


# --------------------------------------------------------------------------- payload markers
class TextPayload(str):
    """A payload that is not a JSON document (plain text, or JSON that is only a scalar).

    Leaf operators match it as a string; a nested (JSON) pattern on it is a format mismatch.
    """

    shape: ClassVar[str] = "text"
    lenient: ClassVar[bool] = False
    """What a format mismatch yields: False drops the record (Kinesis B53, SQS B72)."""


class ObjectPayload(dict[str, Any]):
    """A payload that parsed as a JSON object; nested patterns descend into it."""

    shape: ClassVar[str] = "json"
    lenient: ClassVar[bool] = False


class ArrayPayload(list[Any]):
    """A payload that parsed as a JSON array; nested patterns match any object element."""

    shape: ClassVar[str] = "json"
    lenient: ClassVar[bool] = False


class BinaryPayload(bytes):
    """A payload that is not UTF-8 text (or not valid base64): no pattern on it can match."""

    shape: ClassVar[str] = "binary"
    lenient: ClassVar[bool] = False


# Kafka (kafka-filtering.html): on a format mismatch or a non-UTF-8 value "Lambda filters (on the
# other metadata properties only)", i.e. the value part of the pattern is ignored (B80 page).
class _KafkaText(TextPayload):
    lenient = True


class _KafkaObject(ObjectPayload):
    lenient = True


class _KafkaArray(ArrayPayload):
    lenient = True


class _KafkaBinary(BinaryPayload):
    lenient = True


PAYLOAD_TYPES: Final = frozenset(
    {
        TextPayload,
        ObjectPayload,
        ArrayPayload,
        BinaryPayload,
        _KafkaText,
        _KafkaObject,
        _KafkaArray,
        _KafkaBinary,
    }
)


@dataclass(frozen=True)
class _PayloadTypes:
    """The marker types one source uses for its payload."""

    text: type[TextPayload]
    obj: type[ObjectPayload]
    arr: type[ArrayPayload]
    binary: type[BinaryPayload]


_STRICT: Final = _PayloadTypes(TextPayload, ObjectPayload, ArrayPayload, BinaryPayload)
_LENIENT: Final = _PayloadTypes(_KafkaText, _KafkaObject, _KafkaArray, _KafkaBinary)


# --------------------------------------------------------------------------- JSON
def _reject_constant(name: str) -> Any:
    """``json`` hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every call, pattern text and payloads alike: ``json.loads(..., parse_constant=...)`` builds a new one each time.
JSON_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
_JSON_WHITESPACE: Final = " \t\r\n"


# --------------------------------------------------------------------------- filter views
def _classify_text(text: str, types: _PayloadTypes) -> Any:
    """A payload as text: parsed when it is a JSON object or array, else kept as text.

    A body such as ``42`` or ``"x"`` is valid JSON but carries no fields; it is treated as a
    plain string so that string operators still work on it (UNCONFIRMED).
    """
    stripped = text.lstrip(_JSON_WHITESPACE)
    head = stripped[:1]
    if head != "{" and head != "[":
        # Cheap pre-check: most plain payloads never reach the (costly) failing decode.
        return types.text(text)
    try:
        # raw_decode skips decode()'s two whitespace regex passes; trailing text is checked here.
        parsed, end = JSON_DECODER.raw_decode(stripped)
    except (ValueError, RecursionError):
        return types.text(text)
    if end != len(stripped) and stripped[end:].strip(_JSON_WHITESPACE):
        return types.text(text)
    if isinstance(parsed, dict):
        return types.obj(parsed)
    if isinstance(parsed, list):
        return types.arr(parsed)
    return types.text(text)


def _decode_base64_payload(raw: Any, types: _PayloadTypes) -> Any:
    """Kinesis ``data`` / Kafka ``value``: base64 → UTF-8 → JSON (B52, B80)."""
    if raw is None:
        return None
    if isinstance(raw, bytes | bytearray):
        blob = bytes(raw)
    else:
        try:
            blob = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError, TypeError):
            return types.binary(b"")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return types.binary(blob)
    return _classify_text(text, types)


def _kinesis_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """Kinesis (B52, B53, K16): the envelope and the ``kinesis`` fields flattened, ``data`` decoded.

    Patterns address ``data`` and ``partitionKey`` at the top level (the Lambda docs' examples),
    so the ``kinesis`` object is flattened into the envelope. The docs say Kinesis ESMs "only
    support filtering on the data key"; we let patterns on the other fields (``partitionKey``,
    ``sequenceNumber``, ``eventSource``…) evaluate against their values as the 2022 docs'
    ``partitionKey`` example shows (UNCONFIRMED for envelope fields), and a key that is in neither
    is simply missing. A record already flat (no ``kinesis`` object) is used as is.
    """
    inner = record.get("kinesis")
    if isinstance(inner, Mapping):
        view = {**record, **inner}
        # A "kinesis" key inside the kinesis object would win the merge; we drop the envelope's.
        if "kinesis" not in inner:
            del view["kinesis"]
    else:
        view = dict(record)
    if decode and "data" in view:
        view["data"] = _decode_base64_payload(view["data"], _STRICT)
    return view


def _dynamodb_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """DynamoDB (D09): the full record — ``eventName``, ``eventSource`` (D09c), typed ``dynamodb``.

    ``ApproximateCreationDateTime`` is numeric at filter time (D09i); a capture holding a
    ``datetime`` there is converted to epoch seconds, rounded down like the event's value.
    """
    view = dict(record)
    stream = view.get("dynamodb")
    if isinstance(stream, Mapping):
        created = stream.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            view["dynamodb"] = {**stream, "ApproximateCreationDateTime": int(created.timestamp())}
    return view


def _sqs_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """SQS (S12, B71, B72): the record with ``body`` parsed when it is a JSON object or array."""
    view = dict(record)
    body = view.get("body")
    if decode and isinstance(body, str):
        view["body"] = _classify_text(body, _STRICT)
    return view


def _kafka_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """Kafka (B80): one element of ``records["<topic>-<partition>"]`` with ``value`` decoded.

    On a format mismatch (JSON pattern vs plain value or the reverse) or a non-UTF-8 value, the
    Kafka filtering page says Lambda "filters on the other metadata properties only": the value
    part of the pattern is ignored rather than dropping the record (UNCONFIRMED, docs only).
    """
    view = dict(record)
    if decode and "value" in view:
        view["value"] = _decode_base64_payload(view["value"], _LENIENT)
    return view


VIEW_BUILDERS: Final[dict[SourceKind, Callable[[Mapping[str, Any], bool], dict[str, Any]]]] = {
    SourceKind.KINESIS: _kinesis_view,
    SourceKind.DYNAMODB: _dynamodb_view,
    SourceKind.SQS: _sqs_view,
    SourceKind.KAFKA: _kafka_view,
}

PAYLOAD_KEYS: Final[dict[SourceKind, str]] = {
    SourceKind.KINESIS: "data",
    SourceKind.DYNAMODB: "dynamodb",
    SourceKind.SQS: "body",
    SourceKind.KAFKA: "value",
}
"""The data key of each source (Lambda docs, "Using filters with different AWS services")."""


def filter_view(kind: SourceKind, record: Mapping[str, Any]) -> dict[str, Any]:
    """Build what a pattern is matched against from one event record (AWS's event shape).

    The record itself is not modified (K16: the function still receives the original base64).
    The payload key holds a :class:`ObjectPayload`/:class:`ArrayPayload` (parsed JSON, usable as
    a dict/list), a :class:`TextPayload` (a str) or a :class:`BinaryPayload` (bytes).

    Args:
        kind: The source kind.
        record: One event record: ``Records[i]`` for Kinesis/DynamoDB/SQS, one element of
            ``records["<topic>-<partition>"]`` for Kafka.

    Returns:
        A new dict; see the per-source rules in ``_kinesis_view``, ``_dynamodb_view``,
        ``_sqs_view`` and ``_kafka_view``.
    """
    return VIEW_BUILDERS[kind](record, True)
