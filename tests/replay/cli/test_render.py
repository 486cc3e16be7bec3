"""How tables print (replay.cli.render, replay.cli.layout): no line wider than the screen, no
label or identifier cut, every cell literal text; plain aligned text when piped.

The snapshots under tests/replay/golden/render/ are the terminal renders at 80 and 100 columns
(``Screen(width, terminal=True)``, styles left out) and the piped plain form; UPDATE_GOLDEN=1
rewrites them. They hold the analysis layer's row labels, so a new label changes them; the checks
in code below do not depend on the labels' words, only on every label coming out whole.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from rich.cells import cell_len
from rich.text import Text
from typer.testing import CliRunner

from replay.analysis.compare import Comparison, ComparisonRow, compare
from replay.analysis.query import run_query, text_cell
from replay.cli.layout import Screen, common_prefix, fold, narrowest, wrap_cell
from replay.cli.main import app
from replay.cli.render import (
    arrow_lines,
    comparison_lines,
    print_comparison,
    print_summary,
    sweep_lines,
)
from replay.formats.runfiles import read_run
from replay.sweep import SweepResult, run_sweep
from tests.replay.support import golden, scenario, small_demo

WIDTHS = (80, 100)
PLAIN = Screen(None, False)
BOX = set("┏┓┗┛┃━┡┩╇┳┻│─┌┐└┘├┤┼╭╮╰╯")
FOLD_NOTE = re.compile(r"… (?:in \w+ )?stands for (\S+) \(")
_CACHE: dict[str, Any] = {}


# ---------------------------------------------------------------------- builders
def _third_run(factory: pytest.TempPathFactory) -> Path:
    """A third run of the demo capture: retries up to 10 times, no bisect, no destination."""
    if "third" not in _CACHE:
        import replay.demo as demo
        from replay.config import parse_config
        from replay.engine.runner import RunRequest, run_capture
        from replay.formats.capture import read_capture
        from replay.vocabulary import SourceKind

        d = small_demo(factory)
        raw = {**demo.PRODUCTION, "MaximumRetryAttempts": 10}
        config, _ = parse_config(raw, kind=SourceKind.KINESIS, where="test config")
        request = RunRequest(
            capture=d / "capture", config=config, model=demo.FUNCTION, seed=0, config_source="test"
        )
        target = factory.mktemp("third") / "run-retry-10"
        run_capture(read_capture(d / "capture"), request, target, overwrite=True)
        _CACHE["third"] = target
    path: Path = _CACHE["third"]
    return path


def _runs(factory: pytest.TempPathFactory, count: int) -> list[Path]:
    d = small_demo(factory)
    runs = [d / "run-production", d / "run-safer"]
    return runs if count == 2 else [*runs, _third_run(factory)]


def _comparison(factory: pytest.TempPathFactory, count: int) -> Comparison:
    runs = _runs(factory, count)
    return compare([read_run(r) for r in runs], [r.name for r in runs])


def _sweep(factory: pytest.TempPathFactory) -> SweepResult:
    """Four points of the two-poison scenario, shown as if their sweep were ``sweep/``."""
    if "sweep" not in _CACHE:
        root = scenario(factory)
        result = run_sweep(
            root / "capture",
            factory.mktemp("render-sweep") / "sw",
            config=str(root / "esm.json"),
            function=str(root / "fn.json"),
            vary=["BatchSize=1,10", "BisectBatchOnFunctionError=true,false"],
            jobs=1,
        )
        _CACHE["sweep_args"] = [
            str(root / "capture"), "-o", str(result.path), "-c", str(root / "esm.json"),
            "-f", str(root / "fn.json"), "--vary", "BatchSize=1,10",
            "--vary", "BisectBatchOnFunctionError=true,false", "-j", "1",
        ]  # fmt: skip
        _CACHE["sweep"] = dataclasses.replace(result, path=Path("sweep"))
    sweep: SweepResult = _CACHE["sweep"]
    return sweep


def _text(lines: Sequence[Text]) -> str:
    return "".join(t.plain + "\n" for t in lines)


# ---------------------------------------------------------------------- checks
def assert_fits(out: str, width: int) -> None:
    wide = [line for line in out.splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} line(s) wider than {width}: {wide[:3]}"


def assert_no_truncation(out: str, ids: Sequence[str]) -> None:
    """Every ``…`` is a fold that a note names, standing for the prefix of one of ``ids``."""
    notes = FOLD_NOTE.findall(out)
    for line in out.splitlines():
        if FOLD_NOTE.search(line):
            continue
        for match in re.finditer(r"…(\S*)", line):
            assert notes, f"{line!r}: … without a note saying what it stands for"
            whole = notes[0] + match.group(1)
            assert any(whole.startswith(i) for i in ids), f"{line!r}: {match.group(0)!r} is cut"


def shown(text: str, out: str, ids: Sequence[str]) -> bool:
    """``text`` is in ``out`` whole, or with the shards' prefix folded and a note saying so."""
    notes = FOLD_NOTE.findall(out)
    return text in out or any(fold(text, n) in out for n in notes if any(i in text for i in ids))


