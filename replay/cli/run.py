"""``esm-replay replay`` and ``esm-replay demo``: thin adapters over :mod:`replay.engine.runner`
and :mod:`replay.demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from replay.cli.app import SET_HELP, app, err_console, out_console, progress, say
from replay.cli.render import print_comparison, print_summary
from replay.errors import UserError


@app.command()
def replay(
    capture: Annotated[
        Path, typer.Argument(help="Capture directory (from `esm-replay capture ...`).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to write.")],
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
        typer.Option("--set", help=SET_HELP),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed for every random choice (transient faults, request ids).")
    ] = 0,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            "--from",
            help="Start the ESM at this time (ISO-8601 or epoch s); earlier records become a backlog.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", "--to", help="Stop the simulation at this virtual time."),
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

    Example: esm-replay replay cap -o run -f handler.py:handler --set MaximumRetryAttempts=2
    """
    from replay.engine.options import EngineOptions, parse_option
    from replay.engine.runner import replay as run_replay
    from replay.timeutil import parse_spans, parse_time

    options = EngineOptions()
    for assignment in option or []:
        options = parse_option(options, assignment)
    with progress("replaying", f"nothing was written to {out}") as bar:
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
    print_summary(result.summary, str(result.path), result.meta["capture"]["kind"])
    if not result.meta["capture"]["complete"]:
        err_console.print(
            f"warning: {escape(str(capture))} is an incomplete capture (interrupted; finish it "
            "with the same capture command and --resume): this run covers only the records "
            "captured so far, and run.json says so (capture.complete: false)",
            soft_wrap=True,
            highlight=False,
        )


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Where to write the sample capture and both runs (default: demo-output/INCIDENT). "
            "A previous demo of the same incident there is replaced; anything else is refused.",
        ),
    ] = None,
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

    Example: esm-replay demo --incident sqs
    """
    from replay.demo import INCIDENTS, default_out, run_demo

    if incident not in INCIDENTS:
        raise UserError(f"--incident {incident!r}: allowed {', '.join(INCIDENTS)}")
    if out is None:
        out = default_out(incident)
    with progress("demo", f"what is in {out} is whole; run the demo again for the rest") as bar:
        task = bar.add_task("replaying", total=None)
        report = run_demo(
            out,
            incident=incident,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    say(report.story)
    print_comparison(report.rows, report.names, out=out_console)
    runs = ", ".join(str(r) for r in report.runs)
    say(f"\nFiles: capture {report.capture}, runs {runs}\n")
    say(report.next_steps.rstrip("\n"))
