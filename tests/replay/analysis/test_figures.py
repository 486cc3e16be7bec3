"""The report's figures, read off the matplotlib objects: the runs compared share their scales,
ticks read as clock times, legends sit outside the data, nothing hides a point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import replay.analysis.figures as figures
from replay.analysis.figures import (
    Sweep,
    blocked_figure,
    clock_labels,
    invocations_figure,
    iterator_age_figure,
    ms_labels,
    pareto_figure,
    queue_depth_figure,
    tradeoff_figure,
)
from replay.analysis.pareto import pareto_front
from replay.formats.runfiles import read_run
from replay.timeutil import parse_time
from tests.replay.analysis.families import family_runs
from tests.replay.support import scenario_runs, small_demo

pytest.importorskip("matplotlib")

CLOCK = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{3})?)?(\n\d{4}-\d{2}-\d{2})?$")


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The matplotlib figures drawn (instead of their PNG bytes), rendered."""
    kept: list[Any] = []

    def keep(fig: Any) -> bytes:
        fig.canvas.draw()
        kept.append(fig)
        return b""

    monkeypatch.setattr(figures, "_png", keep)
    return kept


def _demo(factory: pytest.TempPathFactory) -> tuple[list[Any], list[str]]:
    d = small_demo(factory)
    return [read_run(d / "run-production"), read_run(d / "run-safer")], ["production", "safer"]


def _overlaps(a: Any, b: Any) -> bool:
    return bool(a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1)


def _legend_outside(fig: Any) -> None:
    renderer = fig.canvas.get_renderer()
    assert all(ax.get_legend() is None for ax in fig.axes)  # no legend over a panel's data
    assert fig.legends
    for legend in fig.legends:
        box = legend.get_window_extent(renderer)
        assert not [ax for ax in fig.axes if _overlaps(box, ax.get_window_extent(renderer))]


def test_runs_share_the_time_axis_and_the_y_axis(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[Any]
) -> None:
    """Production's 24-hour block and safer's 8-second one on the same scales."""
    runs, names = _demo(tmp_path_factory)
    iterator_age_figure(runs, names)
    blocked_figure(runs, names)
    invocations_figure(runs, names)
    age, blocked, calls = drawn
    prod, safe = age.axes
    assert prod.get_ylim() == safe.get_ylim() and prod.get_yscale() == "log"
    assert prod.get_ylim()[1] > 20 * 3600  # the safer panel reaches up to the 24 h too
    span = prod.get_xlim()
    assert all(ax.get_xlim() == span for fig in drawn for ax in fig.axes)
    start = min(parse_time(r.meta["start"]) for r in runs)
    import matplotlib.dates as mdates

    assert mdates.num2date(span[0]).timestamp() * 1000 == start
    # the y ticks are durations, not powers of ten
    texts = [t.get_text() for t in prod.get_yticklabels()]
    assert "1 s" in texts and "1 h" in texts and not [t for t in texts if "^" in t]
    # errors on their own axes, the same in both runs: ~1 error a minute is not flattened by 250
    errors = [ax for ax in calls.axes if ax.get_ylabel().startswith("errors")]
    invocations = [ax for ax in calls.axes if ax.get_ylabel().startswith("invocations")]
    assert len(errors) == len(invocations) == 2
    assert errors[0].get_ylim() == errors[1].get_ylim() and errors[0].get_ylim()[1] < 20
    assert invocations[0].get_ylim() == invocations[1].get_ylim()
    assert invocations[0].get_ylim()[1] > 3 * errors[0].get_ylim()[1]
    assert blocked.axes[0].get_title(loc="left").endswith("blocked 24.0 h in all")


def test_ticks_read_as_full_clock_times(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[Any]
) -> None:
    runs, names = _demo(tmp_path_factory)
    iterator_age_figure(runs, names)
    retry, bisect = scenario_runs(tmp_path_factory)  # 20 seconds of records
    short = [read_run(retry), read_run(bisect)]
    blocked_figure(short, ["retry", "bisect"])
    for fig in drawn:
        labels = [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()]
        assert len(labels) >= 3 and all(CLOCK.match(x) for x in labels), labels
        assert "\n" in labels[0]  # the date under the first tick
    day = [t.get_text() for t in drawn[0].axes[-1].get_xticklabels()]
    assert sum("\n" in x for x in day) == 2  # and where the day changes (the 24 h run)
    seconds = [t.get_text() for t in drawn[1].axes[-1].get_xticklabels()]
    assert all(re.match(r"^\d{2}:\d{2}:\d{2}", x) for x in seconds)


