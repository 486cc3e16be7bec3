"""How the command line prints: the console, run summaries, comparisons, Arrow tables, sweeps.

Each table is built as a :class:`~replay.cli.layout.Grid` of literal text (never rich markup: a
shard id or ARN holding ``[...]`` prints as it is) and laid out by :mod:`replay.cli.layout` for
the screen: the terminal's width on a terminal; piped, ``COLUMNS`` when set, else plain aligned
text with no width limit, one line per row, no box drawing and no ANSI codes, so scripts, ``grep``
and golden files see whole values. Labels and identifiers are never cut; what a table does when
it does not fit:

- ``compare``: values that are prose break at spaces, long labels onto a second line, then the
  shards' common prefix is folded (``shardId-000000000001`` → ``…000000000001``, with a note),
  then the runs are shown a page of columns at a time (``runs 1–2 of 3``), every row on each page.
- ``query``: the columns that do not fit are left out, the later ones first (the shard prefix
  folded if that keeps more), and a note names them and how to see them (``--format csv``,
  ``-F json``).
- ``sweep``: headers break onto up to three lines, then the least telling figures are left out
  (max age, then cost and invocations...) with a note saying where they all are.

Each ``*_lines`` function returns the lines for a given :class:`~replay.cli.layout.Screen` (tests
lay out at a forced width); each ``print_*`` prints them for stdout's screen.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from replay.analysis.text import duration, usd
from replay.cli.app import out_console
from replay.cli.layout import Cell, Column, Grid, Layout, Screen, common_prefix, fold, layout, note

if TYPE_CHECKING:
    import pyarrow as pa

    from replay.analysis.compare import Comparison, ComparisonRow
    from replay.analysis.cost import Prices
    from replay.sweep import SweepResult

WIDE = 10_000  # a console's width when nothing limits it: rich never wraps


def console() -> Console:
    """stdout at its screen's width (none when piped without COLUMNS), printing text literally."""
    screen = Screen.detect()
    return Console(width=screen.width or WIDE, markup=False, highlight=False, emoji=False)


def echo(text: str) -> None:
    """Write text to stdout as it is (JSON, CSV, explain's text)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def emit(lines: Sequence[Text], out: Console | None = None) -> None:
    """Print laid-out lines as they are: no wrapping, cropping or markup."""
    shown = out or console()
    for line in lines:
        shown.print(line, soft_wrap=True, crop=False, overflow="ignore", highlight=False)


def _columns_of(screen: Screen) -> str:
    return f"{screen.width} columns"


# ---------------------------------------------------------------------- replay's summary
def summary_lines(
    summary: dict[str, Any], where: str, screen: Screen, kind: str = "kinesis"
) -> list[Text]:
    """The headline figures of one run, after ``replay``, in its source family's words."""
    from replay.analysis.text import summary_rows

    rows: list[list[str | Cell]] = [
        [Cell(label, "never") if label.endswith(" blocked") else label, value]
        for label, value in summary_rows(summary, kind)
    ]
    grid = Grid(
        [Column("", wrap="label", lines=2, priority=0), Column("", align="right", priority=0)],
        rows,
    )
    return [*note(f"run written to {where}", screen, "bold"), *layout(grid, screen).lines]


def print_summary(summary: dict[str, Any], where: str, kind: str = "kinesis") -> None:
    """The headline figures of one run, after ``replay``, in its source family's words."""
    emit(summary_lines(summary, where, Screen.detect(), kind), out_console)


# ---------------------------------------------------------------------- compare
def _shard_ids(rows: Sequence[ComparisonRow]) -> list[str]:
    """The shards (queues, partitions) with a row of their own: ``blocked_ms.<shard>``."""
    return [
        r.key.removeprefix("blocked_ms.")
        for r in rows
        if r.key.startswith("blocked_ms.") and not r.key.startswith("blocked_ms.group.")
    ]


