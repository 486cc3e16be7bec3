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
    d = _differences(runs)
    if d is None:
        return None
    first = int(d.order[np.flatnonzero(d.differ[d.order])[0]])
    base = runs[0].records
    return Divergence(
        shard=str(base.column("shard")[first].as_py()),
        seq=str(base.column("seq")[first].as_py()),
        pos=int(d.pos[first]),
        arrival_ms=None if d.arrival is None else int(d.arrival[first]),
        order=d.how,
        fates=d.fates_at(first),
    )


@dataclass(frozen=True, eq=False)
class _Differences:
    """Every run's (disposition, reason, deliveries) aligned on the first run's records."""

    disp: list[np.ndarray]
    reason: list[np.ndarray]
    deliv: list[np.ndarray]
    differ: np.ndarray  # bool per record of the first run
    pos: np.ndarray
    arrival: np.ndarray | None  # ms per record, when the capture was read
    order: np.ndarray  # record indices in arrival (else capture) order
    how: str

    def fates_at(self, i: int) -> tuple[str, ...]:
        return tuple(
            "absent"
            if self.disp[r][i] == ""
            else _fate(self.disp[r][i], self.reason[r][i] or None, int(self.deliv[r][i]))
            for r in range(len(self.disp))
        )


def _same_records(runs: Sequence[RunResult]) -> bool:
    """Whether every run's records.parquet lists the same records in the same order (runs of one
    capture: records.parquet is in capture order), so rows align without matching keys."""
    base = runs[0].records
    return all(
        r.records.num_rows == base.num_rows
        and r.records.column("seq").equals(base.column("seq"))
        and r.records.column("shard").equals(base.column("shard"))
        for r in runs[1:]
    )


def _columns(records: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    disp = records.column("disposition").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    reason = records.column("reason").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    return disp, reason, records.column("deliveries").to_numpy().astype(np.int64)


def _differences(runs: Sequence[RunResult]) -> _Differences | None:
    """The records whose fate differs between ``runs``; ``None`` when none does."""
    base = runs[0].records
    if _same_records(runs):  # the index-aligned fast path: no keys to build
        aligned = [_columns(r.records) for r in runs]
    else:
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
    arrival: np.ndarray | None
    if (
        arrivals is not None
        and arrivals.num_rows == base.num_rows
        and arrivals.column("seq").equals(base.column("seq"))
    ):
        arrival = arrivals.column("arrival").cast(pa.int64()).to_numpy()
        order, how = np.lexsort((pos, shard_rank, arrival)), "arrival"
    else:
        arrival, order, how = None, np.lexsort((shard_rank, pos)), "capture"
    return _Differences(disp, reason, deliv, differ, pos, arrival, order, how)


def divergences(runs: Sequence[RunResult]) -> pa.Table:
    """Every record whose (disposition, reason, deliveries) differs between ``runs``, in arrival
    order (capture order without the capture), the first being :func:`first_divergence`'s.

    Columns: ``row`` (the record's row in the first run's records.parquet), ``shard``, ``seq``,
    ``pos``, ``arrival`` (null without the capture), then ``fate_0`` .. ``fate_N`` — each run's fate
    as compare prints it (``discarded (RetentionExpired), 1446 deliveries``, or ``absent``).
    """
    n = len(runs)
    fate_fields = [pa.field(f"fate_{i}", pa.string()) for i in range(n)]
    schema = pa.schema(
        [
            ("row", pa.int64()),
            ("shard", pa.string()),
            ("seq", pa.string()),
            ("pos", pa.int64()),
            ("arrival", pa.timestamp("ms", tz="UTC")),
            *fate_fields,
        ]
    )
    d = _differences(runs) if n >= 2 else None
    if d is None:
        return schema.empty_table()
    rows = d.order[d.differ[d.order]]
    base = runs[0].records
    fates = {}
    for i in range(n):
        fate = [
            _fate(d.disp[i][r], d.reason[i][r] or None, int(d.deliv[i][r]))
            if d.disp[i][r] != ""
            else "absent"
            for r in rows.tolist()
        ]
        fates[f"fate_{i}"] = pa.array(fate, pa.string())
    arrival = (
        pa.nulls(len(rows), pa.timestamp("ms", tz="UTC"))
        if d.arrival is None
        else pa.array(d.arrival[rows]).cast(pa.timestamp("ms", tz="UTC"))
    )
    take = pa.array(rows, pa.int64())
    return pa.table(
        {
            "row": take,
            "shard": base.column("shard").take(take),
            "seq": base.column("seq").take(take),
            "pos": base.column("pos").take(take),
            "arrival": arrival,
            **fates,
        },
        schema=schema,
    )


def _keys(records: pa.Table) -> np.ndarray:
    shard = records.column("shard").to_numpy(zero_copy_only=False).astype(str)
    seq = records.column("seq").to_numpy(zero_copy_only=False).astype(str)
    return np.char.add(np.char.add(shard, "\x00"), seq)


def _align(
    base: np.ndarray, keys: np.ndarray, records: pa.Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(disposition, reason, deliveries) of ``records`` in the order of ``base`` ("" when absent)."""
    disp, reason, deliv = _columns(records)
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
