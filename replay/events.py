"""The exact events an event source mapping sends to a function, rebuilt from capture rows.

A capture stores records column-wise (see docs/capture-format.md); the engine keeps them in Arrow
and only asks for Python dicts when a handler actually needs an event. This module is that bridge:

- :func:`build_records` turns capture rows into event records, field for field and in the key
  order AWS uses (B90 for Kinesis, B91 and section 4 of ESM-SEMANTICS.md for DynamoDB).
- :func:`build_event` wraps records in the ``{"Records": [...]}`` envelope, plus the tumbling-window
  extras (section 2.7) when a window is given.
- :func:`event_json` is the one serialisation used for payload sizes and S3 on-failure payloads.
- :func:`record_sizes` computes, without building events, how many bytes each record adds to an
  invocation payload (vectorised for Kinesis), so batch limits are array arithmetic.
- :func:`dynamodb_size_bytes` recomputes a DynamoDB stream record's ``SizeBytes`` (the "Derived fact"
  after case D01).

The size identity every caller may rely on, for any non-empty list of rows ``r``::

    len(event_json(build_event(build_records(t, r, ctx), ctx))) == envelope_overhead(ctx) + sum(sizes[r])
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.model import SourceKind
from replay.timeutil import iso_ms, iso_s

DEFAULT_INVOKE_IDENTITY_ARN = "arn:aws:iam::123456789012:role/esm-replay"
KINESIS_SCHEMA_VERSION = "1.0"
KINESIS_EVENT_VERSION = "1.0"
KINESIS_EVENT_SOURCE = "aws:kinesis"
KINESIS_EVENT_NAME = "aws:kinesis:record"
DYNAMODB_EVENT_SOURCE = "aws:dynamodb"
# "1.0" in the docs' examples, "1.1" in every record recorded against AWS (D01); used only when a
# capture row has no event_version of its own.
DEFAULT_DYNAMODB_EVENT_VERSION = "1.1"

_ENVELOPE = b'{"Records":[]}'
EVENT_OVERHEAD: int = len(_ENVELOPE) - 1
"""Bytes of the ``{"Records":[]}`` envelope less one: each record's size counts the comma that
separates it from the next, and the last record has none, so for a non-empty event
``len(event_json(event)) == EVENT_OVERHEAD + sum(record sizes)``."""

_IMAGES = ("Keys", "NewImage", "OldImage")


# Bytes json.dumps (ensure_ascii=False) escapes: the quote, the backslash and C0 controls. UTF-8
# continuation bytes are >= 0x80, so a byte scan never mistakes part of a character for one.
_ESCAPED_RE = '["\\\\\\x00-\\x1f]'
_PLAIN_BYTES = bytes(b for b in range(0x20, 256) if b not in b'"\\')
_POW10 = np.array([10**k for k in range(1, 19)], dtype=np.int64)
_DDB_CHUNK = 8192


@dataclass(frozen=True)
class EventContext:
    """What an event carries besides the records themselves: the source's identity.

    Attributes:
        kind: the source family; decides the record shape.
        source_arn: ``eventSourceARN`` of every record.
        region: ``awsRegion`` of every record.
        invoke_identity_arn: Kinesis ``invokeIdentityArn`` (the ESM's execution role).
    """

    kind: SourceKind
    source_arn: str
    region: str
    invoke_identity_arn: str = DEFAULT_INVOKE_IDENTITY_ARN


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


def _dumps(obj: Any) -> str:
    # Compact and UTF-8 (non-ASCII characters are not \u-escaped), as Lambda's own serialiser writes.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def event_json(event: dict[str, Any]) -> bytes:
    """Serialise an event: compact JSON, UTF-8; what payload sizes and S3 payloads are made of."""
    return _dumps(event).encode("utf-8")


def envelope_overhead(ctx: EventContext, window: WindowInfo | None = None) -> int:
    """Bytes an event adds beyond the sum of its records' sizes (see the module's size identity).

    Args:
        ctx: the event context (kept for symmetry; the plain envelope does not depend on it).
        window: tumbling-window extras, whose size depends on the state carried.

    Returns:
        ``EVENT_OVERHEAD`` without a window, else the size of the window event with no records,
        less one.
    """
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

    Without a window: ``{"Records": records}``. With one (2.7), the keys follow the AWS examples
    (services-kinesis-windows, services-ddb-windows): ``Records``, ``window`` ``{start, end}``
    (ISO-8601 UTC), ``state``, ``shardId``, ``eventSourceARN``, ``isFinalInvokeForWindow``,
    ``isWindowTerminatedEarly``.
    """
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


