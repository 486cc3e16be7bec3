"""query: view names a reader of run-format.md guesses (capture_records, run_records; the first
names records and outcomes kept), a missing column told which views have it, no silent empty
answer when no path is given, and destination lines counted from 1 as explain counts them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from replay.analysis.explain import explain_record
from replay.analysis.query import ALIASES, VIEWS, connect, run_query
from replay.cli.main import app
from tests.replay.support import cli, small_demo

DOCS = Path(__file__).parents[3] / "docs" / "query.md"


def _one_line_error(args: list[str]) -> str:
    out = cli("query", *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_capture_records_and_run_records_with_their_first_names(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = small_demo(tmp_path_factory)
    paths = [d / "run-production", d / "run-safer"]
    con = connect(paths)
    for alias, view in ALIASES.items():
        assert con.sql(f"select * from {alias} order by all").fetchall() == (
            con.sql(f"select * from {view} order by all").fetchall()
        )
    views = con.sql("select view_name from duckdb_views() where not internal").fetchall()
    assert set(VIEWS) | set(ALIASES) == {name for (name,) in views if not name.startswith("_")}
    counts = run_query(
        "select run, count(*) filter (where disposition = 'discarded') n from run_records "
        "group by run order by run",
        paths,
    ).to_pylist()
    summary = run_query("select run, discarded n from runs order by run", paths).to_pylist()
    assert counts == summary and [r["run"] for r in counts] == ["run-production", "run-safer"]
    n = run_query("select count(*) n from capture_records", paths).column("n")[0].as_py()
    assert n == 6000


def test_a_column_of_another_view_is_named_in_one_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = str(small_demo(tmp_path_factory) / "run-safer")
    line = _one_line_error(["select disposition from records", run])
    assert 'Referenced column "disposition" not found' in line
    assert '"disposition" is a column of run_records (the runs\' records.parquet' in line
    assert "also named outcomes" in line
    line = _one_line_error(["select o.data from outcomes o", run])
    assert '"data" is a column of capture_records' in line
    line = _one_line_error(["select shard from runs", run])
    assert "invocations" in line and "run_records" in line and "metrics" in line
    line = _one_line_error(["select nothing_like_it from invocations", run])
    assert "is a column of" not in line


def test_no_path_is_one_line_unless_the_sql_reads_files(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for view in ("invocations", "records", "run_records", "runs"):
        line = _one_line_error([f"select count(*) from {view}"])
        assert line.startswith("error: query: no capture, run or sweep given"), line
        assert view in line
    runner = CliRunner()
    out = runner.invoke(app, ["query", "select 42 as answer", "-F", "csv"])
    assert (out.exit_code, out.output) == (0, "answer\n42\n")
    file = small_demo(tmp_path_factory) / "run-safer" / "records.parquet"
    out = runner.invoke(app, ["query", f"select count(*) n from '{file}'", "-F", "csv"])
    assert (out.exit_code, out.output) == (0, "n\n6000\n")
    # the library keeps answering from the empty views (the TUI opens them before any path)
    assert run_query("select count(*) n from invocations", []).column("n")[0].as_py() == 0


def test_destination_lines_count_from_1_as_explain_does(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = small_demo(tmp_path_factory) / "run-safer"
    rows = run_query("select line, shard, first_seq from destinations", [run]).to_pylist()
    assert [r["line"] for r in rows] == [1]
    x = explain_record(run, record=f"{rows[0]['shard']}:{rows[0]['first_seq']}")
    out = CliRunner().invoke(
        app, ["explain", str(run), "--record", f"{rows[0]['shard']}:{rows[0]['first_seq']}"]
    )
    assert "named by destinations.jsonl line 1" in out.output
    assert len(x.destination) == 1
    with (run / "destinations.jsonl").open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert first["KinesisBatchInfo"]["shardId"] == rows[0]["shard"]


def test_docs_name_the_views_and_count_lines_from_1() -> None:
    text = DOCS.read_text(encoding="utf-8")
    headings = re.findall(r"^### (.+)$", text, flags=re.M)
    named = {n for h in headings for n in re.findall(r"`([a-z_]+)`", h)}
    assert set(VIEWS) | set(ALIASES) <= named
    assert "0-based line" not in text
    assert "line number in destinations.jsonl, from 1" in text
