"""The causal chain of one record, and the timeline of one shard: ``esm-replay explain``.

Which invocations carried a record is read from invocations.parquet ``record_rows`` (row numbers of
records.parquet). Runs written before that column existed fall back to deriving it from the run
contract: an attempt's batch is the run of its lane's records from ``first_seq`` to ``last_seq`` in
capture order — a lane is the shard, or with ParallelizationFactor > 1 the shard's records whose key
hashes to it (B50) — less the records that had left before the attempt started (filtered, aged out,
trimmed, checkpointed). Each attempt's ``result``, ``next`` and ``rule`` then tell what the ESM did
and why; ``parent_batch`` links bisect halves and partial-response remainders to their batch; the
record's row in records.parquet gives its fate, and destinations.jsonl the failure record naming it.

The capture (run.json ``capture.path``) supplies arrival times and keys; without it explain still
works for ParallelizationFactor 1 and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from replay.analysis.query import run_capture_path
from replay.analysis.text import duration
from replay.errors import UserError
from replay.formats.failures import FailureRecord, observed_failures, read_failures
from replay.formats.runfiles import RunResult, read_run
from replay.timeutil import iso_ms

# Fates decided outside any invocation, and the ESM-SEMANTICS.md rule behind each.
REASON_RULES = {
    "RetentionExpired": "B28",
    "FilterCriteria": "B52",
    "PayloadTooLarge": "B97",
    "Disabled": "B13",
    "maxReceiveCount": "B65",
}
# where a reason's rule differs by source family (SQS retention has no rule id of its own)
KIND_REASON_RULES: dict[str, dict[str, str | None]] = {
    "sqs": {"RetentionExpired": None, "FilterCriteria": "B71"},
    "kafka": {"RetentionExpired": "B79", "FilterCriteria": "B80"},
}
NOT_INVOKED = ("throttled", "rejected")


@dataclass(frozen=True)
class Step:
    """One attempt that carried the record, and what the ESM did after it."""

    invocation: int
    batch: int
    parent_batch: int | None
    lane: int
    start_ms: int
    end_ms: int
    records: int
    first_seq: str | None
    last_seq: str | None
    first_pos: int | None
    last_pos: int | None
    attempt: int
    cause: str
    result: str
    failed_items: int
    function_error: str | None
    next: str
    rule: str
    checkpoint: str
    split: tuple[str, ...]
    # SQS: the positions of the batch's messages (a receive's messages need not be contiguous)
    members: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form (times ISO-8601)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("start_ms", "end_ms")}
        out["start"], out["end"] = iso_ms(self.start_ms), iso_ms(self.end_ms)
        out["split"] = list(self.split)
        out["members"] = list(self.members)
        return out


@dataclass(frozen=True)
class RecordExplanation:
    """Everything the run says about one record."""

    run: str
    shard: str
    seq: str
    pos: int
    lane: int
    arrival_ms: int | None
    key: str | None
    disposition: str
    reason: str | None
    deliveries: int
    first_delivered_ms: int | None
    done_ms: int | None
    latency_ms: int | None
    steps: tuple[Step, ...]
    fate_rule: str | None
    destination: tuple[int, ...]
    observed: tuple[int, ...] | None
    notes: tuple[str, ...]
    source: str = ""  # the capture's kind: kinesis, dynamodb, sqs, kafka
    message_id: str | None = None  # SQS: the MessageId (``seq`` is the SequenceNumber on FIFO)

    def to_json(self) -> dict[str, Any]:
        """The document ``explain --format json`` prints."""
        return {
            "run": self.run,
            "record": {"shard": self.shard, "seq": self.seq, "pos": self.pos, "lane": self.lane},
            "source": self.source,
            "message_id": self.message_id,
            "arrival": _iso(self.arrival_ms),
            "key": self.key,
            "fate": {
                "disposition": self.disposition,
                "reason": self.reason,
                "rule": self.fate_rule,
                "deliveries": self.deliveries,
                "first_delivered": _iso(self.first_delivered_ms),
                "done": _iso(self.done_ms),
                "latency_ms": self.latency_ms,
            },
            "steps": [s.to_json() for s in self.steps],
            "destination_lines": list(self.destination),
            "observed_lines": None if self.observed is None else list(self.observed),
            "notes": list(self.notes),
        }


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(ms)


# ---------------------------------------------------------------------- lanes and membership
def lane_of(keys: Sequence[str | None], factor: int) -> np.ndarray:
    """B50 (choice ``lane_assignment = md5``): MD5 of the key, first 8 bytes big-endian, mod PF.

    The same rule as the stream engine, so a lane's batch ranges can be mapped back to records.
    """
    if factor <= 1:
        return np.zeros(len(keys), dtype=np.int64)
    cache: dict[str, int] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        k = key or ""
        if k not in cache:
            cache[k] = int.from_bytes(hashlib.md5(k.encode("utf-8")).digest()[:8], "big") % factor
        out[i] = cache[k]
    return out


def _ms_or_none(value: Any) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


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
    if disposition == "filtered":
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


# ---------------------------------------------------------------------- loading
@dataclass(frozen=True)
class _Context:
    run: RunResult
    capture: pa.Table | None  # shard, seq, pos, arrival, key (+ message_id) in capture order
    capture_path: Path | None


def _load(run_path: str | Path) -> _Context:
    run = read_run(run_path)
    cap_path = run_capture_path(run.path, run.meta)
    table = None
    if cap_path is not None:
        files = sorted((cap_path / "records").glob("*.parquet"))
        names = set(pq.read_schema(files[0]).names) if files else set()
        cols = [c for c in ("shard", "seq", "pos", "arrival", "key", "message_id") if c in names]
        table = pa.concat_tables(pq.read_table(f, columns=cols) for f in files).sort_by(
            [("shard", "ascending"), ("pos", "ascending")]
        )
        if table.num_rows != run.records.num_rows:
            table = None  # a different capture now lives there: trust only the run
    return _Context(run, table, cap_path)


def _factor(run: RunResult) -> int:
    return int((run.meta.get("config") or {}).get("ParallelizationFactor") or 1)


def find_record(
    ctx: _Context,
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


# ---------------------------------------------------------------------- record explanation
def _range_holds(rec: FailureRecord, shard: str, seq: str, message: str | None) -> bool:
    if rec.shard is None:
        return rec.message_id is not None and rec.message_id in (seq, message)
    if rec.shard != shard or rec.first_seq is None or rec.last_seq is None:
        return False
    if seq.isdigit() and rec.first_seq.isdigit() and rec.last_seq.isdigit():
        return int(rec.first_seq) <= int(seq) <= int(rec.last_seq)
    return seq in (rec.first_seq, rec.last_seq)


def _at(seq: str | None, positions: dict[str, int]) -> str:
    """A sequence number as its capture position (``#8537``): short, and what ``SHARD#POS`` takes."""
    if seq is None:
        return "-"
    pos = positions.get(seq)
    return seq if pos is None else f"#{pos}"


# what an SQS receive's ``next`` did to its messages (a queue has no checkpoint)
QUEUE_EFFECTS = {
    "delete": "the batch is deleted",
    "partial-delete": "reported failures stay, the rest are deleted",
    "visibility-timeout": "the messages reappear when the visibility timeout ends",
    "retry": "the ESM retries the invoke with the same receive",
    "release": "the messages reappear when the visibility timeout ends",
    "horizon": "simulation horizon reached",
}


def _checkpoint(
    row: dict[str, Any], children: list[dict[str, Any]], positions: dict[str, int], queue: bool
) -> str:
    nxt = row["next"]
    if queue:
        return QUEUE_EFFECTS.get(nxt, nxt)
    if nxt == "checkpoint":
        return (
            f"checkpoint moves to {_at(row['last_seq'], positions)}"
            if row["last_seq"]
            else "checkpoint"
        )
    if nxt == "discard":
        return f"checkpoint moves past {_at(row['last_seq'], positions)} (batch discarded)"
    if nxt == "partial-retry":
        rest = next((c for c in children if c["cause"] == "partial-retry"), None)
        if rest is None:
            return "checkpoint moves"
        return f"checkpoint moves to just before {_at(rest['first_seq'], positions)}"
    if nxt == "horizon":
        return "simulation horizon reached"
    return "checkpoint stays"


def _split(
    row: dict[str, Any], children: list[dict[str, Any]], held: set[int], positions: dict[str, int]
) -> tuple[str, ...]:
    if row["next"] != "bisect":
        return ()
    halves: dict[int, dict[str, Any]] = {}
    for c in children:
        if c["cause"] == "bisect":
            halves.setdefault(c["batch"], c)
    return tuple(
        f"batch {b}: {c['records']} record(s) "
        f"{_at(c['first_seq'], positions)}..{_at(c['last_seq'], positions)}"
        + (" <- this record" if c["invocation"] in held else "")
        for b, c in sorted(halves.items())
    )


def explain_record(
    run_path: str | Path,
    *,
    record: str | None = None,
    message: str | None = None,
    offset: str | None = None,
) -> RecordExplanation:
    """The causal chain of one record of the run at ``run_path``.

    Raises:
        UserError: not a run, or no such record.
    """
    ctx = _load(run_path)
    run = ctx.run
    row = find_record(ctx, record=record, message=message, offset=offset)
    r = run.records.slice(row, 1).to_pylist()[0]
    shard, seq, pos = r["shard"], r["seq"], int(r["pos"])
    notes: list[str] = []
    factor = _factor(run)
    key = arrival = None
    if ctx.capture is not None:
        c = ctx.capture.slice(row, 1).to_pylist()[0]
        key, arrival = c.get("key"), _ms_or_none(c.get("arrival"))
    elif factor > 1:
        raise UserError(
            f"{run.path}: the capture ({(run.meta.get('capture') or {}).get('path')}) is needed to "
            "map ParallelizationFactor lanes; restore it at that path"
        )
    else:
        notes.append("capture not found: arrival time and key unknown")
    lane = int(lane_of([key], factor)[0])
    in_shard = pc.equal(run.records.column("shard"), shard)
    shard_rec = run.records.filter(in_shard)
    positions = dict(
        zip(shard_rec.column("seq").to_pylist(), shard_rec.column("pos").to_pylist(), strict=True)
    )
    done = _ms_or_none(r["done"])
    held = exact_carriers(run.invocations, row)
    if held is None:  # a run written before invocations.parquet had record_rows
        held = carriers(
            run.invocations,
            positions,
            shard=shard,
            lane=lane,
            pos=pos,
            disposition=r["disposition"],
            deliveries=int(r["deliveries"]),
            done_ms=done,
        )
    kind = str((run.meta.get("capture") or {}).get("kind", ""))
    pos_of_row = run.records.column("pos").to_numpy() if kind == "sqs" else None
    steps = _steps(run.invocations, held, positions, queue=kind == "sqs", pos_of_row=pos_of_row)
    message_id = None
    if ctx.capture is not None and "message_id" in ctx.capture.column_names:
        message_id = ctx.capture.column("message_id")[row].as_py()
    dest = tuple(
        d.line
        for d in read_failures(run.path / "destinations.jsonl")
        if _range_holds(d, shard, seq, message_id)
    )
    obs = observed_failures(ctx.capture_path)
    observed = (
        None
        if obs is None
        else tuple(o.line for o in obs if _range_holds(o, shard, seq, message_id))
    )
    return RecordExplanation(
        run=str(run.path),
        shard=shard,
        seq=seq,
        pos=pos,
        lane=lane,
        arrival_ms=arrival,
        key=key,
        disposition=r["disposition"],
        reason=r["reason"],
        deliveries=int(r["deliveries"]),
        first_delivered_ms=_ms_or_none(r["first_delivered"]),
        done_ms=done,
        latency_ms=r["latency_ms"],
        steps=steps,
        fate_rule=_fate_rule(r, steps, kind),
        source=kind,
        message_id=message_id,
        destination=dest,
        observed=observed,
        notes=tuple(notes),
    )


def _steps(
    invocations: pa.Table,
    held: list[int],
    positions: dict[str, int],
    *,
    queue: bool = False,
    pos_of_row: np.ndarray | None = None,
) -> tuple[Step, ...]:
    if not held:
        return ()
    members: list[tuple[int, ...]] = [()] * len(held)
    if "record_rows" in invocations.column_names:
        if pos_of_row is not None:
            lists = invocations.column("record_rows").take(held).to_pylist()
            members = [tuple(sorted(int(pos_of_row[r]) for r in rows)) for rows in lists]
        invocations = invocations.drop_columns(["record_rows"])  # not copied into every step
    batches = pc.unique(invocations.column("batch").take(held))
    related = invocations.filter(
        pc.or_(
            pc.is_in(invocations.column("parent_batch"), batches),
            pc.is_in(invocations.column("invocation"), invocations.column("invocation").take(held)),
        )
    ).to_pylist()
    by_parent: dict[int, list[dict[str, Any]]] = {}
    for x in related:
        if x["parent_batch"] is not None:
            by_parent.setdefault(x["parent_batch"], []).append(x)
    held_ids = set(invocations.column("invocation").take(held).to_pylist())
    steps = []
    for x, batch_members in zip(invocations.take(held).to_pylist(), members, strict=True):
        children = sorted(by_parent.get(x["batch"], []), key=lambda c: c["invocation"])
        steps.append(
            Step(
                invocation=x["invocation"],
                batch=x["batch"],
                parent_batch=x["parent_batch"],
                lane=x["lane"],
                start_ms=_ms_or_none(x["start"]) or 0,
                end_ms=_ms_or_none(x["end"]) or 0,
                records=x["records"],
                first_seq=x["first_seq"],
                last_seq=x["last_seq"],
                first_pos=positions.get(x["first_seq"]),
                last_pos=positions.get(x["last_seq"]),
                attempt=x["attempt"],
                cause=x["cause"],
                result=x["result"],
                failed_items=x["failed_items"],
                function_error=x["function_error"],
                next=x["next"],
                rule=x["rule"],
                checkpoint=_checkpoint(x, children, positions, queue),
                split=_split(x, children, held_ids, positions),
                members=batch_members,
            )
        )
    return tuple(steps)


def _fate_rule(r: dict[str, Any], steps: tuple[Step, ...], kind: str) -> str | None:
    reason = r["reason"]
    by_kind = KIND_REASON_RULES.get(kind, {})
    if reason in by_kind:
        return by_kind[reason]
    if reason == "RecordAgeExceeded":
        return "B27" if r["deliveries"] else "B25"
    if reason in REASON_RULES:
        return REASON_RULES[reason]
    if steps and r["disposition"] in ("processed", "discarded", "dead-lettered"):
        return steps[-1].rule
    return None


def _step_lines(s: Step) -> list[str]:
    parent = f" (from batch {s.parent_batch})" if s.parent_batch is not None else ""
    first = "-" if s.first_pos is None else f"#{s.first_pos}"
    last = "-" if s.last_pos is None else f"#{s.last_pos}"
    err = f" ({s.function_error})" if s.function_error else ""
    items = f", {s.failed_items} item(s) reported" if s.result == "partial" else ""
    span = f"{first}..{last}"
    if s.members:  # a receive: list its messages (up to 10 shown)
        shown = " ".join(f"#{p}" for p in s.members[:10])
        span = shown + (f" +{len(s.members) - 10} more" if len(s.members) > 10 else "")
    lines = [
        f"#{s.invocation} {iso_ms(s.start_ms)} batch {s.batch}{parent} attempt {s.attempt} "
        f"[{s.cause}] {s.records} record(s) {span}",
        f"    -> {s.result}{err}{items} after {(s.end_ms - s.start_ms) / 1000:.3f} s; "
        f"next {s.next} [{s.rule}]; {s.checkpoint}",
    ]
    lines.extend(f"       split: {half}" for half in s.split)
    return lines


def _alike(a: Step, b: Step) -> bool:
    return b.cause == "retry" and (a.batch, a.result, a.next, a.rule) == (
        b.batch,
        b.result,
        b.next,
        b.rule,
    )


def render_record(x: RecordExplanation) -> str:
    """The explanation as plain text (deterministic: golden files compare it).

    Runs of identical retries (a shard blocked for hours) print their first and last attempt and a
    count; ``--format json`` keeps every step.
    """
    if x.source == "sqs":
        name = x.message_id or x.seq
        seq = f" (sequence number {x.seq})" if x.message_id and x.message_id != x.seq else ""
        lines = [f"message {name}{seq} of queue {x.shard}", f"  position #{x.pos} in the queue"]
        if x.key:
            lines.append(f"  message group {x.key}")
    else:
        lines = [f"record {x.shard}:{x.seq}", f"  position #{x.pos} in the shard, lane {x.lane}"]
        if x.key is not None:
            lines.append(f"  key {x.key}")
    if x.arrival_ms is not None:
        lines.append(f"  arrived {iso_ms(x.arrival_ms)}")
    carried = f"  carried by {len(x.steps)} attempt(s), delivered {x.deliveries} time(s)"
    if x.source == "sqs":  # each receive is one batch id: what ApproximateReceiveCount counts
        carried += f", received {len({s.batch for s in x.steps})} time(s)"
    lines.append(carried)
    lines.append("")
    i = 0
    while i < len(x.steps):
        j = i + 1
        while j < len(x.steps) and _alike(x.steps[i], x.steps[j]):
            j += 1
        run = x.steps[i:j]
        if len(run) > 3:
            lines.extend(_step_lines(run[0]))
            lines.append(
                f"   ... {len(run) - 2} more attempts alike ({run[1].result}, next {run[1].next}) "
                f"from {iso_ms(run[1].start_ms)} to {iso_ms(run[-2].start_ms)} ..."
            )
            lines.extend(_step_lines(run[-1]))
        else:
            for s in run:
                lines.extend(_step_lines(s))
        i = j
    if x.steps:
        lines.append("")
    why = f" ({x.reason})" if x.reason else ""
    rule = f" [{x.fate_rule}]" if x.fate_rule else ""
    when = f" at {iso_ms(x.done_ms)}" if x.done_ms is not None else ""
    lines.append(f"fate: {x.disposition}{why}{when}{rule}")
    if x.latency_ms is not None:
        lines.append(f"  latency {x.latency_ms / 1000:.3f} s")
    if x.destination:
        refs = ", ".join(str(i + 1) for i in x.destination)
        lines.append(f"  named by destinations.jsonl line {refs}")
    if x.observed is not None:
        if x.observed:
            refs = ", ".join(str(i + 1) for i in x.observed)
            lines.append(f"  named by production's observed/failures.jsonl line {refs}")
        else:
            lines.append("  named by no production failure record (observed/failures.jsonl)")
    lines.extend(f"note: {n}" for n in x.notes)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- shard timeline
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
    ctx = _load(run_path)
    if ctx.capture is None or str((run.meta.get("capture") or {}).get("kind")) != "sqs":
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
    failing = ~np.isin(results, ["ok", "in-flight"])
    done = rec.column("done").cast(pa.int64()).fill_null(-1).to_numpy()
    positions = dict(zip(rec.column("seq").to_pylist(), rec.column("pos").to_pylist(), strict=True))
    blocks = []
    for a_iso, b_iso in info.get("blocked") or []:
        a, b = _parse_iso(a_iso), _parse_iso(b_iso)
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


def _parse_iso(text: str) -> int:
    from replay.timeutil import parse_time

    return parse_time(text, field="blocked interval")


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
    left = rec.filter(pa.array((done == b) & (dispositions != "processed")))
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
    lo, hi = _at(last["first_seq"], positions), _at(last["last_seq"], positions)
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
