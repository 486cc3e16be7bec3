"""Bytes each record adds to an invocation payload, computed column-wise without building events,
so that batch limits are array arithmetic; the package's size identity (see :mod:`replay.events`)
says how they add up to an event's exact length.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.events.envelope import EventContext, dumps
from replay.events.kafka import DEFAULT_KAFKA_TIMESTAMP_TYPE
from replay.events.records import build_records
from replay.events.sqs import (
    RECEIPT_HANDLE_LENGTH,
    SQS_EVENT_SOURCE,
    SQS_FIRST_RECEIVE,
    SQS_OPTIONAL_ATTRIBUTES,
    SQS_RECEIVE_COUNT,
    SQS_SENT,
    message_ids,
    sqs_extra_attributes,
    utf8,
)
from replay.events.streams import (
    DYNAMODB_EVENT_SOURCE,
    KINESIS_EVENT_NAME,
    KINESIS_EVENT_SOURCE,
    KINESIS_EVENT_VERSION,
    KINESIS_SCHEMA_VERSION,
)
from replay.vocabulary import SourceKind

# Bytes json.dumps (ensure_ascii=False) escapes: the quote, the backslash and C0 controls. UTF-8
# continuation bytes are >= 0x80, so a byte scan never mistakes part of a character for one.
# Each costs one extra byte (a two-character escape such as \n) or five (\u00XX).
_SHORT_ESCAPES = frozenset(b'"\\\n\r\t\b\f')
_PLAIN_BYTES = bytes(b for b in range(0x20, 256) if b not in b'"\\')
_POW10 = np.array([10**k for k in range(1, 19)], dtype=np.int64)
_SERIALISE_CHUNK = 8192  # rows per chunk when sizes are found by building records


def record_sizes(table: pa.Table, ctx: EventContext) -> pa.Array:
    """Bytes each record adds to an invocation payload: its compact JSON length plus one comma.

    Kinesis sizes are pure array arithmetic over string and binary lengths (base64 length is
    ``4 * ceil(n / 3)``); only the rare strings holding characters JSON escapes are measured one
    by one. DynamoDB sizes come from column lengths when the stored ``dynamodb`` JSON is already
    compact (checked in bulk); otherwise each record is serialised.

    SQS sizes are those of a first receive (``ApproximateReceiveCount`` ``"1"``, first receive at
    the arrival time, a :func:`receipt_handle`), by the same column arithmetic. A later receive
    adds ``len(str(count)) - 1`` bytes (one from the 10th receive, two from the 100th), plus the
    difference in digits between its first-receive time and the arrival (none between 2001 and
    2286). Captured attributes beyond the typed columns are measured row by row.

    Kafka sizes are column arithmetic too (numbers by their digit count); stored ``headers`` JSON
    counts its own length when it is compact, which is checked once per distinct value.

    Returns:
        An int32 array, one size per row of ``table``.
    """
    if table.num_rows == 0:
        return pa.array([], type=pa.int32())
    sizers: dict[SourceKind, Callable[[pa.Table, EventContext], np.ndarray]] = {
        SourceKind.KINESIS: _kinesis_sizes,
        SourceKind.DYNAMODB: _dynamodb_sizes,
        SourceKind.SQS: _sqs_sizes,
        SourceKind.KAFKA: _kafka_sizes,
    }
    return pa.array(sizers[ctx.kind](table, ctx), type=pa.int32())


def _serialised_sizes(table: pa.Table, ctx: EventContext) -> np.ndarray:
    """Sizes by building and serialising every record, in chunks: the exact fallback."""
    out = np.empty(table.num_rows, dtype=np.int64)
    for lo in range(0, table.num_rows, _SERIALISE_CHUNK):
        chunk = table.slice(lo, _SERIALISE_CHUNK)
        recs = build_records(chunk, np.arange(chunk.num_rows), ctx)
        out[lo : lo + chunk.num_rows] = [len(dumps(r).encode("utf-8")) + 1 for r in recs]
    return out


def _int_lengths(values: np.ndarray) -> np.ndarray:
    """``len(str(v))`` of each int64, vectorised."""
    negative = values < 0
    magnitude = np.abs(values.astype(np.int64))
    digits = 1 + np.searchsorted(_POW10, magnitude, side="right")
    return digits + negative


def _canonical_distinct(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every JSON text of ``col`` is compact as :func:`dumps` writes it; each distinct
    value is checked once (headers and message attributes repeat a lot)."""
    distinct = pc.unique(col.drop_null()).to_pylist()
    return _is_canonical([d.encode("utf-8") for d in distinct]) if distinct else True


def _json_text_lengths(col: pa.ChunkedArray | pa.Array, empty: int) -> np.ndarray:
    """Byte length of each value (stored JSON text, or binary); ``empty`` for a null."""
    return pc.fill_null(pc.binary_length(col), empty).to_numpy().astype(np.int64)


