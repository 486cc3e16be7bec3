"""How a table of text fits a screen: column widths, where a cell may break, and nothing cut.

Every table the command line prints goes through :func:`layout`: a :class:`Grid` of columns and
rows of literal text (never rich markup) becomes lines of :class:`rich.text.Text`. The rules:

- **Nothing is truncated.** A cell is shown whole, possibly on several lines, or its column is
  not shown at all (and the caller says so in a note).
- **Breaks only where a person would break.** Identifiers and figures (``never``) do not break.
  Labels (``label``) break at spaces, between camelCase words and after ``_ - . / :``, on at most
  ``Column.lines`` lines. Values (``value``) break at spaces when they are prose (two spaces or
  more: ``discarded (RetentionExpired), 1446 deliveries``), after the colons of an ARN and the
  slashes of a path; a figure with its unit (``24.0 h``) stays whole. Control characters in a
  cell are written out (``\\x1b``): a value cannot restyle the terminal.
- **Width.** On a terminal, the terminal's width; piped, ``COLUMNS`` when it is set, else no
  limit: plain aligned text, one line per row, so scripts and ``grep`` see whole values
  (:meth:`Screen.detect`). Only a terminal gets styles and the rule under the header.
- When the natural widths do not fit, columns that may break get narrower (the smallest shortfall
  first, so as few cells as possible break); when even their narrowest does not fit, columns are
  left out, the least important first (``Column.priority``), and :attr:`Layout.dropped` names
  them. A column of priority 0 is always shown, even when that overflows the screen.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

Wrap = Literal["never", "label", "value"]
GAP = 2  # spaces between columns
HEADER_LINES = 3  # a header (a label) breaks onto at most this many lines
ELLIPSIS = "…"


@dataclass(frozen=True)
class Screen:
    """Where the text goes: ``width`` None means no limit (piped, no COLUMNS); ``terminal``
    whether styles and the rule under a table's header (``─``) may be used."""

    width: int | None
    terminal: bool

    @classmethod
    def detect(cls) -> Screen:
        """stdout's: the terminal's width on a terminal; piped, ``COLUMNS`` if set, else none."""
        if sys.stdout.isatty():
            return cls(max(shutil.get_terminal_size().columns, 20), True)
        columns = os.environ.get("COLUMNS", "").strip()
        if columns.isdigit() and int(columns) > 0:
            return cls(max(int(columns), 20), False)
        return cls(None, False)


@dataclass(frozen=True)
class Cell:
    """A cell's text with its own way of breaking (else its column's)."""

    text: str
    wrap: Wrap


@dataclass(frozen=True)
class Column:
    """A column: its header (a label: it breaks like one, unless ``header_wrap`` is False), how
    its cells align and break, at most how many lines a ``label`` cell takes, and how important
    it is (0: always shown; larger numbers are left out first when the screen is too narrow)."""

    header: str
    align: Literal["left", "right"] = "left"
    wrap: Wrap = "never"
    lines: int | None = None
    header_wrap: bool = True
    priority: int = 1


@dataclass
class Grid:
    """Columns and rows of literal text; ``styles`` one rich style per row ("" for none)."""

    columns: list[Column]
    rows: list[list[str | Cell]]
    styles: list[str] = field(default_factory=list)

    def style(self, row: int) -> str:
        return self.styles[row] if row < len(self.styles) else ""


@dataclass(frozen=True)
class Layout:
    """A grid laid out: its lines, the columns shown and their widths, the columns left out, and
    whether it fits the width it was laid out for."""

    lines: list[Text]
    shown: list[int]
    widths: list[int]
    dropped: list[int]
    fits: bool

    @property
    def width(self) -> int:
        return max((cell_len(t.plain) for t in self.lines), default=0)


# ---------------------------------------------------------------------- breaking one cell
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LABEL_AFTER = re.compile(r"(?<=[_\-./:])(?=[^_\-./:])")
_VALUE_AFTER = re.compile(r"(?<=[:/])(?=[^:/])")


def _split_at(text: str, pattern: re.Pattern[str]) -> list[str]:
    parts = [p for p in pattern.split(text) if p]
    return parts or [text]


@lru_cache(maxsize=8192)
def pieces(text: str, wrap: Wrap) -> tuple[tuple[str, bool], ...]:
    """The unbreakable pieces of one line of ``text``: (piece, a space precedes it)."""
    if wrap == "never" or not text:
        return ((text, False),)
    out: list[tuple[str, bool]] = []
    if wrap == "value":
        words = text.split(" ") if text.count(" ") >= 2 else [text]  # prose, not "24.0 h"
        for i, word in enumerate(words):
            if word.startswith("arn:") or ("/" in word and len(word) > 1):
                parts = _split_at(word, _VALUE_AFTER)
            else:
                parts = [word]
            out.extend((p, i > 0 and j == 0) for j, p in enumerate(parts))
        return tuple(out)
    for i, word in enumerate(text.split(" ")):
        parts = [q for p in _split_at(word, _LABEL_AFTER) for q in _split_at(p, _CAMEL)]
        out.extend((p, i > 0 and j == 0) for j, p in enumerate(parts))
    return tuple(out)