# --------------------------------------------------------------------------- records


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


def _arrival_seconds(table: pa.Table) -> list[float]:
    ms = table.column("arrival").cast(pa.int64()).to_numpy()
    # Correctly rounded ms/1000: its repr is the decimal with at most 3 fractional digits (K01).
    seconds: list[float] = (ms / 1000).tolist()
    return seconds


def build_records(
    table: pa.Table, rows: np.ndarray | Sequence[int], ctx: EventContext
) -> list[dict[str, Any]]:
    """Build one event record per row, in row order, exactly as AWS delivers it.

    Kinesis (B90, K01): ``kinesis{kinesisSchemaVersion, partitionKey, sequenceNumber, data (base64),
    approximateArrivalTimestamp (epoch seconds, ms precision)}``, ``eventSource``, ``eventVersion``,
    ``eventID`` ``"<shard>:<seq>"``, ``eventName``, ``invokeIdentityArn``, ``awsRegion``,
    ``eventSourceARN``.

    DynamoDB (D01, B91): ``eventID``, ``eventName``, ``eventVersion``, ``eventSource``, ``awsRegion``,
    ``dynamodb`` (the captured object, key order kept), ``eventSourceARN``, then ``userIdentity``
    when the row has one (TTL deletions).

    Args:
        table: capture records (the capture schema of ``ctx.kind``).
        rows: row indices into ``table``.
        ctx: source identity for ``eventSourceARN``, ``awsRegion``, ``invokeIdentityArn``.

    Raises:
        NotImplementedError: for source kinds whose events are not built here yet.
    """
    if len(rows) == 0:
        return []
    if ctx.kind is SourceKind.KINESIS:
        return _kinesis_records(
            _select(table, rows, ["shard", "seq", "key", "data", "arrival"]), ctx
        )
    if ctx.kind is SourceKind.DYNAMODB:
        cols = ["shard", "seq", "data", "event_id", "event_name", "event_version", "user_identity"]
        return _dynamodb_records(_select(table, rows, cols), ctx)
    raise NotImplementedError(
        f"events for {ctx.kind.value} sources are not built by replay.events yet"
    )


def _kinesis_records(t: pa.Table, ctx: EventContext) -> list[dict[str, Any]]:
    b64 = binascii.b2a_base64
    region, arn, role = ctx.region, ctx.source_arn, ctx.invoke_identity_arn
    return [
        {
            "kinesis": {
                "kinesisSchemaVersion": KINESIS_SCHEMA_VERSION,
                "partitionKey": key,
                "sequenceNumber": seq,
                "data": str(b64(data, newline=False), "ascii"),
                "approximateArrivalTimestamp": ts,
            },
            "eventSource": KINESIS_EVENT_SOURCE,
            "eventVersion": KINESIS_EVENT_VERSION,
            "eventID": f"{shard}:{seq}",
            "eventName": KINESIS_EVENT_NAME,
            "invokeIdentityArn": role,
            "awsRegion": region,
            "eventSourceARN": arn,
        }
        for shard, seq, key, data, ts in zip(
            t.column("shard").to_pylist(),
            t.column("seq").to_pylist(),
            t.column("key").to_pylist(),
            t.column("data").to_pylist(),
            _arrival_seconds(t),
            strict=True,
        )
    ]


def _json_values(texts: list[bytes]) -> list[Any]:
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


