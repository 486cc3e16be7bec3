"""The timeline of one shard, SQS FIFO message group or Kafka partition: ``explain --shard``.

When it was blocked (run.json ``summary``: ``shards`` and, for FIFO queues, ``groups``), by which
batch or record, how many attempts failed in each blocked interval and what ended it (the records
that left at its end, or the batch going through).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.analysis.membership import at_position, load_context
from replay.analysis.text import duration
from replay.errors import UserError
from replay.formats.runfiles import RunResult, read_run
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import Disposition, Result, SourceKind


@dataclass(frozen=True)
class Block:
    """One interval during which a shard (or one of its lanes) could not move on."""

    start_ms: int
    end_ms: int
    lane: int | None
    batch: int | None
    first_seq: str | None
    last_seq: str | None
    failed_attempts: int
    culprit: str
    ended_by: str
    first_pos: int | None = None
    last_pos: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("start_ms", "end_ms")}
        out.update(
            start=iso_ms(self.start_ms),
            end=iso_ms(self.end_ms),
            blocked_ms=self.end_ms - self.start_ms,
        )
        return out


@dataclass(frozen=True)
class ShardTimeline:
    """When a shard or group was blocked, by which records, and how each block ended."""

    run: str
    shard: str
    records: int
    invocations: int
    results: dict[str, int]
    dispositions: dict[str, int]
    blocked_ms: int
    max_iterator_age_ms: int | None
    blocks: tuple[Block, ...]
    kind: str = "shard"  # or "group": an SQS FIFO message group

    def to_json(self) -> dict[str, Any]:
        """The document ``explain --shard --format json`` prints."""
        out = {k: v for k, v in self.__dict__.items() if k != "blocks"}
        out["blocks"] = [b.to_json() for b in self.blocks]
        return out


def explain_shard(run_path: str | Path, shard: str) -> ShardTimeline:
    """The blocked intervals of one shard, SQS FIFO message group (B75) or Kafka partition, and
    their causes.

    Raises:
        UserError: not a run, or no such shard or group.
    """
    run = read_run(run_path)
    shards = run.meta["summary"].get("shards") or {}
    if shard in shards:
        inv = run.invocations.filter(pc.equal(run.invocations.column("shard"), shard))
        rec = run.records.filter(pc.equal(run.records.column("shard"), shard))
        return _timeline(run, shard, inv, rec, shards[shard])
    group = _group_members(run_path, run, shard)
    if group is None:
        stalled = sorted(run.meta["summary"].get("groups") or {})
        also = f"; stalled FIFO groups are {', '.join(stalled)}" if stalled else ""
        raise UserError(
            f"--shard {shard}: not in the run; shards are {', '.join(sorted(shards))}{also}"
        )
    rows, carriers_of = group
    info = {"records": len(rows), **((run.meta["summary"].get("groups") or {}).get(shard) or {})}
    rec = run.records.take(rows)
    timeline = _timeline(run, shard, run.invocations.take(carriers_of), rec, info)
    return replace(
        timeline, kind="group", blocks=tuple(_group_culprit(b, rec) for b in timeline.blocks)
    )


def _group_culprit(block: Block, rec: pa.Table) -> Block:
    """A FIFO group waits on one message (B75): the one whose fate ended the block."""
    done = rec.column("done").cast(pa.int64()).fill_null(-1).to_numpy()
    at = np.flatnonzero(done == block.end_ms)
    if not len(at):
        return block
    r = rec.slice(int(at[0]), 1).to_pylist()[0]
    return replace(block, culprit=f"message {r['shard']}#{r['pos']} ({r['seq']})")


def _group_members(run_path: str | Path, run: RunResult, group: str) -> tuple[Any, Any] | None:
    """An SQS FIFO group's record rows and the invocations that carried any of them."""
    if "record_rows" not in run.invocations.column_names:
        return None
    ctx = load_context(run_path)
    if ctx.capture is None or str((run.meta.get("capture") or {}).get("kind")) != SourceKind.SQS:
        return None
    rows = np.flatnonzero(
        pc.fill_null(pc.equal(ctx.capture.column("key"), group), False).to_numpy(
            zero_copy_only=False
        )
    )
    if not len(rows):
        return None
    lists = run.invocations.column("record_rows").combine_chunks()
    hit = pc.is_in(pc.list_flatten(lists), pa.array(rows))
    carriers_of = np.unique(pc.filter(pc.list_parent_indices(lists), hit).to_numpy())
    return rows, carriers_of