def _indent(text: str, wrap: Wrap) -> tuple[str, str]:
    if wrap != "label":
        return "", text
    body = text.lstrip(" ")
    return text[: len(text) - len(body)], body


def _fill(indent: str, body: str, wrap: Wrap, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for piece, spaced in pieces(body, wrap):
        joined = current + (" " if spaced and current else "") + piece
        if current and cell_len(indent + joined) > width:
            lines.append(indent + current)
            current = piece
        else:
            current = joined
    lines.append(indent + current)
    return lines


def wrap_cell(text: str, wrap: Wrap, width: int | None) -> list[str]:
    """``text`` on lines of at most ``width`` cells, broken only between its pieces (a piece wider
    than ``width`` gets a line of its own, whole). A label's lines are balanced
    (``MaximumBatching`` / ``WindowInSeconds``, not ``MaximumBatchingWindowIn`` / ``Seconds``).
    Explicit newlines are kept; ``None``: no limit."""
    lines: list[str] = []
    for para in text.expandtabs(8).split("\n"):
        indent, body = _indent(para, wrap)
        if width is None or cell_len(para) <= width:
            lines.append(para)
            continue
        filled = _fill(indent, body, wrap, width)
        if wrap == "label":
            least = max(cell_len(indent) + cell_len(p) for p, _ in pieces(body, wrap))
            for narrower in range(least, width):
                trial = _fill(indent, body, wrap, narrower)
                if len(trial) <= len(filled):
                    filled = trial
                    break
        lines.extend(filled)
    return lines


@lru_cache(maxsize=8192)
def natural_width(text: str) -> int:
    return max((cell_len(p) for p in text.expandtabs(8).split("\n")), default=0)


@lru_cache(maxsize=8192)
def narrowest(text: str, wrap: Wrap, lines: int | None) -> int:
    """The least width at which ``text`` breaks onto at most ``lines`` lines (None: any number)."""
    widest = natural_width(text)
    if wrap == "never":
        return widest
    least = 0
    for para in text.expandtabs(8).split("\n"):
        indent, body = _indent(para, wrap)
        least = max(least, *(cell_len(indent) + cell_len(p) for p, _ in pieces(body, wrap)))
    if lines is None:
        return least
    for width in range(least, widest):
        if len(wrap_cell(text, wrap, width)) <= lines * (text.count("\n") + 1):
            return width
    return widest


# ---------------------------------------------------------------------- widths
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F] if chr(c) not in "\n\t"}


def visible(text: str) -> str:
    """``text`` with control characters (an escape sequence, a carriage return) written out as
    ``\\x1b``, so a cell can neither restyle the terminal nor be stripped; newlines stay."""
    return text.translate(_CONTROL)


def _cell(grid: Grid, row: int, col: int) -> tuple[str, Wrap]:
    value = grid.rows[row][col]
    if isinstance(value, Cell):
        return visible(value.text), value.wrap
    return visible(value), grid.columns[col].wrap


def _header_wrap(column: Column) -> Wrap:
    return "label" if column.header_wrap else "never"


def _extent(grid: Grid, col: int) -> tuple[int, int]:
    """(narrowest, natural) width of a column: its header and every cell."""
    column = grid.columns[col]
    least = narrowest(visible(column.header), _header_wrap(column), HEADER_LINES)
    most = natural_width(visible(column.header))
    for row in range(len(grid.rows)):
        text, wrap = _cell(grid, row, col)
        least = max(least, narrowest(text, wrap, column.lines))
        most = max(most, natural_width(text))
    return least, max(most, least)


def _widths(extents: Sequence[tuple[int, int]], width: int) -> list[int] | None:
    """Widths of columns of these (narrowest, natural) extents within ``width``, or None."""
    room = width - GAP * (len(extents) - 1)
    if sum(most for _, most in extents) <= room:
        return [most for _, most in extents]
    if sum(least for least, _ in extents) > room:
        return None
    widths = [least for least, _ in extents]
    spare = room - sum(widths)
    # the smallest shortfall first: as many columns as possible unbroken
    for i in sorted(range(len(extents)), key=lambda i: (extents[i][1] - extents[i][0], i)):
        give = min(spare, extents[i][1] - widths[i])
        widths[i] += give
        spare -= give
    return widths


