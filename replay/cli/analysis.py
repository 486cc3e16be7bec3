"""``esm-replay query|compare|explain|sweep|report``: thin typer adapters over the analysis calls.

Each command parses its options, calls one function of replay.analysis.query / compare / explain / sweep /
report (the functions the TUI calls too) and prints. Heavy imports (DuckDB, Dask, matplotlib) stay
inside the commands. Output is plain when it is not a terminal, and wide enough never to wrap, so
scripts and golden files see the same text a person does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from replay.cli.app import SET_HELP, app, progress, say
from replay.cli.render import console, echo, print_arrow, print_full_comparison, print_sweep
from replay.errors import UserError


@app.command()
def query(
    sql: Annotated[
        str,
        typer.Argument(
            help="DuckDB SQL over the views invocations, run_records (records.parquet), metrics, "
            "destinations, runs, capture_records (the capture's records), observed_failures "
            "(docs/query.md). records and outcomes are older names of capture_records and "
            "run_records."
        ),
    ],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Captures, runs and sweeps to query (a run brings its capture). Without any, "
            "the SQL can only read files itself (from 'run/records.parquet')."
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-F",
            help="table (default on screen), csv, json or parquet; with -o, taken from the file suffix.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the result to this file.")
    ] = None,
    max_rows: Annotated[
        int, typer.Option(help="Rows shown by --format table (the others write every row).")
    ] = 50,
) -> None:
    """Query captures, runs and sweeps with SQL.

    Example: esm-replay query "select run, result, count(*) from invocations group by all" RUN1 RUN2
    """
    from replay.analysis.query import FORMATS, run_query, to_csv, to_json, write_output

    fmt = format_ or (out.suffix.lstrip(".").lower() if out is not None else "table")
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise UserError("--format parquet needs -o FILE")
    if out is not None and fmt == "table":
        raise UserError(f"-o {out}: give --format csv, json or parquet to write a file")
    table = run_query(sql, paths or [], sources_required=True)
    if out is not None:
        write_output(table, fmt, out)
        say(f"{table.num_rows} row(s) written to {out}", err=True)
    elif fmt == "csv":
        echo(to_csv(table))
    elif fmt == "json":
        echo(to_json(table))
    else:
        print_arrow(table, max_rows)


# ---------------------------------------------------------------------- compare
@app.command()
def compare(
    runs: Annotated[
        list[Path], typer.Argument(help="Run directories (or sweeps: all their points).")
    ],
    format_: Annotated[
        str, typer.Option("--format", "-F", help="table or json (raw figures, ms and USD).")
    ] = "table",
    price_gb_s: Annotated[
        float,
        typer.Option(help="USD per GB-second of duration (default: x86 on-demand, us-east-1)."),
    ] = 0.0000166667,
    price_requests: Annotated[
        float, typer.Option(help="USD per million requests (default: $0.20).")
    ] = 0.20,
) -> None:
    """Put the outcomes of runs side by side: one column per run, differences highlighted.

    Rows: configuration, records by disposition and reason, deliveries per record, invocations by
    result, iterator age, latency, blocked time per shard, estimated cost, the first record whose
    fate differs, and calibration against production's failure records when the capture has them.

    Example: esm-replay compare demo-output/kinesis/run-production demo-output/kinesis/run-safer
    """
    from replay.analysis.compare import compare as compare_all
    from replay.analysis.cost import Prices
    from replay.analysis.query import discover
    from replay.formats.runfiles import read_run

    if format_ not in ("table", "json"):
        raise UserError(f"--format {format_!r}: choose table or json")
    if price_gb_s < 0 or price_requests < 0:
        raise UserError("--price-gb-s and --price-requests must not be negative")
    sources = discover(runs)
    if not sources.runs:
        raise UserError("compare: give at least one run directory")
    results = [read_run(r.path) for r in sources.runs]
    comparison = compare_all(
        results, [r.name for r in sources.runs], Prices(price_gb_s, price_requests)
    )
    if format_ == "json":
        echo(json.dumps(comparison.to_json(), indent=2) + "\n")
    else:
        print_full_comparison(comparison)


# ---------------------------------------------------------------------- explain
@app.command()
def explain(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    record: Annotated[
        str | None,
        typer.Option(
            help="SHARD:SEQ (or SHARD#POS, the position in the shard) of a stream record."
        ),
    ] = None,
    message: Annotated[str | None, typer.Option(help="SQS message id.")] = None,
    offset: Annotated[
        str | None, typer.Option(help="Kafka PARTITION:OFFSET (or TOPIC-PARTITION:OFFSET).")
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            help="A shard, SQS group or Kafka partition: when it was blocked and by what."
        ),
    ] = None,
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
) -> None:
    """Explain one record's causal chain, or one shard's blocked timeline (--shard).

    For a record: every attempt that carried it, each result, bisect splits, checkpoint moves, the
    rule (ESM-SEMANTICS id) deciding each step, and its final fate.

    Example: esm-replay explain demo-output/kinesis/run-production --shard shardId-000000000000
    """
    from replay.analysis.explain import explain_record, render_record
    from replay.analysis.timeline import explain_shard, render_shard

    if format_ not in ("text", "json"):
        raise UserError(f"--format {format_!r}: choose text or json")
    doc: dict[str, Any]
    if shard is not None:
        if any(x is not None for x in (record, message, offset)):
            raise UserError("explain: --shard cannot be combined with --record/--message/--offset")
        timeline = explain_shard(run, shard)
        text, doc = render_shard(timeline), timeline.to_json()
    else:
        x = explain_record(run, record=record, message=message, offset=offset)
        text, doc = render_record(x), x.to_json()
    echo(json.dumps(doc, indent=2) + "\n" if format_ == "json" else text)


# ---------------------------------------------------------------------- sweep
@app.command()
def sweep(
    capture: Annotated[Path, typer.Argument(help="Capture directory.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Sweep directory; an unfinished one resumes where it stopped."
        ),
    ],
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Key=v1,v2,... one axis of the product (repeatable), e.g. --vary BatchSize=10,100.",
        ),
    ] = None,
    grid: Annotated[
        Path | None,
        typer.Option(
            help="JSON/YAML: a list of {Key: value} points, or {Key: \\[values]} (their product)."
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="ESM configuration every point starts from."),
    ] = None,
    function: Annotated[
        str | None,
        typer.Option("--function", "-f", help="Handler reference or function model (as replay)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help=SET_HELP + " Applied to every point."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every point's random choices.")] = 0,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Local worker processes (default: CPU count).")
    ] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://HOST:8786); needs the dask extra "
            "(pip install 'esm-replay\\[dask]')."
        ),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="Recommend for latency, cost, safety or balanced.")
    ] = "balanced",
    overwrite: Annotated[
        bool, typer.Option(help="Replace OUT when it holds a sweep of other inputs.")
    ] = False,
) -> None:
    """Replay a capture under every combination of --vary values (or --grid points).

    Each point is a normal run in OUT/<point-id>/; OUT/results.parquet has one row per point, the
    Pareto front over (discarded, duplicates, p99 latency, invocations) and the recommendation.

    Example: esm-replay sweep cap -o sweep --vary BatchSize=10,100 --vary MaximumRetryAttempts=0,3
    """
    import os

    from replay.analysis.pareto import OBJECTIVES
    from replay.sweep import run_sweep

    if objective not in OBJECTIVES:
        raise UserError(f"--objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    if jobs < 0:
        raise UserError("--jobs must be 0 (CPU count) or more")
    with progress(
        "sweep", "the points finished so far are kept; run the same command to resume"
    ) as bar:
        task = bar.add_task("points", total=None)
        result = run_sweep(
            capture,
            out,
            config=config,
            function=function,
            vary=vary or [],
            grid=grid,
            base=set_ or [],
            seed=seed,
            jobs=jobs or os.cpu_count() or 1,
            scheduler=scheduler,
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    print_sweep(result, objective)


# ---------------------------------------------------------------------- report
@app.command()
def report(
    paths: Annotated[list[Path], typer.Argument(help="Run and sweep directories.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file to write; PNGs go beside it.")
    ] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report (PNG figures embedded, also written beside it).

    Iterator age per shard, blocked intervals, invocations and errors per minute, the comparison
    table, calibration against production, and for sweeps the Pareto front and trade-off curves.
    Needs matplotlib (the report extra: pip install 'esm-replay\\[report]').

    Example: esm-replay report demo-output/kinesis/run-production demo-output/kinesis/run-safer
    """
    from replay.analysis.report import build_report

    with progress("report", f"no report was written to {out}") as bar:
        bar.add_task("drawing", total=None)
        written = build_report(paths, out)
    console().print(
        f"report written to {written.path} ({len(written.figures)} figure(s); PNGs: "
        f"{', '.join(p.name for p in written.pngs)})",
        soft_wrap=True,
    )
