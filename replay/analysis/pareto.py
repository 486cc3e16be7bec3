"""Reading a sweep's results: the figures of one point, the Pareto front, recommendations.

``SWEEP/results.parquet`` holds one row per point: its ``param.<Key>`` columns, the figures of
:func:`figures` and ``pareto``. Everything here reads files or tables; running the points is
:mod:`replay.sweep`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from replay.analysis.cost import Prices, estimate_cost
from replay.analysis.text import duration, usd
from replay.errors import UserError
from replay.formats.runfiles import RunResult

RESULTS = "results.parquet"
OBJECTIVES = ("latency", "cost", "safety", "balanced")
# What the Pareto front minimises, as results.parquet columns.
PARETO_AXES = ("discarded", "duplicates", "latency_p99_ms", "invocations")


@dataclass(frozen=True)
class Recommendation:
    """The point chosen for an objective, why, and what to be careful about.

    Attributes:
        objective: ``latency``, ``cost``, ``safety`` or ``balanced``.
        point: the chosen point's id; ``params`` its varied settings.
        on_front: whether it is on the Pareto front.
        reason: the rule that chose it ("fewest records discarded, then ...").
        why: the figures that made it win over the next best point ("0 duplicate deliveries vs 2
            for the next best, p17598591c1 (both 1 discarded)").
        runner_up: that next best point (None when every point ties, or there is one).
        ties: the other points with the same figures on the objective's keys (balanced: the same
            score); the chosen one is the first of them in point order (the results table's).
        caveats: one sentence per varied setting the sweep cannot judge: the function model gave
            it nothing to act on (no function error, no record old enough, no error a retry
            could outlast), or it changed no figure at all; each says what would show it.
    """

    objective: str
    point: str
    params: dict[str, Any]
    on_front: bool
    reason: str
    why: str = ""
    runner_up: str | None = None
    ties: tuple[str, ...] = ()
    tie_note: str = ""
    caveats: tuple[str, ...] = ()

    def details(self) -> list[str]:
        """The lines that follow the recommendation when it is printed: ``why: ...``, then
        ``tie: ...`` when points tie, then one ``caveat: ...`` per setting the sweep cannot
        judge."""
        lines = [f"why: {self.why}"] if self.why else []
        if self.tie_note:
            lines.append(f"tie: {self.tie_note}")
        lines += [f"caveat: {c}" for c in self.caveats]
        return lines


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


# How each objective orders the points (lexicographic, all minimised).
ORDERS = {
    "latency": ("latency_p99_ms", "discarded", "invocations", "cost_usd"),
    "cost": ("cost_usd", "discarded", "latency_p99_ms", "duplicates"),
    "safety": ("discarded", "duplicates", "latency_p99_ms", "invocations"),
}
_RULE_WORDS = {
    "latency_p99_ms": "lowest p99 latency",
    "discarded": "fewest records discarded",
    "invocations": "fewest invocations",
    "cost_usd": "lowest estimated cost",
    "duplicates": "fewest duplicate deliveries",
}
BALANCED_REASON = (
    "smallest sum of normalised discarded, duplicates, p99 latency and invocations on the Pareto "
    "front (each divided by its largest value in the sweep)"
)


def recommend(results: pa.Table, objective: str) -> Recommendation:
    """The point to choose for ``objective``, in the spirit of aws-lambda-power-tuning:

    * ``latency`` — lowest p99 end-to-end latency, then fewest records discarded;
    * ``cost`` — lowest estimated cost (GB-s and requests), then fewest discarded;
    * ``safety`` — fewest records discarded, then fewest duplicate deliveries, then latency;
    * ``balanced`` — on the Pareto front, the smallest sum of the four front axes, each divided
      by its largest value in the sweep.

    Ties go to the earlier point, and are reported (``ties``, ``tie_note``); ``why`` gives the
    figures against the next best point and ``caveats`` the varied settings the sweep cannot
    judge (:func:`caveats`). Raises UserError for an unknown objective.
    """
    if objective not in OBJECTIVES:
        raise UserError(f"--objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    rows = results.to_pylist()
    if not rows:
        raise UserError("sweep: no finished point to recommend")
    keys = param_keys(results)
    if objective == "balanced":
        best, tied, runner, why = _balanced(rows)
        reason = BALANCED_REASON
        shared = PARETO_AXES
    else:
        shared = ORDERS[objective]
        best, tied, runner, why = _lexicographic(rows, shared)
        reason = ", then ".join(_RULE_WORDS[k] for k in shared)
    tie_note = ""
    if tied:
        group = [best, *tied]
        varied = [k for k in keys if len({json.dumps(r[f"param.{k}"]) for r in group}) > 1]
        named = ", ".join(
            f"{r['point']} ({_params(r, varied)})" if varied else r["point"] for r in group
        )
        if all(tuple(r.get(a) for a in shared) == tuple(best.get(a) for a in shared) for r in tied):
            what = "identical figures (" + ", ".join(_phrase(a, best[a]) for a in shared) + ")"
        else:
            what = "the same score"
        tie_note = (
            f"{len(group)} points have {what}: {named}; the tie was broken by point "
            f"order (the first in the results table, {best['point']}, was taken)"
        )
    return Recommendation(
        objective=objective,
        point=best["point"],
        params={k: best[f"param.{k}"] for k in keys},
        on_front=bool(best["pareto"]),
        reason=reason,
        why=why,
        runner_up=None if runner is None else runner["point"],
        ties=tuple(r["point"] for r in tied),
        tie_note=tie_note,
        caveats=tuple(caveats(results, best)),
    )


Row = Mapping[str, Any]


def _lexicographic(
    rows: Sequence[Row], keys: Sequence[str]
) -> tuple[Row, list[Row], Row | None, str]:
    """The first best row by ``keys``, the rows tied with it, the next best and the figures
    that separate the two."""

    def vector(r: Row) -> tuple[float, ...]:
        return tuple(_objective(r, a) for a in keys)

    best = min(rows, key=vector)
    tied = [r for r in rows if r is not best and vector(r) == vector(best)]
    rest = [r for r in rows if vector(r) != vector(best)]
    if not rest:
        return best, tied, None, _all_same(rows, best, keys)
    runner = min(rest, key=vector)
    k = next(a for a in keys if _objective(best, a) != _objective(runner, a))
    earlier = keys[: keys.index(k)]
    why = f"{_phrase(k, best[k])} vs {_value(k, runner[k])} for the next best, {runner['point']}"
    if earlier:
        why += " (both " + ", ".join(_phrase(a, best[a]) for a in earlier) + ")"
    return best, tied, runner, why


def _balanced(rows: Sequence[Row]) -> tuple[Row, list[Row], Row | None, str]:
    scale = {
        a: max((_objective(r, a) for r in rows if r.get(a) is not None), default=0)
        for a in PARETO_AXES
    }
    candidates = [r for r in rows if r["pareto"]] or list(rows)

    def score(r: Row) -> float:
        return sum(
            _objective(r, a) / scale[a] if scale[a] and scale[a] != float("inf") else 0.0
            for a in PARETO_AXES
        )

    best = min(candidates, key=score)
    top = score(best)
    tied = [r for r in candidates if r is not best and math.isclose(score(r), top, abs_tol=1e-12)]
    rest = [r for r in candidates if not math.isclose(score(r), top, abs_tol=1e-12)]
    where = "for the next best on the front"
    if not rest:  # the whole front ties: say what being on it wins over the best point off it
        rest = [r for r in rows if r not in candidates]
        where = "for the best point off the front"
    if not rest:
        return best, tied, None, _all_same(rows, best, PARETO_AXES)
    runner = min(rest, key=score)
    apart = [a for a in PARETO_AXES if _objective(best, a) != _objective(runner, a)]
    why = (
        f"score {top:.2f} vs {score(runner):.2f} (0 is best, 4 worst) {where}, "
        f"{runner['point']}: "
        + ", ".join(f"{_phrase(a, best[a])} vs {_value(a, runner[a])}" for a in apart)
    )
    return best, tied, runner, why


def _all_same(rows: Sequence[Row], best: Row, keys: Sequence[str]) -> str:
    figures = ", ".join(_phrase(a, best[a]) for a in keys)
    if len(rows) == 1:
        return f"the only point to choose from ({figures})"
    return f"every point has the same figures ({figures}): nothing to choose between them"


def _value(key: str, value: Any) -> str:
    """A figure's value as a person reads it: ``1.0 s``, ``$0.000015``, ``11``."""
    if value is None:
        return "-"
    if key.endswith("_ms"):
        return duration(int(value))
    if key == "cost_usd":
        return usd(float(value))
    return f"{value:,}" if isinstance(value, int) else str(value)


_PHRASES = {
    "discarded": "{} discarded",
    "duplicates": "{} duplicate deliveries",
    "latency_p99_ms": "p99 latency {}",
    "invocations": "{} invocations",
    "cost_usd": "estimated cost {}",
}


_SINGULAR = {"duplicates": "{} duplicate delivery", "invocations": "{} invocation"}


def _phrase(key: str, value: Any) -> str:
    """A figure with its name: ``0 discarded``, ``1 duplicate delivery``, ``p99 latency 1.0 s``."""
    words = _SINGULAR if value == 1 and key in _SINGULAR else _PHRASES
    return words.get(key, key + " {}").format(_value(key, value))


def _params(row: Row, keys: Sequence[str]) -> str:
    return " ".join(f"{k}={json.dumps(row[f'param.{k}'])}" for k in keys)


# ---------------------------------------------------------------------- caveats
# Settings that act only on a batch the function failed.
_ON_ERROR = {
    "maximumretryattempts": "retries only follow a function error",
    "bisectbatchonfunctionerror": "bisect splits only a batch the function failed",
}
# The figures a setting may change: equal on all of them, it changed nothing the sweep measures.
_OUTCOMES = (
    "processed",
    "discarded",
    "unprocessed",
    "duplicates",
    "invocations",
    "errors",
    "throttles",
    "iterator_age_max_ms",
    "latency_p99_ms",
    "blocked_ms",
    "destination_records",
    "cost_usd",
)


def _canon(key: str) -> str:
    return key.rsplit(".", 1)[-1].replace("_", "").lower()


def _retries(value: Any) -> float:
    """MaximumRetryAttempts as a count: -1 (the default) is infinite."""
    return float("inf") if value is None or int(value) < 0 else float(value)


def _groups(rows: Sequence[Row], key: str, keys: Sequence[str]) -> list[list[Row]]:
    """The rows that differ only in ``key``, for each combination of the other varied keys (only
    the combinations holding at least two values of ``key``)."""
    others = [k for k in keys if k != key]
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(json.dumps([r[f"param.{k}"] for k in others], default=str), []).append(r)
    return [g for g in by.values() if len({json.dumps(r[f"param.{key}"]) for r in g}) > 1]


def caveats(results: pa.Table, chosen: Row | None = None) -> list[str]:
    """The varied settings this sweep cannot judge, a sentence each, read from its figures.

    A setting the function model gave nothing to act on looks harmless or useless whatever it is
    worth in production, and a recommendation over it would be an artefact of the model. Four
    rules, checked in this order for each varied key (the first that holds speaks):

    1. ``MaximumRetryAttempts`` or ``BisectBatchOnFunctionError`` when no point had a function
       error: they act only on failed batches.
    2. ``MaximumRecordAgeInSeconds`` when no point's oldest record reached the smallest finite
       limit swept: no limit ever fired.
    3. Any key whose values gave identical figures (records processed, discarded, unprocessed,
       duplicates, invocations, errors, throttles, oldest age, p99 latency, blocked time,
       on-failure records, cost) among the points that differ only in it.
    4. ``MaximumRetryAttempts`` when more retries never processed a record more among the points
       that differ only in it: every error repeated on every retry (a deterministic fault), so
       fewer retries can only look better.

    ``chosen`` (a results row) adds what a caveat means for the pick (``MaximumRetryAttempts=0
    looks best only because ...``).
    """
    rows = results.to_pylist()
    keys = param_keys(results)
    if len(rows) < 2:
        return []
    errors = sum(int(r.get("errors") or 0) for r in rows)
    out = []
    for key in keys:
        canon = _canon(key)
        values = [r[f"param.{key}"] for r in rows]
        if len({json.dumps(v) for v in values}) < 2:
            continue
        groups = _groups(rows, key, keys)
        if canon in _ON_ERROR and errors == 0:
            out.append(
                f"{key}: no point had a function error, and {_ON_ERROR[canon]}, so every value "
                "looks the same here; add a fault to the function model (a `when:` matching the "
                "records production failed on, or a transient `probability:`) to see what it is for"
            )
            continue
        if canon == "maximumrecordageinseconds":
            limits = [float(v) for v in values if v is not None and float(v) >= 0]
            oldest = max((int(r.get("iterator_age_max_ms") or 0) for r in rows), default=0)
            if limits and oldest < min(limits) * 1000:
                out.append(
                    f"{key}: no record got as old as the smallest limit swept "
                    f"({duration(round(min(limits) * 1000))}; the oldest was {duration(oldest)}), "
                    "so no limit ever discarded a record and every value looks the same; a fault "
                    "that keeps a batch failing for longer than the limit (more retries, or "
                    "MaximumRetryAttempts -1) or a slower function `duration:` would show it"
                )
                continue
        if groups and all(
            len({tuple(r.get(c) for c in _OUTCOMES) for r in g}) == 1 for g in groups
        ):
            shown = ", ".join(sorted({json.dumps(v) for v in values}, key=lambda v: (len(v), v)))
            out.append(
                f"{key}: every value swept ({shown}) gave the same figures, so this sweep "
                "cannot choose it: the capture and the function model do not exercise it"
            )
            continue
        if canon == "maximumretryattempts" and errors and groups:
            helped = any(
                _retries(a[f"param.{key}"]) < _retries(b[f"param.{key}"])
                and int(b["processed"]) > int(a["processed"])
                for g in groups
                for a in g
                for b in g
            )
            if not helped:
                fewest = min(values, key=_retries)
                pick = ""
                if chosen is not None and _retries(chosen[f"param.{key}"]) == _retries(fewest):
                    pick = f"; {key}={json.dumps(chosen[f'param.{key}'])} looks best only for that reason"
                out.append(
                    f"{key}: no retry in this sweep saved a record (more retries never processed "
                    "more records): every function error repeated on every retry, so retries "
                    f"show only their cost (duplicate deliveries, delay){pick}; add a transient "
                    "fault to the function model (`probability:` or `times:` on a fault) to see "
                    "what retries are for"
                )
    return out


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