def _dynamodb_records(t: pa.Table, ctx: EventContext) -> list[dict[str, Any]]:
    region, arn = ctx.region, ctx.source_arn
    identities = t.column("user_identity").to_pylist()
    present = [i for i, ui in enumerate(identities) if ui is not None]
    parsed = _json_values([identities[i].encode("utf-8") for i in present])
    for i, value in zip(present, parsed, strict=True):
        identities[i] = value
    out: list[dict[str, Any]] = []
    for shard, seq, ddb, eid, name, version, ui in zip(
        t.column("shard").to_pylist(),
        t.column("seq").to_pylist(),
        _json_values(t.column("data").to_pylist()),
        t.column("event_id").to_pylist(),
        t.column("event_name").to_pylist(),
        t.column("event_version").to_pylist(),
        identities,
        strict=True,
    ):
        rec: dict[str, Any] = {
            "eventID": eid if eid is not None else _fallback_event_id(shard, seq),
            "eventName": name if name is not None else _infer_event_name(ddb),
            "eventVersion": version if version is not None else DEFAULT_DYNAMODB_EVENT_VERSION,
            "eventSource": DYNAMODB_EVENT_SOURCE,
            "awsRegion": region,
            "dynamodb": ddb,
            "eventSourceARN": arn,
        }
        if ui is not None:
            rec["userIdentity"] = ui
        out.append(rec)
    return out


def _fallback_event_id(shard: str, seq: str) -> str:
    # AWS event ids are 32 hex digits; a capture without them gets a stable stand-in.
    return hashlib.md5(f"{shard}:{seq}".encode(), usedforsecurity=False).hexdigest()


def _infer_event_name(ddb: Mapping[str, Any]) -> str:
    new, old = "NewImage" in ddb, "OldImage" in ddb
    if new and not old:
        return "INSERT"
    if old and not new:
        return "REMOVE"
    return "MODIFY"


# --------------------------------------------------------------------------- sizes


def record_sizes(table: pa.Table, ctx: EventContext) -> pa.Array:
    """Bytes each record adds to an invocation payload: its compact JSON length plus one comma.

    Kinesis sizes are pure array arithmetic over string and binary lengths (base64 length is
    ``4 * ceil(n / 3)``); only the rare strings holding characters JSON escapes are measured one
    by one. DynamoDB sizes come from column lengths when the stored ``dynamodb`` JSON is already
    compact (checked in bulk); otherwise each record is serialised.

    Returns:
        An int32 array, one size per row of ``table``.
    """
    if table.num_rows == 0:
        return pa.array([], type=pa.int32())
    if ctx.kind is SourceKind.KINESIS:
        return pa.array(_kinesis_sizes(table, ctx), type=pa.int32())
    if ctx.kind is SourceKind.DYNAMODB:
        return pa.array(_dynamodb_sizes(table, ctx), type=pa.int32())
    raise NotImplementedError(
        f"record sizes for {ctx.kind.value} sources are not computed here yet"
    )


def _may_need_escapes(arr: pa.ChunkedArray | pa.Array) -> bool:
    """Whether any value buffer holds a byte JSON escapes; one C-speed pass per chunk.

    The whole buffer is checked, slice or not: a hit outside the rows only costs the exact check.
    """
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None and data.to_pybytes().translate(None, _PLAIN_BYTES):
            return True
    return False


