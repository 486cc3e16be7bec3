"""Time series of a run, per shard, SQS FIFO message group or Kafka partition, on shared buckets.

:func:`timeline` reads metrics.parquet (per minute and shard: invocations, errors, throttles,
IteratorAge, records processed and discarded) and run.json's blocked intervals, and puts every
series on the same buckets — whole minutes, the metrics' resolution — from the run's start to its
end. :func:`common_scale` gives one scale for a quantity over several series (and runs), so that a
shard blocked for 24 h and one whose iterator age peaked at 1 s never draw alike: each series is
*not* scaled to its own range.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from replay.analysis.query import read_run_meta
from replay.timeutil import parse_iso_ms, parse_time

MINUTE_MS = 60_000
COUNTS = ("invocations", "errors", "throttles", "processed", "discarded")


@dataclass(frozen=True, eq=False)
class Series:
    """One shard's (group's, partition's) figures per bucket; numpy arrays of one length."""

    name: str
    kind: str  # "shard" or "group"
    bucket_start_ms: np.ndarray  # int64
    iterator_age_max_ms: np.ndarray  # float64, nan: no invocation in the bucket
    invocations: np.ndarray
    errors: np.ndarray
    throttles: np.ndarray
    processed: np.ndarray
    discarded: np.ndarray
    blocked_fraction: np.ndarray  # 0..1 of each bucket spent blocked
    blocked_ms: int
    max_iterator_age_ms: int | None


@dataclass(frozen=True, eq=False)
class Timeline:
    """Every series of a run on the same buckets, most blocked first (then oldest age, name)."""

    run: str
    start_ms: int
    end_ms: int
    bucket_ms: int
    series: tuple[Series, ...]

    def get(self, name: str) -> Series:
        """The series called ``name``.

        Raises:
            KeyError: no such series.
        """
        for s in self.series:
            if s.name == name:
                return s
        raise KeyError(name)


def _intervals(info: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (parse_time(a, field="blocked interval"), parse_time(b, field="blocked interval"))
        for a, b in info.get("blocked") or []
    ]


def blocked_fraction(
    starts: np.ndarray, bucket_ms: int, intervals: Sequence[tuple[int, int]]
) -> np.ndarray:
    """The share (0..1) of each bucket ``[start, start + bucket_ms)`` covered by ``intervals``."""
    out = np.zeros(len(starts), dtype=np.float64)
    ends = starts + bucket_ms
    for a, b in intervals:
        overlap = np.minimum(ends, b) - np.maximum(starts, a)
        out += np.clip(overlap, 0, None)
    return np.clip(out / bucket_ms, 0.0, 1.0)


