"""Reading a sweep's results: the figures of one point, the Pareto front, recommendations.

``SWEEP/results.parquet`` holds one row per point: its ``param.<Key>`` columns, the figures of
:func:`figures` and ``pareto``. Everything here reads files or tables; running the points is
:mod:`replay.sweep`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from replay.analysis.cost import Prices, estimate_cost
from replay.errors import UserError
from replay.formats.runfiles import RunResult

RESULTS = "results.parquet"
OBJECTIVES = ("latency", "cost", "safety", "balanced")
# What the Pareto front minimises, as results.parquet columns.
PARETO_AXES = ("discarded", "duplicates", "latency_p99_ms", "invocations")


@dataclass(frozen=True)
class Recommendation:
    """The point chosen for an objective, and why."""

    objective: str
    point: str
    params: dict[str, Any]
    on_front: bool
    reason: str


def figures(run: RunResult, point: str, prices: Prices | None = None) -> dict[str, Any]:
    """The results-table row of one run (deterministic: no wall-clock figure)."""
    s = run.summary
    disp, results = s["dispositions"], s["results"]
    cost = estimate_cost(run, prices or Prices())
    return {
        "point": point,
        "records": s["records"],
        "processed": disp.get("processed", 0),
        "discarded": disp.get("discarded", 0) + disp.get("dead-lettered", 0),
        "filtered": disp.get("filtered", 0),
        "unprocessed": disp.get("unprocessed", 0),
        "duplicates": s["duplicates"],
        "invocations": s["invocations"],
        "errors": results.get("error", 0) + results.get("timeout", 0),
        "throttles": results.get("throttled", 0),
        "iterator_age_p99_ms": s["iterator_age_ms"]["p99"],
        "iterator_age_max_ms": s["iterator_age_ms"]["max"],
        "latency_p50_ms": s["latency_ms"]["p50"],
        "latency_p99_ms": s["latency_ms"]["p99"],
        "blocked_ms": s["blocked_ms"],
        "destination_records": s["destination_records"],
        "gb_seconds": cost.gb_seconds,
        "requests": cost.requests,
        "cost_usd": cost.usd,
    }


def _objective(row: Mapping[str, Any], name: str) -> float:
    value = row.get(name)
    return float("inf") if value is None else float(value)


def pareto_front(
    rows: Sequence[Mapping[str, Any]], axes: Sequence[str] = PARETO_AXES
) -> list[bool]:
    """Which rows no other row dominates (no worse on every axis, better on one); all minimised."""
    vectors = [tuple(_objective(r, a) for a in axes) for r in rows]
    front = []
    for v in vectors:
        dominated = any(all(x <= y for x, y in zip(w, v, strict=True)) and w != v for w in vectors)
        front.append(not dominated)
    return front


def recommend(results: pa.Table, objective: str) -> Recommendation:
    """The point to choose for ``objective``, in the spirit of aws-lambda-power-tuning:

    * ``latency`` — lowest p99 end-to-end latency, then fewest records discarded;
    * ``cost`` — lowest estimated cost (GB-s and requests), then fewest discarded;
    * ``safety`` — fewest records discarded, then fewest duplicate deliveries, then latency;
    * ``balanced`` — on the Pareto front, the smallest sum of the four front axes, each divided
      by its largest value in the sweep.

    Ties go to the earlier point. Raises UserError for an unknown objective.
    """
    if objective not in OBJECTIVES:
        raise UserError(f"--objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    rows = results.to_pylist()
    if not rows:
        raise UserError("sweep: no finished point to recommend")
    orders = {
        "latency": ("latency_p99_ms", "discarded", "invocations", "cost_usd"),
        "cost": ("cost_usd", "discarded", "latency_p99_ms", "duplicates"),
        "safety": ("discarded", "duplicates", "latency_p99_ms", "invocations"),
    }
    if objective == "balanced":
        scale = {
            a: max((_objective(r, a) for r in rows if r.get(a) is not None), default=0)
            for a in PARETO_AXES
        }
        candidates = [r for r in rows if r["pareto"]] or rows

        def score(r: Mapping[str, Any]) -> tuple[float, ...]:
            return (
                sum(
                    _objective(r, a) / scale[a] if scale[a] and scale[a] != float("inf") else 0.0
                    for a in PARETO_AXES
                ),
            )

        best = min(candidates, key=score)
        reason = "smallest sum of normalised discarded, duplicates, p99 latency and invocations on the Pareto front"
    else:
        keys = orders[objective]
        best = min(rows, key=lambda r: tuple(_objective(r, a) for a in keys))
        reason = "lowest " + ", then ".join(k.replace("_", " ") for k in keys)
    params = {k: best[k] for k in results.column_names if k.startswith("param.")}
    return Recommendation(
        objective=objective,
        point=best["point"],
        params={k.removeprefix("param."): v for k, v in params.items()},
        on_front=bool(best["pareto"]),
        reason=reason,
    )


def read_results(path: str | os.PathLike[str]) -> pa.Table:
    """SWEEP/results.parquet.

    Raises:
        UserError: not a finished sweep.
    """
    target = Path(path) / RESULTS
    if not target.is_file():
        raise UserError(f"{path}: no {RESULTS}; run `esm-replay sweep ... -o {path}` to finish it")
    return pq.read_table(target)


def param_keys(results: pa.Table) -> list[str]:
    """The varied keys of a results table."""
    return [c.removeprefix("param.") for c in results.column_names if c.startswith("param.")]


def describe(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[str]:
    """``Key=value`` text of each row's parameters."""
    return [" ".join(f"{k}={json.dumps(r[f'param.{k}'])}" for k in keys) for r in rows]
