"""A self-contained HTML report of runs and sweeps: ``esm-replay report``.

One HTML file, its figures embedded as PNG data URIs (and also written as PNG files beside it), each
figure followed by the data it plots as a JSON block, so the page can be checked, diffed and
re-plotted without the run directories:

* iterator age over time, per run and shard (metrics.parquet);
* blocked intervals per shard, per run (run.json summary);
* invocations, errors and throttles per minute, per run;
* for sweeps, the Pareto front and the trade-off curves of each varied parameter;
* the comparison table of the runs, and calibration against production's failure records.

Figures are drawn with matplotlib (the optional extra ``esm-replay[report]``) on the Agg canvas,
without pyplot's global state; the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from replay.analysis.compare import Comparison, compare, run_calibration
from replay.analysis.pareto import OBJECTIVES, PARETO_AXES, param_keys, read_results, recommend
from replay.analysis.query import is_run, is_sweep, unique_names
from replay.analysis.text import duration
from replay.errors import UserError
from replay.formats.runfiles import RunResult, read_run
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
class Report:
    """A written report: the HTML file, the PNG files beside it and the figures."""

    path: Path
    pngs: tuple[Path, ...]
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class _Sweep:
    name: str
    path: Path
    results: pa.Table


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UserError("report needs matplotlib: pip install 'esm-replay[report]'") from None
    matplotlib.use("Agg", force=False)
    return matplotlib


def _new_figure(width: float, height: float) -> MplFigure:
    _matplotlib()
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


def pareto_figure(sweep: _Sweep) -> Figure:
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


def tradeoff_figure(sweep: _Sweep) -> Figure:
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


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#1b1f24}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:.85em;margin:1em 0}
td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
tr.differs td{background:#fff8c5;font-weight:600}tr.front td{background:#ffebe9}
img{max-width:100%;border:1px solid #d0d7de}
.note{color:#57606a;font-size:.85em}
"""


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _comparison_html(comparison: Comparison) -> str:
    rows = [
        [
            r.label.strip() if not r.label.startswith(" ") else "\u00a0\u00a0" + r.label.strip(),
            *r.values,
        ]
        for r in comparison.rows
    ]
    classes = [
        "differs" if r.differs and len(comparison.names) > 1 else "" for r in comparison.rows
    ]
    return _table(["", *comparison.names], rows, classes)


def _calibration_html(runs: Sequence[RunResult], names: Sequence[str]) -> str:
    rows = []
    for run, name in zip(runs, names, strict=True):
        c = run_calibration(run)
        if c is not None:
            rows.append(
                [name, c.observed, c.produced, c.matched, c.missed, c.extra, f"{c.agreement:.1f} %"]
            )
    if not rows:
        return ""
    return (
        '<h2>Calibration against production</h2><p class="note">Production\'s failure records '
        "(capture <code>observed/failures.jsonl</code>) matched one to one with the run's by shard "
        "and overlapping sequence range; reproduced = matched / (matched + missed + extra).</p>"
        + _table(["run", "observed", "produced", "matched", "missed", "extra", "reproduced"], rows)
    )


def _sweep_html(sweep: _Sweep) -> str:
    table = sweep.results
    keys = param_keys(table)
    cols = [
        "point",
        *(f"param.{k}" for k in keys),
        *PARETO_AXES,
        "iterator_age_max_ms",
        "cost_usd",
        "pareto",
    ]
    rows = [[r[c] for c in cols] for r in table.to_pylist()]
    classes = ["front" if r[-1] else "" for r in rows]
    recs = [recommend(table, o) for o in OBJECTIVES]
    rec_rows = [
        [
            r.objective,
            r.point,
            " ".join(f"{k}={json.dumps(v)}" for k, v in r.params.items()),
            r.reason,
        ]
        for r in recs
    ]
    return (
        f"<h2>Sweep {html.escape(sweep.name)}</h2>"
        f'<p class="note">{table.num_rows} point(s); Pareto front rows highlighted.</p>'
        + _table(["objective", "point", "parameters", "why"], rec_rows)
        + _table([c.removeprefix("param.") for c in cols], rows, classes)
    )


