"""Where the demo writes: a folder per incident, replacing only a previous demo of that incident;
and what it prints last: the next commands, on the real paths and ids it computed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import replay.demo as demo_module
from replay.cli.main import app
from tests.replay.support import cli


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Small samples of both incidents (same shape), in a fresh working directory."""
    monkeypatch.setattr(demo_module, "RECORDS", 6_000)
    monkeypatch.setattr(demo_module, "SQS_BASE_RATE", 1)
    monkeypatch.setattr(demo_module, "SQS_SALE", (1800, 1980, 40))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _demo(*args: str) -> Result:
    return CliRunner().invoke(app, ["demo", *args])


def _next_commands(output: str) -> list[list[str]]:
    tail = output.split("\nNext:\n", 1)[1]
    return [shlex.split(line) for line in tail.splitlines() if line.startswith("    esm-replay ")]


def _one_line_error(args: list[str], *texts: str) -> None:
    """``esm-replay demo ARGS`` (a subprocess, in the current directory) fails in one line."""
    out = cli("demo", *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for text in texts:
        assert text in lines[0], lines[0]


def test_each_incident_has_its_own_folder(small: Path) -> None:
    out = _demo()
    assert out.exit_code == 0, out.output
    assert (small / "demo-output" / "kinesis" / "run-production" / "run.json").is_file()
    out = _demo("--incident", "sqs")
    assert out.exit_code == 0, out.output
    assert (small / "demo-output" / "sqs" / "run-safer" / "run.json").is_file()
    assert (small / "demo-output" / "kinesis" / "capture" / "manifest.json").is_file()
    assert sorted(p.name for p in (small / "demo-output").iterdir()) == ["kinesis", "sqs"]


def test_a_demo_replaces_only_its_own_previous_output(small: Path) -> None:
    assert _demo().exit_code == 0
    before = (small / "demo-output/kinesis/run-safer/invocations.parquet").read_bytes()
    (small / "demo-output/kinesis/report.html").write_text("<html/>")  # the suggested report
    again = _demo()
    assert again.exit_code == 0, again.output
    assert (small / "demo-output/kinesis/run-safer/invocations.parquet").read_bytes() == before
    _one_line_error(
        ["--incident", "sqs", "--out", "demo-output/kinesis"],
        "demo-output/kinesis: holds the kinesis demo, not the sqs one",
        "demo-output/sqs",
    )
    mine = small / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    _one_line_error(["--out", "mine"], "mine: holds notes.txt, which the demo did not write")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    (small / "plain").write_text("a file")
    _one_line_error(["--out", "plain"], "plain: is a file")
    (small / "runlike" / "run-safer").mkdir(parents=True)
    _one_line_error(["--out", "runlike"], "is not a run the demo wrote")


def test_the_kinesis_demo_ends_with_commands_that_work(small: Path) -> None:
    out = _demo("--out", "d")
    assert out.exit_code == 0, out.output
    commands = _next_commands(out.output)
    verbs = [c[1] for c in commands]
    assert verbs == ["explain", "explain", "query", "report"]
    poison = commands[0][commands[0].index("--record") + 1]
    assert commands[0][2] == "d/run-production" and commands[1][2] == "d/run-safer"
    for argv in commands[:3]:
        result = CliRunner().invoke(app, argv[1:])
        assert result.exit_code == 0, (argv, result.output)
    production = CliRunner().invoke(app, commands[0][1:]).output
    assert "RetentionExpired" in production and poison.split(":")[1] in production
    safer = CliRunner().invoke(app, commands[1][1:]).output
    assert "named by destinations.jsonl line 1" in safer
    assert commands[3][-2:] == ["-o", "d/report.html"]


def test_the_sqs_demo_names_a_dead_lettered_order(small: Path) -> None:
    out = _demo("--incident", "sqs", "--out", "q")
    assert out.exit_code == 0, out.output
    commands = _next_commands(out.output)
    assert [c[1] for c in commands] == ["explain", "query", "report"]
    assert "--message" in commands[0]
    explained = CliRunner().invoke(app, commands[0][1:])
    assert explained.exit_code == 0, explained.output
    assert "throttled" in explained.output and "dead-lettered" in explained.output
