"""How values read in the TUI: pure functions, no Textual (tested on their own).

Durations are the CLI's (:func:`replay.analysis.text.duration`); counts get thousands separators;
timestamps are compact (``11-05 09:41:07.737``) where columns are narrow; shard ids fold their
common prefix into a header (``shard (shardId-00000000000…)``, rows ``3``) — detail views and
copies keep the full id. Missing values read ``∅`` in tables and ``–`` in figures.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

from replay.analysis.query import cell
from replay.analysis.text import duration
from replay.timeutil import iso_ms

NULL = "∅"
NONE = "–"

__all__ = [
    "NONE",
    "NULL",
    "cell_text",
    "compact_time",
    "count",
    "duration",
    "fold_prefix",
    "iso_ms",
    "ms_of",
    "yes_no",
]


def count(value: int | float | None) -> str:
    """A count with thousands separators: ``6,000``; ``–`` for none."""
    if value is None:
        return NONE
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def yes_no(value: bool) -> str:
    """A flag as a mark that reads without colour: ``✓`` / ``✗``."""
    return "✓" if value else "✗"


def ms_of(value: Any) -> int | None:
    """Epoch milliseconds of a datetime (naive ones are UTC), or ``None``."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return round(value.timestamp() * 1000)
    return int(value)


def compact_time(ms: int | None) -> str:
    """``11-05 09:41:07.737`` (month-day, UTC, milliseconds): 18 characters."""
    if ms is None:
        return NULL
    return iso_ms(ms)[5:23].replace("T", " ")


def cell_text(value: Any, *, compact: bool = True) -> str:
    """One table cell: the query output's text (``query.text_cell``) with nulls as ``∅`` and,
    when ``compact``, times as :func:`compact_time`."""
    if value is None:
        return NULL
    if isinstance(value, _dt.datetime):
        ms = ms_of(value)
        return compact_time(ms) if compact else iso_ms(ms or 0)
    value = cell(value)
    if value is None:
        return NULL
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def fold_prefix(names: Sequence[str], *, keep: int = 1) -> tuple[str, list[str]]:
    """The common prefix of ``names`` and what remains of each (at least ``keep`` characters).

    One name, or names with no common prefix, fold nothing: ``("", names)``.
    """
    if len(names) < 2:
        return "", list(names)
    first, last = min(names), max(names)  # the common prefix of all is that of these two
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    shortest = min(len(n) for n in names)
    prefix = prefix[: max(0, min(len(prefix), shortest - keep))]
    return prefix, [n[len(prefix) :] for n in names]
