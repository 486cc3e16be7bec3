"""The causal chain of one record: ``esm-replay explain --record/--message/--offset``.

Every attempt that carried the record (:mod:`replay.analysis.membership`), each attempt's
``result``, ``next`` and ``rule`` — what the ESM did and why; ``parent_batch`` links bisect halves
and partial-response remainders to their batch; the record's row in records.parquet gives its fate
(the rule of a fate decided without an invocation from :func:`replay.rules.reason_rule`), and
destinations.jsonl the failure record naming it. A shard's blocked timeline is
:mod:`replay.analysis.timeline`.

The capture (run.json ``capture.path``) supplies arrival times and keys; without it explain still
works for ParallelizationFactor 1 and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.analysis.membership import (
    at_position,
    carriers_of_row,
    exact_carriers,
    find_record,
    load_context,
)
from replay.errors import UserError
from replay.formats.failures import FailureRecord, observed_failures, read_failures
from replay.formats.runfiles import RunResult
from replay.lanes import lane_of_key
from replay.rules import REASON_RULES, reason_rule
from replay.timeutil import iso_ms
from replay.vocabulary import Cause, Disposition, NextStep, Reason, Result, SourceKind


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


def _ms_or_none(value: Any) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


def _factor(run: RunResult) -> int:
    return int((run.meta.get("config") or {}).get("ParallelizationFactor") or 1)


# ---------------------------------------------------------------------- record explanation
def _range_holds(rec: FailureRecord, shard: str, seq: str, message: str | None) -> bool:
    if rec.shard is None:
        return rec.message_id is not None and rec.message_id in (seq, message)
    if rec.shard != shard or rec.first_seq is None or rec.last_seq is None:
        return False
    if seq.isdigit() and rec.first_seq.isdigit() and rec.last_seq.isdigit():
        return int(rec.first_seq) <= int(seq) <= int(rec.last_seq)
    return seq in (rec.first_seq, rec.last_seq)


# what an SQS receive's ``next`` did to its messages (a queue has no checkpoint)
QUEUE_EFFECTS = {
    NextStep.DELETE: "the batch is deleted",
    NextStep.PARTIAL_DELETE: "reported failures stay, the rest are deleted",
    NextStep.VISIBILITY_TIMEOUT: "the messages reappear when the visibility timeout ends",
    NextStep.RETRY: "the ESM retries the invoke with the same receive",
    NextStep.RELEASE: "the messages reappear when the visibility timeout ends",
    NextStep.HORIZON: "simulation horizon reached",
}


def _checkpoint(
    row: dict[str, Any], children: list[dict[str, Any]], positions: dict[str, int], queue: bool
) -> str:
    nxt = row["next"]
    if queue:
        return QUEUE_EFFECTS.get(nxt, nxt)
    if nxt == NextStep.CHECKPOINT:
        return (
            f"checkpoint moves to {at_position(row['last_seq'], positions)}"
            if row["last_seq"]
            else "checkpoint"
        )
    if nxt == NextStep.DISCARD:
        return f"checkpoint moves past {at_position(row['last_seq'], positions)} (batch discarded)"
    if nxt == NextStep.PARTIAL_RETRY:
        rest = next((c for c in children if c["cause"] == Cause.PARTIAL_RETRY), None)
        if rest is None:
            return "checkpoint moves"
        return f"checkpoint moves to just before {at_position(rest['first_seq'], positions)}"
    if nxt == NextStep.HORIZON:
        return "simulation horizon reached"
    return "checkpoint stays"


def _split(
    row: dict[str, Any], children: list[dict[str, Any]], held: set[int], positions: dict[str, int]
) -> tuple[str, ...]:
    if row["next"] != NextStep.BISECT:
        return ()
    halves: dict[int, dict[str, Any]] = {}
    for c in children:
        if c["cause"] == Cause.BISECT:
            halves.setdefault(c["batch"], c)
    return tuple(
        f"batch {b}: {c['records']} record(s) "
        f"{at_position(c['first_seq'], positions)}..{at_position(c['last_seq'], positions)}"
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
    ctx = load_context(run_path)
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
    lane = lane_of_key(key, factor)
    in_shard = pc.equal(run.records.column("shard"), shard)
    shard_rec = run.records.filter(in_shard)
    positions = dict(
        zip(shard_rec.column("seq").to_pylist(), shard_rec.column("pos").to_pylist(), strict=True)
    )
    held = exact_carriers(run.invocations, row)
    if held is None:  # a run written before invocations.parquet had record_rows
        held = carriers_of_row(run.invocations, positions, r, shard=shard, lane=lane, pos=pos)
    kind = str((run.meta.get("capture") or {}).get("kind", ""))
    queue = kind == SourceKind.SQS
    pos_of_row = run.records.column("pos").to_numpy() if queue else None
    steps = _steps(run.invocations, held, positions, queue=queue, pos_of_row=pos_of_row)
    message_id = None
    if ctx.capture is not None and "message_id" in ctx.capture.column_names:
        message_id = ctx.capture.column("message_id")[row].as_py()
    return record_explanation(
        run_path=run.path,
        record=r,
        where=(shard, seq, pos, lane, arrival, key),
        steps=steps,
        kind=kind,
        message_id=message_id,
        destinations=read_failures(run.path / "destinations.jsonl"),
        observed=observed_failures(ctx.capture_path),
        notes=notes,
    )


def record_explanation(
    *,
    run_path: str | Path,
    record: dict[str, Any],
    where: tuple[str, str, int, int, int | None, str | None],
    steps: tuple[Step, ...],
    kind: str,
    message_id: str | None,
    destinations: Sequence[FailureRecord],
    observed: Sequence[FailureRecord] | None,
    notes: Sequence[str],
) -> RecordExplanation:
    """A record's explanation from its records.parquet row ``record``, its identity ``where``
    (shard, seq, pos, lane, arrival ms, key), the steps that carried it, and the failure records
    (on-failure destination, production's observed ones) that name it."""
    shard, seq, pos, lane, arrival, key = where

    def naming(records: Sequence[FailureRecord]) -> tuple[int, ...]:
        return tuple(f.line for f in records if _range_holds(f, shard, seq, message_id))

    r = record
    return RecordExplanation(
        run=str(run_path),
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
        done_ms=_ms_or_none(r["done"]),
        latency_ms=r["latency_ms"],
        steps=steps,
        fate_rule=_fate_rule(r, steps, kind),
        source=kind,
        message_id=message_id,
        destination=naming(destinations),
        observed=None if observed is None else naming(observed),
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


# fates whose rule is the one of the last attempt that carried the record
DECIDED_BY_AN_ATTEMPT = (Disposition.PROCESSED, Disposition.DISCARDED, Disposition.DEAD_LETTERED)


def _fate_rule(r: dict[str, Any], steps: tuple[Step, ...], kind: str) -> str | None:
    reason = r["reason"]
    if reason == Reason.RECORD_AGE_EXCEEDED:
        return "B27" if r["deliveries"] else "B25"
    if reason in REASON_RULES:  # decided without an invocation (a family may have no rule for it)
        return reason_rule(reason, kind)
    if steps and r["disposition"] in DECIDED_BY_AN_ATTEMPT:
        return steps[-1].rule
    return None


def _step_lines(s: Step) -> list[str]:
    parent = f" (from batch {s.parent_batch})" if s.parent_batch is not None else ""
    first = "-" if s.first_pos is None else f"#{s.first_pos}"
    last = "-" if s.last_pos is None else f"#{s.last_pos}"
    err = f" ({s.function_error})" if s.function_error else ""
    items = f", {s.failed_items} item(s) reported" if s.result == Result.PARTIAL else ""
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
    return b.cause == Cause.RETRY and (a.batch, a.result, a.next, a.rule) == (
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
    if x.source == SourceKind.SQS:
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
    if (
        x.source == SourceKind.SQS
    ):  # each receive is one batch id: what ApproximateReceiveCount counts
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
