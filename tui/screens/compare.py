"""S5 Compare 2+ runs: the first divergence up front, then Figures and Diverging records.

Everything is the core's: :func:`replay.analysis.compare.compare` (its rows — the CLI's table —
and its first divergence) and :func:`replay.analysis.divergence.divergences` (every record whose
fate differs, in arrival order). Rows that differ carry ``*`` in their label as well as a colour;
``d`` shows only those (the default below 100 columns). ``Enter`` on a diverging record, or ``x``
for the first divergence, opens the record's chain in every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static, TabbedContent, TabPane

from replay.errors import UserError
from tui.format import compact_time, fold_prefix, ms_of
from tui.screens.base import EsmScreen
from tui.widgets.paged_table import ArrowSource, PagedTable

if TYPE_CHECKING:
    from replay.analysis.compare import Comparison

DIFF_MARK = "*"


def figure_rows(comparison: Comparison, *, differences_only: bool) -> pa.Table:
    """Compare's rows as a table: ``label`` (``*`` first where the runs differ), one column per
    run (``run_0``…), and ``key``."""
    rows = [r for r in comparison.rows if r.differs or not differences_only]
    data: dict[str, Any] = {
        "label": [(DIFF_MARK if r.differs else " ") + " " + r.label for r in rows],
    }
    for i in range(len(comparison.names)):
        data[f"run_{i}"] = [str(r.values[i]) for r in rows]
    data["key"] = [r.key for r in rows]
    return pa.table({k: pa.array(v, pa.string()) for k, v in data.items()})


def banner(comparison: Comparison, names: Sequence[str]) -> str:
    """The first divergence, as compare names it: where, when it arrived, each run's fate."""
    d = comparison.divergence
    if d is None:
        return "no divergence: every record has the same fate in every run"
    when = "arrival unknown" if d.arrival_ms is None else f"arrived {compact_time(d.arrival_ms)}"
    width = max(len(n) for n in names)
    lines = [f"▲ first divergence {d.shard}#{d.pos}  {when}"]
    lines += [f"  {n:<{width}}  {fate}" for n, fate in zip(names, d.fates, strict=True)]
    lines[-1] += "   x explain all"
    return "\n".join(lines)


