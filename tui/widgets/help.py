"""``?`` / ``F1``: what the focused widget shows and every key that works here."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_label(key: str) -> str:
    """A binding's key as the footer writes it (``question_mark`` → ``?``)."""
    names = {
        "question_mark": "?",
        "escape": "esc",
        "enter": "⏎",
        "space": "␣",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return ",".join(names.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    """The focused widget's description, then the active keys, by where they come from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")
    ]

    def __init__(self, description: str, groups: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.description = description
        self.groups = groups

    def text(self) -> str:
        """The help as plain text (tests compare it)."""
        lines = [self.description, ""] if self.description else []
        for title, keys in self.groups:
            lines.append(title)
            lines.extend(f"  {key:<14} {what}" for key, what in keys)
            lines.append("")
        lines.append("esc close")
        return "\n".join(lines)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self.text(), id="help-text", markup=False)
