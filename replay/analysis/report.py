"""A self-contained HTML report of runs and sweeps: ``esm-replay report``.

One HTML file, its figures embedded as PNG data URIs (and also written as PNG files beside it), each
figure followed by the data it plots as a JSON block, so the page can be checked, diffed and
re-plotted without the run directories:

* for streams, iterator age over time per shard and the blocked intervals per shard; for SQS, the
  age of the oldest message and the queue depth (messages visible and in flight), and the stalled
  message groups of a FIFO queue; for Kafka, the offset lag and the blocked intervals per
  partition (metrics.parquet, run.json summary);
* invocations, errors and throttles per minute, per run;
* for sweeps, the Pareto front and the trade-off curves of each varied parameter, the
  recommendation of each objective with the figures it wins by, its ties, and what the sweep
  cannot judge (:func:`replay.analysis.pareto.caveats`);
* the comparison table of the runs, and calibration against production's failure records.

The figures are :mod:`replay.analysis.figures` (matplotlib, the optional extra
``esm-replay[report]``), every run on the same time axis and the same quantity on the same y-axis;
this module writes the page and the PNG files.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay.analysis.calibration import run_calibration
from replay.analysis.compare import Comparison, compare
from replay.analysis.figures import (
    Figure,
    Sweep,
    load_matplotlib,
    pareto_figure,
    run_figures,
    tradeoff_figure,
)
from replay.analysis.pareto import (
    OBJECTIVES,
    PARETO_AXES,
    Recommendation,
    param_keys,
    read_results,
    recommend,
)
from replay.analysis.query import is_run, is_sweep, unique_names
from replay.errors import UserError
from replay.formats.runfiles import RunResult, read_run


@dataclass(frozen=True)
class Report:
    """A written report: the HTML file, the PNG files beside it and the figures."""

    path: Path
    pngs: tuple[Path, ...]
    figures: tuple[Figure, ...]


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#1b1f24}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:.85em;margin:1em 0}
td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
td.text{white-space:normal;text-align:left;min-width:10em;max-width:30em}
ul.caveats li{margin:.3em 0}
tr.differs td{background:#fff8c5;font-weight:600}tr.front td{background:#ffebe9}
img{max-width:100%;border:1px solid #d0d7de}
.note{color:#57606a;font-size:.85em}
"""


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    classes: Sequence[str] = (),
    wrap: Sequence[int] = (),
) -> str:
    """An HTML table; the columns of ``wrap`` hold sentences and wrap."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(
            ('<td class="text">' if j in wrap else "<td>")
            + f"{html.escape('' if v is None else str(v))}</td>"
            for j, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _comparison_html(comparison: Comparison) -> str:
    rows = [
        [
            "\u00a0" * (len(r.label) - len(r.label.lstrip())) + r.label.strip(),
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


def _sweep_html(sweep: Sweep) -> str:
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
            r.why,
            r.tie_note or "-",
        ]
        for r in recs
    ]
    return (
        f"<h2>Sweep {html.escape(sweep.name)}</h2>"
        f'<p class="note">{table.num_rows} point(s); Pareto front rows highlighted.</p>'
        + _table(
            ["objective", "point", "parameters", "rule", "why it wins", "tie"],
            rec_rows,
            wrap=(2, 3, 4, 5),
        )
        + _caveats_html(recs)
        + _table([c.removeprefix("param.") for c in cols], rows, classes)
    )


def _caveats_html(recs: Sequence[Recommendation]) -> str:
    """What the sweep cannot judge: each caveat once, with the objectives it concerns."""
    seen: dict[str, list[str]] = {}
    for r in recs:
        for c in r.caveats:
            seen.setdefault(c, []).append(r.objective)
    if not seen:
        return ""
    items = "".join(
        f"<li>{html.escape(c)}"
        + ("" if len(objs) == len(recs) else f" <em>({html.escape(', '.join(objs))})</em>")
        + "</li>"
        for c, objs in seen.items()
    )
    return f'<p class="note">What this sweep cannot judge:</p><ul class="caveats">{items}</ul>'


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
        Sweep(n, p, read_results(p)) for n, p in zip(names[len(runs) :], sweep_paths, strict=True)
    ]
    load_matplotlib()
    figures: list[Figure] = []
    sections: list[str] = []
    if runs:
        comparison = compare(runs, run_names)
        sections.append("<h2>Runs</h2>" + _comparison_html(comparison))
        sections.append(_calibration_html(runs, run_names))
        run_figs = run_figures(runs, run_names)
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
