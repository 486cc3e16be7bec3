"""The figures of ``esm-replay report``, drawn with matplotlib on the Agg canvas.

Each :class:`Figure` carries its PNG bytes and the data it plots (JSON-able), so the report can embed
both. Which figures a set of runs gets depends on their source family (:func:`run_figures`, in the
words of :data:`replay.analysis.text.WORDS`):

* streams (Kinesis, DynamoDB): iterator age per shard, blocked intervals per shard;
* SQS: the age of the oldest message and the queue depth (messages visible and in flight), and for
  a FIFO queue whose message groups stalled, the blocked intervals of the worst groups;
* Kafka: the offset lag per partition, blocked intervals per partition;
* every run: invocations, errors and throttles per minute, each on its own axes.

For sweeps: the Pareto front and the trade-off curves of each varied parameter.

The runs of a report are drawn to be compared: every time axis spans the same interval (the
earliest start to the latest end of the runs), the same quantity has the same y-axis in every
run's panel, ticks read as full ``HH:MM`` (``HH:MM:SS`` on short spans) with the date under the
first tick and wherever the day changes, and legends sit outside the plotting area. matplotlib is
the optional extra ``esm-replay[report]``; no pyplot global state is used, and the same inputs give
the same bytes.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from replay.analysis.pareto import OBJECTIVES, PARETO_AXES, param_keys, recommend
from replay.analysis.text import duration, is_fifo, run_kind, words_for
from replay.extras import require
from replay.formats.runfiles import RunResult
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

MAX_RUN_PANELS = 12  # beyond this a per-run figure is unreadable; the JSON still has every run
MAX_ROWS = 16  # blocked figures: beyond this many shards, only the ones that were blocked
GROUPS_SHOWN = 10  # FIFO: the message groups that stalled longest
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
OTHER = "#b8bec6"  # lines beyond the colours: one grey "other" entry
BLOCK = "#d62728"
PICK = "#2ca02c"
# Durations a log axis is labelled with.
_NICE_S = (0.001, 0.01, 0.1, 1, 10, 60, 600, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600)


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
    require("matplotlib", "report")
    import matplotlib

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


# ---------------------------------------------------------------------- axes
def clock_labels(values_ms: Sequence[int]) -> list[str]:
    """Tick labels of a time axis: ``HH:MM`` (``HH:MM:SS`` when a tick falls inside a minute,
    milliseconds inside a second), the date (``YYYY-MM-DD``) under the first tick and under every
    tick whose day differs from the one before."""
    moments = [datetime.fromtimestamp(v / 1000, tz=UTC) for v in values_ms]
    if any(m.microsecond for m in moments):
        clock = "%H:%M:%S.%f"
    elif any(m.second for m in moments):
        clock = "%H:%M:%S"
    else:
        clock = "%H:%M"
    labels, day = [], None
    for m in moments:
        text = m.strftime(clock)
        if clock.endswith("%f"):
            text = text[:-3]
        if m.date() != day:
            text += "\n" + m.strftime("%Y-%m-%d")
            day = m.date()
        labels.append(text)
    return labels


def ms_labels(values_ms: Sequence[float]) -> list[str]:
    """Tick labels of a latency axis (milliseconds) in one unit chosen by the ticks' spacing, as
    precise as it needs: ``980 ms``, ``1.5 s``, ``150 s``, ``30 min``; no two ticks alike."""
    step = min((abs(b - a) for a, b in itertools.pairwise(values_ms)), default=0) or max(
        (abs(v) for v in values_ms), default=0
    )
    if step < 100:
        return [f"{v:,.0f} ms" for v in values_ms]
    unit, name = next(
        (u, n) for u, n in ((3_600_000, "h"), (60_000, "min"), (1000, "s"), (1, "ms")) if step >= u
    )
    scaled = [v / unit for v in values_ms]
    digits = 0 if all(abs(x - round(x)) < 1e-9 for x in scaled) else 1
    return [f"{x:,.{digits}f} {name}" for x in scaled]


_FORMATTER: list[Any] = []


def _ticks_formatter(labels: Callable[[list[float]], list[str]]) -> Any:
    """A matplotlib Formatter that labels all the ticks of an axis at once with ``labels`` (so a
    label may depend on its neighbours: the date where the day changes, a precision)."""
    if not _FORMATTER:
        from matplotlib.ticker import Formatter

        class Labels(Formatter):
            def __init__(self, fn: Callable[[list[float]], list[str]]) -> None:
                self.fn = fn

            def __call__(self, x: float, pos: int | None = None) -> str:
                return self.fn([x])[0].replace("\n", " ")

            def format_ticks(self, values: Sequence[float]) -> list[str]:
                return self.fn(list(values))

        _FORMATTER.append(Labels)
    return _FORMATTER[0](labels)


def _clock_formatter() -> Any:
    """The time axes' Formatter: :func:`clock_labels` of matplotlib's date numbers."""
    import matplotlib.dates as mdates

    def labels(values: list[float]) -> list[str]:
        return clock_labels([round(mdates.num2date(v).timestamp() * 1000) for v in values])

    return _ticks_formatter(labels)


def _time_axis(ax: Axes, span: tuple[int, int], *, labels: bool = True) -> None:
    """The shared time axis: the report's whole span, clock ticks (or none, under a panel)."""
    import matplotlib.dates as mdates

    start, end = span
    ax.set_xlim(
        float(mdates.date2num(np.datetime64(start, "ms"))),
        float(mdates.date2num(np.datetime64(max(end, start + 1000), "ms"))),
    )
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
    ax.xaxis.set_major_formatter(_clock_formatter())
    if not labels:
        ax.tick_params(axis="x", labelbottom=False)