def timeline(
    run_path: str | os.PathLike[str],
    *,
    buckets: int | None = None,
    bucket_ms: int | None = None,
    names: Sequence[str] | None = None,
) -> Timeline:
    """The run's series on shared buckets: ``bucket_ms`` (whole minutes), or as many whole
    minutes as make at most ``buckets`` buckets over the run, or one minute.

    ``names`` keeps only those series (in the order given). SQS FIFO message groups that stalled
    (run.json ``summary.groups``) are series of their own, with their blocked time only.

    Raises:
        UserError: not a run.
    """
    path = Path(run_path)
    meta = read_run_meta(path)
    summary = meta.get("summary") or {}
    start = parse_iso_ms(meta.get("start")) or 0
    end = parse_iso_ms(meta.get("end")) or start
    first = start - start % MINUTE_MS
    span = max(end - first, 1)
    if bucket_ms is None:
        minutes = math.ceil(span / MINUTE_MS)
        bucket_ms = MINUTE_MS * (max(1, math.ceil(minutes / buckets)) if buckets else 1)
    bucket_ms = max(MINUTE_MS, bucket_ms - bucket_ms % MINUTE_MS)
    n = max(1, math.ceil(span / bucket_ms))
    starts = first + bucket_ms * np.arange(n, dtype=np.int64)
    metrics = pq.read_table(
        path / "metrics.parquet",
        columns=["minute", "shard", "iterator_age_ms", *COUNTS],
    )
    minute = metrics.column("minute").cast("int64").to_numpy()
    bucket = np.clip((minute - first) // bucket_ms, 0, n - 1)
    shard_col = np.asarray(metrics.column("shard").to_pylist(), dtype=object)
    age = metrics.column("iterator_age_ms").to_numpy(zero_copy_only=False).astype(np.float64)
    counts = {
        c: metrics.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in COUNTS
    }
    shards: dict[str, dict[str, Any]] = summary.get("shards") or {}
    groups: dict[str, dict[str, Any]] = summary.get("groups") or {}
    series = []
    for name, info in shards.items():
        mask = shard_col == name
        idx = bucket[mask]
        age_max = np.full(n, np.nan)
        valid = ~np.isnan(age[mask])
        if valid.any():
            np.fmax.at(age_max, idx[valid], age[mask][valid])
        sums = {}
        for c in COUNTS:
            acc = np.zeros(n)
            np.add.at(acc, idx, np.nan_to_num(counts[c][mask]))
            sums[c] = acc.astype(np.int64)
        series.append(
            Series(
                name=name,
                kind="shard",
                bucket_start_ms=starts,
                iterator_age_max_ms=age_max,
                blocked_fraction=blocked_fraction(starts, bucket_ms, _intervals(info)),
                blocked_ms=int(info.get("blocked_ms") or 0),
                max_iterator_age_ms=info.get("max_iterator_age_ms"),
                **sums,
            )
        )
    zeros = np.zeros(n, dtype=np.int64)
    for name, info in groups.items():
        series.append(
            Series(
                name=name,
                kind="group",
                bucket_start_ms=starts,
                iterator_age_max_ms=np.full(n, np.nan),
                invocations=zeros,
                errors=zeros,
                throttles=zeros,
                processed=zeros,
                discarded=zeros,
                blocked_fraction=blocked_fraction(starts, bucket_ms, _intervals(info)),
                blocked_ms=int(info.get("blocked_ms") or 0),
                max_iterator_age_ms=None,
            )
        )
    series.sort(key=lambda s: (-s.blocked_ms, -(s.max_iterator_age_ms or 0), s.name))
    if names is not None:
        by_name = {s.name: s for s in series}
        series = [by_name[x] for x in names if x in by_name]
    return Timeline(str(path), first, end, bucket_ms, tuple(series))


def common_scale(
    timelines: Sequence[Timeline],
    field: str = "iterator_age_max_ms",
    *,
    log: bool = True,
    floor: float = 1000.0,
) -> tuple[float, float]:
    """One ``(low, high)`` for ``field`` over every series of ``timelines``.

    ``high`` is the largest value. On a log scale ``low`` is ``floor`` (a healthy iterator age,
    1 s, draws at the bottom), or the smallest positive value when everything is below it; on a
    linear scale it is 0. ``(0, 0)`` when there is no value at all.
    """
    values = [np.asarray(getattr(s, field), dtype=np.float64) for t in timelines for s in t.series]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if not len(finite) or float(finite.max()) <= 0:
        return (0.0, 0.0)
    high = float(finite.max())
    if not log:
        return (0.0, high)
    positive = finite[finite > 0]
    low = floor if high > floor else float(positive.min())
    return (min(low, high), high)


def levels(
    values: np.ndarray, scale: tuple[float, float], steps: int = 8, *, log: bool = True
) -> np.ndarray:
    """Each value's level on ``scale``: 0 for none (nan), else 1..``steps`` (1 at or below low)."""
    low, high = scale
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(v), dtype=np.int64)
    has = np.isfinite(v)
    if not has.any() or high <= 0:
        return out
    if log:
        lo = math.log(max(low, 1e-9))
        hi = math.log(max(high, 1e-9))
        x = np.log(np.clip(v[has], max(low, 1e-9), None))
    else:
        lo, hi, x = low, high, v[has]
    frac = np.zeros(len(x)) if hi <= lo else np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    out[has] = 1 + np.round(frac * (steps - 1)).astype(np.int64)
    return out


def resample(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` in ``n`` (or fewer, when there are fewer values) consecutive groups, each the
    largest of its group (nan when the whole group is nan): a series drawn ``n`` cells wide."""
    v = np.asarray(values, dtype=np.float64)
    if n <= 0 or not len(v):
        return np.array([], dtype=np.float64)
    if len(v) <= n:
        return v.copy()
    edges = np.linspace(0, len(v), n + 1).astype(np.int64)
    filled = np.where(np.isnan(v), -np.inf, v)
    out = np.maximum.reduceat(filled, edges[:-1])
    return np.where(np.isneginf(out), np.nan, out)