def choose_columns(grid: Grid, width: int | None) -> tuple[list[int], list[int] | None, list[int]]:
    """The columns shown (in order), their widths (None: natural, no limit) and those left out."""
    everything = list(range(len(grid.columns)))
    if width is None:
        return everything, None, []
    extents = [_extent(grid, c) for c in everything]
    widths = _widths(extents, width)
    if widths is not None:
        return everything, widths, []
    shown = [c for c in everything if grid.columns[c].priority == 0]
    for c in sorted(everything, key=lambda c: (grid.columns[c].priority, c)):
        if c in shown:
            continue
        trial = sorted([*shown, c])
        if _widths([extents[i] for i in trial], width) is not None:
            shown = trial
    if not shown:
        shown = [0] if everything else []
    dropped = [c for c in everything if c not in shown]
    widths = _widths([extents[i] for i in shown], width)
    if widths is None:  # the columns that must be shown do not fit: at their narrowest, overflowing
        widths = [extents[i][0] for i in shown]
    return shown, widths, dropped


# ---------------------------------------------------------------------- rendering
def _justify(text: str, width: int, align: str) -> str:
    pad = " " * max(width - cell_len(text), 0)
    return pad + text if align == "right" else text + pad


def _line(parts: Iterable[str], style: str = "") -> Text:
    return Text((" " * GAP).join(parts).rstrip(), style=style, end="")


def layout(grid: Grid, screen: Screen) -> Layout:
    """``grid`` as lines of text for ``screen``."""
    shown, widths, dropped = choose_columns(grid, screen.width)
    columns = [grid.columns[c] for c in shown]
    if widths is None:
        widths = [_extent(grid, c)[1] for c in shown]
    lines: list[Text] = []
    headers = [
        wrap_cell(visible(col.header), _header_wrap(col), w if screen.width else None)
        for col, w in zip(columns, widths, strict=True)
    ]
    height = max((len(h) for h in headers), default=0)
    if any(col.header for col in columns):
        for i in range(height):
            parts = []
            for col, w, head in zip(columns, widths, headers, strict=True):
                at = i - (height - len(head))  # headers sit on the last lines
                parts.append(_justify(head[at] if at >= 0 else "", w, col.align))
            lines.append(_line(parts, "bold" if screen.terminal else ""))
        if screen.terminal:
            lines.append(_line(("─" * w for w in widths), "dim"))
    for row in range(len(grid.rows)):
        cells = []
        for c, w in zip(shown, widths, strict=True):
            text, wrap = _cell(grid, row, c)
            cells.append(wrap_cell(text, wrap, w if screen.width else None))
        for i in range(max(len(x) for x in cells) if cells else 0):
            parts = [
                _justify(x[i] if i < len(x) else "", w, col.align)
                for x, w, col in zip(cells, widths, columns, strict=True)
            ]
            lines.append(_line(parts, grid.style(row) if screen.terminal else ""))
    fits = screen.width is None or all(cell_len(t.plain) <= screen.width for t in lines)
    return Layout(lines, shown, widths, dropped, fits)


def note(text: str, screen: Screen, style: str = "") -> list[Text]:
    """A sentence (or several lines) as lines within the screen's width, broken at spaces only;
    a word wider than the screen (a long path) keeps a line of its own, whole."""
    out: list[Text] = []
    for para in text.split("\n"):
        if screen.width is None or cell_len(para) <= screen.width:
            out.append(Text(para, style=style if screen.terminal else "", end=""))
            continue
        wrapped = textwrap.wrap(
            para,
            screen.width,
            break_long_words=False,
            break_on_hyphens=False,
            subsequent_indent="  ",
        )
        out.extend(Text(w, style=style if screen.terminal else "", end="") for w in wrapped)
    return out


# ---------------------------------------------------------------------- folding identifiers
_SEPARATORS = "-_:/."


def common_prefix(ids: Iterable[str]) -> str:
    """The prefix every one of ``ids`` starts with, cut back to end at a separator (``-_:/.``),
    leaving each id something after it; "" when that is shorter than 4 characters (folding it
    to ``…`` would save too little to be worth a note)."""
    values = sorted(set(ids))
    if not values:
        return ""
    first, last = values[0], values[-1]  # sorted: what these two share, all of them share
    same = 0
    while same < min(len(first), len(last)) and first[same] == last[same]:
        same += 1
    prefix = first[:same]
    shortest = min(len(v) for v in values)
    prefix = prefix[: shortest - 1] if len(prefix) >= shortest else prefix
    cut = max(prefix.rfind(s) for s in _SEPARATORS)
    prefix = prefix[: cut + 1] if cut >= 0 else ""
    return prefix if len(prefix) >= 4 else ""


def fold(text: str, prefix: str) -> str:
    """``text`` with ``prefix`` (after any indentation) shown as ``…``."""
    body = text.lstrip(" ")
    if prefix and body.startswith(prefix):
        return text[: len(text) - len(body)] + ELLIPSIS + body[len(prefix) :]
    return text
