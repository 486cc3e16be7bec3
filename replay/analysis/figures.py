"""The figures of ``esm-replay report``, drawn with matplotlib on the Agg canvas.

Each :class:`Figure` carries its PNG bytes and the data it plots (JSON-able), so the report can embed
both: iterator age over time per run and shard, blocked intervals per shard, invocations and errors
per minute, and for sweeps the Pareto front and the trade-off curves of each varied parameter.
matplotlib is the optional extra ``esm-replay[report]``; no pyplot global state is used, and the
same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from replay.analysis.pareto import OBJECTIVES, PARETO_AXES, param_keys, recommend
from replay.analysis.text import duration
from replay.errors import UserError
from replay.formats.runfiles import RunResult
from replay.timeutil import iso_ms, parse_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

MAX_RUN_PANELS = 12  # beyond this a per-run figure is unreadable; the JSON still has every run
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass(frozen=True)
class Figure:
    """One plot: its file stem, title, PNG bytes and the data it shows."""

    name: str
    title: str
    png: bytes
    data: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A sweep shown in the report: its name there, its directory and its results table."""

    name: str
    path: Path
    results: pa.Table


def load_matplotlib() -> Any:
    """matplotlib on the Agg canvas.

    Raises:
        UserError: matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        raise UserError("report needs matplotlib: pip install 'esm-replay[report]'") from None
    matplotlib.use("Agg", force=False)
    return matplotlib


def _new_figure(width: float, height: float) -> MplFigure:
    load_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    # No timestamp or version in the file: the same inputs give the same bytes.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _times(ms: np.ndarray) -> np.ndarray:
    return ms.astype("datetime64[ms]")


def _time_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


# ---------------------------------------------------------------------- run figures
def _metrics_by_shard(run: RunResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    m = run.metrics
    minute = m.column("minute").cast(pa.int64()).to_numpy()
    shard = np.asarray(m.column("shard").to_pylist(), dtype=object)
    age = m.column("iterator_age_ms").cast(pa.float64()).fill_null(np.nan).to_numpy()
    return {s: (minute[shard == s], age[shard == s]) for s in sorted(set(shard.tolist()))}


def iterator_age_figure(runs: Sequence[RunResult], names: Sequence[str]) -> Figure:
    """Iterator age (max per minute) over time: one panel per run, one line per shard."""
    panels = min(len(runs), MAX_RUN_PANELS)
    fig = _new_figure(10, 2.6 * panels + 0.4)
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    data: dict[str, Any] = {}
    for k, (run, name) in enumerate(zip(runs, names, strict=True)):
        series = _metrics_by_shard(run)
        data[name] = {}
        for shard, (minute, age) in series.items():
            ok = ~np.isnan(age)
            data[name][shard] = [
                [iso_ms(int(t)), int(a)] for t, a in zip(minute[ok], age[ok], strict=True)
            ]
        if k < panels:
            _age_panel(axes[k], name, series)
    return Figure("iterator-age", "Iterator age over time, per shard", _png(fig), data)


def _age_panel(ax: Axes, name: str, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    peak = 0.0
    for i, (shard, (minute, age)) in enumerate(series.items()):
        ok = ~np.isnan(age)
        if ok.any():
            peak = max(peak, float(age[ok].max()))
            ax.plot(
                _times(minute[ok]),
                age[ok] / 1000,
                ".-",
                ms=2,
                lw=1,
                color=COLORS[i % len(COLORS)],
                label=shard,
            )
    if peak > 0:
        ax.set_yscale("log")  # a blocked shard's hours next to healthy sub-second ages
    ax.set_title(name, loc="left", fontsize=10)
    ax.set_ylabel("iterator age (s)")
    ax.grid(alpha=0.3)
    _time_axis(ax)
    if series:
        ax.legend(fontsize=7, loc="upper right")


def _blocks(run: RunResult) -> dict[str, list[tuple[int, int]]]:
    shards = run.summary.get("shards") or {}
    return {
        s: [
            (parse_time(a, field="blocked"), parse_time(b, field="blocked"))
            for a, b in info.get("blocked") or []
        ]
        for s, info in sorted(shards.items())
    }


def blocked_figure(runs: Sequence[RunResult], names: Sequence[str]) -> Figure:
    """When each shard was blocked: one panel per run (its own time span), a row per shard."""
    panels = min(len(runs), MAX_RUN_PANELS)
    shard_counts = [len(_blocks(r)) for r in runs[:panels]]
    fig = _new_figure(10, sum(0.3 * max(n, 2) + 0.8 for n in shard_counts) + 0.3)
    axes = fig.subplots(panels, 1, squeeze=False, height_ratios=[max(n, 2) for n in shard_counts])
    data: dict[str, Any] = {}
    for k, (run, name) in enumerate(zip(runs, names, strict=True)):
        blocks = _blocks(run)
        data[name] = {s: [[iso_ms(a), iso_ms(b), b - a] for a, b in v] for s, v in blocks.items()}
        if k < panels:
            _blocked_panel(axes[k][0], name, blocks, run)
    return Figure("blocked", "Blocked time, per shard", _png(fig), data)


def _blocked_panel(
    ax: Axes, name: str, blocks: dict[str, list[tuple[int, int]]], run: RunResult
) -> None:

    start, end = parse_time(run.meta["start"]), parse_time(run.meta["end"])
    for y, spans in enumerate(blocks.values()):
        for a, b in spans:
            ax.barh(
                y,
                np.timedelta64(max(b - a, 1), "ms"),
                left=np.datetime64(a, "ms"),
                height=0.6,
                color="#d62728",
            )
            # a few seconds' block is invisible on a day's axis: say how long it was
            ax.annotate(
                duration(b - a),
                (np.datetime64(a, "ms"), y),
                xytext=(3, 6),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_yticks(range(len(blocks)), list(blocks), fontsize=7)
    ax.set_ylim(len(blocks) - 0.5, -0.5)
    import matplotlib.dates as mdates

    ax.set_xlim(
        float(mdates.date2num(np.datetime64(start, "ms"))),
        float(mdates.date2num(np.datetime64(max(end, start + 1), "ms"))),
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        f"{name}: blocked intervals" + ("" if any(blocks.values()) else " (none)"),
        loc="left",
        fontsize=10,
    )
    _time_axis(ax)


def invocations_figure(runs: Sequence[RunResult], names: Sequence[str]) -> Figure:
    """Invocations, errors and throttles per minute (all shards): one panel per run."""
    shown = list(zip(runs, names, strict=True))[:MAX_RUN_PANELS]
    fig = _new_figure(10, 2.4 * len(shown) + 0.4)
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    data: dict[str, Any] = {}
    for ax, (run, name) in zip(axes, shown, strict=True):
        m = run.metrics
        minute = m.column("minute").cast(pa.int64()).to_numpy()
        uniq, inverse = np.unique(minute, return_inverse=True)
        sums = {
            col: np.bincount(inverse, weights=m.column(col).to_numpy(), minlength=len(uniq)).astype(
                np.int64
            )
            for col in ("invocations", "errors", "throttles")
        }
        data[name] = [
            [iso_ms(int(t)), int(a), int(e), int(th)]
            for t, a, e, th in zip(
                uniq, sums["invocations"], sums["errors"], sums["throttles"], strict=True
            )
        ]
        t = _times(uniq)
        ax.plot(t, sums["invocations"], lw=1, color=COLORS[0], label="invocations")
        ax.plot(t, sums["errors"], lw=1, color=COLORS[3], label="errors")
        if sums["throttles"].any():
            ax.plot(t, sums["throttles"], lw=1, color=COLORS[1], label="throttles")
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel("per minute")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
        _time_axis(ax)
    return Figure("invocations", "Invocations and errors per minute", _png(fig), data)


# ---------------------------------------------------------------------- sweep figures
_LABELS = {
    "discarded": "records discarded",
    "duplicates": "duplicate deliveries",
    "latency_p99_ms": "p99 latency (ms)",
    "invocations": "invocations",
}


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def pareto_figure(sweep: Sweep) -> Figure:
    """The sweep's points in two planes of the four objectives, the Pareto front highlighted."""
    rows = sweep.results.to_pylist()
    rec = {o: recommend(sweep.results, o).point for o in OBJECTIVES}
    fig = _new_figure(10, 4.2)
    axes = fig.subplots(1, 2)
    for ax, (x, y) in zip(
        axes, (("invocations", "latency_p99_ms"), ("duplicates", "discarded")), strict=True
    ):
        for on, color, label in (
            (False, "#9aa5b1", "dominated"),
            (True, "#d62728", "Pareto front"),
        ):
            pts = [r for r in rows if bool(r["pareto"]) == on]
            ax.scatter(
                [_num(r[x]) for r in pts],
                [_num(r[y]) for r in pts],
                s=22,
                color=color,
                label=label,
                zorder=2,
            )
        best = next(r for r in rows if r["point"] == rec["balanced"])
        ax.scatter(
            [_num(best[x])],
            [_num(best[y])],
            s=160,
            marker="*",
            color="#2ca02c",
            label="balanced pick",
            zorder=3,
        )
        ax.set_xlabel(_LABELS[x])
        ax.set_ylabel(_LABELS[y])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"{sweep.name}: Pareto front over {', '.join(_LABELS[a] for a in PARETO_AXES)}", fontsize=10
    )
    data = {
        "sweep": sweep.name,
        "axes": list(PARETO_AXES),
        "points": [
            {"point": r["point"], "pareto": bool(r["pareto"]), **{a: r[a] for a in PARETO_AXES}}
            for r in rows
        ],
        "recommendations": rec,
    }
    return Figure(f"pareto-{_slug(sweep.name)}", f"Pareto front of {sweep.name}", _png(fig), data)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (
        (0, value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (1, str(value))
    )


def tradeoff_figure(sweep: Sweep) -> Figure:
    """Each objective against each varied parameter: every point, and the mean per value."""
    rows = sweep.results.to_pylist()
    keys = param_keys(sweep.results)[:4]
    fig = _new_figure(12, 2.6 * max(len(keys), 1) + 0.5)
    axes = fig.subplots(max(len(keys), 1), len(PARETO_AXES), squeeze=False)
    data: dict[str, Any] = {"sweep": sweep.name, "curves": {}}
    for i, key in enumerate(keys):
        values = sorted(
            {json.dumps(r[f"param.{key}"]) for r in rows}, key=lambda v: _sort_key(json.loads(v))
        )
        where = {v: j for j, v in enumerate(values)}
        curves: dict[str, Any] = {}
        for j, axis in enumerate(PARETO_AXES):
            ax = axes[i][j]
            xs = [where[json.dumps(r[f"param.{key}"])] for r in rows]
            ys = [_num(r[axis]) for r in rows]
            ax.scatter(xs, ys, s=14, color="#9aa5b1", zorder=2)
            means = [
                float(np.nanmean([y for x, y in zip(xs, ys, strict=True) if x == k]))
                if any(x == k for x in xs)
                else float("nan")
                for k in range(len(values))
            ]
            ax.plot(range(len(values)), means, "o-", color=COLORS[j], lw=1.5, ms=4, zorder=3)
            ax.set_xticks(
                range(len(values)),
                [json.loads(v) if isinstance(json.loads(v), str) else v for v in values],
                fontsize=7,
            )
            ax.set_xlabel(key, fontsize=8)
            if i == 0:
                ax.set_title(_LABELS[axis], fontsize=9)
            ax.grid(alpha=0.3)
            curves[axis] = [
                [json.loads(v), None if np.isnan(m) else m]
                for v, m in zip(values, means, strict=True)
            ]
        data["curves"][key] = curves
    if not keys:
        axes[0][0].text(0.5, 0.5, "no varied parameter", ha="center")
    fig.suptitle(
        f"{sweep.name}: objectives against each varied parameter (mean per value)", fontsize=10
    )
    return Figure(
        f"tradeoffs-{_slug(sweep.name)}", f"Trade-off curves of {sweep.name}", _png(fig), data
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-") or "sweep"