def _timeline(
    run: RunResult, name: str, inv: pa.Table, rec: pa.Table, info: dict[str, Any]
) -> ShardTimeline:
    starts = inv.column("start").cast(pa.int64()).to_numpy()
    results = np.asarray(inv.column("result").to_pylist(), dtype=object)
    failing = ~np.isin(results, [Result.OK, Result.IN_FLIGHT])
    done = rec.column("done").cast(pa.int64()).fill_null(-1).to_numpy()
    positions = dict(zip(rec.column("seq").to_pylist(), rec.column("pos").to_pylist(), strict=True))
    blocks = []
    for a_iso, b_iso in info.get("blocked") or []:
        a = parse_time(a_iso, field="blocked interval")
        b = parse_time(b_iso, field="blocked interval")
        in_block = failing & (starts >= a) & (starts <= b)
        blocks.append(_block(inv, rec, np.flatnonzero(in_block), (a, b), done, positions))
    return ShardTimeline(
        run=str(run.path),
        shard=name,
        records=int(info.get("records", rec.num_rows)),
        invocations=inv.num_rows,
        results=_counts(inv.column("result")),
        dispositions=_counts(rec.column("disposition")),
        blocked_ms=int(info.get("blocked_ms") or 0),
        max_iterator_age_ms=info.get("max_iterator_age_ms"),
        blocks=tuple(blocks),
    )


def _counts(col: pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(col).to_pylist()
    return {str(v["values"]): int(v["counts"]) for v in sorted(vc, key=lambda d: str(d["values"]))}


def _block(
    inv: pa.Table,
    rec: pa.Table,
    rows: np.ndarray,
    span: tuple[int, int],
    done: np.ndarray,
    positions: dict[str, int],
) -> Block:
    """One blocked interval: the batch that failed in it, the smallest failing range, the end."""
    a, b = span
    dispositions = np.asarray(rec.column("disposition").to_pylist(), dtype=object)
    left = rec.filter(pa.array((done == b) & (dispositions != Disposition.PROCESSED)))
    if left.num_rows:
        ended = "; ".join(
            f"{n} record(s) {why}" for why, n in _counts(left.column("reason")).items()
        )
    else:
        ended = "the batch went through"
    if not len(rows):
        return Block(a, b, None, None, None, None, 0, "-", ended)
    attempts = inv.take(rows).to_pylist()
    first, last = attempts[0], attempts[-1]
    shard = first["shard"]
    lo, hi = at_position(last["first_seq"], positions), at_position(last["last_seq"], positions)
    if last["records"] == 1:
        culprit = f"record {shard}{lo}"
    else:
        culprit = f"batch {last['batch']} of {last['records']} records {shard}{lo}..{hi}"
    return Block(
        start_ms=a,
        end_ms=b,
        lane=first["lane"],
        batch=first["batch"],
        first_seq=first["first_seq"],
        last_seq=first["last_seq"],
        failed_attempts=len(attempts),
        culprit=culprit,
        ended_by=ended,
        first_pos=positions.get(first["first_seq"]),
        last_pos=positions.get(first["last_seq"]),
    )


def render_shard(t: ShardTimeline) -> str:
    """The timeline as plain text (deterministic: golden files compare it)."""
    lines = [
        f"{t.kind} {t.shard}: {t.records} records, {t.invocations} invocations "
        f"({', '.join(f'{k} {v}' for k, v in t.results.items())})",
        f"  dispositions: {', '.join(f'{k} {v}' for k, v in t.dispositions.items())}",
        f"  max iterator age {duration(t.max_iterator_age_ms)}, blocked {duration(t.blocked_ms)} in "
        f"{len(t.blocks)} interval(s)",
    ]
    for blk in t.blocks:
        lines.append("")
        lane = f" lane {blk.lane}" if blk.lane else ""
        lines.append(
            f"blocked{lane} {iso_ms(blk.start_ms)} .. {iso_ms(blk.end_ms)} ({duration(blk.end_ms - blk.start_ms)})"
        )
        if blk.batch is not None:
            lines.append(
                f"  batch {blk.batch} (#{blk.first_pos}..#{blk.last_pos}) failed "
                f"{blk.failed_attempts} attempt(s)"
            )
        lines.append(f"  blocked by {blk.culprit}")
        lines.append(f"  ended: {blk.ended_by}")
    return "\n".join(lines) + "\n"
