"""``F`` on a table: how often each value of a column occurs under the table's filters."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.format import count


class FrequencyScreen(ModalScreen[None]):
    """Value counts of one column, most frequent first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,F", "dismiss", "Close")]

    def __init__(self, column: str, table: pa.Table) -> None:
        super().__init__()
        self.column = column
        self.table = table

    def lines(self) -> list[str]:
        """``value  n  share %`` per value."""
        rows = self.table.to_pylist()
        out = []
        for r in rows:
            value = "∅" if r["value"] is None else str(r["value"])
            out.append(f"{value[:40]:<40} {count(r['n']):>12} {100 * r['share']:6.1f} %")
        return out

    def compose(self) -> ComposeResult:
        with Vertical(id="frequencies"):
            yield Static(f"values of {self.column}", classes="title")
            yield Static("\n".join(self.lines()) or "no rows", id="frequency-lines")
            yield Static("esc close", classes="hint")
