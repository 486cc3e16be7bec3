"""Import AWS JSON into a capture: ``esm-replay capture import FILE... --source KIND -o CAPTURE``.

Accepted inputs, detected per file (see docs/capture-format.md for examples):

- Lambda event JSON as a function receives it: one ``{"Records": [...]}`` event, a JSON array of
  events, or JSON Lines holding one event or one record per line.
- AWS CLI output: ``aws kinesis get-records`` and ``aws dynamodbstreams get-records`` (one file per
  page; give all pages together).

Parsing is one small function per (source kind, input form), registered in ``_PARSERS``; each
appends one record's values to column lists, and the Arrow table is built column-wise at the end.
Adding SQS or Kafka means adding parsers and a form detector, not restructuring.

Every problem is one :class:`~replay.errors.ImportFormatError` line naming the file, the record
(0-based, in file order) and, for JSON Lines, the line. Nothing is written unless every record of
every file is valid (and :func:`replay.capture.write_capture` writes atomically).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.capture import EXTRA_FIELDS, Capture, Manifest, SourceInfo, conform, write_capture
from replay.errors import CaptureError, ImportFormatError, UserError
from replay.events import EventContext, dynamodb_size_bytes, record_sizes
from replay.model import SourceKind
from replay.timeutil import parse_time

DEFAULT_KINESIS_SHARD = "shardId-000000000000"
"""Shard id given to ``aws kinesis get-records`` output, which names no shard (``--shard`` overrides)."""
DEFAULT_DYNAMODB_SHARD = "shardId-00000000000000000000-00000000"
"""Shard id given to DynamoDB records, which never name their shard (``--shard`` overrides)."""

LAMBDA = "lambda"
CLI = "cli"
_FORM_LABELS = {LAMBDA: "Lambda event JSON", CLI: "AWS CLI get-records output"}
_EVENT_SOURCES = {SourceKind.KINESIS: "aws:kinesis", SourceKind.DYNAMODB: "aws:dynamodb"}
_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


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


# --------------------------------------------------------------------------- registry

_DETECTORS: dict[SourceKind, FormDetector] = {
    SourceKind.KINESIS: _detect_kinesis,
    SourceKind.DYNAMODB: _detect_dynamodb,
}
_PARSERS: dict[tuple[SourceKind, str], RecordParser] = {
    (SourceKind.KINESIS, LAMBDA): _parse_kinesis_lambda,
    (SourceKind.KINESIS, CLI): _parse_kinesis_cli,
    (SourceKind.DYNAMODB, LAMBDA): _parse_dynamodb,
    (SourceKind.DYNAMODB, CLI): _parse_dynamodb,
}
_EXPECTED = {
    SourceKind.KINESIS: "a Lambda Kinesis event record (kinesis.*) or aws kinesis get-records "
    "output (SequenceNumber, Data)",
    SourceKind.DYNAMODB: "a DynamoDB stream record (dynamodb.*) from a Lambda event or "
    "aws dynamodbstreams get-records",
}


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class _Document:
    """One top-level JSON value of a file; ``line`` is set for JSON Lines."""

    value: Any
    line: int | None


def _read_documents(path: Path) -> list[_Document]:
    """Parse a file as one JSON value or, failing that with trailing data, as JSON Lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read ({exc.strerror})") from None
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


def _records(path: Path, docs: list[_Document]) -> Iterator[tuple[Any, int | None]]:
    """Every record of the file with its line (JSON Lines): events are unwrapped, arrays flattened."""
    for doc in docs:
        items = doc.value if isinstance(doc.value, list) else [doc.value]
        for item in items:
            if isinstance(item, dict) and "Records" in item:
                inner = item["Records"]
                if not isinstance(inner, list):
                    where = f"{path}: line {doc.line}" if doc.line else str(path)
                    raise ImportFormatError(f"{where}: Records must be a JSON array")
                for rec in inner:
                    yield rec, doc.line
            else:
                yield item, doc.line


def _parse_file(path: Path, kind: SourceKind, sink: _Sink) -> tuple[str, int]:
    """Parse every record of one file into ``sink``; return the form detected and the count."""
    docs = _read_documents(path)
    top = docs[0].value if len(docs) == 1 else None
    form: str | None = None
    count = 0
    for index, (rec, line) in enumerate(_records(path, docs)):
        where = f"{path}: line {line}, record {index}" if line else f"{path}: record {index}"
        if not isinstance(rec, dict):
            raise ImportFormatError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        if form is None:
            form = _DETECTORS[kind](rec, top)
            if form is None:
                raise ImportFormatError(f"{where}: not {_EXPECTED[kind]} (is --source right?)")
        _PARSERS[(kind, form)](rec, where, sink)
        count += 1
    return form or LAMBDA, count


# --------------------------------------------------------------------------- source identity


def _arn_parts(arn: str, kind: SourceKind, what: str) -> tuple[str, str]:
    """(region, name) of a stream ARN; the name is the Kinesis stream or the DynamoDB table."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[3] or not parts[5]:
        raise ImportFormatError(
            f"{what}: {arn!r} is not an ARN (arn:aws:{kind.value}:REGION:ACCOUNT:RESOURCE)"
        )
    if parts[2] != kind.value:
        raise ImportFormatError(f"{what}: {arn!r} is a {parts[2]} ARN but --source is {kind.value}")
    resource = parts[5].split("/")
    expected = "table" if kind is SourceKind.DYNAMODB else "stream"
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


# --------------------------------------------------------------------------- table


def _order_key(seq: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(length, digits) with leading zeros stripped: ordering these as (int, text) orders the
    sequence numbers as integers, at any width, without converting them to numbers."""
    digits = pc.utf8_ltrim(seq, characters="0")
    return pc.utf8_length(digits), digits