def _sqs_sizes(table: pa.Table, ctx: EventContext) -> np.ndarray:
    if not _canonical_distinct(table.column("message_attributes")):
        return _serialised_sizes(table, ctx)
    template = {
        "messageId": "",
        "receiptHandle": "x" * RECEIPT_HANDLE_LENGTH,
        "body": "",
        "attributes": {SQS_RECEIVE_COUNT: "1", SQS_SENT: "", SQS_FIRST_RECEIVE: ""},
        "messageAttributes": 0,
        "md5OfMessageAttributes": None,
        "md5OfBody": "",
        "eventSource": SQS_EVENT_SOURCE,
        "eventSourceARN": ctx.source_arn,
        "awsRegion": ctx.region,
    }
    fixed = len(dumps(template).encode("utf-8")) - len("0") + 1  # +1: the comma
    md5_attrs = table.column("md5_of_message_attributes")
    md5_body = table.column("md5_of_body")
    sizes = (
        fixed
        + _escaped_lengths(message_ids(table))
        + _escaped_lengths(utf8(table.column("data")))
        + 2 * _int_lengths(table.column("arrival").cast(pa.int64()).to_numpy())
        + _json_text_lengths(table.column("message_attributes"), len("{}"))
        # a null md5OfMessageAttributes is the template's "null"; a value replaces it, quoted
        + np.where(_valid(md5_attrs), _escaped_lengths(md5_attrs) + 2 - len("null"), 0)
        # a missing md5OfBody is computed: 32 hex digits
        + np.where(_valid(md5_body), _escaped_lengths(md5_body), 32)
    )
    for column, name in SQS_OPTIONAL_ATTRIBUTES:
        values = table.column(column)
        item = len(dumps({name: ""})) - 1  # ,"Name":"" less the braces, plus the comma
        sizes += np.where(_valid(values), item + _escaped_lengths(values), 0)
    for i, extra in enumerate(sqs_extra_attributes(table.column("attributes"))):
        if extra is not None:
            sizes[i] += sum(len(dumps({k: v}).encode("utf-8")) - 1 for k, v in extra.items())
    return sizes


def _valid(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    flags: np.ndarray = pc.is_valid(col).to_numpy(zero_copy_only=False)
    return flags


def _kafka_sizes(table: pa.Table, ctx: EventContext) -> np.ndarray:
    exact_columns = ("topic", "partition", "offset")
    if any(table.column(c).null_count for c in exact_columns) or not _canonical_distinct(
        table.column("headers")
    ):
        return _serialised_sizes(table, ctx)
    template = {
        "topic": "",
        "partition": 0,
        "offset": 0,
        "timestamp": 0,
        "timestampType": "",
        "value": "",
        "headers": [],
    }
    fixed = len(dumps(template).encode("utf-8")) - 3 * len("0") - len("[]") + 1  # +1: the comma
    has_key = _valid(table.column("key_bytes"))
    key_len = _json_text_lengths(table.column("key_bytes"), 0)
    value_len = pc.binary_length(table.column("data")).to_numpy().astype(np.int64)
    types = pc.fill_null(table.column("timestamp_type"), DEFAULT_KAFKA_TIMESTAMP_TYPE)
    return (
        fixed
        + _escaped_lengths(table.column("topic"))
        + _int_lengths(table.column("partition").to_numpy().astype(np.int64))
        + _int_lengths(table.column("offset").to_numpy())
        + _int_lengths(table.column("arrival").cast(pa.int64()).to_numpy())
        + _escaped_lengths(types)
        + 4 * ((value_len + 2) // 3)
        + np.where(has_key, len(',"key":""') + 4 * ((key_len + 2) // 3), 0)
        + _json_text_lengths(table.column("headers"), len("[]"))
    )


def _escapable_bytes(arr: pa.ChunkedArray | pa.Array) -> set[int]:
    """The bytes JSON escapes that occur in the value buffers; one C-speed pass per chunk.

    The whole buffer is scanned, slice or not: a byte outside the rows only costs a count.
    """
    found: set[int] = set()
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None:
            found.update(data.to_pybytes().translate(None, _PLAIN_BYTES))
    return found


def _escaped_lengths(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """UTF-8 byte length of each string's JSON encoding, quotes excluded.

    A null counts as ``null`` less the two quotes a string would have had. JSON (as
    :func:`dumps` writes it) adds one byte for each quote, backslash, newline, carriage return,
    tab, backspace and form feed, and five for each other C0 control (``\\u00XX``): each such
    byte that occurs in the column is counted column-wise (JSON bodies cost one pass, for ``"``).
    """
    lengths = pc.fill_null(pc.binary_length(arr), 2).to_numpy().astype(np.int64)
    for byte in _escapable_bytes(arr):
        counts = pc.fill_null(pc.count_substring(arr, chr(byte)), 0).to_numpy()
        lengths += (1 if byte in _SHORT_ESCAPES else 5) * counts.astype(np.int64)
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
    fixed = len(dumps(template).encode("utf-8")) - len("0.0") + 1  # +1: the comma
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
    for lo in range(0, table.num_rows, _SERIALISE_CHUNK):
        chunk = table.slice(lo, _SERIALISE_CHUNK)
        fast = _dynamodb_sizes_from_lengths(chunk, ctx)
        out[lo : lo + chunk.num_rows] = fast if fast is not None else _serialised_sizes(chunk, ctx)
    return out


def _is_canonical(texts: list[bytes]) -> bool:
    """Whether every text is already exactly what :func:`dumps` would write for its value.

    Checked on the whole list at once: if the joined array re-serialises to itself, each element
    does, because parsing the same string splits it at the same places.
    """
    joined = b"[" + b",".join(texts) + b"]"
    try:
        values = json.loads(joined)
    except ValueError:
        return False
    return len(values) == len(texts) and dumps(values).encode("utf-8") == joined


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
    fixed = len(dumps(template).encode("utf-8")) - len("0") + 1  # +1: the comma
    sizes = fixed + pc.binary_length(t.column("data")).to_numpy().astype(np.int64)
    for name in named:
        sizes += _escaped_lengths(t.column(name))
    has_ui = pc.is_valid(identity).to_numpy(zero_copy_only=False)
    ui_len = pc.fill_null(pc.binary_length(identity), 0).to_numpy().astype(np.int64)
    sizes += np.where(has_ui, len(',"userIdentity":') + ui_len, 0)
    return sizes