def _comparison_grid(
    rows: Sequence[ComparisonRow], names: Sequence[str], runs: Sequence[int], prefix: str
) -> Grid:
    """The rows of a comparison with the columns of ``runs``, ``prefix`` folded where it starts a
    shard id (a label or a value)."""
    ids = _shard_ids(rows)

    def folded(text: str) -> str:
        return fold(text, prefix) if any(text.lstrip(" ").startswith(i) for i in ids) else text

    several = len(names) > 1
    columns = [Column("", wrap="label", lines=2, priority=0)] + [
        Column(names[i], align="right", wrap="value", header_wrap=False, priority=0) for i in runs
    ]
    cells: list[list[str | Cell]] = []
    styles = []
    for row in rows:
        # a shard's, group's or queue's own row is labelled by an identifier: it never breaks
        own = row.key.startswith("blocked_ms.") and row.key != "blocked_ms"
        label: str | Cell = Cell(folded(row.label), "never") if own else row.label
        cells.append([label, *(folded(str(row.values[i])) for i in runs)])
        styles.append("bold yellow" if several and row.differs else "")
    return Grid(columns, cells, styles)


def _pages(count: int, per_page: int) -> list[range]:
    """``count`` runs in pages of at most ``per_page``, as even as can be."""
    pages = -(-count // per_page)
    size = -(-count // pages)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def comparison_lines(
    rows: Sequence[ComparisonRow],
    names: Sequence[str],
    prices: Prices | None,
    screen: Screen,
) -> list[Text]:
    """Runs side by side, one column each; rows where they differ in bold yellow (on a
    terminal). With ``prices``, a line saying what the cost rows assume."""
    prefix = common_prefix(_shard_ids(rows))
    tries = [""] + ([prefix] if prefix and screen.width is not None else [])
    chosen: tuple[str, list[range], list[Layout]] | None = None
    for per_page in range(len(names), 0, -1) or [1]:
        for folding in tries:
            pages = _pages(len(names), per_page) if names else [range(0)]
            laid = [layout(_comparison_grid(rows, names, p, folding), screen) for p in pages]
            if all(x.fits for x in laid) or (per_page == 1 and folding == tries[-1]):
                chosen = (folding, pages, laid)
                break
        if chosen is not None:
            break
    assert chosen is not None
    folding, pages, laid = chosen
    lines: list[Text] = []
    for page, table in zip(pages, laid, strict=True):
        if len(pages) > 1:
            if lines:
                lines.append(Text("", end=""))
            heading = f"runs {page.start + 1}–{page.stop} of {len(names)}"
            if len(page) == 1:
                heading = f"run {page.start + 1} of {len(names)}"
            lines += note(heading, screen, "bold")
        lines += table.lines
    if len(pages) > 1:
        lines += note(
            f"{len(names)} runs do not fit {_columns_of(screen)} side by side: {len(pages)} pages, "
            "each with every row (-F json has them all at once)",
            screen,
            "dim",
        )
    if folding:
        lines += note(
            f"… stands for {folding} (the shards' common prefix, folded to fit "
            f"{_columns_of(screen)})",
            screen,
            "dim",
        )
    if prices is not None:
        lines += note(
            f"cost: ${prices.gb_second:.10f}".rstrip("0")
            + f" per GB-s and ${prices.per_million_requests:.2f} per million requests "
            "(on-demand, no free tier); change with --price-gb-s / --price-requests",
            screen,
        )
    return lines


def print_comparison(
    rows: Sequence[ComparisonRow],
    names: Sequence[str],
    prices: Prices | None = None,
    out: Console | None = None,
) -> None:
    """Runs side by side, one column each; rows where they differ in bold yellow. With ``prices``,
    a line saying what the cost rows assume."""
    emit(comparison_lines(rows, names, prices, Screen.detect()), out)


def print_full_comparison(comparison: Comparison) -> None:
    """``compare``'s table and its price line."""
    print_comparison(comparison.rows, comparison.names, comparison.prices)


# ---------------------------------------------------------------------- query
def arrow_lines(table: pa.Table, max_rows: int, screen: Screen) -> list[Text]:
    """A query result as a table, at most ``max_rows`` rows, saying how many were left out and
    which columns did not fit."""
    import pyarrow as pa

    from replay.analysis.query import text_cell

    def numeric(t: pa.DataType) -> bool:
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))

    names = table.column_names
    values = [[text_cell(v) for v in row.values()] for row in table.slice(0, max_rows).to_pylist()]
    shards = [i for i, n in enumerate(names) if n == "shard"]
    prefix = common_prefix(r[i] for r in values for i in shards if r[i])

    def grid(folding: str) -> Grid:
        columns = [
            Column(n, align="right" if numeric(f.type) else "left")
            for n, f in zip(names, table.schema, strict=True)
        ]
        cells: list[list[str | Cell]] = [
            [fold(v, folding) if i in shards else v for i, v in enumerate(r)] for r in values
        ]
        return Grid(columns, cells)

    laid, folding = layout(grid(""), screen), ""
    if laid.dropped and prefix:
        again = layout(grid(prefix), screen)
        if len(again.shown) > len(laid.shown):
            laid, folding = again, prefix
    lines = list(laid.lines)
    if laid.dropped:
        left_out = ", ".join(names[i] for i in laid.dropped)
        lines += note(
            f"{len(laid.dropped)} column(s) not shown at {_columns_of(screen)}: {left_out}; "
            "see every column with --format csv or -F json, or select fewer columns",
            screen,
            "dim",
        )
    if folding:
        lines += note(
            f"… in shard stands for {folding} (the shards' common prefix, folded to fit "
            f"{_columns_of(screen)})",
            screen,
            "dim",
        )
    if table.num_rows > max_rows:
        lines += note(
            f"{table.num_rows - max_rows} more row(s) not shown; use --max-rows, --format csv "
            "or -o FILE",
            screen,
        )
    return lines