class CompareScreen(EsmScreen):
    """Several runs side by side."""

    HELP = (
        "Runs side by side: the first record whose fate differs, the comparison table (the "
        "rows marked * differ), and every diverging record."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('figures')", "Figures", show=False, id="compare.tab1"),
        Binding("2", "tab('diverging')", "Diverging", show=False, id="compare.tab2"),
        Binding("d", "toggle_differences", "Diff only", id="compare.diff"),
        Binding("x", "explain_first", "Explain first", id="compare.explain"),
        Binding("question_mark", "app.help", "Help", id="compare.help"),
    ]

    def __init__(self, runs: Sequence[Path], names: Sequence[str] | None = None) -> None:
        super().__init__()
        self.runs = [Path(r) for r in runs]
        self.names = list(names) if names is not None else [r.name for r in self.runs]
        self.comparison: Comparison | None = None
        self.diverging: pa.Table | None = None
        self.differences_only: bool | None = None  # decided by the width at first paint

    def crumb(self) -> str:
        return "compare"

    def subtitle(self) -> str:
        return " ↔ ".join(self.names)

    def compose(self) -> ComposeResult:
        yield self.crumbs()
        yield Static("", id="warning", markup=False)
        yield Static("comparing…", id="banner", markup=False)
        with TabbedContent(initial="figures", id="compare-tabs"):
            with TabPane("1 Figures", id="figures"):
                yield PagedTable(
                    ArrowSource(_no_figures(len(self.runs))),
                    show=("label", *[f"run_{i}" for i in range(len(self.runs))]),
                    labels={f"run_{i}": n for i, n in enumerate(self.names)} | {"label": ""},
                    right=[f"run_{i}" for i in range(len(self.runs))],
                    widths={"label": 34} | {f"run_{i}": 18 for i in range(len(self.runs))},
                    fixed_columns=1,
                    id="figures-table",
                )
            with TabPane("2 Diverging records", id="diverging"):
                yield Static("", id="diverging-title", markup=False)
                yield PagedTable(ArrowSource(_no_divergences(len(self.runs))), id="diverging-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-tabs").loading = True
        self.load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load(self) -> None:
        """Read the runs and compare them (1–3 s on large runs: off the UI thread)."""
        from replay.analysis.compare import compare
        from replay.analysis.divergence import divergences
        from replay.formats.runfiles import read_run

        try:
            runs = [read_run(p) for p in self.runs]
            comparison = compare(runs, self.names)
            table = divergences(runs)
        except UserError as exc:
            self.app.call_from_thread(self._error, str(exc))
            return
        fingerprints = {(r.meta.get("capture") or {}).get("fingerprint") for r in runs}
        self.app.call_from_thread(self._show, comparison, table, len(fingerprints) > 1)

    def _error(self, text: str) -> None:
        self.query_one("#compare-tabs").loading = False
        self.query_one("#banner", Static).update(f"error: {text}")

    def _show(self, comparison: Comparison, table: pa.Table, mixed: bool) -> None:
        self.comparison = comparison
        self.diverging = table
        self.query_one("#compare-tabs").loading = False
        if mixed:
            warning = self.query_one("#warning", Static)
            warning.update("⚠ runs replay different captures: figures compare, records do not")
            warning.add_class("shown")
        self.query_one("#banner", Static).update(banner(comparison, self.names))
        if self.differences_only is None:
            self.differences_only = self.app.size.width < 100
        self._fill_figures()
        labels = {f"fate_{i}": n for i, n in enumerate(self.names)}
        prefix, _ = fold_prefix(sorted(set(table.column("shard").to_pylist())))
        self.query_one("#diverging-title", Static).update(
            f"{table.num_rows} record(s) whose fate differs, in arrival order"
            + (f" · shard… = {prefix}…" if prefix else "")
        )
        dtable = self.query_one("#diverging-table", PagedTable)
        dtable.set_source(
            ArrowSource(table, title="diverging"),
            show=("shard", "pos", *labels, "arrival", "seq"),
            labels=labels | ({"shard": "shard…"} if prefix else {}),
            formatters={
                "arrival": lambda v: compact_time(ms_of(v)),
                "shard": lambda v: str(v)[len(prefix) :],
            },
            widths={f: 32 for f in labels},
        )
        self.query_one("#figures-table", PagedTable).focus()

    def _fill_figures(self) -> None:
        if self.comparison is None:
            return
        rows = figure_rows(self.comparison, differences_only=bool(self.differences_only))
        self.query_one("#figures-table", PagedTable).set_source(ArrowSource(rows, title="figures"))

    def figure_labels(self) -> list[str]:
        """The labels the Figures tab shows now (as compare words them)."""
        table = self.query_one("#figures-table", PagedTable)
        source = table.source
        return [label[2:] for label in source.table.column("label").to_pylist()]

    def action_toggle_differences(self) -> None:
        self.differences_only = not self.differences_only
        self._fill_figures()
        self.notify("differences only" if self.differences_only else "every figure", timeout=2)

    def action_tab(self, tab: str) -> None:
        self.query_one("#compare-tabs", TabbedContent).active = tab
        self.query_one(f"#{tab}-table").focus()

    def action_explain_first(self) -> None:
        d = None if self.comparison is None else self.comparison.divergence
        if d is None:
            self.notify("no divergence to explain", severity="warning")
            return
        self.esm.open_record(self.runs, ref=f"{d.shard}#{d.pos}", names=self.names)

    def on_data_table_row_selected(self, event: Any) -> None:
        table = event.control
        if not isinstance(table, PagedTable) or not table.row_count:
            return
        row = table.row_values()
        if table.id == "diverging-table":
            self.esm.open_record(self.runs, ref=f"{row['shard']}#{row['pos']}", names=self.names)
        elif table.id == "figures-table":
            key = str(row.get("key") or "")
            if key.startswith("divergence."):
                self.action_explain_first()
            elif key.startswith("blocked_ms.") and not key.startswith("blocked_ms.group."):
                shard = key.removeprefix("blocked_ms.")
                self.esm.open_shard(self.runs[0], shard, self.names[0])


def _no_figures(n: int) -> pa.Table:
    names = ["label", *[f"run_{i}" for i in range(n)], "key"]
    return pa.table({c: pa.array([], pa.string()) for c in names})


def _no_divergences(n: int) -> pa.Table:
    fields = [
        ("row", pa.int64()),
        ("shard", pa.string()),
        ("seq", pa.string()),
        ("pos", pa.int64()),
        ("arrival", pa.timestamp("ms", tz="UTC")),
    ] + [(f"fate_{i}", pa.string()) for i in range(n)]
    return pa.schema(fields).empty_table()
