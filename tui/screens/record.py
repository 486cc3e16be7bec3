"""S3 Record drill-down: the causal chain, exactly as ``esm-replay explain --record`` prints it.

The top line is the record's fate (words, never colour alone) with its rule badge; the body is
:func:`replay.analysis.explain.render_record`'s text with rule ids and errors highlighted. The run
is read once and indexed (:class:`replay.analysis.explain_index.ExplainIndex`, cached by the app),
in a thread, so stepping through records stays quick. Given several runs (compare's diverging
records), the same record is shown in each, one tab a run; alone, a Steps tab lists the attempts
as a table, folded like the text (``Enter`` opens an attempt). ``y`` copies ``SHARD#POS`` (what
``explain --record`` takes), ``Y`` the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane

from replay.analysis.explain import RecordExplanation, Step, render_record
from replay.errors import UserError
from tui.format import compact_time
from tui.screens.base import EsmScreen
from tui.widgets.paged_table import ArrowSource, PagedTable

RULE = r"\[[A-Z]\d+[a-z]?\]"
FATE_STYLE = {
    "processed": "bold green",
    "discarded": "bold red",
    "dead-lettered": "bold red",
    "filtered": "bold",
    "unprocessed": "bold yellow",
}


def highlight(text: str) -> Text:
    """``render_record``'s text with rule ids, errors and the fate line marked (the words stay
    the same: colour is never the only signal)."""
    out = Text(text)
    out.highlight_regex(RULE, "bold magenta")
    out.highlight_regex(r"-> (error|timeout|invalid-response|rejected|throttled)\b[^;]*", "red")
    out.highlight_regex(r"-> (ok|partial)\b", "green")
    out.highlight_regex(r"(?m)^fate: .*$", "bold")
    out.highlight_regex(r"\.\.\. \d+ more attempts alike[^\n]*", "dim italic")
    return out


STEP_COLUMNS = (
    "invocation", "start", "batch", "parent_batch", "attempt", "cause", "records", "result",
    "next", "rule", "checkpoint",
)  # fmt: skip


def steps_table(steps: Sequence[Step]) -> pa.Table:
    """The chain's steps as rows, folded as ``render_record`` folds them
    (:func:`~replay.analysis.explain_index.group_steps`): a run of alike retries shows its first
    and last attempt with one row between, ``… 1444 attempts alike``."""
    from replay.analysis.explain_index import group_steps

    rows: list[dict[str, Any]] = []

    def add(s: Step) -> None:
        rows.append(
            {
                "invocation": s.invocation,
                "start": compact_time(s.start_ms),
                "batch": s.batch,
                "parent_batch": s.parent_batch,
                "attempt": s.attempt,
                "cause": s.cause,
                "records": s.records,
                "result": s.result,
                "next": s.next,
                "rule": s.rule,
                "checkpoint": s.checkpoint + "".join(f"; split {h}" for h in s.split),
            }
        )

    for group in group_steps(steps):
        if group.alike:
            first, middle, last = group.steps[0], group.steps[1], group.steps[-2]
            add(first)
            rows.append(
                dict.fromkeys(STEP_COLUMNS)
                | {
                    "start": compact_time(middle.start_ms),
                    "result": middle.result,
                    "next": middle.next,
                    "rule": middle.rule,
                    "checkpoint": f"… {group.folded} more attempts alike, to "
                    f"{compact_time(last.start_ms)}",
                }
            )
            add(group.steps[-1])
        else:
            add(group.steps[0])
    schema = pa.schema(
        [
            ("invocation", pa.int64()),
            ("start", pa.string()),
            ("batch", pa.int64()),
            ("parent_batch", pa.int64()),
            ("attempt", pa.int64()),
            ("cause", pa.string()),
            ("records", pa.int64()),
            ("result", pa.string()),
            ("next", pa.string()),
            ("rule", pa.string()),
            ("checkpoint", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _blank_none(value: Any) -> str:
    """A step cell: the folded row leaves the columns it has no value for blank."""
    return "" if value is None else str(value)


def fate_line(x: RecordExplanation) -> str:
    """``DISCARDED (RetentionExpired) [B28]  1446 deliveries · 1446 attempts``."""
    why = f" ({x.reason})" if x.reason else ""
    badge = f" [{x.fate_rule}]" if x.fate_rule else ""
    return (
        f"{x.disposition.upper()}{why}{badge}  {x.deliveries} deliveries · {len(x.steps)} attempts"
    )


class RecordScreen(EsmScreen):
    """One record's chain, in one run or side by side (tabs) in several."""

    HELP = (
        "The record's causal chain, exactly as `esm-replay explain --record` prints it: every "
        "attempt that carried it, what the ESM did next and the rule (in brackets) that decided."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_ref", "Copy ref", id="record.copy_ref"),
        Binding("Y", "copy_text", "Copy text", id="record.copy_text"),
        Binding("o", "other_run", "Other run", id="record.other"),
        Binding("1", "view('chain')", "Chain", show=False, id="record.tab1"),
        Binding("2", "view('steps')", "Steps", show=False, id="record.tab2"),
        Binding("question_mark", "app.help", "Help", id="record.help"),
    ]

    def __init__(
        self,
        runs: Sequence[Path],
        *,
        row: int | None = None,
        ref: str | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.runs = [Path(r) for r in runs]
        self.names = list(names) if names is not None else [r.name for r in self.runs]
        self.row = row
        self.ref = ref
        self.texts: dict[int, str] = {}
        self.explanations: dict[int, RecordExplanation] = {}

    def crumb(self) -> str:
        return "#" + self.ref.rpartition("#")[2] if self.ref else "record"

    def subtitle(self) -> str:
        return self.ref or ""

    def compose(self) -> ComposeResult:
        yield self.crumbs()
        if len(self.runs) == 1:
            yield Static("", id="fate-0", classes="fate", markup=False)
            with TabbedContent(id="views"):
                with (
                    TabPane("1 Chain", id="chain"),
                    VerticalScroll(id="chain-0", classes="chain"),
                ):
                    yield Static("", id="text-0", classes="chain-text")
                with TabPane("2 Steps", id="steps"):
                    yield PagedTable(
                        ArrowSource(steps_table(())),
                        labels={
                            "invocation": "#",
                            "parent_batch": "←parent",
                            "attempt": "att",
                            "records": "recs",
                        },
                        formatters=dict.fromkeys(STEP_COLUMNS, _blank_none),
                        id="steps-table",
                    )
        else:
            with TabbedContent(id="runs"):
                for i, name in enumerate(self.names):
                    with TabPane(f"{i + 1} {name}", id=f"run-{i}"):
                        yield Static("", id=f"fate-{i}", classes="fate", markup=False)
                        with VerticalScroll(id=f"chain-{i}", classes="chain"):
                            yield Static("", id=f"text-{i}", classes="chain-text")
        yield Footer()

    def on_mount(self) -> None:
        for i in range(len(self.runs)):
            self.query_one(f"#chain-{i}").loading = True
        self.load()

    @work(thread=True, exclusive=True, group="record", exit_on_error=False)
    def load(self) -> None:
        """Index each run (once per app) and explain the record; show it when done."""
        for i, run in enumerate(self.runs):
            try:
                index = self.esm.explain_index(run)
                row = self.row if (i == 0 and self.row is not None) else None
                if row is None:
                    if self.ref is None:
                        raise UserError("no record given")
                    row = index.row_of(record=self.ref)
                x = index.explain_row(row)
                if self.ref is None:
                    self.ref = index.ref(row)
                self.app.call_from_thread(self._show, i, x, None)
            except UserError as exc:
                self.app.call_from_thread(self._show, i, None, str(exc))

    def _show(self, i: int, x: RecordExplanation | None, error: str | None) -> None:
        chain = self.query_one(f"#chain-{i}")
        chain.loading = False
        fate = self.query_one(f"#fate-{i}", Static)
        body = self.query_one(f"#text-{i}", Static)
        if x is None:
            fate.update(f"error: {error}")
            body.update("")
            return
        text = render_record(x)
        self.texts[i] = text
        self.explanations[i] = x
        fate.update(Text(fate_line(x), style=FATE_STYLE.get(x.disposition, "bold")))
        body.update(highlight(text))
        if len(self.runs) == 1:
            self.query_one("#steps-table", PagedTable).set_source(
                ArrowSource(steps_table(x.steps), title="steps")
            )
        crumbs = self.query_one("#crumbs", Static)
        crumbs.update(self.trail() + f"  {self.ref}")
        if i == 0:
            chain.focus()

    def current(self) -> int:
        """The run (tab) shown."""
        if len(self.runs) == 1:
            return 0
        active = self.query_one("#runs", TabbedContent).active or "run-0"
        return int(active.removeprefix("run-"))

    def action_view(self, view: str) -> None:
        if len(self.runs) == 1:
            self.query_one("#views", TabbedContent).active = view
            self.query_one("#chain-0" if view == "chain" else "#steps-table").focus()
        else:
            tabs = self.query_one("#runs", TabbedContent)
            tabs.active = "run-1" if view == "steps" else "run-0"

    def on_data_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        table = event.control
        if isinstance(table, PagedTable) and table.id == "steps-table" and table.row_count:
            invocation = table.row_values()["invocation"]
            if invocation is not None:
                self.esm.open_invocation(self.runs[0], int(invocation), self.names[0])

    def action_other_run(self) -> None:
        if len(self.runs) < 2:
            self.notify("open from compare to see the record in every run", timeout=3)
            return
        tabs = self.query_one("#runs", TabbedContent)
        tabs.active = f"run-{(self.current() + 1) % len(self.runs)}"

    def action_copy_ref(self) -> None:
        if self.ref:
            self.app.copy_to_clipboard(self.ref)
            self.notify(f"copied {self.ref}", timeout=2)

    def action_copy_text(self) -> None:
        text = self.texts.get(self.current())
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("copied the chain", timeout=2)