def _squash(text: str) -> str:
    return "".join(text.split())


def _rules(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line and set(line) <= {"─", " "}]


def _spans(rule: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer("─+", rule)]


def terminal_labels(out: str, rows: int) -> list[list[str]]:
    """The first column of each page of a terminal compare, each label's lines joined."""
    lines = out.splitlines()
    pages = []
    for r in _rules(lines):
        width = _spans(lines[r])[0][1]
        labels: list[str] = []
        for line in lines[r + 1 :]:
            if not line.strip():
                break  # the blank line before the next page
            head, rest = line[:width].rstrip(), line[width:].strip()
            if not head:
                continue  # a value's second line
            if not rest and labels:
                labels[-1] += head.strip()  # a label's second line
            elif len(labels) == rows:
                break
            else:
                labels.append(head)
        pages.append(labels)
    return pages


def terminal_table(out: str, rows: int) -> tuple[list[str], list[list[str]]]:
    """Headers (their lines joined) and cells of a terminal table whose cells do not break."""
    lines = out.splitlines()
    (rule,) = _rules(lines)
    spans = _spans(lines[rule])
    headers = ["" for _ in spans]
    for line in lines[:rule]:
        for i, (a, b) in enumerate(spans):
            headers[i] += line[a:b].strip()
    cells = [[line[a:b].strip() for a, b in spans] for line in lines[rule + 1 : rule + 1 + rows]]
    return headers, cells


def dropped_columns(out: str) -> list[str]:
    match = re.search(r"not shown at \d+ columns: (.*?);", " ".join(out.split()))
    return match.group(1).split(", ") if match else []


def shard_ids(comparison: Comparison) -> list[str]:
    return [
        r.key.removeprefix("blocked_ms.")
        for r in comparison.rows
        if r.key.startswith("blocked_ms.") and r.key != "blocked_ms"
    ]


def check_comparison(out: str, comparison: Comparison, width: int | None) -> None:
    """Every label whole (on up to two lines), every run name and identifier whole, nothing wider
    than the screen, every ``…`` a named fold."""
    ids = shard_ids(comparison)
    assert ids
    assert_no_truncation(out, ids)
    for name in comparison.names:
        assert name in out
    values = {str(v) for r in comparison.rows for v in r.values}
    for text in [*ids, *(v for v in values if any(i in v for i in ids))]:
        assert shown(text, out, ids), f"{text!r} not shown whole"
    if width is None:
        assert not BOX & set(out) and "\x1b" not in out
        lines = out.splitlines()
        assert re.split(r"\s{2,}", lines[0].strip()) == list(comparison.names)
        for row, line in zip(comparison.rows, lines[1:], strict=False):
            assert re.split(r"\s{2,}", line.strip()) == [
                row.label.strip(),
                *map(str, row.values),
            ], line
        return
    assert_fits(out, width)
    notes = FOLD_NOTE.findall(out)
    pages = terminal_labels(out, len(comparison.rows))
    assert pages
    for labels in pages:
        assert len(labels) == len(comparison.rows)
        for got, row in zip(labels, comparison.rows, strict=True):
            whole = {_squash(row.label), *(_squash(fold(row.label, n)) for n in notes)}
            assert _squash(got) in whole, f"label {row.label!r} shown as {got!r}"