def print_arrow(table: pa.Table, max_rows: int) -> None:
    """A query result as a table, at most ``max_rows`` rows, saying how many were left out."""
    emit(arrow_lines(table, max_rows, Screen.detect()))


# ---------------------------------------------------------------------- sweep
# the sweep table's figures: header, results column, how it reads, priority (larger: left out first)
SWEEP_FIGURES: tuple[tuple[str, str, Any, int], ...] = (
    ("discarded", "discarded", str, 2),
    ("duplicates", "duplicates", str, 2),
    ("p99 latency", "latency_p99_ms", duration, 2),
    ("invocations", "invocations", str, 3),
    ("max age", "iterator_age_max_ms", duration, 5),
    ("cost", "cost_usd", usd, 4),
    ("front", "pareto", lambda v: "*" if v else "", 1),
)


def sweep_lines(result: SweepResult, objective: str, screen: Screen) -> list[Text]:
    """A sweep's points, the Pareto front and the recommendation for ``objective``."""
    from replay.analysis.pareto import describe, recommend

    rows = result.results.to_pylist()
    columns = [Column("point", priority=0)]
    columns += [Column(k, align="right", priority=0) for k in result.keys]
    columns += [Column(h, align="right", priority=p) for h, _, _, p in SWEEP_FIGURES]
    cells: list[list[str | Cell]] = [
        [
            r["point"],
            *[json.dumps(r[f"param.{k}"]) for k in result.keys],
            *[shown(r[col]) for _, col, shown, _ in SWEEP_FIGURES],
        ]
        for r in rows
    ]
    laid = layout(Grid(columns, cells), screen)
    lines = list(laid.lines)
    results = result.path / "results.parquet"
    if laid.dropped:
        left_out = ", ".join(columns[i].header for i in laid.dropped)
        lines += note(
            f"not shown at {_columns_of(screen)}: {left_out}; every figure of every point:",
            screen,
            "dim",
        )
        lines += note(f"  esm-replay query \"select * from '{results}'\" -F csv", screen, "dim")
    rec = recommend(result.results, objective)
    chosen = describe([next(r for r in rows if r["point"] == rec.point)], result.keys)[0]
    lines += note(
        f"{result.ran} point(s) run, {result.reused} reused; {len(result.front)} on the Pareto "
        f"front\nrecommended for {objective}: {rec.point} ({chosen}) — {rec.reason}",
        screen,
    )
    for detail in rec.details():  # why: …, tie: …, caveat: …
        lines += note(f"  {detail}", screen)
    lines += note(f"results: {results}", screen)
    return lines


def print_sweep(result: SweepResult, objective: str) -> None:
    """A sweep's points, the Pareto front and the recommendation for ``objective``."""
    emit(sweep_lines(result, objective, Screen.detect()))
