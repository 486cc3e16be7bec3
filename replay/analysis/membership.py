"""Which invocations carried a record, and which record a reference names.

Read from invocations.parquet ``record_rows`` (row numbers of records.parquet): :func:`exact_carriers`.
Runs written before that column existed fall back to deriving it from the run contract
(:func:`carriers`): an attempt's batch is the run of its lane's records from ``first_seq`` to
``last_seq`` in capture order — a lane is the shard, or with ParallelizationFactor > 1 the shard's
records whose key hashes to it (B50, :mod:`replay.lanes`) — less the records that had left before
the attempt started (filtered, aged out, trimmed, checkpointed).

The capture (run.json ``capture.path``) supplies arrival times, keys and SQS message ids
(:func:`load_context`); :func:`find_record` turns ``SHARD:SEQ``, ``SHARD#POS``, a message id or a
Kafka ``P:O`` into the record's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from replay.analysis.query import run_capture_path
from replay.errors import UserError
from replay.formats.runfiles import RunResult, read_run
from replay.vocabulary import NOT_INVOKED, Disposition


def carriers(
    invocations: pa.Table,
    positions: dict[str, int],
    *,
    shard: str,
    lane: int,
    pos: int,
    disposition: str,
    deliveries: int,
    done_ms: int | None,
) -> list[int]:
    """Row numbers of the invocations whose batch held the record at ``pos`` of ``shard``/``lane``.

    ``positions`` maps the shard's sequence numbers to capture positions. A candidate attempt's range
    covers the record; it held the record unless the record had already left (``done`` before the
    attempt started). An attempt starting at the very instant of ``done`` held it only when the
    record's delivery count needs it (a zero-duration invocation that processed it).
    """
    if disposition == Disposition.FILTERED:
        return []
    inv = invocations
    sel = pc.and_(
        pc.and_(pc.equal(inv.column("shard"), shard), pc.equal(inv.column("lane"), lane)),
        pc.greater(inv.column("records"), 0),
    )
    rows = np.flatnonzero(sel.to_numpy(zero_copy_only=False))
    if not len(rows):
        return []
    firsts = inv.column("first_seq").take(rows).to_pylist()
    lasts = inv.column("last_seq").take(rows).to_pylist()
    starts = inv.column("start").take(rows).cast(pa.int64()).to_numpy()
    results = inv.column("result").take(rows).to_pylist()
    lo = np.array([positions.get(f, -1) for f in firsts])
    hi = np.array([positions.get(t, -1) for t in lasts])
    cover = (lo <= pos) & (pos <= hi)
    if done_ms is None:
        return [int(r) for r in rows[cover]]
    before = cover & (starts < done_ms)
    held = rows[before].tolist()
    invoked = sum(1 for r, b in zip(results, before, strict=True) if b and r not in NOT_INVOKED)
    if invoked < deliveries:
        at = np.flatnonzero(cover & (starts == done_ms))
        held += [int(rows[i]) for i in at if invoked < deliveries]
        held.sort()
    return held


def carriers_of_row(
    invocations: pa.Table, positions: dict[str, int], record: dict[str, Any], *, shard: str,
    lane: int, pos: int,
) -> list[int]:  # fmt: skip
    """:func:`carriers` for a records.parquet row (a run written before ``record_rows``)."""
    done = record["done"]
    return carriers(
        invocations,
        positions,
        shard=shard,
        lane=lane,
        pos=pos,
        disposition=record["disposition"],
        deliveries=int(record["deliveries"]),
        done_ms=None if done is None else round(done.timestamp() * 1000),
    )


def exact_carriers(invocations: pa.Table, row: int) -> list[int] | None:
    """Row numbers of the invocations whose ``record_rows`` hold records.parquet row ``row``.

    Exact for every source (an SQS batch's messages need not be contiguous); ``None`` when the run
    predates the column, and :func:`carriers` derives the answer from sequence ranges instead.
    """
    if "record_rows" not in invocations.column_names:
        return None
    lists = invocations.column("record_rows").combine_chunks()
    hit = pc.equal(pc.list_flatten(lists), row)
    parents = pc.filter(pc.list_parent_indices(lists), hit)
    return sorted({int(i) for i in parents.to_numpy()})


def at_position(seq: str | None, positions: dict[str, int]) -> str:
    """A sequence number as its capture position (``#8537``): short, and what ``SHARD#POS`` takes."""
    if seq is None:
        return "-"
    pos = positions.get(seq)
    return seq if pos is None else f"#{pos}"


# ---------------------------------------------------------------------- loading
def read_capture_records(capture: Path, columns: Sequence[str]) -> pa.Table:
    """The capture's records in capture order (shard, then position): those of ``columns`` the
    capture holds."""
    files = sorted((capture / "records").glob("*.parquet"))
    names = set(pq.read_schema(files[0]).names) if files else set()
    cols = [c for c in columns if c in names]
    return pa.concat_tables(pq.read_table(f, columns=cols) for f in files).sort_by(
        [("shard", "ascending"), ("pos", "ascending")]
    )


@dataclass(frozen=True)
class RunContext:
    """A run, and its capture's records when the capture is still where run.json says."""

    run: RunResult
    capture: pa.Table | None  # shard, seq, pos, arrival, key (+ message_id) in capture order
    capture_path: Path | None


def load_context(run_path: str | Path) -> RunContext:
    """Read the run at ``run_path`` and, when it is still there, its capture's records."""
    run = read_run(run_path)
    cap_path = run_capture_path(run.path, run.meta)
    table = None
    if cap_path is not None:
        table = read_capture_records(
            cap_path, ("shard", "seq", "pos", "arrival", "key", "message_id")
        )
        if table.num_rows != run.records.num_rows:
            table = None  # a different capture now lives there: trust only the run
    return RunContext(run, table, cap_path)


def find_record(
    ctx: RunContext,
    *,
    record: str | None = None,
    message: str | None = None,
    offset: str | None = None,
) -> int:
    """Row (capture order) of the record named by ``SHARD:SEQ``/``SHARD#POS``, a message id or ``P:O``.

    Raises:
        UserError: the reference is malformed or names no record of the run.
    """
    rec = ctx.run.records
    shards = rec.column("shard")
    seqs = rec.column("seq")
    if sum(x is not None for x in (record, message, offset)) != 1:
        raise UserError(
            "explain: give exactly one of --record SHARD:SEQ, --message ID, --offset P:O"
        )
    if record is not None:
        shard, sep, seq = record.rpartition(":")
        if sep and shard:
            mask = pc.and_(pc.equal(shards, shard), pc.equal(seqs, seq))
            what = f"--record {record}: no record {seq} in shard {shard}"
        else:
            shard, sep, pos = record.rpartition("#")
            if not (sep and shard and pos.isdigit()):
                raise UserError(f"--record {record!r}: expected SHARD:SEQ (or SHARD#POS)")
            mask = pc.and_(pc.equal(shards, shard), pc.equal(rec.column("pos"), int(pos)))
            what = f"--record {record}: no position {pos} in shard {shard}"
    elif message is not None:
        mask = pc.equal(seqs, message)
        if ctx.capture is not None and "message_id" in ctx.capture.column_names:
            mask = pc.or_(
                mask, pc.fill_null(pc.equal(ctx.capture.column("message_id"), message), False)
            )
        what = f"--message {message}: no such message id in the run"
    else:
        assert offset is not None
        part, sep, off = offset.rpartition(":")
        if not (sep and part and off.isdigit()):
            raise UserError(
                f"--offset {offset!r}: expected PARTITION:OFFSET (or TOPIC-PARTITION:OFFSET)"
            )
        names = pc.unique(shards).to_pylist()
        match = [s for s in names if s == part or s.rsplit("-", 1)[-1] == part]
        if len(match) != 1:
            raise UserError(
                f"--offset {offset}: partition {part!r} matches {len(match)} of {sorted(names)}"
            )
        mask = pc.and_(pc.equal(shards, match[0]), pc.equal(seqs, off))
        what = f"--offset {offset}: no offset {off} in {match[0]}"
    hits = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    if not len(hits):
        raise UserError(what)
    return int(hits[0])
