"""How figures read in every printed output (compare, explain, sweep, report, the TUI): durations
and money, one spelling each."""

from __future__ import annotations


def duration(value: int | None) -> str:
    """Milliseconds as a person reads them: ``8.2 s``, ``4.5 min``, ``24.0 h``; ``-`` for none."""
    if value is None:
        return "-"
    seconds = value / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def usd(value: float) -> str:
    """Dollars with the precision a small cost needs."""
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"
