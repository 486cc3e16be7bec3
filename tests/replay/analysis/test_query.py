"""query: the documented views over captures, runs and sweeps; output formats; errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from replay.analysis.query import connect, run_query
from replay.cli.main import app
from tests.replay.support import cli, golden, small_demo

VIEWS = (
    "records",
    "invocations",
    "outcomes",
    "destinations",
    "metrics",
    "runs",
    "observed_failures",
)
DOCS = Path(__file__).parents[3] / "docs" / "query.md"


def test_every_view_column_is_documented(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    con = connect([d / "run-production"])
    text = DOCS.read_text(encoding="utf-8")
    for view in VIEWS:
        section = text.split(f"### `{view}`", 1)[1].split("\n### ", 1)[0]
        documented = set(re.findall(r"^\| `([^`]+)`", section, flags=re.M))
        columns = [c[0] for c in con.sql(f"describe {view}").fetchall()]
        # runs also carries every field of the run's ESM configuration, documented as a group
        missing = [
            c for c in columns if c not in documented and not (view == "runs" and c[0].isupper())
        ]
        assert not missing, f"{view}: undocumented columns {missing}"


def test_several_runs_get_a_run_column_and_bring_their_capture(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = small_demo(tmp_path_factory)
    out = CliRunner().invoke(
        app,
        [
            "query",
            "select run, count(*) as attempts, count(*) filter (where result <> 'ok') as failed "
            "from invocations group by run order by run",
            str(d / "run-production"),
            str(d / "run-safer"),
            "--format",
            "csv",
        ],
    )
    assert out.exit_code == 0, out.output
    golden("query_attempts.csv", out.output)
    joined = run_query(
        "select o.run, o.reason, decode(r.data) like '%\"schema\":2%' as poison "
        "from outcomes o join records r using (shard, seq) "
        "where o.disposition = 'discarded' order by all",
        [d / "run-production", d / "run-safer"],
    )
    assert joined.to_pylist() == [
        {"run": "run-production", "reason": "RetentionExpired", "poison": True},
        {"run": "run-safer", "reason": "RetryAttemptsExhausted", "poison": True},
    ]


def test_runs_destinations_metrics_views(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    paths = [d / "run-production", d / "run-safer", d / "capture"]
    runs = run_query(
        "select run, BatchSize, MaximumRetryAttempts, discarded, result_error, destination_records "
        "from runs order by run",
        paths,
    ).to_pylist()
    assert [r["MaximumRetryAttempts"] for r in runs] == [-1, 3]
    assert runs[1]["destination_records"] == 1
    dest = run_query(
        "select run, condition, batch_size, approximate_invoke_count from destinations", paths
    )
    assert dest.to_pylist() == [
        {
            "run": "run-safer",
            "condition": "RetryAttemptsExhausted",
            "batch_size": 1,
            "approximate_invoke_count": 4,
        }
    ]
    age = run_query("select max(iterator_age_ms) a from metrics where run = 'run-safer'", paths)
    assert age.column("a")[0].as_py() < 60_000
    assert run_query("select count(*) n from observed_failures", paths).column("n")[0].as_py() == 0
    assert run_query("select count(*) n from records", paths).column("n")[0].as_py() == 6000


def test_json_and_parquet_output(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    d = small_demo(tmp_path_factory)
    sql = (
        "select invocation, shard, attempt, cause, result, next, rule, start from invocations "
        "where result <> 'ok' or cause <> 'new' order by invocation"
    )
    out = CliRunner().invoke(app, ["query", sql, str(d / "run-safer"), "-F", "json"])
    assert out.exit_code == 0, out.output
    golden("query_safer_failures.json", out.output)
    rows = json.loads(out.output)
    assert [r["next"] for r in rows][-1] == "discard"
    target = tmp_path / "x.parquet"
    out = CliRunner().invoke(app, ["query", sql, str(d / "run-safer"), "-o", str(target)])
    assert out.exit_code == 0, out.output
    assert pq.read_table(target).num_rows == len(rows)


def test_table_output_is_capped(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    out = CliRunner().invoke(
        app, ["query", "select * from outcomes", str(d / "run-safer"), "--max-rows", "3"]
    )
    assert out.exit_code == 0
    assert "5997 more row(s) not shown" in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["select * from nope"], "Table with name nope does not exist"),
        (["select 1", "/nonexistent"], "not a capture"),
        (["select 1", "--format", "parquet"], "needs -o"),
        (["select 1", "--format", "xml"], "choose one of"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    out = cli("query", *args)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr
