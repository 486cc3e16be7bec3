"""The column lists parsers append to, and the records table built from them.

A :class:`Sink` collects one value per record and column, plus what the records say about their
source (ARNs, regions, roles, Kafka event identity) with where each was first stated.
:func:`build_table` turns it into an Arrow table column-wise; :func:`arrange` drops repeated
records, orders them as the ESM reads them and numbers ``pos``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from captures.importers.fields import KAFKA_EVENT_SOURCES, epoch_ms
from replay.errors import ImportFormatError
from replay.formats.capture import EXTRA_FIELDS
from replay.vocabulary import SourceKind


@dataclass(frozen=True)
class Sink:
    """Column lists that parsers append to, one value per record (shard ``None``: not carried).

    ``arrival_start`` (epoch ms): when set, a stream record without an arrival time is given one
    (see :meth:`arrival_ms`) rather than refused; the live capture leaves it unset.
    """

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
    arrival_start: int | None = None
    # Records given an arrival time (``arrival_start`` onward): where each is, and the field missed.
    no_arrival: list[tuple[str, str]] = field(default_factory=list)

    def arrival_ms(self, parent: Mapping[str, Any], key: str, name: str, where: str) -> int:
        """The record's arrival time (epoch ms) from ``parent[key]``; when it is absent and
        ``arrival_start`` is set, the next assumed one: ``arrival_start`` for the first such
        record, then 1 ms later for each (file order), so that their order is kept."""
        if parent.get(key) is not None or self.arrival_start is None:
            return epoch_ms(parent, key, name, where)
        self.no_arrival.append((where, name))
        return self.arrival_start + len(self.no_arrival) - 1

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
            if source not in KAFKA_EVENT_SOURCES:
                allowed = ", ".join(repr(s) for s in KAFKA_EVENT_SOURCES)
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


def _extra_types(kind: SourceKind) -> dict[str, pa.DataType]:
    """The source kind's own columns (beyond shard, seq, arrival, key, data) and their types."""
    return {f.name: f.type for f in EXTRA_FIELDS[kind]}


def build_table(sink: Sink, kind: SourceKind, shards: list[str]) -> pa.Table:
    """The sink's records as an Arrow table in input order: the core columns, then every column
    of ``kind`` (null where no parser gave a value), without ``pos`` or ``size``.

    Args:
        shards: each record's shard id (the sink's own, with the ones it lacks filled in).
    """
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


def arrange(table: pa.Table, kind: SourceKind, fifo: bool) -> tuple[pa.Table, int, int]:
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
    """Append ``pos``: each row's 0-based rank within its shard (rows already ordered by shard)."""
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