# ---------------------------------------------------------------------- compare
@pytest.mark.parametrize("width", [*WIDTHS, None])
@pytest.mark.parametrize("runs", [2, 3])
def test_compare_fits_the_terminal_or_is_plain_when_piped(
    tmp_path_factory: pytest.TempPathFactory, runs: int, width: int | None
) -> None:
    c = _comparison(tmp_path_factory, runs)
    out = _text(comparison_lines(c.rows, c.names, c.prices, Screen(width, width is not None)))
    check_comparison(out, c, width)
    golden(f"render/compare_{runs}runs_{width or 'piped'}.txt", out)


def test_compare_of_three_runs_pages_at_80_columns(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    c = _comparison(tmp_path_factory, 3)
    out = _text(comparison_lines(c.rows, c.names, c.prices, Screen(80, True)))
    assert "runs 1–2 of 3" in out and "run 3 of 3" in out
    assert len(terminal_labels(out, len(c.rows))) == 2


def test_compare_cli_piped_uses_columns_else_no_limit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    c = _comparison(tmp_path_factory, 2)
    args = ["compare", *map(str, _runs(tmp_path_factory, 2))]
    narrow = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert_fits(narrow.output, 80)
    assert_no_truncation(narrow.output, shard_ids(c))
    wide = CliRunner().invoke(app, args, env={"COLUMNS": None})
    assert wide.exit_code == 0, wide.output
    check_comparison(wide.output, c, None)
    fates = next(r for r in c.rows if r.key == "divergence.fate").values
    assert any(all(str(f) in line for f in fates) for line in wide.output.splitlines())


def test_compare_on_a_terminal_at_80_columns(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The real thing: the console script on a pseudo-terminal 80 columns wide."""
    c = _comparison(tmp_path_factory, 2)
    out = _on_terminal(["compare", *map(str, _runs(tmp_path_factory, 2))], 80)
    check_comparison(out, c, 80)
    assert "\x1b[" in _on_terminal(["compare", *map(str, _runs(tmp_path_factory, 2))], 80, raw=True)


def _on_terminal(args: list[str], width: int, raw: bool = False) -> str:
    import fcntl
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
    env = {**os.environ, "COLUMNS": str(width), "LINES": "24", "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", *args],
        stdout=child,
        stderr=subprocess.PIPE,  # not a terminal: no progress bar in the way
        env=env,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, errors
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return text if raw else re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


# ---------------------------------------------------------------------- query
QUERIES = {
    "outcomes": "select * from outcomes",
    "invocations": "select * from invocations",
}


def _query(factory: pytest.TempPathFactory, name: str) -> pa.Table:
    d = small_demo(factory)
    return run_query(QUERIES[name], [d / "run-production"])


def check_query(out: str, table: pa.Table, rows: int, width: int) -> None:
    """The columns shown are the query's, in order, with every cell whole (the shard prefix
    folded with a note); the others are named in a note; nothing wider than the screen."""
    assert_fits(out, width)
    values = [[text_cell(v) for v in r.values()] for r in table.slice(0, rows).to_pylist()]
    shards = sorted({r[table.column_names.index("shard")] for r in values})
    assert_no_truncation(out, shards)
    headers, cells = terminal_table(out, rows)
    dropped = dropped_columns(out)
    names = [_squash(n) for n in table.column_names]
    assert sorted(headers + dropped) == sorted(names)
    assert [n for n in names if n in headers] == headers
    notes = FOLD_NOTE.findall(out)
    for got, want in zip(cells, values, strict=True):
        expect = [
            fold(v, notes[0]) if notes and table.column_names[i] == "shard" else v
            for i, v in enumerate(want)
            if names[i] in headers
        ]
        assert got == expect


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(QUERIES))
def test_query_fits_the_terminal(
    tmp_path_factory: pytest.TempPathFactory, name: str, width: int
) -> None:
    table = _query(tmp_path_factory, name)
    out = _text(arrow_lines(table, 8, Screen(width, True)))
    check_query(out, table, 8, width)
    assert dropped_columns(out), "these queries are wider than the screen"
    assert "see every column with --format csv or -F json" in " ".join(out.split())
    golden(f"render/query_{name}_{width}.txt", out)


@pytest.mark.parametrize("name", list(QUERIES))
def test_query_piped_is_plain_and_whole(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    table = _query(tmp_path_factory, name)
    out = _text(arrow_lines(table, 8, PLAIN))
    assert not BOX & set(out) and "…" not in out
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == table.column_names
    for row, line in zip(table.slice(0, 8).to_pylist(), lines[1:9], strict=True):
        assert [v for v in map(text_cell, row.values()) if v] == re.split(r"\s{2,}", line.strip())
    golden(f"render/query_{name}_piped.txt", out)


def test_query_cli_piped_honours_columns(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    args = ["query", "select * from outcomes", str(d / "run-production"), "--max-rows", "5"]
    out = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    assert_fits(out.output, 80)
    assert not BOX & set(out.output)
    assert_no_truncation(out.output, [f"shardId-00000000000{i}" for i in range(4)])


# ---------------------------------------------------------------------- sweep
def _sweep_table(out: str) -> str:
    """The table and the note about left-out columns, not the recommendation (whose wording
    belongs to replay.analysis.pareto)."""
    return out.split("\n0 point(s) run")[0].split("\n4 point(s) run")[0] + "\n"


@pytest.mark.parametrize("width", WIDTHS)
def test_sweep_fits_the_terminal(tmp_path_factory: pytest.TempPathFactory, width: int) -> None:
    result = _sweep(tmp_path_factory)
    out = _text(sweep_lines(result, "balanced", Screen(width, True)))
    assert_fits(out, width)
    assert "…" not in out
    rows = result.results.to_pylist()
    headers, cells = terminal_table(out, len(rows))
    assert headers[: 1 + len(result.keys)] == ["point", *result.keys]
    for row, got in zip(rows, cells, strict=True):
        assert got[0] == row["point"]
        assert got[1 : 1 + len(result.keys)] == [json.dumps(row[f"param.{k}"]) for k in result.keys]
    everything = ["discarded", "duplicates", "p99latency", "invocations", "maxage", "cost", "front"]
    dropped = [_squash(d) for d in dropped_columns(out)]
    figures = [_squash(h) for h in headers[1 + len(result.keys) :]]
    assert sorted(figures + dropped) == sorted(everything)
    assert "recommended for balanced" in out
    golden(f"render/sweep_{width}.txt", _sweep_table(out))


def test_sweep_on_a_terminal_at_80_columns(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The console script on an 80-column pseudo-terminal, resuming the sweep (all reused)."""
    result = _sweep(tmp_path_factory)
    out = _on_terminal(["sweep", *_CACHE["sweep_args"]], 80)
    assert_fits(out, 80)
    assert "…" not in out
    _, cells = terminal_table(out, result.results.num_rows)
    assert [c[:3] for c in cells] == [
        [r["point"], *(json.dumps(r[f"param.{k}"]) for k in result.keys)]
        for r in result.results.to_pylist()
    ]


def test_sweep_piped_is_plain_and_whole(tmp_path_factory: pytest.TempPathFactory) -> None:
    result = _sweep(tmp_path_factory)
    out = _text(sweep_lines(result, "balanced", PLAIN))
    assert not BOX & set(out) and "…" not in out
    lines = out.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    assert (
        header[: 1 + len(result.keys)] == ["point", *result.keys]
        and len(header) == 1 + len(result.keys) + 7
    )
    for row, line in zip(result.results.to_pylist(), lines[1:], strict=False):
        assert line.startswith(row["point"] + "  ")
        assert "$" in line  # the cost column is there
    golden("render/sweep_piped.txt", _sweep_table(out))


# ---------------------------------------------------------------------- literal text
MARKUP = "[bold]b[/bold] [/x] [red]"


def test_cells_are_literal_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        ComparisonRow("label [/x]", ("arn:aws:sqs:eu-west-1:1:q[/x]", "[red]r[/red]"), "k"),
        ComparisonRow(f"  {MARKUP}", (1, 2), "k2"),
    ]
    print_comparison(rows, ["run[/x]", "[b]"])
    out = capsys.readouterr().out
    for text in ("label [/x]", "arn:aws:sqs:eu-west-1:1:q[/x]", "[red]r[/red]", MARKUP, "run[/x]"):
        assert text in out
    for width in WIDTHS:
        shown_ = _text(comparison_lines(rows, ["run[/x]", "[b]"], None, Screen(width, True)))
        assert "[red]r[/red]" in shown_ and MARKUP in shown_


