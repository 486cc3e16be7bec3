"""Kafka records: from a Lambda event (B93) and from ``kcat -C -J`` output."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from captures.importers.fields import (
    KCAT,
    LAMBDA,
    base64_bytes,
    compact_json,
    non_negative_int,
    required_string,
    utf8_bytes,
)
from captures.importers.sink import Sink
from replay.errors import ImportFormatError
from replay.events import DEFAULT_KAFKA_TIMESTAMP_TYPE

_KAFKA_TIMESTAMP_TYPES = (DEFAULT_KAFKA_TIMESTAMP_TYPE, "LOG_APPEND_TIME")
_KCAT_TIMESTAMP_TYPES = {"create": "CREATE_TIME", "logappend": "LOG_APPEND_TIME"}


def detect_kafka(first: Mapping[str, Any], top: Any) -> str | None:
    """kcat's own fields (``payload``, ``tstype``, ``broker``) or a Lambda event record's."""
    if "payload" in first or "tstype" in first or "broker" in first:
        return KCAT
    if "topic" in first and ("value" in first or "timestampType" in first):
        return LAMBDA
    return None


def parse_kafka_lambda(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A record of a Kafka Lambda event (B93): ``key``/``value`` base64, ``headers`` as
    ``[{"<name>": [byte, ...]}]``, kept verbatim."""
    timestamp_type = required_string(rec, "timestampType", "timestampType", where)
    if timestamp_type not in _KAFKA_TIMESTAMP_TYPES:
        raise ImportFormatError(
            f"{where}: timestampType is {timestamp_type!r}; allowed: {', '.join(_KAFKA_TIMESTAMP_TYPES)} "
            "(a record without a timestamp cannot be replayed in time)"
        )
    key = None if rec.get("key") is None else base64_bytes(rec, "key", "key", where)
    value = None if rec.get("value") is None else base64_bytes(rec, "value", "value", where)
    headers = rec.get("headers")
    if headers is None:
        headers = []
    _check_lambda_headers(headers, where)
    _add_kafka(
        sink,
        where,
        topic=required_string(rec, "topic", "topic", where),
        partition=non_negative_int(rec, "partition", "partition", where),
        offset=non_negative_int(rec, "offset", "offset", where),
        timestamp_ms=non_negative_int(rec, "timestamp", "timestamp", where),
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
        utf8_bytes(name, f"headers[{i}] name", where)
        ok = value is None or (
            isinstance(value, list)
            and all(
                isinstance(b, int) and not isinstance(b, bool) and -128 <= b <= 255 for b in value
            )
        )
        if not ok:
            raise ImportFormatError(f"{where}: headers[{i}].{name} must be a list of byte values")


def parse_kafka_kcat(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
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
        topic=required_string(rec, "topic", "topic", where),
        partition=non_negative_int(rec, "partition", "partition", where),
        offset=non_negative_int(rec, "offset", "offset", where),
        timestamp_ms=non_negative_int(rec, "ts", "ts", where),
        timestamp_type=_KCAT_TIMESTAMP_TYPES[tstype],
        key=_kcat_bytes(rec.get("key"), "key", where),
        value=_kcat_bytes(rec.get("payload"), "payload", where),
        headers=_kcat_headers(rec.get("headers"), where),
    )


def _kcat_bytes(value: Any, name: str, where: str) -> bytes | None:
    """A kcat key, payload or header value as the bytes Kafka held (null stays None)."""
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
        utf8_bytes(name, f"header name {name!r}", where)
        data = _kcat_bytes(value, f"header {name}", where)
        out.append({name: None if data is None else list(data)})
    return out


def _add_kafka(
    sink: Sink,
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
    utf8_bytes(topic, "topic", where)
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
        headers=compact_json(headers),
    )
