"""Reading input files: JSON values or JSON Lines, records unwrapped from their containers, the
input form detected per file and each record handed to its parser.

Parsing is one small function per (source kind, input form), registered in ``_PARSERS``; each
appends one record's values to a :class:`~captures.importers.sink.Sink`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captures.importers.dynamodb import detect_dynamodb, parse_dynamodb_record
from captures.importers.fields import CLI, KCAT, LAMBDA, RECEIVE
from captures.importers.kafka import detect_kafka, parse_kafka_kcat, parse_kafka_lambda
from captures.importers.kinesis import detect_kinesis, parse_kinesis_cli, parse_kinesis_lambda
from captures.importers.sink import Sink
from captures.importers.sqs import detect_sqs, parse_sqs_lambda, parse_sqs_receive
from replay.errors import ImportFormatError
from replay.vocabulary import SourceKind

FORM_LABELS = {
    LAMBDA: "Lambda event JSON",
    CLI: "AWS CLI get-records output",
    RECEIVE: "aws sqs receive-message output",
    KCAT: "kcat -J output",
}

RecordParser = Callable[[Mapping[str, Any], str, Sink], None]
"""Appends one record (the JSON object, ``where`` it stands) to the sink, or raises."""
FormDetector = Callable[[Mapping[str, Any], Any], str | None]
"""The input form of a file from its first record and its top-level value (None: not this kind)."""

_DETECTORS: dict[SourceKind, FormDetector] = {
    SourceKind.KINESIS: detect_kinesis,
    SourceKind.DYNAMODB: detect_dynamodb,
    SourceKind.SQS: detect_sqs,
    SourceKind.KAFKA: detect_kafka,
}
_PARSERS: dict[tuple[SourceKind, str], RecordParser] = {
    (SourceKind.KINESIS, LAMBDA): parse_kinesis_lambda,
    (SourceKind.KINESIS, CLI): parse_kinesis_cli,
    (SourceKind.DYNAMODB, LAMBDA): parse_dynamodb_record,
    (SourceKind.DYNAMODB, CLI): parse_dynamodb_record,
    (SourceKind.SQS, LAMBDA): parse_sqs_lambda,
    (SourceKind.SQS, RECEIVE): parse_sqs_receive,
    (SourceKind.KAFKA, LAMBDA): parse_kafka_lambda,
    (SourceKind.KAFKA, KCAT): parse_kafka_kcat,
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
    """The records under ``key`` of a container (``Records``, ``Messages``): a JSON array."""
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


def parse_file(path: Path, kind: SourceKind, sink: Sink) -> tuple[str, int]:
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
