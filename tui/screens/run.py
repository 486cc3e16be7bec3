"""S2 Run view: a two-line headline, then tabs — Shards, Invocations, Records, Failures, Config.

Shards draws every shard's (FIFO group's, partition's) iterator age on one shared log scale with
its blocked minutes (:mod:`tui.widgets.timeline`); Invocations, Records and Failures are paged
tables over the run's Parquet and JSONL files (:func:`replay.analysis.browse.run_source`, never a
whole table in memory); Records shows the records that were not processed first (``p`` toggles);
Config lists the resolved configuration and every UNCONFIRMED choice the run made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane

from replay.analysis.browse import run_source
from replay.analysis.calibration import calibrate
from replay.analysis.query import read_run_meta, run_capture_path
from replay.analysis.series import timeline
from replay.formats.failures import observed_failures, read_failures
from tui.format import count, duration, fold_prefix, yes_no
from tui.screens.base import EsmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.timeline import ShardTimelines

TABS = ("shards", "invocations", "records", "failures", "config")
INVOCATION_COLUMNS = (
    "invocation", "start", "shard", "batch", "parent_batch", "attempt", "cause", "records",
    "result", "next", "rule", "iterator_age_ms", "function_error", "lane", "end", "bytes",
    "failed_items", "first_seq", "last_seq", "request_id",
)  # fmt: skip
INVOCATION_LABELS = {
    "invocation": "#", "parent_batch": "←parent", "attempt": "att", "records": "recs",
    "iterator_age_ms": "age ms",
}  # fmt: skip
RECORD_COLUMNS = (
    "row", "shard", "pos", "disposition", "reason", "deliveries", "first_delivered", "done",
    "latency_ms", "seq",
)  # fmt: skip
RECORD_LABELS = {"pos": "#", "deliveries": "deliv", "first_delivered": "first delivered"}
FAILURE_COLUMNS = (
    "line", "condition", "shard", "batch_size", "approximate_invoke_count", "function_error",
    "timestamp", "first_seq", "last_seq", "message_id", "receive_count", "body",
)  # fmt: skip
FAILURE_LABELS = {"approximate_invoke_count": "invokes", "batch_size": "batch"}


def headline(meta: dict[str, Any]) -> str:
    """The two headline lines of a run: outcomes, then ages, blocked time and the config's
    highlights (``BS`` BatchSize, ``MRA`` MaximumRetryAttempts, bisect, ``RBIF``
    ReportBatchItemFailures, ``OF`` an OnFailure destination)."""
    s = meta.get("summary") or {}
    disp = s.get("dispositions") or {}
    results = s.get("results") or {}
    errors = sum(v for k, v in results.items() if k not in ("ok", "in-flight"))
    first = [f"ok {count(disp.get('processed', 0))}"]
    for name in ("discarded", "dead-lettered", "filtered", "unprocessed"):
        if disp.get(name):
            first.append(f"{name} {count(disp[name])}")
    first.append(f"dup {count(s.get('duplicates'))}")
    first.append(f"inv {count(s.get('invocations'))} (err {count(errors)})")
    first.append(f"dest {count(s.get('destination_records'))}")
    age = s.get("iterator_age_ms") or {}
    cfg = meta.get("config") or {}
    dest = ((cfg.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    rbif = "ReportBatchItemFailures" in (cfg.get("FunctionResponseTypes") or [])
    highlights = []
    if "BatchSize" in cfg:
        highlights.append(f"BS {cfg['BatchSize']}")
    if "MaximumRetryAttempts" in cfg:
        highlights.append(f"MRA {cfg['MaximumRetryAttempts']}")
    if "BisectBatchOnFunctionError" in cfg:
        highlights.append(f"bisect {yes_no(bool(cfg['BisectBatchOnFunctionError']))}")
    highlights.append(f"RBIF {yes_no(rbif)}")
    highlights.append(f"OF {yes_no(bool(dest))}")
    second = (
        f"age max {duration(age.get('max'))} p99 {duration(age.get('p99'))}  "
        f"blocked {duration(s.get('blocked_ms'))} │ " + " ".join(highlights)
    )
    return "  ".join(first) + "\n" + second


def config_text(meta: dict[str, Any]) -> str:
    """The Config tab: resolved configuration, source settings, overrides, function, seed,
    disabled spans and every UNCONFIRMED choice (run.json ``choices``)."""
    fn = dict(meta.get("function") or {})
    resolved = fn.pop("resolved", None)
    lines = [
        f"configuration from {meta.get('config_source')}",
        f"overrides: {' '.join(meta.get('overrides') or []) or 'none'}",
        f"seed: {meta.get('seed')}",
        f"window: {meta.get('start')} .. {meta.get('end')}",
    ]
    disabled = meta.get("disabled") or []
    lines.append("disabled: " + (", ".join(f"{d['from']}..{d['to']}" for d in disabled) or "never"))
    lines += ["", "UNCONFIRMED choices (behaviour AWS does not document; docs/semantics.md):"]
    for choice in meta.get("choices") or []:
        value = choice.get("value")
        text = (
            "none" if value is None else json.dumps(value) if not isinstance(value, str) else value
        )
        lines.append(f"  {choice.get('option')} = {text}")
    lines += ["", "ESM configuration (GetEventSourceMapping shape, defaults filled in):"]
    lines += ["  " + x for x in json.dumps(meta.get("config") or {}, indent=2).splitlines()]
    lines += ["", "source settings:"]
    lines += [
        "  " + x for x in json.dumps(meta.get("source_settings") or {}, indent=2).splitlines()
    ]
    lines += ["", "function model:"]
    lines += ["  " + x for x in json.dumps(fn, indent=2).splitlines()]
    if resolved:
        lines += ["  resolved: " + json.dumps(resolved)]
    return "\n".join(lines)


def failures_note(run: Path, meta: dict[str, Any]) -> str:
    """What the Failures tab says above its table: the destination, and how the run compares
    with production's own failure records when the capture holds them."""
    cfg = meta.get("config") or {}
    dest = ((cfg.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    produced = read_failures(run / "destinations.jsonl")
    lines = [
        f"{len(produced)} on-failure record(s) in destinations.jsonl"
        + (f" (OnFailure {dest})" if dest else " (no OnFailure destination configured)")
    ]
    observed = observed_failures(run_capture_path(run, meta))
    if observed is None:
        lines.append(
            "production's failure records: none in the capture (esm-replay capture failures)"
        )
    else:
        c = calibrate(observed, produced)
        lines.append(
            f"production's failure records: {c.observed} · matched {c.matched} · missed "
            f"{c.missed} · extra {c.extra} · reproduced {c.agreement:.1f} %"
        )
    return "\n".join(lines)


class RunScreen(EsmScreen):
    """One run: headline and tabs."""

    HELP = "One run: its headline figures, then Shards, Invocations, Records, Failures, Config."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('shards')", "Shards", show=False, id="run.tab1"),
        Binding("2", "tab('invocations')", "Invocations", show=False, id="run.tab2"),
        Binding("3", "tab('records')", "Records", show=False, id="run.tab3"),
        Binding("4", "tab('failures')", "Failures", show=False, id="run.tab4"),
        Binding("5", "tab('config')", "Config", show=False, id="run.tab5"),
        Binding("right_square_bracket", "next_tab(1)", "Next tab", show=False, id="run.next"),
        Binding("left_square_bracket", "next_tab(-1)", "Previous tab", show=False, id="run.prev"),
        Binding("p", "toggle_processed", "Processed", id="run.processed"),
        Binding("c", "compare", "Compare", id="run.compare"),
        Binding("question_mark", "app.help", "Help", id="run.help"),
    ]

    def __init__(self, path: Path, name: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.run_name = name or self.path.name
        self.meta = read_run_meta(self.path)
        self.show_processed = False
        summary = self.meta.get("summary") or {}
        self.prefix, _ = fold_prefix(sorted(summary.get("shards") or {}))

    def crumb(self) -> str:
        return self.run_name

    def subtitle(self) -> str:
        cap = self.meta.get("capture") or {}
        return f"{cap.get('kind')} · {count(cap.get('records'))} rec · {self.meta.get('config_source')}"

    def _shard_label(self, value: Any) -> str:
        text = "∅" if value is None else str(value)
        return text[len(self.prefix) :] if self.prefix and text.startswith(self.prefix) else text

    def compose(self) -> ComposeResult:
        con = self.esm.con
        yield self.crumbs()
        yield Static(headline(self.meta), id="headline", markup=False)
        shard_fmt = {"shard": self._shard_label}
        records = run_source(con, self.path, "records")
        with TabbedContent(initial="shards", id="tabs"):
            with TabPane("1 Shards", id="shards"):
                yield ShardTimelines(timeline(self.path), id="timelines")
            with TabPane("2 Invocations", id="invocations"):
                yield Static("", id="invocations-title", markup=False)
                yield PagedTable(
                    run_source(con, self.path, "invocations"),
                    show=INVOCATION_COLUMNS,
                    labels=INVOCATION_LABELS | {"shard": self._shard_head()},
                    formatters=shard_fmt,
                    id="invocations-table",
                )
            with TabPane("3 Records", id="records"):
                yield Static("", id="records-title", markup=False)
                yield PagedTable(
                    records.with_filter(not_equals={"disposition": "processed"}),
                    show=RECORD_COLUMNS,
                    labels=RECORD_LABELS | {"shard": self._shard_head()},
                    formatters=shard_fmt,
                    id="records-table",
                )
            with TabPane("4 Failures", id="failures"):
                yield Static(failures_note(self.path, self.meta), id="failures-note", markup=False)
                yield PagedTable(
                    run_source(con, self.path, "destinations"),
                    show=FAILURE_COLUMNS,
                    labels=FAILURE_LABELS,
                    id="failures-table",
                )
            with TabPane("5 Config", id="config"), VerticalScroll(id="config-scroll"):
                yield Static(config_text(self.meta), id="config-text", markup=False)
        yield Footer()

    def _shard_head(self) -> str:
        return "shard…" if self.prefix else "shard"

    def _fold_note(self) -> str:
        return f" · shard… = {self.prefix}…" if self.prefix else ""

    def on_mount(self) -> None:
        self._records_title()
        inv = self.query_one("#invocations-table", PagedTable)
        self.query_one("#invocations-title", Static).update(
            f"{count(inv.row_count)} invocation attempts{self._fold_note()}"
        )
        self.query_one("#timelines", ShardTimelines).focus()

    # ------------------------------------------------------------------ tabs
    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#tabs", TabbedContent)

    def action_tab(self, tab: str) -> None:
        self.tabs.active = tab
        self._focus_tab(tab)

    def action_next_tab(self, step: int) -> None:
        i = TABS.index(self.tabs.active or "shards")
        self.action_tab(TABS[(i + step) % len(TABS)])

    def _focus_tab(self, tab: str) -> None:
        target = {
            "shards": "#timelines",
            "invocations": "#invocations-table",
            "records": "#records-table",
            "failures": "#failures-table",
            "config": "#config-scroll",
        }[tab]
        self.query_one(target).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.call_after_refresh(self._focus_tab, event.pane.id)

    # ------------------------------------------------------------------ records
    @property
    def records_table(self) -> PagedTable:
        return self.query_one("#records-table", PagedTable)

    def _records_title(self) -> None:
        table = self.records_table
        what = "all records" if self.show_processed else "records not processed"
        extra = table.source.filter_text().removeprefix("disposition!=processed").strip()
        self.query_one("#records-title", Static).update(
            f"{what}: {count(table.row_count)}{self._fold_note()}"
            + (f" · filter {extra}" if extra else "")
            + (" · p: not processed only" if self.show_processed else " · p: all records")
        )

    def action_toggle_processed(self) -> None:
        self.show_processed = not self.show_processed
        source = run_source(self.esm.con, self.path, "records")
        if not self.show_processed:
            source = source.with_filter(not_equals={"disposition": "processed"})
        self.records_table.set_source(source)
        self._records_title()
        self.action_tab("records")

    def on_paged_table_source_changed(self, event: PagedTable.SourceChanged) -> None:
        if event.table.id == "records-table":
            self._records_title()

    # ------------------------------------------------------------------ drilling
    def on_data_table_row_selected(self, event: Any) -> None:
        table = event.control
        if not isinstance(table, PagedTable) or not table.row_count:
            return
        row = table.row_values()
        if table.id == "records-table":
            self.esm.open_record([self.path], row=int(row["row"]), names=[self.run_name])
        elif table.id == "invocations-table":
            self.esm.open_invocation(self.path, int(row["invocation"]), self.run_name)
        elif table.id == "failures-table":
            self.esm.show_text(
                f"destinations.jsonl line {int(row['line']) + 1}",
                json.dumps(json.loads(row["record"]), indent=2)
                if isinstance(row.get("record"), str)
                else json.dumps(row.get("record"), indent=2, default=str),
            )

    def on_shard_timelines_selected(self, event: ShardTimelines.Selected) -> None:
        self.esm.open_shard(self.path, event.name, self.run_name)

    def action_compare(self) -> None:
        self.esm.compare_with_siblings(self.path)
