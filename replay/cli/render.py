"""How the command line prints: the console, run summaries, comparisons, Arrow tables, sweeps.

Output is at the terminal's width on a terminal, and wide enough never to wrap when piped or
captured, so scripts and golden files see the same text a person does.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from replay.analysis.text import duration, usd
from replay.cli.app import out_console

if TYPE_CHECKING:
    import pyarrow as pa

    from replay.analysis.compare import Comparison, ComparisonRow
    from replay.analysis.cost import Prices
    from replay.sweep import SweepResult


def console() -> Console:
    """stdout, at the terminal's width, or wide (no wrapping) when piped or captured."""
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 250
    return Console(width=width, highlight=False)


def echo(text: str) -> None:
    """Write text to stdout as it is (JSON, CSV, explain's text)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def print_summary(summary: dict[str, Any], where: str) -> None:
    """The headline figures of one run, after ``replay``."""
    s = summary
    disp = s["dispositions"]
    table = Table(title=f"run written to {where}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("records", str(s["records"]))
    for name in ("processed", "filtered", "discarded", "dead-lettered", "unprocessed"):
        if disp.get(name):
            table.add_row(f"  {name}", str(disp[name]))
    for name, count in s["reasons"].items():
        table.add_row(f"    {name}", str(count))
    table.add_row("duplicate deliveries", str(s["duplicates"]))
    table.add_row("invocations", str(s["invocations"]))
    for name, count in s["results"].items():
        if name != "ok":
            table.add_row(f"  {name}", str(count))
    table.add_row("max iterator age", duration(s["iterator_age_ms"]["max"]))
    table.add_row("destination records", str(s["destination_records"]))
    for shard, info in s["shards"].items():
        if info["blocked_ms"]:
            table.add_row(f"  {shard} blocked", duration(info["blocked_ms"]))
    out_console.print(table)


def print_comparison(
    rows: Sequence[ComparisonRow],
    names: Sequence[str],
    prices: Prices | None = None,
    out: Console | None = None,
) -> None:
    """Runs side by side, one column each; rows where they differ in bold yellow. With ``prices``,
    a line saying what the cost rows assume."""
    table = Table(show_lines=False)
    table.add_column("", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right")
    several = len(names) > 1
    for row in rows:
        style = "bold yellow" if several and row.differs else ""
        table.add_row(row.label, *[str(v) for v in row.values], style=style)
    out = out or console()
    out.print(table)
    if prices is not None:
        out.print(
            f"cost: ${prices.gb_second:.10f}".rstrip("0")
            + f" per GB-s and ${prices.per_million_requests:.2f} per million requests "
            "(on-demand, no free tier); change with --price-gb-s / --price-requests",
            soft_wrap=True,
        )


def print_full_comparison(comparison: Comparison) -> None:
    """``compare``'s table and its price line."""
    print_comparison(comparison.rows, comparison.names, comparison.prices)


def print_arrow(table: pa.Table, max_rows: int) -> None:
    """A query result as a table, at most ``max_rows`` rows, saying how many were left out."""
    from replay.analysis.query import text_cell

    out = Table(show_lines=False)
    for name in table.column_names:
        out.add_column(name, no_wrap=True)
    for row in table.slice(0, max_rows).to_pylist():
        out.add_row(*[text_cell(v) for v in row.values()])
    shown = console()
    shown.print(out)
    if table.num_rows > max_rows:
        shown.print(
            f"{table.num_rows - max_rows} more row(s) not shown; use --max-rows, --format csv or -o FILE"
        )


def print_sweep(result: SweepResult, objective: str) -> None:
    """A sweep's points, the Pareto front and the recommendation for ``objective``."""
    from replay.analysis.pareto import describe, recommend

    rows = result.results.to_pylist()
    table = Table()
    table.add_column("point", no_wrap=True)
    for key in result.keys:
        table.add_column(key, justify="right")
    for col in (
        "discarded",
        "duplicates",
        "p99 latency",
        "invocations",
        "max age",
        "cost",
        "front",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["point"],
            *[json.dumps(r[f"param.{k}"]) for k in result.keys],
            str(r["discarded"]),
            str(r["duplicates"]),
            duration(r["latency_p99_ms"]),
            str(r["invocations"]),
            duration(r["iterator_age_max_ms"]),
            usd(r["cost_usd"]),
            "*" if r["pareto"] else "",
        )
    shown = console()
    shown.print(table)
    rec = recommend(result.results, objective)
    chosen = describe([next(r for r in rows if r["point"] == rec.point)], result.keys)[0]
    shown.print(
        f"{result.ran} point(s) run, {result.reused} reused; {len(result.front)} on the Pareto front\n"
        f"recommended for {objective}: {rec.point} ({chosen}) — {rec.reason}\n"
        f"results: {result.path / 'results.parquet'}",
        soft_wrap=True,
    )