def _arrange(table: pa.Table) -> tuple[pa.Table, int, int]:
    """Order by shard then integer sequence number, drop repeated (shard, seq), number ``pos``.

    Returns:
        The table, the number of duplicates dropped (later occurrences in input order), and how
        many of those differed in content from the record kept.
    """
    n = table.num_rows
    length, digits = _order_key(table.column("seq").combine_chunks())
    keyed = pa.table(
        {
            "shard": table.column("shard"),
            "len": length,
            "digits": digits,
            "input": pa.array(np.arange(n, dtype=np.int64)),
        }
    )
    order = pc.sort_indices(
        keyed, sort_keys=[(c, "ascending") for c in ("shard", "len", "digits", "input")]
    )
    table = table.take(order)
    keyed = keyed.take(order)
    if n < 2:
        return _with_pos(table), 0, 0
    shard = keyed.column("shard").combine_chunks()
    dig = keyed.column("digits").combine_chunks()
    same = pc.and_(
        pc.equal(shard.slice(1), shard.slice(0, n - 1)), pc.equal(dig.slice(1), dig.slice(0, n - 1))
    ).to_numpy(zero_copy_only=False)
    dup = np.concatenate([[False], same])
    data = table.column("data").combine_chunks()
    differs = pc.not_equal(data.slice(1), data.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    # A chain of duplicates is compared link by link; any changed link means the content differed.
    conflicting = int(np.count_nonzero(same & differs))
    table = table.filter(pa.array(~dup))
    return _with_pos(table), int(dup.sum()), conflicting


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
) -> tuple[Manifest, pa.Table, int, tuple[str, ...]]:
    if source not in _DETECTORS:
        allowed = ", ".join(k.value for k in _DETECTORS)
        raise ImportFormatError(
            f"--source {source.value}: cannot import it yet; allowed: {allowed}"
        )
    if not paths:
        raise ImportFormatError("no input files given")
    sink = _Sink()
    notes: list[str] = []
    for p in paths:
        path = Path(p)
        form, count = _parse_file(path, source, sink)
        notes.append(f"{path}: {_FORM_LABELS[form]}, {count} records")
    if not sink.seq:
        raise ImportFormatError(f"no records in {', '.join(str(p) for p in paths)}")
    source_arn = _resolve_arn(sink, arn)
    arn_region, name = _arn_parts(source_arn, source, "--arn" if arn else "eventSourceARN")
    src_region = _resolve_region(arn_region, region)
    if sink.computed_size_bytes:
        notes.append(
            f"dynamodb.SizeBytes was missing in {len(sink.computed_size_bytes)} records and was "
            f"computed (first: {sink.computed_size_bytes[0]})"
        )
    table, duplicates, conflicting = _arrange(
        _table(sink, source, _shard_ids(sink, source, shard, notes))
    )
    if duplicates:
        notes.append(
            f"{duplicates} duplicate records (same shard and sequence number) were dropped"
        )
    if conflicting:
        notes.append(f"{conflicting} of those differed in content from the record kept (the first)")
    role = _resolve_role(sink, notes)
    ctx = EventContext(kind=source, source_arn=source_arn, region=src_region)
    if role is not None:
        ctx = EventContext(source, source_arn, src_region, invoke_identity_arn=role)
    table = conform(table.append_column("size", record_sizes(table, ctx)), source)
    manifest = Manifest(
        source=SourceInfo(kind=source, arn=source_arn, region=src_region, name=name),
        function={"Role": role} if role is not None else {},
        created_by="import",
    )
    return manifest, table, duplicates, tuple(notes)


def import_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    source: SourceKind,
    arn: str | None = None,
    shard: str | None = None,
    region: str | None = None,
) -> tuple[Manifest, pa.Table, int]:
    """Read AWS JSON files into a manifest and a records table, validating everything.

    Records are ordered by shard, then by sequence number compared as integers; ``pos`` is the
    0-based rank within the shard; a record whose (shard, sequence number) was already seen is
    dropped. ``size`` comes from :func:`replay.events.record_sizes`.

    Args:
        paths: input files, each Lambda event JSON (object, array or JSON Lines) or AWS CLI
            get-records output.
        source: the source kind the files hold.
        arn: the stream ARN; optional when the records carry ``eventSourceARN`` (then it must match).
        shard: shard id for records that carry none (DynamoDB records, Kinesis CLI output).
        region: the region; must match the ARN's when given.

    Returns:
        The manifest, the records table (capture schema plus nothing else), duplicates dropped.

    Raises:
        ImportFormatError: one line naming the file, record and problem.
    """
    manifest, table, duplicates, _ = _import(paths, source, arn, shard, region)
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
) -> ImportResult:
    """Import AWS JSON files and write them as a capture at ``out`` (atomically).

    Raises:
        ImportFormatError: an input file is malformed (nothing is written).
        CaptureError: ``out`` exists and ``overwrite`` is false.
    """
    target = Path(out)
    if target.exists() and not overwrite:
        raise CaptureError(f"{target}: already exists; choose another output or remove it")
    manifest, table, duplicates, notes = _import(paths, source, arn, shard, region)
    capture = write_capture(target, manifest, table, overwrite=overwrite)
    return ImportResult(
        capture=capture,
        records=capture.records.num_rows,
        duplicates=duplicates,
        files=len(paths),
        notes=notes,
    )
