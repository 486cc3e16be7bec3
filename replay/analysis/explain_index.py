"""Explaining many records of one run quickly: the run read once, the carriers of every record
indexed once.

:func:`replay.analysis.explain.explain_record` reads the run and its capture for every call, and
finds a record's attempts by scanning every ``record_rows`` list: right for one command, slow for a
person stepping through records one after another. :class:`ExplainIndex` does that work once per
run — the run and capture tables, an inverted index from records.parquet row to the invocations
that carried it, each shard's sequence-number positions, the destination and observed failure
records — and then :meth:`ExplainIndex.explain_row` answers one record with the same
:class:`~replay.analysis.explain.RecordExplanation` (so :func:`~replay.analysis.explain.render_record`
prints exactly the CLI's text).

:func:`group_steps` folds a chain's runs of identical retries the way ``render_record`` does
("… 1444 more attempts alike …"), as data, for lists that show steps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.analysis.explain import (
    RecordExplanation,
    Step,
    _alike,
    _factor,
    _ms_or_none,
    _steps,
    record_explanation,
)
from replay.analysis.membership import RunContext, carriers_of_row, find_record, load_context
from replay.errors import UserError
from replay.formats.failures import FailureRecord, observed_failures, read_failures
from replay.lanes import lane_of_key
from replay.vocabulary import SourceKind

# a run of alike retries longer than this is folded (render_record prints first, count, last)
FOLD_OVER = 3


@dataclass(frozen=True)
class StepGroup:
    """Steps shown together: one step, or a run of identical retries (``alike``) that a list
    folds to its first and last step and a count, as ``render_record`` does."""

    steps: tuple[Step, ...]
    alike: bool

    @property
    def folded(self) -> int:
        """How many steps a folded group hides between its first and last (0 if not alike)."""
        return len(self.steps) - 2 if self.alike else 0


def group_steps(steps: Sequence[Step]) -> tuple[StepGroup, ...]:
    """``steps`` in groups: runs of more than three alike retries (same batch, result, next and
    rule) form one ``alike`` group; every other step is a group of its own."""
    out: list[StepGroup] = []
    i = 0
    while i < len(steps):
        j = i + 1
        while j < len(steps) and _alike(steps[i], steps[j]):
            j += 1
        run = tuple(steps[i:j])
        if len(run) > FOLD_OVER:
            out.append(StepGroup(run, True))
        else:
            out.extend(StepGroup((s,), False) for s in run)
        i = j
    return tuple(out)


class ExplainIndex:
    """One run, read once, ready to explain any of its records (:meth:`explain_row`)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        run = ctx.run
        self.run = run
        self.kind = str((run.meta.get("capture") or {}).get("kind", ""))
        self.factor = _factor(run)
        records = run.records
        self._shard = records.column("shard").combine_chunks()
        self._seq = records.column("seq").combine_chunks()
        self._pos = records.column("pos").to_numpy()
        self._rows = records.num_rows
        self._positions: dict[str, dict[str, int]] = {}
        self._start: np.ndarray | None = None
        self._carried_by: np.ndarray | None = None
        inv = run.invocations
        if "record_rows" in inv.column_names:
            lists = inv.column("record_rows").combine_chunks()
            flat = pc.list_flatten(lists).to_numpy()
            parents = pc.list_parent_indices(lists).to_numpy()
            order = np.argsort(flat, kind="stable")  # parents ascend within a record
            self._carried_by = parents[order].astype(np.int64)
            self._start = np.searchsorted(flat[order], np.arange(self._rows + 1), side="left")
        self._dest: list[FailureRecord] | None = None
        self._observed: list[FailureRecord] | None = None
        self._observed_read = False
        cap = ctx.capture
        self._message_id = (
            cap.column("message_id").combine_chunks()
            if cap is not None and "message_id" in cap.column_names
            else None
        )

    @classmethod
    def open(cls, run_path: str | os.PathLike[str]) -> ExplainIndex:
        """Read the run at ``run_path`` (and its capture, when found) and index it.

        Raises:
            UserError: not a run.
        """
        return cls(load_context(os.fspath(run_path)))

    @property
    def records(self) -> int:
        """Records in the run."""
        return self._rows

    def row_of(
        self, *, record: str | None = None, message: str | None = None, offset: str | None = None
    ) -> int:
        """The row (records.parquet, capture order) of a ``SHARD:SEQ``/``SHARD#POS`` reference,
        an SQS message id or a Kafka ``P:O``, as ``explain`` takes them.

        Raises:
            UserError: the reference is malformed or names no record of the run.
        """
        return find_record(self.ctx, record=record, message=message, offset=offset)

    def ref(self, row: int) -> str:
        """``SHARD#POS`` of ``row``: what ``esm-replay explain --record`` takes."""
        return f"{self._shard[row].as_py()}#{int(self._pos[row])}"

    def carriers_of(self, row: int) -> list[int]:
        """Invocation rows whose ``record_rows`` hold ``row`` (in invocation order)."""
        if self._carried_by is None or self._start is None:
            raise RuntimeError("no record_rows")
        held = np.unique(self._carried_by[self._start[row] : self._start[row + 1]])
        return [int(i) for i in held]

    def _shard_positions(self, shard: str) -> dict[str, int]:
        if shard not in self._positions:
            mask = pc.equal(self._shard, shard)
            self._positions[shard] = dict(
                zip(
                    pc.filter(self._seq, mask).to_pylist(),
                    pc.filter(pa.array(self._pos), mask).to_pylist(),
                    strict=True,
                )
            )
        return self._positions[shard]

    def _failures(self) -> tuple[list[FailureRecord], list[FailureRecord] | None]:
        if self._dest is None:
            self._dest = list(read_failures(self.run.path / "destinations.jsonl"))
        if not self._observed_read:
            obs = observed_failures(self.ctx.capture_path)
            self._observed = None if obs is None else list(obs)
            self._observed_read = True
        return self._dest, self._observed

    def explain_row(self, row: int) -> RecordExplanation:
        """The causal chain of the record at ``row``: equal to
        :func:`~replay.analysis.explain.explain_record` for that record.

        Raises:
            UserError: no such row, or a ParallelizationFactor run whose capture is gone.
        """
        if not 0 <= row < self._rows:
            raise UserError(f"row {row}: the run has {self._rows} records")
        run, ctx = self.run, self.ctx
        r = run.records.slice(row, 1).to_pylist()[0]
        shard, seq, pos = r["shard"], r["seq"], int(r["pos"])
        notes: list[str] = []
        key = arrival = None
        if ctx.capture is not None:
            c = ctx.capture.slice(row, 1).to_pylist()[0]
            key, arrival = c.get("key"), _ms_or_none(c.get("arrival"))
        elif self.factor > 1:
            raise UserError(
                f"{run.path}: the capture ({(run.meta.get('capture') or {}).get('path')}) is "
                "needed to map ParallelizationFactor lanes; restore it at that path"
            )
        else:
            notes.append("capture not found: arrival time and key unknown")
        lane = lane_of_key(key, self.factor)
        positions = self._shard_positions(shard)
        if self._carried_by is not None:
            held = self.carriers_of(row)
        else:  # a run written before invocations.parquet had record_rows
            held = carriers_of_row(run.invocations, positions, r, shard=shard, lane=lane, pos=pos)
        queue = self.kind == SourceKind.SQS
        steps = _steps(
            run.invocations, held, positions, queue=queue, pos_of_row=self._pos if queue else None
        )
        message_id = None if self._message_id is None else self._message_id[row].as_py()
        dest, obs = self._failures()
        return record_explanation(
            run_path=run.path,
            record=r,
            where=(shard, seq, pos, lane, arrival, key),
            steps=steps,
            kind=self.kind,
            message_id=message_id,
            destinations=dest,
            observed=obs,
            notes=notes,
        )

    def explain(
        self, *, record: str | None = None, message: str | None = None, offset: str | None = None
    ) -> RecordExplanation:
        """:meth:`explain_row` of the record a reference names (as ``explain`` takes it)."""
        return self.explain_row(self.row_of(record=record, message=message, offset=offset))
