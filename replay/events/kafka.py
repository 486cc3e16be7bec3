"""Kafka event records (B93): one element of an event's ``records["<topic>-<partition>"]`` per
capture row; the envelope around them is :func:`replay.events.envelope.build_event` (B94)."""

from __future__ import annotations

import binascii
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from replay.events.envelope import EventContext, json_values

DEFAULT_KAFKA_TIMESTAMP_TYPE = "CREATE_TIME"
# The capture columns a Kafka record is built from.
KAFKA_COLUMNS = (
    "shard",
    "seq",
    "arrival",
    "data",
    "topic",
    "partition",
    "offset",
    "timestamp_type",
    "key_bytes",
    "headers",
)


def _kafka_topic_partitions(t: pa.Table) -> tuple[list[str], list[int]]:
    """Topic and partition per row; a row without them takes them from ``shard``
    (``"<topic>-<partition>"``, split at the last hyphen: topic names may hold hyphens)."""
    topics = t.column("topic").to_pylist()
    partitions = t.column("partition").to_pylist()
    if None in topics or None in partitions:
        for i, shard in enumerate(t.column("shard").to_pylist()):
            topic, _, part = shard.rpartition("-")
            if topics[i] is None:
                topics[i] = topic
            if partitions[i] is None:
                partitions[i] = int(part)
    return topics, partitions


def kafka_records(t: pa.Table, ctx: EventContext) -> list[dict[str, Any]]:
    """Kafka records (B93; with-msk.html): ``key`` and ``value`` base64, ``timestamp`` epoch ms,
    ``headers`` ``[{"<name>": [byte, ...]}]`` as stored. A keyless record has no ``key`` at all, as
    in the docs' self-managed example (UNCONFIRMED: AWS might send ``"key": null``)."""
    b64 = binascii.b2a_base64
    topics, partitions = _kafka_topic_partitions(t)
    offsets = t.column("offset").to_pylist()
    if None in offsets:
        offsets = [
            o if o is not None else int(s)
            for o, s in zip(offsets, t.column("seq").to_pylist(), strict=True)
        ]
    headers_json = t.column("headers").to_pylist()
    present = [i for i, h in enumerate(headers_json) if h is not None]
    headers: list[Any] = [[] for _ in headers_json]
    for i, value in zip(
        present, json_values([headers_json[i].encode() for i in present]), strict=True
    ):
        headers[i] = value
    types = pc.fill_null(t.column("timestamp_type"), DEFAULT_KAFKA_TIMESTAMP_TYPE).to_pylist()
    out: list[dict[str, Any]] = []
    for topic, partition, offset, ts, ttype, key, value, hdrs in zip(
        topics,
        partitions,
        offsets,
        t.column("arrival").cast(pa.int64()).to_pylist(),
        types,
        t.column("key_bytes").to_pylist(),
        t.column("data").to_pylist(),
        headers,
        strict=True,
    ):
        rec: dict[str, Any] = {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": ts,
            "timestampType": ttype,
        }
        if key is not None:
            rec["key"] = str(b64(key, newline=False), "ascii")
        rec["value"] = str(b64(value, newline=False), "ascii")
        rec["headers"] = hdrs
        out.append(rec)
    return out
