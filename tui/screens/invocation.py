"""An invocation: its fields, its batch's lineage (bisect halves, partial remainders) and the
records it carried (``Enter`` → the record's chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from replay.analysis.browse import run_source
from tui.format import cell_text
from tui.screens.base import EsmScreen
from tui.screens.run import RECORD_COLUMNS, RECORD_LABELS
from tui.widgets.paged_table import PagedTable


def lineage(con: Any, run: Path, batch: int) -> list[int]:
    """The batch and the batches it was split from, innermost first."""
    chain = [batch]
    inv = run_source(con, run, "invocations")
    seen = {batch}
    while True:
        page = inv.with_filter({"batch": chain[-1]}).page(0, 1).to_pylist()
        parent = page[0]["parent_batch"] if page else None
        if parent is None or parent in seen:
            return chain
        chain.append(int(parent))
        seen.add(int(parent))


class InvocationScreen(EsmScreen):
    """One attempt and the records it carried."""

    HELP = "One invocation attempt: what it carried, how it ended, and where its batch came from."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="invocation.help"),
    ]

    def __init__(self, run: Path, invocation: int, run_name: str | None = None) -> None:
        super().__init__()
        self.run = Path(run)
        self.invocation = invocation
        self.run_name = run_name or self.run.name

    def crumb(self) -> str:
        return f"invocation {self.invocation}"

    def compose(self) -> ComposeResult:
        import pyarrow.parquet as pq

        con = self.esm.con
        inv = run_source(con, self.run, "invocations").with_filter({"invocation": self.invocation})
        row = inv.page(0, 1).to_pylist()[0]
        rows = (
            pq.read_table(self.run / "invocations.parquet", columns=["record_rows"])
            .column("record_rows")[self.invocation]
            .as_py()
            or []
        )
        chain = lineage(con, self.run, int(row["batch"]))
        text = (
            f"#{row['invocation']} {cell_text(row['start'], compact=False)} → "
            f"{cell_text(row['end'], compact=False)}  shard {row['shard']} lane {row['lane']}\n"
            f"batch {row['batch']} attempt {row['attempt']} [{row['cause']}] {row['records']} "
            f"record(s) → {row['result']}; next {row['next']} [{row['rule']}]\n"
            f"lineage: {' ← '.join(f'batch {b}' for b in chain)}"
        )
        yield self.crumbs()
        yield Static(text, id="invocation-text", markup=False)
        yield PagedTable(
            run_source(con, self.run, "records").with_filter(within={"row": rows}),
            show=RECORD_COLUMNS,
            labels=RECORD_LABELS,
            id="carried",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#carried", PagedTable).focus()

    def on_data_table_row_selected(self, event: PagedTable.RowSelected) -> None:
        table = self.query_one("#carried", PagedTable)
        if table.row_count:
            self.esm.open_record(
                [self.run], row=int(table.row_values()["row"]), names=[self.run_name]
            )
