"""SQS messages: from a Lambda event (S01, S03, B92) and ``aws sqs receive-message`` output, and
the queue settings that change the ESM's behaviour (``--source-setting K=V``,
``--queue-attributes FILE``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from captures.importers.fields import (
    LAMBDA,
    RECEIVE,
    base64_bytes,
    check_event_source,
    compact_json,
    decimal_string,
    json_object,
    optional_string,
    required_string,
    utf8_bytes,
)
from captures.importers.sink import Sink
from replay.assignments import parse_assignments
from replay.errors import ImportFormatError
from replay.events import order_message_attributes
from replay.formats.settings import SETTINGS, SettingError, typed_setting
from replay.vocabulary import SourceKind


def detect_sqs(first: Mapping[str, Any], top: Any) -> str | None:
    """camelCase ``messageId``: a Lambda event record; PascalCase ``MessageId``: receive-message."""
    if "messageId" in first:
        return LAMBDA
    if "MessageId" in first:
        return RECEIVE
    return None


def parse_sqs_lambda(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A record of an SQS Lambda event (S01, S03, B92). ``receiptHandle`` belongs to one receive
    and is not kept; the replay makes its own (S02)."""
    check_event_source(rec, SourceKind.SQS, where)
    attributes = json_object(rec, "attributes", "attributes", where)
    message_attributes = _message_attributes(rec, "messageAttributes", where, cli=False)
    sink.saw(rec, where)
    _add_sqs(
        sink,
        where,
        message_id=required_string(rec, "messageId", "messageId", where),
        body=required_string(rec, "body", "body", where),
        attributes=attributes,
        attributes_name="attributes",
        message_attributes=message_attributes,
        md5_of_body=optional_string(rec, "md5OfBody", "md5OfBody", where),
        md5_of_attributes=optional_string(
            rec, "md5OfMessageAttributes", "md5OfMessageAttributes", where
        ),
    )


def parse_sqs_receive(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A message of ``aws sqs receive-message`` output: PascalCase, binary values base64 as the
    CLI prints them, system attributes only when asked for (``--attribute-names All``)."""
    attributes = rec.get("Attributes") or {}
    if not isinstance(attributes, dict):
        raise ImportFormatError(f"{where}: Attributes must be a JSON object")
    # receive-message shows SQS's order; Lambda delivers its own (order_message_attributes)
    message_attributes = order_message_attributes(
        _message_attributes(rec, "MessageAttributes", where, cli=True)
    )
    _add_sqs(
        sink,
        where,
        message_id=required_string(rec, "MessageId", "MessageId", where),
        body=required_string(rec, "Body", "Body", where),
        attributes=attributes,
        attributes_name="Attributes",
        message_attributes=message_attributes,
        md5_of_body=optional_string(rec, "MD5OfBody", "MD5OfBody", where),
        md5_of_attributes=optional_string(
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
    data_type = required_string(value, key("dataType"), f"{name}.{key('dataType')}", where)
    string_value = value.get(key("stringValue"))
    binary_value = value.get(key("binaryValue"))
    out: dict[str, Any] = {}
    if (string_value is None) == (binary_value is None):
        raise ImportFormatError(
            f"{where}: {name} must have exactly one of {key('stringValue')} and {key('binaryValue')}"
        )
    if string_value is not None:
        out["stringValue"] = required_string(
            value, key("stringValue"), f"{name}.{key('stringValue')}", where
        )
    else:
        base64_bytes(value, key("binaryValue"), f"{name}.{key('binaryValue')}", where)
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
    return int(decimal_string(attributes, key, name, where))


def _add_sqs(
    sink: Sink,
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
        return optional_string(attributes, key, f"{attributes_name}.{key}", where)

    sent = _attribute_ms(attributes, "SentTimestamp", f"{attributes_name}.SentTimestamp", where)
    if sent is None:
        hint = " (receive with --attribute-names All)" if attributes_name == "Attributes" else ""
        raise ImportFormatError(f"{where}: {attributes_name}.SentTimestamp is missing{hint}")
    receive_count = _attribute_ms(
        attributes, "ApproximateReceiveCount", f"{attributes_name}.ApproximateReceiveCount", where
    )
    sequence_number = None
    if attributes.get("SequenceNumber") is not None:
        sequence_number = decimal_string(
            attributes, "SequenceNumber", f"{attributes_name}.SequenceNumber", where
        )
    else:
        sink.no_sequence_number.append(where)
    group = attr("MessageGroupId")
    # The message id stands in for seq until the queue is known to be FIFO (see sqs_identity).
    sink.add(None, message_id, sent, group, utf8_bytes(body, "body", where))
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
        attributes=compact_json(attributes),
        message_attributes=compact_json(message_attributes) if message_attributes else None,
        md5_of_message_attributes=md5_of_attributes,
    )


# --------------------------------------------------------------------------- source settings


_SQS_SETTINGS = SETTINGS[SourceKind.SQS]
"""Queue attributes that change ESM behaviour, with their ranges (SQS SetQueueAttributes)."""
_QUEUE_ARN = "QueueArn"


def parse_setting_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["K=V", ...]`` (``--source-setting``, repeatable) as a mapping; values stay text.

    Raises:
        ImportFormatError: an item without ``=`` or with an empty name.
    """
    return parse_assignments(
        pairs, lambda pair: ImportFormatError(f"--source-setting {pair!r}: expected NAME=VALUE")
    )


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


def sqs_settings(given: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
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
        try:
            settings[name] = typed_setting(SourceKind.SQS, name, value, what)
        except SettingError as exc:
            raise ImportFormatError(str(exc)) from None
    return settings, queue_arn