def _figure_html(fig: Figure) -> str:
    uri = "data:image/png;base64," + base64.b64encode(fig.png).decode()
    payload = json.dumps(fig.data, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
    return (
        f'<figure id="fig-{fig.name}"><img alt="{html.escape(fig.title)}" src="{uri}">'
        f"<figcaption>{html.escape(fig.title)}</figcaption></figure>"
        f'<script type="application/json" class="plot-data" data-figure="{fig.name}">{payload}</script>'
    )


def render_html(
    title: str,
    sections: Sequence[str],
) -> str:
    """The page: inline CSS, no external resource of any kind."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "\n".join(sections) + "</body></html>\n"
    )


# ---------------------------------------------------------------------- entry point
def _inputs(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    runs, sweeps = [], []
    for raw in paths:
        p = Path(raw)
        if is_run(p):
            runs.append(p)
        elif is_sweep(p):
            sweeps.append(p)
        else:
            raise UserError(f"{p}: not a run (run.json) or sweep (sweep.json) directory")
    if not runs and not sweeps:
        raise UserError("report: give at least one RUN or SWEEP directory")
    return runs, sweeps


def build_report(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Report:
    """Write the HTML report of ``paths`` (runs and sweeps) to ``out``, PNGs beside it.

    Raises:
        UserError: a path that is neither a run nor a finished sweep, or matplotlib missing.
    """
    target = Path(out)
    if target.is_dir():
        raise UserError(f"{target}: is a directory; give the report's file name (report.html)")
    run_paths, sweep_paths = _inputs(paths)
    names = unique_names([*run_paths, *sweep_paths])
    runs = [read_run(p) for p in run_paths]
    run_names = names[: len(runs)]
    sweeps = [
        _Sweep(n, p, read_results(p)) for n, p in zip(names[len(runs) :], sweep_paths, strict=True)
    ]
    _matplotlib()
    figures: list[Figure] = []
    sections: list[str] = []
    if runs:
        comparison = compare(runs, run_names)
        sections.append("<h2>Runs</h2>" + _comparison_html(comparison))
        sections.append(_calibration_html(runs, run_names))
        run_figs = [
            iterator_age_figure(runs, run_names),
            blocked_figure(runs, run_names),
            invocations_figure(runs, run_names),
        ]
        figures += run_figs
        sections += [f"<h2>{html.escape(f.title)}</h2>" + _figure_html(f) for f in run_figs]
    for sweep in sweeps:
        sweep_figs = [pareto_figure(sweep), tradeoff_figure(sweep)]
        figures += sweep_figs
        sections.append(_sweep_html(sweep))
        sections += [f"<h3>{html.escape(f.title)}</h3>" + _figure_html(f) for f in sweep_figs]
    title = "esm-replay report: " + ", ".join(names)
    return _write(target, render_html(title, [s for s in sections if s]), figures)


def _write(target: Path, page: str, figures: Sequence[Figure]) -> Report:
    """Write the PNGs and then the HTML, each to a temporary name renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = []
    tmp_files: list[tuple[Path, Path]] = []
    try:
        for fig in figures:
            png = target.with_name(f"{target.stem}-{fig.name}.png")
            tmp = png.with_name(f".{png.name}.tmp-{os.getpid()}")
            tmp.write_bytes(fig.png)
            tmp_files.append((tmp, png))
        tmp_html = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp_html.write_text(page, encoding="utf-8")
        tmp_files.append((tmp_html, target))
        for tmp, final in tmp_files:
            os.replace(tmp, final)
            if final != target:
                written.append(final)
    finally:
        for tmp, _ in tmp_files:
            tmp.unlink(missing_ok=True)
    return Report(target, tuple(written), tuple(figures))
