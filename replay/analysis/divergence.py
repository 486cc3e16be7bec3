"""The first record, by arrival, whose fate is not the same in every run (compare's
``first divergence``): where two configurations start to tell different stories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from replay.analysis.membership import read_capture_records
from replay.analysis.query import run_capture_path
from replay.formats.runfiles import RunResult
from replay.timeutil import iso_ms


@dataclass(frozen=True)
class Divergence:
    """The first record (by arrival) whose fate or delivery count is not the same in every run."""

    shard: str
    seq: str
    pos: int
    arrival_ms: int | None
    order: str  # "arrival", or "capture" when the capture could not be read
    fates: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "shard": self.shard,
            "seq": self.seq,
            "pos": self.pos,
            "arrival": None if self.arrival_ms is None else iso_ms(self.arrival_ms),
            "order": self.order,
            "fates": list(self.fates),
        }


def _capture_arrivals(run: RunResult) -> pa.Table | None:
    cap = run_capture_path(run.path, run.meta)
    if cap is None:
        return None
    return read_capture_records(cap, ("shard", "seq", "pos", "arrival"))


def _fate(disposition: str, reason: str | None, deliveries: int) -> str:
    why = f" ({reason})" if reason else ""
    times = "1 delivery" if deliveries == 1 else f"{deliveries} deliveries"
    return f"{disposition}{why}, {times}"


def first_divergence(runs: Sequence[RunResult]) -> Divergence | None:
    """The first record, by arrival, whose (disposition, reason, deliveries) differs between runs.

    Records are matched by (shard, seq). A record missing from a run counts as a difference.
    Arrival comes from the capture; without it, capture order (position, then shard) stands in.
    """
    if len(runs) < 2:
        return None
    base = runs[0].records
    keys = [_keys(r.records) for r in runs]
    aligned = [_align(keys[0], k, r.records) for k, r in zip(keys, runs, strict=True)]
    disp = [a[0] for a in aligned]
    reason = [a[1] for a in aligned]
    deliv = [a[2] for a in aligned]
    differ = np.zeros(base.num_rows, dtype=bool)
    for i in range(1, len(runs)):
        differ |= (disp[i] != disp[0]) | (reason[i] != reason[0]) | (deliv[i] != deliv[0])
    if not differ.any():
        return None
    arrivals = _capture_arrivals(runs[0])
    pos = base.column("pos").to_numpy()
    shard_rank = np.unique(
        base.column("shard").to_numpy(zero_copy_only=False), return_inverse=True
    )[1]
    if (
        arrivals is not None
        and arrivals.num_rows == base.num_rows
        and arrivals.column("seq").equals(base.column("seq"))
    ):
        arrival = arrivals.column("arrival").cast(pa.int64()).to_numpy()
        order, how = np.lexsort((pos, shard_rank, arrival)), "arrival"
    else:
        arrival, order, how = None, np.lexsort((shard_rank, pos)), "capture"
    first = int(order[np.flatnonzero(differ[order])[0]])
    fates = tuple(
        "absent"
        if disp[i][first] == ""
        else _fate(disp[i][first], reason[i][first] or None, int(deliv[i][first]))
        for i in range(len(runs))
    )
    return Divergence(
        shard=str(base.column("shard")[first].as_py()),
        seq=str(base.column("seq")[first].as_py()),
        pos=int(pos[first]),
        arrival_ms=None if arrival is None else int(arrival[first]),
        order=how,
        fates=fates,
    )


def _keys(records: pa.Table) -> np.ndarray:
    shard = records.column("shard").to_numpy(zero_copy_only=False).astype(str)
    seq = records.column("seq").to_numpy(zero_copy_only=False).astype(str)
    return np.char.add(np.char.add(shard, "\x00"), seq)


def _align(
    base: np.ndarray, keys: np.ndarray, records: pa.Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(disposition, reason, deliveries) of ``records`` in the order of ``base`` ("" when absent)."""
    disp = records.column("disposition").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    reason = records.column("reason").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    deliv = records.column("deliveries").to_numpy().astype(np.int64)
    if len(keys) == len(base) and (keys == base).all():
        return disp, reason, deliv
    if not len(keys):
        n = len(base)
        return np.full(n, "", dtype=object), np.full(n, "", dtype=object), np.full(n, -1)
    order = np.argsort(keys, kind="stable")
    at = np.clip(np.searchsorted(keys[order], base), 0, len(keys) - 1)
    idx = order[at]
    found = keys[idx] == base
    return (
        np.where(found, disp[idx], ""),
        np.where(found, reason[idx], ""),
        np.where(found, deliv[idx], -1),
    )
