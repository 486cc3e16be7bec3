"""recommend: why a point wins in figures, ties named, and the caveats of a sweep whose function
model cannot show what a setting is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from replay.analysis.pareto import caveats, pareto_front, recommend
from replay.sweep import run_sweep
from tests.replay.support import cli

FIGURES = {
    "records": 100, "processed": 90, "discarded": 10, "filtered": 0, "unprocessed": 0,
    "duplicates": 0, "invocations": 50, "errors": 4, "throttles": 0,
    "iterator_age_p99_ms": 900, "iterator_age_max_ms": 1000, "latency_p50_ms": 500,
    "latency_p99_ms": 1000, "blocked_ms": 0, "destination_records": 0, "gb_seconds": 1.0,
    "requests": 50, "cost_usd": 0.001,
}  # fmt: skip


def table(*points: dict[str, Any]) -> pa.Table:
    """A results table: each point ``{"param.K": v, figure: value, ...}`` over :data:`FIGURES`."""
    rows = [{"point": f"p{i}", **FIGURES, **p} for i, p in enumerate(points)]
    front = pareto_front(rows)
    for r, on in zip(rows, front, strict=True):
        r["pareto"] = on
    return pa.Table.from_pylist(rows)


def test_the_winner_is_explained_in_figures() -> None:
    t = table(
        {"param.BatchSize": 10, "discarded": 11, "processed": 89},
        {"param.BatchSize": 100, "discarded": 0, "processed": 100},
    )
    rec = recommend(t, "safety")
    assert rec.point == "p1" and rec.runner_up == "p0"
    assert rec.why == "0 discarded vs 11 for the next best, p0"
    assert rec.reason.startswith("fewest records discarded, then fewest duplicate deliveries")
    latency = recommend(table({"param.BatchSize": 1, "latency_p99_ms": 4000},
                              {"param.BatchSize": 2, "latency_p99_ms": 1500}), "latency")  # fmt: skip
    assert latency.why == "p99 latency 1.5 s vs 4.0 s for the next best, p0"
    # the earlier keys they share are named
    rec = recommend(table({"param.BatchSize": 1, "duplicates": 3},
                          {"param.BatchSize": 2, "duplicates": 1}), "safety")  # fmt: skip
    assert rec.why == "1 duplicate delivery vs 3 for the next best, p0 (both 10 discarded)"
    assert rec.details()[0] == "why: " + rec.why


def test_ties_are_named_and_said_to_be_broken_by_point_order() -> None:
    t = table(
        {"param.BatchSize": 100, "duplicates": 9},
        {"param.BatchSize": 1000, "duplicates": 9},
        {"param.BatchSize": 10, "duplicates": 12},
    )
    rec = recommend(t, "safety")
    assert rec.point == "p0" and rec.ties == ("p1",)
    assert "2 points have identical figures" in rec.tie_note
    assert "p0 (BatchSize=100), p1 (BatchSize=1000)" in rec.tie_note
    assert "broken by point order" in rec.tie_note
    assert any(line.startswith("tie: ") for line in rec.details())
    balanced = recommend(t, "balanced")
    assert balanced.ties == ("p1",) and "point order" in balanced.tie_note
    # the whole front ties: what it wins over is the best point off it
    assert "for the best point off the front, p2" in balanced.why
    assert recommend(table({"param.BatchSize": 1}, {"param.BatchSize": 2}), "cost").ties == ("p1",)
    alone = recommend(table({"param.BatchSize": 1}, {"param.BatchSize": 2}), "safety")
    assert alone.runner_up is None and alone.why.startswith("every point has the same figures")


def test_no_function_error_means_retry_settings_cannot_be_judged() -> None:
    t = table(
        {"param.MaximumRetryAttempts": 0, "param.BisectBatchOnFunctionError": True, "errors": 0,
         "discarded": 0, "processed": 100},
        {"param.MaximumRetryAttempts": 2, "param.BisectBatchOnFunctionError": False, "errors": 0,
         "discarded": 0, "processed": 100, "latency_p99_ms": 1100},
    )  # fmt: skip
    found = caveats(t)
    assert len(found) == 2
    assert found[0].startswith("MaximumRetryAttempts: no point had a function error")
    assert found[1].startswith("BisectBatchOnFunctionError: no point had a function error")
    assert all("add a fault to the function model" in c for c in found)
    assert recommend(t, "safety").caveats == tuple(found)


def test_deterministic_errors_make_fewer_retries_look_better() -> None:
    """The tour's sweep: every error repeats on every retry, so MaximumRetryAttempts=0 wins."""
    t = table(
        {"param.MaximumRetryAttempts": 0, "param.BatchSize": 100, "processed": 59, "discarded": 1,
         "duplicates": 0},
        {"param.MaximumRetryAttempts": 2, "param.BatchSize": 100, "processed": 59, "discarded": 1,
         "duplicates": 2, "latency_p99_ms": 3800},
        {"param.MaximumRetryAttempts": -1, "param.BatchSize": 100, "processed": 40,
         "discarded": 20, "duplicates": 900},
    )  # fmt: skip
    rec = recommend(t, "safety")
    assert rec.params == {"MaximumRetryAttempts": 0, "BatchSize": 100}
    (caveat,) = rec.caveats
    assert caveat.startswith("MaximumRetryAttempts: no retry in this sweep saved a record")
    assert "MaximumRetryAttempts=0 looks best only for that reason" in caveat
    assert "add a transient fault to the function model (`probability:` or `times:`" in caveat
    # a pick with more retries gets the caveat without the remark about the pick
    (other,) = caveats(t, t.to_pylist()[1])
    assert other.startswith("MaximumRetryAttempts: no retry") and "looks best only" not in other


