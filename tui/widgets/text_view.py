"""A modal showing one long value in full (a failure record's JSON, a copied text)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextScreen(ModalScreen[None]):
    """A title and a scrollable text; ``y`` copies it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="text.close"),
        Binding("y", "copy", "Copy", id="text.copy"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="text-view"):
            yield Static(self.title_text, classes="title", markup=False)
            yield Static(self.text, id="text-body", markup=False)
            yield Static("esc close · y copy", classes="hint")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("copied", timeout=2)
