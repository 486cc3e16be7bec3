"""Side-by-side outcomes of several runs: the figures an on-call engineer compares first.

``compare_runs`` returns plain rows (label, one value per run) so the CLI prints them as a table,
the demo prints the same table, and the TUI can render it without re-computing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from replay.run import RunResult


@dataclass(frozen=True)
class ComparisonRow:
    """One line of a comparison: a figure and its value in each run."""

    label: str
    values: tuple[Any, ...]

    @property
    def differs(self) -> bool:
        """True when the runs disagree on this figure."""
        return len(set(map(str, self.values))) > 1


def _ms(value: int | None) -> str:
    if value is None:
        return "-"
    seconds = value / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def compare_runs(runs: Sequence[RunResult]) -> list[ComparisonRow]:
    """The comparison table of ``runs`` (same capture, different configurations or functions)."""
    sums = [r.summary for r in runs]
    rows: list[ComparisonRow] = []

    def add(label: str, values: list[Any]) -> None:
        rows.append(ComparisonRow(label, tuple(values)))

    def cfg(key: str) -> list[Any]:
        return [r.meta["config"].get(key) for r in runs]

    add("BatchSize", cfg("BatchSize"))
    add("MaximumRetryAttempts", cfg("MaximumRetryAttempts"))
    add("MaximumRecordAgeInSeconds", cfg("MaximumRecordAgeInSeconds"))
    add("BisectBatchOnFunctionError", cfg("BisectBatchOnFunctionError"))
    add(
        "OnFailure destination",
        [
            bool(((c or {}).get("OnFailure") or {}).get("Destination"))
            for c in cfg("DestinationConfig")
        ],
    )
    add("records", [s["records"] for s in sums])
    for disp in sorted({d for s in sums for d in s["dispositions"]}):
        add(f"  {disp}", [s["dispositions"].get(disp, 0) for s in sums])
    for reason in sorted({r for s in sums for r in s["reasons"]}):
        add(f"    {reason}", [s["reasons"].get(reason, 0) for s in sums])
    add("duplicate deliveries", [s["duplicates"] for s in sums])
    add("invocations", [s["invocations"] for s in sums])
    for result in sorted({r for s in sums for r in s["results"]}):
        add(f"  {result}", [s["results"].get(result, 0) for s in sums])
    add("destination records", [s["destination_records"] for s in sums])
    add("max iterator age", [_ms(s["iterator_age_ms"]["max"]) for s in sums])
    add("latency p50", [_ms(s["latency_ms"]["p50"]) for s in sums])
    add("latency p99", [_ms(s["latency_ms"]["p99"]) for s in sums])
    add("shard time blocked", [_ms(s["blocked_ms"]) for s in sums])
    for shard in sorted({sh for s in sums for sh in s["shards"]}):
        add(f"  {shard} blocked", [_ms(s["shards"].get(shard, {}).get("blocked_ms")) for s in sums])
    return rows
