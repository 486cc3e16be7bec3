"""Names and help of the command line: --version, an Example line a user can paste in every
command's help, option spellings shared across commands, and help text that rich prints as written."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import click
import pytest
import typer
from rich.text import Text
from typer.testing import CliRunner

from replay.cli.main import app

ROOT = typer.main.get_command(app)


def _commands() -> Iterator[tuple[str, click.Command]]:
    """Every command (groups expanded) with its path: ``replay``, ``capture kinesis``..."""

    def walk(group: Any, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):  # a group
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", cmd

    yield from walk(ROOT, "")


COMMANDS = dict(_commands())


def _parse(path: str, args: list[str]) -> dict[str, Any]:
    """The parameters ``esm-replay PATH ARGS`` parses to (nothing is run)."""
    with COMMANDS[path].make_context(path, args) as ctx:
        return dict(ctx.params)


def _example(path: str) -> list[str]:
    """The argv of the command's ``Example:`` (a shell line, maybe continued with ``\\``)."""
    doc = COMMANDS[path].help or ""
    assert "Example: " in doc, f"{path}: no Example line in its help"
    text = doc.split("Example: ", 1)[1].split("\n\n", 1)[0]
    return shlex.split(text.replace("\\\n", " "))


def test_version() -> None:
    out = CliRunner().invoke(app, ["--version"])
    assert out.exit_code == 0, out.output
    assert out.output == f"esm-replay {__import__('replay').__version__}\n"


def test_every_command_has_an_example_that_parses() -> None:
    assert len(COMMANDS) >= 16
    for path in COMMANDS:
        argv = _example(path)
        words = ["esm-replay", *path.split()]
        assert argv[: len(words)] == words, (path, argv)
        _parse(path, argv[len(words) :])  # a user can paste it: every option and value is valid


def test_examples_are_printed_on_one_line() -> None:
    out = CliRunner().invoke(app, ["query", "--help"], env={"COLUMNS": "200"})
    assert 'Example: esm-replay query "select run, result, count(*)' in out.output


def test_help_text_is_printed_as_written() -> None:
    """Rich markup mode must not eat [square brackets]: each is escaped in the help text."""
    for path, cmd in COMMANDS.items():
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in texts:
            assert Text.from_markup(text).plain == text.replace("\\[", "["), (path, text)
    out = CliRunner().invoke(app, ["sweep", "--help"], env={"COLUMNS": "300"})
    assert "{Key: [values]} (their product)" in out.output
    assert "esm-replay[dask]" in out.output
    out = CliRunner().invoke(app, ["report", "--help"], env={"COLUMNS": "300"})
    assert "pip install 'esm-replay[report]'" in out.output


def test_no_must_not_exist_beside_overwrite() -> None:
    for path, cmd in COMMANDS.items():
        names = {n for p in cmd.params for n in p.opts}
        if "--overwrite" in names:
            helps = " ".join(getattr(p, "help", None) or "" for p in cmd.params)
            assert "must not exist" not in helps, path


def test_set_help_names_every_spelling() -> None:
    for path in ("replay", "sweep"):
        (option,) = [p for p in COMMANDS[path].params if "--set" in p.opts]
        text = getattr(option, "help", "")
        assert "AWS names (MaximumRetryAttempts=3)" in text
        assert "Terraform names (maximum_retry_attempts=3)" in text
        assert "DestinationConfig.OnFailure.Destination" in text
        assert "Source.VisibilityTimeout" in text


@pytest.mark.parametrize("spelling", ["--bootstrap", "--bootstrap-servers"])
def test_kafka_bootstrap_has_both_spellings_everywhere(spelling: str) -> None:
    servers = "b-1:9092,b-2:9092"
    window = ["--from", "0", "--to", "now", "-o", "out"]
    kafka = _parse("capture kafka", ["--topic", "t", spelling, servers, *window])
    assert kafka["bootstrap"] == servers
    imported = _parse(
        "capture import", ["f.json", "--source", "kafka", "-o", "c", spelling, servers]
    )
    assert imported["bootstrap_servers"] == servers
    assert _parse("inject", ["cap", "--to", "kafka://t", spelling, servers])["bootstrap"] == servers


def test_time_options_accept_both_families() -> None:
    capture = _parse("capture kinesis", ["s", "--start", "1", "--until", "now", "-o", "o"])
    assert (capture["from_"], capture["to"]) == ("1", "now")
    for path in ("capture dynamodb", "capture kafka"):
        extra = ["--topic", "t"] if path.endswith("kafka") else ["t"]
        params = _parse(path, [*extra, "--start", "1", "--until", "2", "-o", "o"])
        assert (params["from_"], params["to"]) == ("1", "2")
    replay = _parse("replay", ["cap", "-o", "run", "--from", "5", "--to", "9"])
    assert (replay["start"], replay["until"]) == ("5", "9")
    replay = _parse("replay", ["cap", "-o", "run", "--start", "5", "--until", "9"])
    assert (replay["start"], replay["until"]) == ("5", "9")