def test_retries_that_save_records_raise_no_caveat() -> None:
    t = table(
        {"param.MaximumRetryAttempts": 0, "processed": 80, "discarded": 20},
        {"param.MaximumRetryAttempts": 2, "processed": 100, "discarded": 0, "duplicates": 20},
    )
    assert caveats(t) == []
    assert recommend(t, "safety").params == {"MaximumRetryAttempts": 2}


def test_a_record_age_limit_never_reached_and_a_setting_without_effect() -> None:
    t = table(
        {"param.MaximumRecordAgeInSeconds": 60, "param.BatchSize": 100},
        {"param.MaximumRecordAgeInSeconds": 3600, "param.BatchSize": 100, "duplicates": 1},
        {"param.MaximumRecordAgeInSeconds": 60, "param.BatchSize": 1000},
        {"param.MaximumRecordAgeInSeconds": 3600, "param.BatchSize": 1000, "duplicates": 1},
    )
    age, size = caveats(t)
    assert age.startswith("MaximumRecordAgeInSeconds: no record got as old as the smallest limit")
    assert "(60.0 s; the oldest was 1.0 s)" in age
    assert size.startswith("BatchSize: every value swept (100, 1000) gave the same figures")


def test_the_tour_sweep_warns_about_its_retry_recommendation(tmp_path: Path) -> None:
    """The README tour's capture and handler: the schema-2 record raises on every delivery."""
    docs = Path(__file__).parents[3] / "docs" / "examples"
    out = cli("capture", "import", str(docs / "kinesis-events.jsonl"), "--source", "kinesis",
              "-o", str(tmp_path / "capture"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = run_sweep(
        tmp_path / "capture",
        tmp_path / "sweep",
        config=str(docs / "esm-production.json"),
        function=f"{docs / 'handler.py'}:handler",
        vary=["MaximumRetryAttempts=0,2", "BatchSize=100,1000"],
    )
    rec = recommend(result.results, "safety")
    assert rec.params["MaximumRetryAttempts"] == 0
    assert rec.ties and "broken by point order" in rec.tie_note  # BatchSize 100 and 1000 alike
    assert [c.split(":")[0] for c in rec.caveats] == ["MaximumRetryAttempts", "BatchSize"]
    assert "looks best only" in rec.caveats[0]


@pytest.mark.parametrize("objective", ["latency", "cost", "safety", "balanced"])
def test_every_objective_explains_itself(objective: str) -> None:
    t = table({"param.BatchSize": 1, "invocations": 90, "cost_usd": 0.002},
              {"param.BatchSize": 10, "invocations": 30, "latency_p99_ms": 1200})  # fmt: skip
    rec = recommend(t, objective)
    assert rec.why and rec.reason and " vs " in rec.why
