"""What every importer parser shares: the input-form names, and readers of one JSON field each.

Each reader takes the parent object, the key, the field's name as the user reads it
(``kinesis.sequenceNumber``) and ``where`` (file, line, record), and raises one
:class:`~replay.errors.ImportFormatError` line naming all three when the field is missing or
malformed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from replay.errors import ImportFormatError, UserError
from replay.events import KAFKA_MSK_EVENT_SOURCE, KAFKA_SELF_MANAGED_EVENT_SOURCE, SQS_EVENT_SOURCE
from replay.timeutil import parse_time
from replay.vocabulary import SourceKind

LAMBDA = "lambda"
"""Input form: Lambda event JSON, as a function receives it."""
CLI = "cli"
"""Input form: ``aws kinesis get-records`` / ``aws dynamodbstreams get-records`` output."""
RECEIVE = "receive-message"
"""Input form: ``aws sqs receive-message`` output."""
KCAT = "kcat"
"""Input form: ``kcat -C -J`` output."""

_EVENT_SOURCES = {
    SourceKind.KINESIS: "aws:kinesis",
    SourceKind.DYNAMODB: "aws:dynamodb",
    SourceKind.SQS: SQS_EVENT_SOURCE,
}
# "aws:SelfManagedKafka" appears in some published sample events; Lambda sends "SelfManagedKafka".
KAFKA_EVENT_SOURCES = {
    KAFKA_MSK_EVENT_SOURCE: False,
    KAFKA_SELF_MANAGED_EVENT_SOURCE: True,
    "aws:SelfManagedKafka": True,
}
"""The ``eventSource`` values of a Kafka event, each with whether it means self-managed Kafka."""


def _missing(where: str, name: str) -> ImportFormatError:
    """The error for a required field that is absent (or null)."""
    return ImportFormatError(f"{where}: {name} is missing")


def json_object(parent: Mapping[str, Any], key: str, name: str, where: str) -> Mapping[str, Any]:
    """A required JSON object."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if not isinstance(value, dict):
        raise ImportFormatError(f"{where}: {name} must be a JSON object")
    return value


def required_string(parent: Mapping[str, Any], key: str, name: str, where: str) -> str:
    """A required string."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if not isinstance(value, str):
        raise ImportFormatError(f"{where}: {name} must be a string, got {value!r}")
    return value


def optional_string(parent: Mapping[str, Any], key: str, name: str, where: str) -> str | None:
    """A string, or None when the field is absent or null."""
    return None if parent.get(key) is None else required_string(parent, key, name, where)


def decimal_string(parent: Mapping[str, Any], key: str, name: str, where: str) -> str:
    """A sequence number (or a count SQS sends as text): decimal digits of any length (Kinesis
    uses 56), kept as text."""
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


def epoch_ms(parent: Mapping[str, Any], key: str, name: str, where: str) -> int:
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


def base64_bytes(parent: Mapping[str, Any], key: str, name: str, where: str) -> bytes:
    """A required base64 string, decoded (strictly: no characters outside the alphabet)."""
    text = required_string(parent, key, name, where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImportFormatError(f"{where}: {name} is not valid base64") from None


def check_event_source(rec: Mapping[str, Any], kind: SourceKind, where: str) -> None:
    """Refuse a record whose ``eventSource`` names another kind than ``--source`` (absent: fine)."""
    found = rec.get("eventSource")
    expected = _EVENT_SOURCES[kind]
    if found is not None and found != expected:
        raise ImportFormatError(
            f"{where}: eventSource is {found!r}, expected {expected!r} for --source {kind.value}"
        )


def compact_json(obj: Any) -> str:
    """JSON without spaces or ASCII escapes: how the capture stores JSON-valued columns."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def non_negative_int(parent: Mapping[str, Any], key: str, name: str, where: str) -> int:
    """A non-negative integer, as a JSON number or a string of decimal digits."""
    value = parent.get(key)
    if value is None:
        raise _missing(where, name)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImportFormatError(f"{where}: {name} must be a non-negative integer, got {value!r}")
    return value


def utf8_bytes(text: str, name: str, where: str) -> bytes:
    """Text as UTF-8; a JSON string holding a lone surrogate (``"\\ud800"``) is refused."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportFormatError(f"{where}: {name} is not valid Unicode text") from None