def _span(runs: Sequence[RunResult]) -> tuple[int, int]:
    """From the earliest start to the latest end of ``runs`` (virtual time, ms)."""
    starts = [parse_time(r.meta["start"]) for r in runs]
    ends = [parse_time(r.meta["end"]) for r in runs]
    return min(starts), max(max(ends), min(starts) + 1000)


# Steps of a linear duration axis, in seconds.
_STEPS_S: tuple[float, ...] = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
_STEPS_S += (3600, 7200, 10800, 21600, 43200, 86400)


def _duration_axis(ax: Axes, values_s: Sequence[float]) -> None:
    """A y-axis of durations (seconds) shared by every panel that shows ``values_s``: logarithmic
    when the peak is over 100 times the low values (a blocked shard's hours beside sub-second
    ages: the 5th percentile), linear from 0 otherwise; ticks at round durations either way."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    positive = np.asarray([v for v in values_s if v > 0], dtype=float)
    if not len(positive):
        ax.set_ylim(0, 1)
        return
    peak, low = float(positive.max()), float(np.percentile(positive, 5))
    if peak > 100 * low:
        ax.set_yscale("log")
        bottom = max(float(positive.min()) / 2, 0.001)
        ax.set_ylim(bottom, peak * 2)
        ticks = [v for v in _NICE_S if bottom <= v <= peak * 2]
    else:
        step = next((s for s in _STEPS_S if peak / s <= 6), _STEPS_S[-1])
        ax.set_ylim(0, peak * 1.1)
        ticks = list(np.arange(0, peak * 1.1 + step / 2, step))
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _short(v)))
    ax.yaxis.set_minor_locator(NullLocator())


def _short(seconds: float) -> str:
    """A round duration as a tick reads it: ``100 ms``, ``10 s``, ``1 min``, ``6 h``, ``2 d``."""
    for unit, name in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= unit:
            value = seconds / unit
            return f"{value:.0f} {name}" if value == round(value) else f"{value:.1f} {name}"
    if seconds <= 0:
        return "0"
    return f"{seconds * 1000:.0f} ms"


def _legend_outside(fig: MplFigure, handles: Sequence[Any], labels: Sequence[str]) -> None:
    """One legend for the whole figure, right of every panel (never over the data)."""
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False)


def _share_y(axes: Sequence[Axes]) -> None:
    for ax in axes[1:]:
        ax.sharey(axes[0])


# ---------------------------------------------------------------------- per-shard series
def _series(run: RunResult, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A metrics column per shard: (minute ms, value) with NaN for null."""
    m = run.metrics
    minute = m.column("minute").cast(pa.int64()).to_numpy()
    shard = np.asarray(m.column("shard").to_pylist(), dtype=object)
    values = m.column(column).cast(pa.float64()).fill_null(np.nan).to_numpy()
    return {s: (minute[shard == s], values[shard == s]) for s in sorted(set(shard.tolist()))}


