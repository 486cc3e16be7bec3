"""``/`` on a table: a filter line, ``column=value`` words (``!=`` to exclude, ``∅`` for null)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from replay.errors import UserError

NULL_WORDS = ("∅", "null", "NULL")
INTEGER_TYPES = ("int", "bigint", "integer", "smallint", "tinyint", "hugeint")


def parse_filters(text: str, types: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``reason=RetentionExpired shard!=x`` as (equals, not_equals); values typed by their
    column (``types``: column name → type name).

    Raises:
        UserError: a word without ``=``, an unknown column, or a number that is not one.
    """
    equals: dict[str, Any] = {}
    not_equals: dict[str, Any] = {}
    for word in text.split():
        negate = "!=" in word
        column, sep, raw = word.partition("!=" if negate else "=")
        if not sep or not column:
            raise UserError(f"filter {word!r}: write COLUMN=VALUE (or COLUMN!=VALUE)")
        if column not in types:
            raise UserError(
                f"filter {word!r}: no column {column!r}; columns are {', '.join(types)}"
            )
        value: Any = raw
        if raw in NULL_WORDS:
            value = None
        elif types[column].lower().startswith(INTEGER_TYPES):
            try:
                value = int(raw)
            except ValueError:
                raise UserError(f"filter {word!r}: {column} holds integers") from None
        (not_equals if negate else equals)[column] = value
    return equals, not_equals


class FilterScreen(ModalScreen[str | None]):
    """One line of filters; Enter applies, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, columns: list[str]) -> None:
        super().__init__()
        self.columns = columns

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-line"):
            yield Static("filter: COLUMN=VALUE words (!= excludes, ∅ is null)", classes="title")
            yield Input(placeholder="reason=RetentionExpired", id="filter-input")
            yield Static("columns: " + " ".join(self.columns), classes="hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