def test_summary_path_is_literal(capsys: pytest.CaptureFixture[str]) -> None:
    summary = {
        "records": 3,
        "dispositions": {"processed": 3},
        "reasons": {},
        "duplicates": 0,
        "invocations": 1,
        "results": {"ok": 1},
        "iterator_age_ms": {"max": 10},
        "destination_records": 0,
        "shards": {"shard[/x]": {"blocked_ms": 5}},
    }
    print_summary(summary, "/tmp/out[/x]")
    out = capsys.readouterr().out
    assert "run written to /tmp/out[/x]" in out and "shard[/x] blocked" in out


def test_query_cell_with_markup_prints_verbatim() -> None:
    sql = f"select '{MARKUP}' as v, 'shardId-[/x]' as shard, 'a' || chr(27) || '[31mred' as e"
    for env in ({"COLUMNS": None}, {"COLUMNS": "80"}):
        out = CliRunner().invoke(app, ["query", sql], env=env)
        assert out.exit_code == 0, out.output
        assert MARKUP in out.output and "shardId-[/x]" in out.output
        # an escape sequence in a value is shown, not sent to the terminal
        assert "a\\x1b[31mred" in out.output and "\x1b" not in out.output


# ---------------------------------------------------------------------- the layout's rules
def test_where_cells_break() -> None:
    assert wrap_cell("MaximumBatchingWindowInSeconds", "label", 20) == [
        "MaximumBatching",
        "WindowInSeconds",
    ]
    assert wrap_cell("  most deliveries of a record", "label", 20) == [
        "  most deliveries",
        "  of a record",
    ]
    assert wrap_cell("parent_batch", "label", 8) == ["parent_", "batch"]
    assert wrap_cell("24.0 h", "value", 3) == ["24.0 h"]  # a figure and its unit stay together
    assert wrap_cell("shardId-000000000003#537", "value", 5) == ["shardId-000000000003#537"]
    assert wrap_cell("2024-11-05T09:41:07.250Z", "value", 5) == ["2024-11-05T09:41:07.250Z"]
    assert wrap_cell("discarded (RetentionExpired), 1446 deliveries", "value", 25) == [
        "discarded",
        "(RetentionExpired), 1446",
        "deliveries",
    ]
    assert wrap_cell("arn:aws:sqs:eu-west-1:123456789012:orders-queue", "value", 25) == [
        "arn:aws:sqs:eu-west-1:",
        "123456789012:orders-queue",
    ]
    assert narrowest("BisectBatchOnFunctionError", "label", 2) == 13
    assert narrowest("shardId-000000000001", "never", 2) == 20


def test_common_prefix_ends_at_a_separator() -> None:
    ids = [f"shardId-00000000000{i}" for i in range(4)]
    assert common_prefix(ids) == "shardId-"
    assert common_prefix(ids[:1]) == "shardId-"
    assert fold("  shardId-000000000001", "shardId-") == "  …000000000001"
    assert common_prefix(["orders-queue", "shardId-000000000000"]) == ""
    assert common_prefix(["orders-topic-0", "orders-topic-1"]) == "orders-topic-"
    assert common_prefix(["ab-1", "ab-2"]) == ""  # too short to be worth a note
