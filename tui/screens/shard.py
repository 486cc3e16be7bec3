"""S4 Shard (SQS FIFO group, Kafka partition) timeline: when it was blocked, by what, how it ended.

On top, :func:`replay.analysis.timeline.render_shard`'s text (the CLI's ``explain --shard``);
below, its blocked intervals as a table. ``Enter`` on a block opens the record that blocked it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from replay.analysis.timeline import ShardTimeline, explain_shard, render_shard
from replay.errors import UserError
from tui.format import compact_time, duration
from tui.screens.base import EsmScreen
from tui.widgets.paged_table import ArrowSource, PagedTable

# "record shardId-…#537", "batch 12 of 3 records shardId-…#4..#6", "message queue#7 (id)"
CULPRIT = re.compile(r"(?:record|message|records) (\S+?)#(\d+)")
BLOCK_COLUMNS = ("start", "end", "blocked", "batch", "failed", "culprit", "ended by")


def culprit_ref(culprit: str) -> str | None:
    """``SHARD#POS`` of a block's culprit (the first record of a culprit batch)."""
    m = CULPRIT.search(culprit)
    return None if m is None else f"{m.group(1)}#{m.group(2)}"


def blocks_table(t: ShardTimeline) -> pa.Table:
    """One row per blocked interval."""
    rows = [
        (
            compact_time(b.start_ms),
            compact_time(b.end_ms),
            duration(b.end_ms - b.start_ms),
            "-" if b.batch is None else str(b.batch),
            str(b.failed_attempts),
            b.culprit,
            b.ended_by,
        )
        for b in t.blocks
    ]
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in BLOCK_COLUMNS]
    return pa.table(
        {c: pa.array(list(v), pa.string()) for c, v in zip(BLOCK_COLUMNS, cols, strict=True)}
    )


class ShardScreen(EsmScreen):
    """One shard's (group's) blocked timeline."""

    HELP = (
        "When the shard or group was blocked, by which batch or record, and how each block ended."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_text", "Copy text", id="shard.copy"),
        Binding("question_mark", "app.help", "Help", id="shard.help"),
    ]

    def __init__(self, run: Path, shard: str, run_name: str | None = None) -> None:
        super().__init__()
        self.run = Path(run)
        self.shard = shard
        self.run_name = run_name or self.run.name
        self.text = ""
        self.timeline: ShardTimeline | None = None

    def crumb(self) -> str:
        return self.shard

    def compose(self) -> ComposeResult:
        yield self.crumbs()
        with VerticalScroll(id="shard-scroll"):
            yield Static("", id="shard-text", markup=False)
        yield PagedTable(ArrowSource(blocks_table_empty()), id="blocks")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#shard-scroll").loading = True
        self.load()

    @work(thread=True, exclusive=True, group="shard", exit_on_error=False)
    def load(self) -> None:
        try:
            t = explain_shard(self.run, self.shard)
        except UserError as exc:
            self.app.call_from_thread(self._error, str(exc))
            return
        self.app.call_from_thread(self._show, t)

    def _error(self, text: str) -> None:
        self.query_one("#shard-scroll").loading = False
        self.query_one("#shard-text", Static).update(f"error: {text}")

    def _show(self, t: ShardTimeline) -> None:
        self.timeline = t
        self.text = render_shard(t)
        self.query_one("#shard-scroll").loading = False
        self.query_one("#shard-text", Static).update(self.text)
        table = self.query_one("#blocks", PagedTable)
        table.set_source(ArrowSource(blocks_table(t), title="blocks"))
        table.focus()

    def on_data_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        if self.timeline is None or not self.timeline.blocks:
            return
        block = self.timeline.blocks[event.cursor_row]
        ref = culprit_ref(block.culprit)
        if ref is None:
            self.notify("no single record blocked this interval", severity="warning")
            return
        self.esm.open_record([self.run], ref=ref, names=[self.run_name])

    def action_copy_text(self) -> None:
        if self.text:
            self.app.copy_to_clipboard(self.text)
            self.notify("copied the timeline", timeout=2)


def blocks_table_empty() -> pa.Table:
    """The blocks table before the timeline is read."""
    return pa.table({c: pa.array([], pa.string()) for c in BLOCK_COLUMNS})