def _palette(peaks: dict[str, float]) -> dict[str, str]:
    """A colour per shard, the same in every run: all of them when they are few, else the ones
    with the highest peaks, and grey for the rest."""
    names = sorted(peaks)
    if len(names) <= len(COLORS):
        return {s: COLORS[i] for i, s in enumerate(names)}
    top = sorted(names, key=lambda s: (-peaks[s], s))[: len(COLORS) - 1]
    chosen = sorted(top)
    return {s: COLORS[chosen.index(s)] if s in chosen else OTHER for s in names}


@dataclass(frozen=True)
class _Lines:
    """A metrics column drawn over time, a line per shard: what it is called and how it reads."""

    column: str
    name: str
    title: str
    ylabel: str
    shards: str
    scale: float  # the column's unit per plotted unit (ms per s)
    durations: bool  # a duration axis (else counts from 0)
    zero: bool  # whether 0 is drawn (not on a log axis of ages: 0 is an empty queue)

    def keep(self, values: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(values)
        return ok if self.zero else ok & (values > 0)


_AGE = _Lines("iterator_age_ms", "iterator-age", "Iterator age over time, per {shard}",
              "iterator age", "{shards}", 1000, True, False)  # fmt: skip
_OLDEST = _Lines("age_of_oldest_message_ms", "oldest-message-age",
                 "Age of the oldest message over time, per queue", "age of oldest message",
                 "queues", 1000, True, False)  # fmt: skip
_LAG = _Lines("offset_lag", "offset-lag", "Offset lag over time, per partition",
              "offset lag (records)", "partitions", 1, False, True)  # fmt: skip


def _shard_lines_figure(
    runs: Sequence[RunResult],
    names: Sequence[str],
    span: tuple[int, int] | None,
    spec: _Lines,
) -> Figure:
    """A metrics column over time: one panel per run, one line per shard (the same colour in
    every run), the same axes in every panel, one legend outside them."""
    span = span or _span(runs)
    words = words_for(run_kind(r.meta) for r in runs)
    column, scale, keep = spec.column, spec.scale, spec.keep
    ylabel, shards = spec.ylabel, spec.shards.format(shards=words.shards)
    panels = min(len(runs), MAX_RUN_PANELS)
    fig = _new_figure(10, 2.4 * panels + 0.5)
    axes = list(fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0])
    every = [_series(r, column) for r in runs]
    data: dict[str, Any] = {}
    for run_series, run_name in zip(every, names, strict=True):
        data[run_name] = {}
        for shard, (minute, values) in run_series.items():
            ok = ~np.isnan(values)
            data[run_name][shard] = [
                [iso_ms(int(t)), int(v)] for t, v in zip(minute[ok], values[ok], strict=True)
            ]
    peaks: dict[str, float] = {}
    shown: list[float] = []
    for run_series in every[:panels]:
        for shard, (_, values) in run_series.items():
            ok = keep(values)
            peaks[shard] = max(peaks.get(shard, 0.0), float(values[ok].max()) if ok.any() else 0.0)
            shown += (values[ok] / scale).tolist()
    colour = _palette(peaks)
    first: dict[str, Any] = {}
    for ax, run_series, run_name in zip(axes, every, names, strict=False):
        for shard, (minute, values) in run_series.items():
            ok = keep(values)
            if ok.any():
                (line,) = ax.plot(
                    _times(minute[ok]), values[ok] / scale, ".-", ms=2, lw=1, color=colour[shard]
                )
                first.setdefault(shard, line)
        ax.set_title(run_name, loc="left", fontsize=10)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
    _share_y(axes)
    if spec.durations:
        _duration_axis(axes[0], shown)
    else:
        from matplotlib.ticker import MaxNLocator

        axes[0].set_ylim(0, max(shown, default=0) * 1.1 or 1)
        axes[0].yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    for i, ax in enumerate(axes):
        _time_axis(ax, span, labels=i == len(axes) - 1)
    axes[-1].set_xlabel("time (UTC)", fontsize=8)
    named = [s for s in sorted(first) if colour[s] != OTHER]
    grey = [s for s in sorted(first) if colour[s] == OTHER]
    handles = [first[s] for s in named] + ([first[grey[0]]] if grey else [])
    labels = named + ([f"{len(grey)} other {shards}"] if grey else [])
    _legend_outside(fig, handles, labels)
    return Figure(spec.name, spec.title.format(shard=words.shard), _png(fig), data)


