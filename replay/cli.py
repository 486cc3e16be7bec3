"""The ``esm-replay`` command line: thin typer adapters over library calls.

Every command parses its options, calls one function of the core (the same function the TUI and
tests call) and prints. A user mistake (:class:`~replay.errors.UserError`) prints one line and exits
2; anything else is a bug and keeps its traceback (exit 1). ``captures`` (AWS, Kafka) and ``tui``
are imported inside the commands that need them, so the core stays importable without them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from replay.errors import UserError
from replay.model import SourceKind

if TYPE_CHECKING:
    from replay.compare import ComparisonRow

app = typer.Typer(
    name="esm-replay",
    help="Capture, replay and compare AWS Lambda event source mappings — in virtual time.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
capture_app = typer.Typer(
    help="Make captures: import AWS JSON (live capture agents come later).", no_args_is_help=True
)
app.add_typer(capture_app, name="capture")

out_console = Console()
err_console = Console(stderr=True)


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        yield bar


@app.command()
def replay(
    capture: Annotated[
        Path, typer.Argument(help="Capture directory (from `esm-replay capture ...`).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run directory to write (must not exist).")
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="ESM configuration: CreateEventSourceMapping / GetEventSourceMapping JSON or Terraform "
            "arguments. Default: the configuration stored in the capture, else AWS defaults.",
        ),
    ] = None,
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            "-f",
            help="path/to/file.py:handler, package.module:handler, or a YAML/JSON function model. "
            "Default: a function that always succeeds.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override one ESM field, e.g. --set MaximumRetryAttempts=3 (repeatable)."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed for every random choice (transient faults, request ids).")
    ] = 0,
    start: Annotated[
        str | None,
        typer.Option(
            help="Start the ESM at this time (ISO-8601 or epoch s); earlier records become a backlog."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Stop the simulation at this virtual time.")
    ] = None,
    disabled: Annotated[
        list[str] | None,
        typer.Option(
            "--disabled",
            help="FROM..TO (ISO-8601 or epoch s): the mapping was disabled then and re-enabled "
            "(repeatable); it resumes from its checkpoint (rule B29).",
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="Set an UNCONFIRMED-behaviour choice, e.g. --option bisect_half_budget=inherit.",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Replay a capture through the simulated ESM and write a run directory.

    The run holds run.json (resolved configuration, choices, summary), invocations.parquet,
    records.parquet (one disposition per captured record), destinations.jsonl and metrics.parquet.
    """
    from replay.options import EngineOptions, parse_option
    from replay.run import replay as run_replay
    from replay.timeutil import parse_spans, parse_time

    options = EngineOptions()
    for assignment in option or []:
        options = parse_option(options, assignment)
    with _progress("replaying") as bar:
        task = bar.add_task("replaying", total=None)
        result = run_replay(
            capture,
            out,
            config_path=config,
            function=function,
            overrides=set_ or [],
            seed=seed,
            options=options,
            start_ms=parse_time(start, field="--start") if start else None,
            until_ms=parse_time(until, field="--until") if until else None,
            disabled=parse_spans(disabled or [], field="--disabled"),
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _print_summary(result.summary, str(result.path))


def _print_summary(summary: dict[str, object], where: str) -> None:
    from replay.compare import _ms

    s = summary
    disp = s["dispositions"]
    assert isinstance(disp, dict)
    table = Table(title=f"run written to {where}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("records", str(s["records"]))
    for name in ("processed", "filtered", "discarded", "dead-lettered", "unprocessed"):
        if disp.get(name):
            table.add_row(f"  {name}", str(disp[name]))
    reasons = s["reasons"]
    assert isinstance(reasons, dict)
    for name, count in reasons.items():
        table.add_row(f"    {name}", str(count))
    table.add_row("duplicate deliveries", str(s["duplicates"]))
    table.add_row("invocations", str(s["invocations"]))
    results = s["results"]
    assert isinstance(results, dict)
    for name, count in results.items():
        if name != "ok":
            table.add_row(f"  {name}", str(count))
    age = s["iterator_age_ms"]
    assert isinstance(age, dict)
    table.add_row("max iterator age", _ms(age["max"]))
    table.add_row("destination records", str(s["destination_records"]))
    shards = s["shards"]
    assert isinstance(shards, dict)
    for shard, info in shards.items():
        if info["blocked_ms"]:
            table.add_row(f"  {shard} blocked", _ms(info["blocked_ms"]))
    out_console.print(table)


def _print_comparison(rows: list[ComparisonRow], names: list[str]) -> None:
    table = Table(show_lines=False)
    table.add_column("", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right")
    for row in rows:
        style = "bold yellow" if row.differs else ""
        table.add_row(row.label, *[str(v) for v in row.values], style=style)
    out_console.print(table)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the sample capture and both runs.")
    ] = Path("demo-output"),
    incident: Annotated[
        str,
        typer.Option(
            help="kinesis: a poison record blocks a shard for a day. "
            "sqs: throttling sends valid messages to the DLQ."
        ),
    ] = "kinesis",
) -> None:
    """Replay an embedded sample incident two ways and compare them.

    kinesis (default): a 4-shard stream, ~100k records over 2 hours, one poison record, replayed
    with the configuration production had (defaults: infinite retries) and with a safer one
    (bisect, MaximumRetryAttempts 3, an on-failure destination). sqs: ~35k orders in an hour with a
    flash sale, a worker with reserved concurrency 10, replayed with default scaling and with
    ScalingConfig.MaximumConcurrency 10.
    """
    from replay.demo import INCIDENTS, run_demo

    if incident not in INCIDENTS:
        raise UserError(f"--incident {incident!r}: allowed {', '.join(INCIDENTS)}")
    with _progress("demo") as bar:
        task = bar.add_task("replaying", total=None)
        report = run_demo(
            out,
            incident=incident,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out_console.print(report.story, soft_wrap=True)
    _print_comparison(report.rows, list(report.names))
    runs = ", ".join(str(r) for r in report.runs)
    out_console.print(f"\nFiles: capture {report.capture}, runs {runs}", soft_wrap=True)


@capture_app.command("import")
def capture_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Lambda event JSON / JSON Lines (any source), AWS CLI get-records or "
            "receive-message output, or kcat -C -J output."
        ),
    ],
    source: Annotated[SourceKind, typer.Option("--source", help="Source kind of the records.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Capture directory to write (must not exist).")
    ],
    arn: Annotated[
        str | None, typer.Option(help="Source ARN; optional when events carry eventSourceARN.")
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="Shard id for inputs that do not name one (CLI output, DynamoDB)."),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Region, when neither the ARN nor the events give it.")
    ] = None,
    source_setting: Annotated[
        list[str] | None,
        typer.Option(
            "--source-setting",
            help="A queue or topic setting the replay needs, e.g. VisibilityTimeout=30, "
            'RedrivePolicy=\'{"maxReceiveCount":3,"deadLetterTargetArn":"arn:..."}\' (repeatable).',
        ),
    ] = None,
    queue_attributes: Annotated[
        Path | None,
        typer.Option(
            help="`aws sqs get-queue-attributes --attribute-names All` output for the queue."
        ),
    ] = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers (HOST:PORT,...), when the events lack them."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Build a capture from Lambda event JSON, AWS CLI output or kcat output.

    Settings given with --source-setting win over those read from --queue-attributes.
    """
    from captures.importers import import_to_capture, parse_setting_pairs, read_queue_attributes

    settings = read_queue_attributes(queue_attributes) if queue_attributes else {}
    settings.update(parse_setting_pairs(source_setting or []))
    result = import_to_capture(
        files, out, source=source, arn=arn, shard=shard, region=region, overwrite=overwrite,
        source_settings=settings or None, bootstrap_servers=bootstrap_servers,
    )  # fmt: skip
    for note in result.notes:
        err_console.print(f"note: {note}", soft_wrap=True)
    shards = len(result.capture.manifest.shards)
    out_console.print(
        f"capture written to {result.capture.path}: {result.records} records in {shards} shard(s) "
        f"from {result.files} file(s); {result.duplicates} duplicate(s) dropped",
        soft_wrap=True,
    )


# Command groups that live in their own modules register themselves on ``app`` / ``capture_app``
# when imported here (each keeps its heavy imports inside its commands).
from replay import cli_analysis, cli_capture  # noqa: E402, F401


def main() -> None:
    """Console-script entry point: user errors become one line and exit code 2."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    # `python -m replay.cli`: run the imported module's app, the one that the command modules
    # (cli_analysis, cli_capture) registered on; this __main__ copy has only its own commands.
    from replay.cli import main as _main

    _main()
