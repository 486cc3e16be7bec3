"""S1 Home: the catalog — captures with their runs beneath, then sweeps and unreadable entries.

Everything comes from :func:`replay.analysis.catalog.scan` (JSON only, so it opens at once on
hundreds of runs). ``Enter`` opens a run, ``space`` marks runs, ``c`` compares the marked runs (or
the run under the cursor with its siblings), ``r`` rescans.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from replay.analysis.catalog import CaptureEntry, Catalog, RunEntry, SweepEntry, scan
from tui.format import NONE, count, duration
from tui.screens.base import EsmScreen
from tui.widgets.paged_table import ArrowSource, PagedTable

MARK = "●"
COLUMNS = ("mark", "name", "kind", "records", "discard", "dup", "blocked", "age max")


def _figures(run: RunEntry) -> tuple[str, str, str, str, str]:
    h = run.headline
    disp = h.get("dispositions") or {}
    return (
        count(h.get("records")),
        count(int(disp.get("discarded", 0)) + int(disp.get("dead-lettered", 0))),
        count(h.get("duplicates")),
        duration(h.get("blocked_ms")),
        duration((h.get("iterator_age_ms") or {}).get("max")),
    )


def catalog_rows(
    cat: Catalog, marked: set[Path]
) -> tuple[pa.Table, list[CaptureEntry | RunEntry | SweepEntry | tuple[Path, str]]]:
    """The home table (one row per capture, run, sweep or problem) and the entry of each row."""
    rows: list[tuple[str, ...]] = []
    entries: list[Any] = []

    def run_row(run: RunEntry, indent: str) -> None:
        mark = MARK if run.path in marked else " "
        rows.append((mark, indent + run.name, "run", *_figures(run)))
        entries.append(run)

    for cap in cat.captures:
        rows.append((" ", "▾ " + cap.name, cap.kind, count(cap.records), NONE, NONE, NONE, NONE))
        entries.append(cap)
        for run in cat.runs_of(cap):
            if run.sweep is None:
                run_row(run, "    ")
    for run in cat.runs_of(None):
        if run.sweep is None:
            run_row(run, "")
    for sweep in cat.sweeps:
        points = f"{sweep.finished}/{sweep.points} points"
        rows.append((" ", "◆ " + sweep.name, "sweep", points, NONE, NONE, NONE, NONE))
        entries.append(sweep)
    for path, why in cat.problems:
        rows.append(("⚠", f"{path.name}: {why}", "problem", "", "", "", "", ""))
        entries.append((path, why))
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    table = pa.table(
        {
            "index": pa.array(range(len(rows)), pa.int64()),
            **{c: pa.array(list(v), pa.string()) for c, v in zip(COLUMNS, cols, strict=True)},
        }
    )
    return table, entries


def detail(entry: Any) -> str:
    """The strip under the table: what the row under the cursor is."""
    if isinstance(entry, RunEntry):
        h = entry.headline
        results = h.get("results") or {}
        errs = ", ".join(f"{k} {count(v)}" for k, v in sorted(results.items()) if k != "ok")
        over = " ".join(entry.overrides) or "none"
        wall = NONE if entry.wall_seconds is None else f"{entry.wall_seconds:.1f} s"
        return (
            f"{entry.name}: config {entry.config_source} · overrides {over} · seed {entry.seed}\n"
            f"invocations {count(h.get('invocations'))}"
            + (f" ({errs})" if errs else "")
            + f" · destination records {count(h.get('destination_records'))} · wall {wall}"
        )
    if isinstance(entry, CaptureEntry):
        obs = " · observed failures" if entry.has_observed else ""
        return (
            f"{entry.name}: {entry.kind} {entry.source or ''} · {entry.shards} shard(s) · "
            f"{count(entry.records)} records · {entry.esm_configs} ESM configuration(s){obs}\n"
            f"{entry.path}"
        )
    if isinstance(entry, SweepEntry):
        return f"{entry.name}: sweep of {entry.points} point(s), {entry.finished} finished\n{entry.path}"
    if isinstance(entry, tuple):
        return f"⚠ {entry[1]}"
    return ""


class HomeScreen(EsmScreen):
    """The catalog of everything under the given paths."""

    HELP = "The catalog: captures with their runs beneath, sweeps, and entries that cannot be read."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="screen.back"),
        Binding("space", "mark", "Mark", id="home.mark"),
        Binding("c", "compare", "Compare", id="home.compare"),
        Binding("r", "rescan", "Rescan", id="home.rescan"),
        Binding("question_mark", "app.help", "Help", id="home.help"),
        Binding("ctrl+q", "app.quit", "Quit", id="home.quit"),
    ]

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        self.paths = list(paths)
        self.catalog = scan(self.paths)
        self.marked: set[Path] = set()
        self.table_rows, self.entries = catalog_rows(self.catalog, self.marked)

    def crumb(self) -> str:
        return "catalog"

    def subtitle(self) -> str:
        c = self.catalog
        where = ", ".join(str(p) for p in self.paths)
        return f"{where} ({len(c.captures)} captures, {len(c.runs)} runs, {len(c.sweeps)} sweeps)"

    def compose(self) -> ComposeResult:
        yield self.crumbs()
        if not self.entries:
            yield Static(
                "nothing here: no capture, run or sweep under "
                + ", ".join(str(p) for p in self.paths)
                + "\n`esm-replay demo -o DIR` writes a capture and two runs.",
                id="empty",
            )
        yield PagedTable(
            ArrowSource(self.table_rows, title="catalog"),
            show=COLUMNS,
            labels={"mark": " "},
            right=("records", "discard", "dup", "blocked", "age max"),
            id="catalog",
        )
        yield Static("", id="detail", markup=False)
        yield Footer()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#catalog", PagedTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._show_detail()

    def entry(self) -> Any:
        """The entry under the cursor."""
        if not self.table.row_count:
            return None
        return self.entries[int(self.table.row_values()["index"])]

    def _show_detail(self) -> None:
        marked = f"\n{MARK} = marked ({len(self.marked)})" if self.marked else ""
        self.query_one("#detail", Static).update(detail(self.entry()) + marked)

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def _refill(self) -> None:
        self.table_rows, self.entries = catalog_rows(self.catalog, self.marked)
        self.table.set_source(ArrowSource(self.table_rows, title="catalog"), keep_cursor=True)
        self._show_detail()

    def runs(self) -> list[RunEntry]:
        """The runs, in catalog order."""
        return [e for e in self.entries if isinstance(e, RunEntry)]

    def action_open(self) -> None:
        entry = self.entry()
        if isinstance(entry, RunEntry):
            self.esm.open_run(entry.path, entry.name)
        elif isinstance(entry, CaptureEntry):
            runs = self.catalog.runs_of(entry)
            self.notify(
                f"{entry.name}: {len(runs)} run(s) below; a capture view comes with the what-if "
                "editor (`esm-replay replay` makes a run)",
                timeout=4,
            )
        elif isinstance(entry, SweepEntry):
            self.notify(f"{entry.name}: the sweep view is not built yet", timeout=4)
        elif isinstance(entry, tuple):
            self.notify(entry[1], severity="warning", timeout=6)

    def action_mark(self) -> None:
        entry = self.entry()
        if not isinstance(entry, RunEntry):
            return
        self.marked ^= {entry.path}
        self._refill()
        self.table.action_cursor_down()

    def marked_runs(self) -> list[RunEntry]:
        """The marked runs, in catalog order."""
        return [r for r in self.runs() if r.path in self.marked]

    def action_compare(self) -> None:
        runs = self.marked_runs()
        if len(runs) < 2:
            entry = self.entry()
            if isinstance(entry, RunEntry):  # this run with its siblings
                runs = [r for r in self.runs() if r.capture == entry.capture]
        if len(runs) < 2:
            self.notify("mark two runs with space, then c", severity="warning")
            return
        self.esm.open_compare([r.path for r in runs], [r.name for r in runs])

    def action_rescan(self) -> None:
        self.catalog = scan(self.paths)
        self.marked &= {r.path for r in self.catalog.runs}
        self._refill()
        self.notify("rescanned", timeout=2)