def iterator_age_figure(
    runs: Sequence[RunResult], names: Sequence[str], span: tuple[int, int] | None = None
) -> Figure:
    """Iterator age (max per minute) over time: one panel per run, one line per shard."""
    return _shard_lines_figure(runs, names, span, _AGE)


def oldest_message_figure(
    runs: Sequence[RunResult], names: Sequence[str], span: tuple[int, int] | None = None
) -> Figure:
    """SQS: ApproximateAgeOfOldestMessage at the end of each minute, one panel per run."""
    return _shard_lines_figure(runs, names, span, _OLDEST)


def offset_lag_figure(
    runs: Sequence[RunResult], names: Sequence[str], span: tuple[int, int] | None = None
) -> Figure:
    """Kafka: OffsetLag (records arrived, not yet read) per partition and minute."""
    return _shard_lines_figure(runs, names, span, _LAG)


def _minute_sums(
    run: RunResult, columns: Sequence[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per minute, each column summed over the run's shards (null counts as 0)."""
    m = run.metrics
    minute = m.column("minute").cast(pa.int64()).to_numpy()
    uniq, inverse = np.unique(minute, return_inverse=True)
    sums = {
        col: np.bincount(
            inverse,
            weights=m.column(col).cast(pa.float64()).fill_null(0).to_numpy(),
            minlength=len(uniq),
        ).astype(np.int64)
        for col in columns
    }
    return uniq, sums


def queue_depth_figure(
    runs: Sequence[RunResult], names: Sequence[str], span: tuple[int, int] | None = None
) -> Figure:
    """SQS: messages visible (the queue depth) and in flight at the end of each minute."""
    span = span or _span(runs)
    shown = list(zip(runs, names, strict=True))[:MAX_RUN_PANELS]
    fig = _new_figure(10, 2.2 * len(shown) + 0.5)
    axes = list(fig.subplots(len(shown), 1, squeeze=False, sharex=True)[:, 0])
    columns = ("messages_visible", "messages_not_visible")
    per_run = [_minute_sums(run, columns) for run in runs]
    data: dict[str, Any] = {
        name: [
            [iso_ms(int(t)), int(v), int(f)]
            for t, v, f in zip(uniq, sums[columns[0]], sums[columns[1]], strict=True)
        ]
        for (uniq, sums), name in zip(per_run, names, strict=True)
    }
    peak = 0
    handles: list[Any] = []
    for ax, (uniq, sums), (_, name) in zip(axes, per_run, shown, strict=False):
        t = _times(uniq)
        (visible,) = ax.plot(t, sums[columns[0]], lw=1.2, color=COLORS[0])
        (flight,) = ax.plot(t, sums[columns[1]], lw=1, ls="--", color=COLORS[1])
        handles = [visible, flight]
        peak = max(peak, *(int(sums[c].max(initial=0)) for c in columns))
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel("messages", fontsize=8)
        ax.grid(alpha=0.3)
    _share_y(axes)
    from matplotlib.ticker import MaxNLocator

    axes[0].set_ylim(0, peak * 1.1 or 1)
    axes[0].yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    for i, ax in enumerate(axes):
        _time_axis(ax, span, labels=i == len(axes) - 1)
    axes[-1].set_xlabel("time (UTC)", fontsize=8)
    _legend_outside(fig, handles, ["visible (queue depth)", "in flight (not visible)"])
    return Figure("queue-depth", "Queue depth: messages visible and in flight", _png(fig), data)


# ---------------------------------------------------------------------- blocked intervals
def _intervals(pairs: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    return [(parse_time(a, field="blocked"), parse_time(b, field="blocked")) for a, b in pairs]


def _blocks(run: RunResult) -> dict[str, list[tuple[int, int]]]:
    shards = run.summary.get("shards") or {}
    return {s: _intervals(info.get("blocked") or []) for s, info in sorted(shards.items())}


def _group_blocks(run: RunResult) -> dict[str, list[tuple[int, int]]]:
    groups = run.summary.get("groups") or {}
    return {g: _intervals(info.get("blocked") or []) for g, info in sorted(groups.items())}


def blocked_figure(
    runs: Sequence[RunResult],
    names: Sequence[str],
    span: tuple[int, int] | None = None,
    *,
    groups: bool = False,
) -> Figure:
    """When each shard (partition; with ``groups``, FIFO message group) was blocked: one panel per
    run, a row per shard, every panel on the same time axis."""
    span = span or _span(runs)
    words = words_for(run_kind(r.meta) for r in runs)
    every = [_group_blocks(r) if groups else _blocks(r) for r in runs]
    worst: dict[str, int] = {}
    for blocks in every:
        for s, spans in blocks.items():
            worst[s] = max(worst.get(s, 0), sum(b - a for a, b in spans))
    if groups:
        rows = sorted(sorted(worst, key=lambda g: (-worst[g], g))[:GROUPS_SHOWN])
        what, name = "message group", "groups-blocked"
    else:
        rows = sorted(worst) if len(worst) <= MAX_ROWS else sorted(s for s in worst if worst[s])
        what, name = words.shard, "blocked"
    hidden = len(worst) - len(rows)
    panels = min(len(runs), MAX_RUN_PANELS)
    n = max(len(rows), 1)
    fig = _new_figure(10, panels * (0.28 * max(n, 2) + 0.9) + 0.4)
    axes = list(fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0])
    data: dict[str, Any] = {}
    for blocks, run_name in zip(every, names, strict=True):
        data[run_name] = {
            s: [[iso_ms(a), iso_ms(b), b - a] for a, b in v] for s, v in blocks.items()
        }
    for i, (ax, blocks, run_name) in enumerate(zip(axes, every, names, strict=False)):
        _blocked_panel(ax, blocks, rows, span)
        total = sum(b - a for spans in blocks.values() for a, b in spans)
        note = f"blocked {duration(total)} in all" if total else "never blocked"
        ax.set_title(f"{run_name}: {note}", loc="left", fontsize=10)
        _time_axis(ax, span, labels=i == len(axes) - 1)
    axes[-1].set_xlabel("time (UTC)", fontsize=8)
    title = f"Blocked time, per {what}"
    if groups:
        title = f"Message groups blocked (FIFO), the {min(len(worst), GROUPS_SHOWN)} longest"
    elif hidden:
        title += f" ({hidden} {words.shards} never blocked not shown)"
    return Figure(name, title, _png(fig), data)


def _blocked_panel(
    ax: Axes, blocks: dict[str, list[tuple[int, int]]], rows: Sequence[str], span: tuple[int, int]
) -> None:
    """Bars of the blocked intervals; each labelled with its length, beside the bar (inside it
    when it reaches the right edge), and at least a hairline wide however short it was."""
    start, end = span
    for y, shard in enumerate(rows):
        for a, b in blocks.get(shard, []):
            ax.barh(
                y,
                np.timedelta64(max(b - a, 1), "ms"),
                left=np.datetime64(a, "ms"),
                height=0.6,
                color=BLOCK,
                edgecolor=BLOCK,
                linewidth=1.2,  # a few seconds on a day's axis still shows
            )
            late = (b - start) > 0.8 * (end - start)
            ax.annotate(
                duration(b - a),
                (np.datetime64(a if late else b, "ms"), y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="white" if late else "#1b1f24",
                fontweight="bold" if late else "normal",
            )
    ax.set_yticks(range(len(rows)), list(rows), fontsize=7)
    ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)


# ---------------------------------------------------------------------- invocations
def invocations_figure(
    runs: Sequence[RunResult], names: Sequence[str], span: tuple[int, int] | None = None
) -> Figure:
    """Invocations, errors and throttles per minute (all shards), one panel per run: each on its
    own axes (a thousand errors do not vanish under invocations), the same y-axis for the same
    quantity in every run; throttles only when a run had some."""
    span = span or _span(runs)
    shown = list(zip(runs, names, strict=True))[:MAX_RUN_PANELS]
    columns = ("invocations", "errors", "throttles")
    per_run = [_minute_sums(run, columns) for run, _ in zip(runs, names, strict=True)]
    data: dict[str, Any] = {}
    for (uniq, sums), name in zip(per_run, names, strict=True):
        data[name] = [
            [iso_ms(int(t)), int(a), int(e), int(th)]
            for t, a, e, th in zip(
                uniq, sums["invocations"], sums["errors"], sums["throttles"], strict=True
            )
        ]
    quantities = [("invocations", "invocations", COLORS[0], 2.0)]
    for col, color in (("errors", COLORS[3]), ("throttles", COLORS[1])):
        if any(sums[col].any() for _, sums in per_run[: len(shown)]):
            quantities.append((col, col, color, 1.0))
    absent = [c for c in ("errors", "throttles") if c not in {q[0] for q in quantities}]
    from matplotlib.ticker import MaxNLocator

    rows = len(shown) * len(quantities)
    ratios = [q[3] for _ in shown for q in quantities]
    fig = _new_figure(10, sum(ratios) * 1.0 + 0.35 * len(shown) + 0.5)
    grid = fig.subplots(rows, 1, squeeze=False, sharex=True, height_ratios=ratios)[:, 0]
    by_quantity: dict[str, list[Axes]] = {q[0]: [] for q in quantities}
    for k, ((uniq, sums), (_, name)) in enumerate(zip(per_run, shown, strict=False)):
        for j, (col, label, color, _) in enumerate(quantities):
            ax = grid[k * len(quantities) + j]
            ax.plot(_times(uniq), sums[col], lw=1, color=color, drawstyle="steps-post")
            ax.set_ylabel(f"{label}\nper minute", fontsize=8)
            ax.grid(alpha=0.3)
            if j == 0:
                none = f" (no {' or '.join(absent)})" if absent else ""
                ax.set_title(name + none, loc="left", fontsize=10)
            by_quantity[col].append(ax)
    for col, axes in by_quantity.items():
        _share_y(axes)
        peak = max((int(s[col].max(initial=0)) for _, s in per_run[: len(shown)]), default=0)
        axes[0].set_ylim(0, peak * 1.1 or 1)
        axes[0].yaxis.set_major_locator(
            MaxNLocator(nbins=5 if col == "invocations" else 3, integer=True)
        )
    for i, ax in enumerate(grid):
        last_of_run = (i + 1) % len(quantities) == 0
        _time_axis(ax, span, labels=last_of_run)
    grid[-1].set_xlabel("time (UTC)", fontsize=8)
    title = "Invocations per minute" + "".join(f", {q[0]}" for q in quantities[1:])
    return Figure("invocations", title, _png(fig), data)


# ---------------------------------------------------------------------- per family
def run_figures(runs: Sequence[RunResult], names: Sequence[str]) -> list[Figure]:
    """The figures of ``runs``, in their families' words, all on one time span: streams an
    iterator-age and a blocked figure; SQS the age of the oldest message and the queue depth
    (and, for a FIFO queue whose groups stalled, the blocked groups); Kafka the offset lag and
    the blocked partitions; every run its invocations. Runs of several families each get their
    family's figures (the blocked figure covers streams and Kafka together)."""
    span = _span(runs)
    kinds = [run_kind(r.meta) for r in runs]

    def pick(test: Callable[[SourceKind, RunResult], bool]) -> tuple[list[RunResult], list[str]]:
        chosen = [(r, n) for r, n, k in zip(runs, names, kinds, strict=True) if test(k, r)]
        return [r for r, _ in chosen], [n for _, n in chosen]

    figures: list[Figure] = []
    streams = pick(lambda k, _r: k.is_stream)
    if streams[0]:
        figures.append(iterator_age_figure(*streams, span))
    queues = pick(lambda k, _r: k is SourceKind.SQS)
    if queues[0]:
        figures.append(oldest_message_figure(*queues, span))
        figures.append(queue_depth_figure(*queues, span))
    topics = pick(lambda k, _r: k is SourceKind.KAFKA)
    if topics[0]:
        figures.append(offset_lag_figure(*topics, span))
    sharded = pick(lambda k, _r: k is not SourceKind.SQS)
    if sharded[0]:
        figures.append(blocked_figure(*sharded, span))
    fifo = pick(lambda k, r: is_fifo(r.meta) and bool(r.summary.get("groups")))
    if fifo[0]:
        figures.append(blocked_figure(*fifo, span, groups=True))
    figures.append(invocations_figure(runs, names, span))
    return figures


# ---------------------------------------------------------------------- sweep figures
_LABELS = {
    "discarded": "records discarded",
    "duplicates": "duplicate deliveries",
    "latency_p99_ms": "p99 latency",
    "invocations": "invocations",
}


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _axis_format(ax: Axes, axis: str, values: Sequence[float]) -> None:
    """A sweep figure's y-axis: latencies read as durations, counts as whole numbers; a figure
    every point shares gets an axis from 0 to twice it (not a sliver around one value)."""
    from matplotlib.ticker import MaxNLocator

    finite = [v for v in values if not np.isnan(v)]
    if finite and max(finite) == min(finite):
        ax.set_ylim(0, 2 * finite[0] or 1)
    if axis.endswith("_ms"):
        ax.yaxis.set_major_formatter(_ticks_formatter(ms_labels))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def pareto_figure(sweep: Sweep) -> Figure:
    """The sweep's points in two planes of the four objectives, the Pareto front highlighted.

    The balanced pick is a ring drawn over its point (the point shows through it); points that
    coincide in a plane are labelled with how many they are; the legend is below the panels."""
    rows = sweep.results.to_pylist()
    recs = {o: recommend(sweep.results, o) for o in OBJECTIVES}
    rec = {o: r.point for o, r in recs.items()}
    fig = _new_figure(10, 4.6)
    axes = fig.subplots(1, 2)
    handles: list[Any] = []
    for ax, (x, y) in zip(
        axes, (("invocations", "latency_p99_ms"), ("duplicates", "discarded")), strict=True
    ):
        handles = []
        for on, color, label in (
            (False, "#9aa5b1", "dominated"),
            (True, "#d62728", "Pareto front"),
        ):
            pts = [r for r in rows if bool(r["pareto"]) == on]
            handles.append(
                ax.scatter(
                    [_num(r[x]) for r in pts],
                    [_num(r[y]) for r in pts],
                    s=26,
                    color=color,
                    label=label,
                    zorder=3,
                )
            )
        best = next(r for r in rows if r["point"] == rec["balanced"])
        handles.append(
            ax.scatter(
                [_num(best[x])],
                [_num(best[y])],
                s=260,
                marker="o",
                facecolors="none",
                edgecolors=PICK,
                linewidths=2,
                label=f"balanced pick ({best['point']})",
                zorder=4,
            )
        )
        where: dict[tuple[float, float], int] = {}
        for r in rows:
            key = (_num(r[x]), _num(r[y]))
            where[key] = where.get(key, 0) + 1
        for (px, py), count in sorted(where.items()):
            if count > 1 and not (np.isnan(px) or np.isnan(py)):
                ax.annotate(
                    f"×{count}",
                    (px, py),
                    xytext=(8, 6),
                    textcoords="offset points",
                    fontsize=8,
                    zorder=5,
                )
        ax.set_xlabel(_LABELS[x])
        ax.set_ylabel(_LABELS[y])
        ax.margins(0.15)
        _axis_format(ax, y, [_num(r[y]) for r in rows])
        xs = [_num(r[x]) for r in rows if not np.isnan(_num(r[x]))]
        if xs and max(xs) == min(xs):
            ax.set_xlim(0, 2 * xs[0] or 1)
        ax.grid(alpha=0.3)
    fig.legend(
        handles,
        [str(h.get_label()) for h in handles],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
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
        "ties": {o: list(r.ties) for o, r in recs.items()},
    }
    return Figure(f"pareto-{_slug(sweep.name)}", f"Pareto front of {sweep.name}", _png(fig), data)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (
        (0, value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (1, str(value))
    )


def tradeoff_figure(sweep: Sweep) -> Figure:
    """Each objective against each varied parameter: every point, and the mean per value; the
    panels of one objective share their y-axis."""
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
                if any(x == k and not np.isnan(y) for x, y in zip(xs, ys, strict=True))
                else float("nan")
                for k in range(len(values))
            ]
            ax.plot(
                range(len(values)), means, "o-", color=COLORS[j], lw=1.5, ms=6, mfc="none", zorder=3
            )
            ax.set_xticks(
                range(len(values)),
                [json.loads(v) if isinstance(json.loads(v), str) else v for v in values],
                fontsize=7,
            )
            ax.set_xlim(-0.5, len(values) - 0.5)
            ax.set_xlabel(key, fontsize=8)
            if i == 0:
                ax.set_title(_LABELS[axis], fontsize=9)
            _axis_format(ax, axis, [])
            ax.grid(alpha=0.3)
            curves[axis] = [
                [json.loads(v), None if np.isnan(m) else m]
                for v, m in zip(values, means, strict=True)
            ]
        data["curves"][key] = curves
    for j, axis in enumerate(PARETO_AXES):
        column = [axes[i][j] for i in range(max(len(keys), 1))]
        _share_y(column)
        finite = [v for r in rows if not np.isnan(v := _num(r[axis]))]
        top = max(finite, default=0.0)
        column[0].set_ylim(0, top * 1.15 or 1)
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