def test_clock_and_latency_labels() -> None:
    t0 = parse_time("2024-11-05T09:00:00Z")
    assert clock_labels([t0, t0 + 15_000, t0 + 30_000, t0 + 60_000]) == [
        "09:00:00\n2024-11-05", "09:00:15", "09:00:30", "09:01:00"
    ]  # fmt: skip
    assert clock_labels([t0, t0 + 15 * 3_600_000]) == ["09:00\n2024-11-05", "00:00\n2024-11-06"]
    assert ms_labels([0, 50_000, 100_000]) == ["0 s", "50 s", "100 s"]
    assert ms_labels([990, 995, 1000]) == ["990 ms", "995 ms", "1,000 ms"]
    assert len(set(ms_labels([1000, 1020, 1040]))) == 3


def test_legends_sit_outside_the_data(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[Any]
) -> None:
    runs, names = _demo(tmp_path_factory)
    iterator_age_figure(runs, names)  # the legend once covered production's 24 h peak
    pareto_figure(_sweep())
    fam = family_runs(tmp_path_factory)
    for fig in drawn:
        _legend_outside(fig)
    queue_depth_figure([read_run(fam["sqs-a"]), read_run(fam["sqs-b"])], ["a", "b"])
    _legend_outside(drawn[-1])


def _sweep() -> Sweep:
    """Four points, two pairs of identical figures (BatchSize changes nothing)."""
    rows = [
        {"point": f"p{i}", "param.BatchSize": size, "param.BisectBatchOnFunctionError": bisect,
         "discarded": 1 if bisect else 4, "duplicates": 9 if bisect else 12,
         "latency_p99_ms": 1018, "invocations": 29820, "iterator_age_max_ms": 8499,
         "cost_usd": 0.0129, "errors": 6, "processed": 99999}
        for i, (size, bisect) in enumerate([(100, True), (100, False), (1000, True), (1000, False)])
    ]  # fmt: skip
    for r, on in zip(rows, pareto_front(rows), strict=True):
        r["pareto"] = on
    return Sweep("sw", Path("sw"), pa.Table.from_pylist(rows))


def test_the_pick_does_not_hide_the_points(drawn: list[Any]) -> None:
    pareto_figure(_sweep())
    (fig,) = drawn
    for ax in fig.axes:
        pick = next(c for c in ax.collections if str(c.get_label()).startswith("balanced pick"))
        points = [c for c in ax.collections if c is not pick]
        assert all(a == 0 for *_, a in pick.get_facecolors())  # a ring: hollow
        assert pick.get_zorder() > max(c.get_zorder() for c in points)
    # the points that coincide say how many they are
    assert [[t.get_text() for t in ax.texts] for ax in fig.axes] == [["×4"], ["×2", "×2"]]
    latency = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert len(set(latency)) == len(latency)  # one value everywhere: still distinct tick labels


def test_tradeoff_panels_of_one_objective_share_their_y_axis(drawn: list[Any]) -> None:
    tradeoff_figure(_sweep())
    (fig,) = drawn
    grid = fig.axes  # rows: BatchSize, BisectBatchOnFunctionError; columns: the four objectives
    assert len(grid) == 8
    for j in range(4):
        assert grid[j].get_ylim() == grid[4 + j].get_ylim()
    assert grid[0].get_ylim()[0] == 0


def test_sqs_panels_share_their_scale(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[Any]
) -> None:
    fam = family_runs(tmp_path_factory)
    runs = [read_run(fam["sqs-a"]), read_run(fam["sqs-b"])]
    fig_data = queue_depth_figure(runs, ["a", "b"]).data
    (fig,) = drawn
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()
    m = runs[0].metrics.to_pylist()
    assert [row[1] for row in fig_data["a"]] == [x["messages_visible"] or 0 for x in m]