def _escaped_lengths(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """UTF-8 byte length of each string's JSON encoding, quotes excluded.

    A null counts as ``null`` less the two quotes a string would have had. Strings holding
    characters JSON escapes (quote, backslash, C0 controls) are rare: they are found only when a
    quick scan says there may be some, and then measured one by one.
    """
    lengths = pc.fill_null(pc.binary_length(arr), 2).to_numpy().astype(np.int64)
    if _may_need_escapes(arr):
        needs = pc.fill_null(pc.match_substring_regex(arr, _ESCAPED_RE), False)
        for i in np.flatnonzero(needs.to_numpy(zero_copy_only=False)):
            lengths[i] = len(_dumps(arr[int(i)].as_py()).encode("utf-8")) - 2
    return lengths


def _float_repr_lengths(ms: np.ndarray) -> np.ndarray:
    """``len(repr(ms / 1000))`` for epoch milliseconds, vectorised."""
    out = np.empty(ms.size, dtype=np.int64)
    simple = ms >= 0
    secs, frac = np.divmod(ms[simple], 1000)
    int_digits = 1 + np.searchsorted(_POW10, secs, side="right")
    frac_len = np.where(frac == 0, 2, np.where(frac % 100 == 0, 2, np.where(frac % 10 == 0, 3, 4)))
    out[simple] = int_digits + frac_len
    for i in np.flatnonzero(~simple):
        out[i] = len(repr(int(ms[i]) / 1000))
    return out


def _kinesis_sizes(table: pa.Table, ctx: EventContext) -> np.ndarray:
    # Fixed part: a record whose variable strings are empty and whose timestamp is 0 ("0.0").
    template = {
        "kinesis": {
            "kinesisSchemaVersion": KINESIS_SCHEMA_VERSION,
            "partitionKey": "",
            "sequenceNumber": "",
            "data": "",
            "approximateArrivalTimestamp": 0.0,
        },
        "eventSource": KINESIS_EVENT_SOURCE,
        "eventVersion": KINESIS_EVENT_VERSION,
        "eventID": ":",
        "eventName": KINESIS_EVENT_NAME,
        "invokeIdentityArn": ctx.invoke_identity_arn,
        "awsRegion": ctx.region,
        "eventSourceARN": ctx.source_arn,
    }
    fixed = len(_dumps(template).encode("utf-8")) - len("0.0") + 1  # +1: the comma
    seq = _escaped_lengths(table.column("seq"))
    data_len = pc.binary_length(table.column("data")).to_numpy().astype(np.int64)
    ms = table.column("arrival").cast(pa.int64()).to_numpy()
    return (
        fixed
        + _escaped_lengths(table.column("key"))
        + 2 * seq
        + _escaped_lengths(table.column("shard"))
        + 4 * ((data_len + 2) // 3)
        + _float_repr_lengths(ms)
    )


def _dynamodb_sizes(table: pa.Table, ctx: EventContext) -> np.ndarray:
    out = np.empty(table.num_rows, dtype=np.int64)
    for lo in range(0, table.num_rows, _DDB_CHUNK):
        chunk = table.slice(lo, _DDB_CHUNK)
        fast = _dynamodb_sizes_from_lengths(chunk, ctx)
        if fast is None:
            recs = build_records(chunk, np.arange(chunk.num_rows), ctx)
            fast = np.array([len(_dumps(r).encode("utf-8")) + 1 for r in recs], dtype=np.int64)
        out[lo : lo + chunk.num_rows] = fast
    return out


def _is_canonical(texts: list[bytes]) -> bool:
    """Whether every text is already exactly what :func:`_dumps` would write for its value.

    Checked on the whole list at once: if the joined array re-serialises to itself, each element
    does, because parsing the same string splits it at the same places.
    """
    joined = b"[" + b",".join(texts) + b"]"
    try:
        values = json.loads(joined)
    except ValueError:
        return False
    return len(values) == len(texts) and _dumps(values).encode("utf-8") == joined


def _dynamodb_sizes_from_lengths(t: pa.Table, ctx: EventContext) -> np.ndarray | None:
    """Sizes from column lengths when the stored JSON is canonical (what the importer writes) and
    no fallback field is needed; ``None`` otherwise, and the caller serialises each record."""
    named = ("event_id", "event_name", "event_version")
    if any(t.column(c).null_count for c in named):
        return None
    identity = t.column("user_identity")
    present = [v.encode("utf-8") for v in identity.to_pylist() if v is not None]
    if not _is_canonical(t.column("data").to_pylist()) or (present and not _is_canonical(present)):
        return None
    template = {
        "eventID": "",
        "eventName": "",
        "eventVersion": "",
        "eventSource": DYNAMODB_EVENT_SOURCE,
        "awsRegion": ctx.region,
        "dynamodb": 0,
        "eventSourceARN": ctx.source_arn,
    }
    fixed = len(_dumps(template).encode("utf-8")) - len("0") + 1  # +1: the comma
    sizes = fixed + pc.binary_length(t.column("data")).to_numpy().astype(np.int64)
    for name in named:
        sizes += _escaped_lengths(t.column(name))
    has_ui = pc.is_valid(identity).to_numpy(zero_copy_only=False)
    ui_len = pc.fill_null(pc.binary_length(identity), 0).to_numpy().astype(np.int64)
    sizes += np.where(has_ui, len(',"userIdentity":') + ui_len, 0)
    return sizes


# --------------------------------------------------------------------------- DynamoDB SizeBytes


def dynamodb_size_bytes(dynamodb: Mapping[str, Any]) -> int:
    """A DynamoDB stream record's ``SizeBytes``: attribute-name plus value bytes over ``Keys``,
    ``NewImage`` and ``OldImage`` (the "Derived fact" after D01; 20, 32, 46, 54, 70, 58 in its
    examples).

    Values follow DynamoDB's item-size rules (CapacityUnitCalculations): S is its UTF-8 length, B
    its raw (base64-decoded) length, N one byte per two significant digits plus one, BOOL and NULL
    one byte, L and M three bytes plus one byte per element plus the elements (a map element also
    counts its name). Sets (SS, NS, BS) count the sum of their members (UNCONFIRMED: the docs give
    no rule for sets).

    Raises:
        ValueError: an attribute value is not DynamoDB JSON.
    """
    total = 0
    for image in _IMAGES:
        attrs = dynamodb.get(image)
        if attrs is not None:
            total += _attributes_size(attrs, image)
    return total


def _attributes_size(attrs: Any, where: str) -> int:
    if not isinstance(attrs, Mapping):
        raise ValueError(f"{where} must be an object of attribute values")
    return sum(
        _utf8_len(name) + _value_size(value, f"{where}.{name}") for name, value in attrs.items()
    )


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _value_size(value: Any, where: str) -> int:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(
            f"{where} is not a DynamoDB attribute value (one type key, e.g. {{'S': ...}})"
        )
    ((kind, v),) = value.items()
    try:
        return _SIZERS[kind](v, where)
    except KeyError:
        raise ValueError(f"{where} has unknown attribute type {kind!r}") from None


def _string_size(v: Any, where: str) -> int:
    if not isinstance(v, str):
        raise ValueError(f"{where}: a string value must be a JSON string")
    return _utf8_len(v)


def _number_size(v: Any, where: str) -> int:
    text = str(v).strip().lstrip("+-")
    mantissa = text.split("e")[0].split("E")[0].replace(".", "")
    if not mantissa.isdigit():
        raise ValueError(f"{where}: {v!r} is not a number")
    digits = mantissa.strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(v: Any, where: str) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    if not isinstance(v, str):
        raise ValueError(f"{where}: a binary value must be a base64 string")
    try:
        return len(base64.b64decode(v, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: {v[:20]!r} is not valid base64") from None


def _one_byte(v: Any, where: str) -> int:
    return 1


def _set_size(member: Callable[[Any, str], int]) -> Callable[[Any, str], int]:
    def size(v: Any, where: str) -> int:
        if not isinstance(v, list):
            raise ValueError(f"{where}: a set must be a JSON array")
        return sum(member(m, where) for m in v)

    return size


def _list_size(v: Any, where: str) -> int:
    if not isinstance(v, list):
        raise ValueError(f"{where}: L must be a JSON array")
    return 3 + sum(1 + _value_size(e, f"{where}[{i}]") for i, e in enumerate(v))


def _map_size(v: Any, where: str) -> int:
    if not isinstance(v, Mapping):
        raise ValueError(f"{where}: M must be a JSON object")
    return 3 + len(v) + _attributes_size(v, where)


_SIZERS: dict[str, Callable[[Any, str], int]] = {
    "S": _string_size,
    "N": _number_size,
    "B": _binary_size,
    "BOOL": _one_byte,
    "NULL": _one_byte,
    "SS": _set_size(_string_size),
    "NS": _set_size(_number_size),
    "BS": _set_size(_binary_size),
    "L": _list_size,
    "M": _map_size,
}
