"""``esm-replay capture kinesis|dynamodb|sqs|kafka|esm|failures|import`` and ``esm-replay inject``.

Thin typer adapters over the capture agents in ``captures/``, imported inside each command so the
core stays importable without boto3 or the Kafka client. Each prints one progress bar per shard
(records and lag) on a terminal, and a one-line summary at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from replay.cli.app import app, capture_app, err_console, out_console
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    from captures.aws import AwsOptions
    from captures.common import ProgressFn, ShardProgress
    from captures.redact import Redactor

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="Send AWS calls to this URL (LocalStack, moto, a VPC endpoint)."
    ),
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="AWS profile (standard chain otherwise).")
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: the ARN's or the profile's).")
]
OutOpt = Annotated[
    str, typer.Option("--out", "-o", help="Capture directory or s3://bucket/prefix to write.")
]
FromOpt = Annotated[str, typer.Option("--from", help="Window start: ISO-8601 or epoch seconds.")]
ToOpt = Annotated[str, typer.Option("--to", help="Window end: ISO-8601, epoch seconds or 'now'.")]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted capture at OUT.")
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")]
RedactOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--redact",
        help="Redact before writing: $.json.path, attribute:NAME, header:NAME or key; "
        "append =hash for a keyed stable hash (default =mask). Repeatable.",
    ),
]
RedactKeyOpt = Annotated[
    str, typer.Option("--redact-key-env", help="Environment variable holding the hash key.")
]
KafkaConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--kafka-config", help="librdkafka setting K=V (security.protocol, sasl.*...). Repeatable."
    ),
]
BootstrapOpt = Annotated[str | None, typer.Option("--bootstrap", help="Kafka bootstrap servers.")]


def _aws(endpoint_url: str | None, profile: str | None, region: str | None) -> AwsOptions:
    from captures.aws import AwsOptions

    return AwsOptions(endpoint_url=endpoint_url, profile=profile, region=region)


def _redactor(specs: list[str] | None, key_env: str) -> Redactor | None:
    from captures.redact import DEFAULT_KEY_ENV, Redactor

    return Redactor.build(specs or [], key_env=key_env or DEFAULT_KEY_ENV)


@contextmanager
def _shard_bars() -> Iterator[ProgressFn]:
    """One rich progress bar per shard: records captured and lag behind the tip."""
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} records"),
        TextColumn("{task.fields[lag]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()

    def report(p: ShardProgress) -> None:
        lag = "" if p.lag_ms is None else f"lag {p.lag_ms:,}"
        with lock:
            if p.shard not in tasks:
                tasks[p.shard] = bars.add_task(p.shard, total=None, lag="")
            task = tasks[p.shard]
        total = p.records if p.done else None
        bars.update(task, completed=p.records, total=total, lag="done" if p.done else lag)

    with bars:
        yield report


def _summary(capture: object, what: str) -> None:
    from replay.formats.capture import Capture

    assert isinstance(capture, Capture)
    shards = len(capture.manifest.shards)
    out_console.print(
        f"{what}: {capture.records.num_rows} records in {shards} shard(s) written to {capture.path}",
        soft_wrap=True,
        highlight=False,
    )


@capture_app.command("kinesis")
def capture_kinesis(
    stream: Annotated[str, typer.Argument(help="Stream name or ARN.")],
    from_: FromOpt,
    to: ToOpt,
    out: OutOpt,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
    parallel: Annotated[int, typer.Option(help="Shards read at once.")] = 8,
    page_size: Annotated[
        int, typer.Option(help="Records per GetRecords call (max 10000).")
    ] = 10_000,
    flush_records: Annotated[
        int, typer.Option(help="Records per Parquet part / checkpoint.")
    ] = 50_000,
    follow: Annotated[bool, typer.Option(help="Wait at the tip until --to has passed.")] = True,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Capture a Kinesis stream for a time range: every shard (with lineage), paced, resumable.

    Reads stay within 5 GetRecords/s and 2 MiB/s per shard and back off on throttling.
    """
    from captures.common import parse_window
    from captures.streams import resolve_kinesis

    window = parse_window(from_, to)
    target, _ = resolve_kinesis(
        _aws(endpoint_url, profile, region), stream, page_limit=page_size, window=window
    )
    _capture_stream(
        target, window, out, "kinesis", resume=resume, overwrite=overwrite,
        redactor=_redactor(redact, redact_key_env), parallel=parallel, page_limit=page_size,
        flush_rows=flush_records, follow=follow, endpoint_url=endpoint_url,
    )  # fmt: skip


def _capture_stream(target: Any, window: Any, out: str, kind: str, **options: Any) -> None:
    """Run a Kinesis or DynamoDB stream capture with a progress bar per shard, then summarise."""
    from captures.streams import capture_stream

    with _shard_bars() as bars:
        result = capture_stream(
            target, window, out, created_by=f"capture {kind}", progress=bars, **options
        )
    _summary(result.capture, f"{kind} capture")


@capture_app.command("dynamodb")
def capture_dynamodb(
    table_or_stream: Annotated[str, typer.Argument(help="Table name or ARN, or a stream ARN.")],
    from_: FromOpt,
    to: ToOpt,
    out: OutOpt,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
    parallel: Annotated[int, typer.Option(help="Shards read at once.")] = 8,
    page_size: Annotated[int, typer.Option(help="Records per GetRecords call (max 1000).")] = 1000,
    flush_records: Annotated[
        int, typer.Option(help="Records per Parquet part / checkpoint.")
    ] = 50_000,
    follow: Annotated[bool, typer.Option(help="Wait at the tip until --to has passed.")] = True,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Capture a DynamoDB stream for a time range: every shard (with lineage), 4 reads/s per shard."""
    from captures.common import parse_window
    from captures.streams import resolve_dynamodb

    window = parse_window(from_, to)
    target, _ = resolve_dynamodb(
        _aws(endpoint_url, profile, region), table_or_stream, page_limit=page_size
    )
    _capture_stream(
        target, window, out, "dynamodb", resume=resume, overwrite=overwrite,
        redactor=_redactor(redact, redact_key_env), parallel=parallel, page_limit=page_size,
        flush_rows=flush_records, follow=follow, endpoint_url=endpoint_url,
    )  # fmt: skip


@capture_app.command("sqs")
def capture_sqs(
    queue: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")],
    out: OutOpt,
    move: Annotated[
        bool, typer.Option("--move", help="Capture then DELETE each message (drain a DLQ).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Read a queue with a redrive policy anyway (receive counts +1)."
        ),
    ] = False,
    visibility_timeout: Annotated[
        int,
        typer.Option(
            help="Seconds messages stay hidden while being read (they reappear after it even if the capture dies)."
        ),
    ] = 300,
    wait: Annotated[int, typer.Option(help="Long-poll seconds per receive.")] = 1,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Capture an SQS queue. Default: hide-and-restore (nothing deleted; receive counts +1).

    Refuses a queue with a redrive policy unless --force (the extra receive could move messages
    to its dead-letter queue). --move captures and deletes: for draining a dead-letter queue.
    """
    from captures.sqs import capture_sqs as run

    with _shard_bars() as bars:
        result = run(
            _aws(endpoint_url, profile, region),
            queue,
            out,
            move=move,
            force=force,
            visibility_s=visibility_timeout,
            wait_s=wait,
            resume=resume,
            overwrite=overwrite,
            redactor=_redactor(redact, redact_key_env),
            progress=bars,
        )
    for note in result.notes:
        err_console.print(f"note: {note}", soft_wrap=True, highlight=False)
    how = f"{result.deleted} deleted" if move else f"{result.restored} made visible again"
    _summary(result.capture, f"sqs capture ({how})")


@capture_app.command("kafka")
def capture_kafka(
    topic: Annotated[str, typer.Option("--topic", help="Topic to capture.")],
    from_: FromOpt,
    to: ToOpt,
    out: OutOpt,
    bootstrap: BootstrapOpt = None,
    kafka_config: KafkaConfigOpt = None,
    scan: Annotated[
        bool, typer.Option(help="Find the time range by scanning, not offsets_for_times.")
    ] = False,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
    flush_records: Annotated[
        int, typer.Option(help="Records per Parquet part / checkpoint.")
    ] = 50_000,
) -> None:
    """Capture a Kafka topic for a time range: partitions assigned, no group joined, nothing committed."""
    from captures.common import parse_window
    from captures.kafka import KafkaOptions, parse_settings
    from captures.kafka import capture_kafka as run

    opts = KafkaOptions(bootstrap, parse_settings(kafka_config or []))
    with _shard_bars() as bars:
        capture = run(
            opts,
            topic,
            parse_window(from_, to),
            out,
            resume=resume,
            overwrite=overwrite,
            scan=scan,
            redactor=_redactor(redact, redact_key_env),
            flush_rows=flush_records,
            progress=bars,
        )
    _summary(capture, "kafka capture")


@capture_app.command("esm")
def capture_esm(
    uuid: Annotated[str | None, typer.Argument(help="ESM UUID.")] = None,
    function: Annotated[
        str | None, typer.Option("--function", help="All ESMs of this function.")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Write the ESM config (for replay --config).")
    ] = None,
    into: Annotated[
        str | None,
        typer.Option("--into", help="Store ESM + function settings in this capture's manifest."),
    ] = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Snapshot an ESM (GetEventSourceMapping) and its function (Timeout, reserved concurrency...)."""
    import json

    from captures.esm import snapshot, store_into, write_config

    snap = snapshot(_aws(endpoint_url, profile, region), uuid, function)
    for m in snap.mappings:
        fn = snap.function_for(m)
        out_console.print(
            f"ESM {m.get('UUID')}: {m.get('EventSourceArn')} -> {m.get('FunctionArn')} "
            f"(function Timeout {fn.get('Timeout')}, ReservedConcurrentExecutions "
            f"{fn.get('ReservedConcurrentExecutions')})",
            soft_wrap=True,
            highlight=False,
        )
    if out is not None:
        path = write_config(snap, out)
        out_console.print(f"configuration written to {path}", soft_wrap=True, highlight=False)
    if into is not None:
        store_into(snap, into)
        out_console.print(
            f"stored in {into}/manifest.json (esm, function)", soft_wrap=True, highlight=False
        )
    if out is None and into is None:
        out_console.print_json(json.dumps(snap.config_document()))


@capture_app.command("failures")
def capture_failures(
    destination: Annotated[
        str, typer.Argument(help="On-failure destination: SQS queue or s3://bucket/prefix.")
    ],
    into: Annotated[str, typer.Option("--into", help="Capture to store the failure records in.")],
    move: Annotated[
        bool, typer.Option("--move", help="Delete the queue's messages once stored.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Read a queue with a redrive policy anyway.")
    ] = False,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Store what production sent to the on-failure destination under the capture's observed/."""
    from captures.failures import FAILURES_FILE
    from captures.failures import capture_failures as run

    result = run(_aws(endpoint_url, profile, region), destination, into, move=move, force=force)
    conditions = ", ".join(f"{k} {v}" for k, v in sorted(result.conditions.items())) or "none"
    out_console.print(
        f"{result.records} failure record(s) from {destination} stored in {into}/{FAILURES_FILE} "
        f"({conditions})",
        soft_wrap=True,
        highlight=False,
    )


@app.command("inject")
def inject(
    capture: Annotated[str, typer.Argument(help="Capture to re-drive.")],
    to: Annotated[
        str, typer.Option("--to", help="Kinesis stream ARN, SQS queue ARN/URL, or kafka://TOPIC.")
    ],
    execute: Annotated[
        bool, typer.Option("--execute", help="Actually send (default: print the plan).")
    ] = False,
    rate: Annotated[float | None, typer.Option(help="Records per second.")] = None,
    speed: Annotated[
        float | None, typer.Option(help="Factor of the original timing (2 = twice as fast).")
    ] = None,
    bootstrap: BootstrapOpt = None,
    kafka_config: KafkaConfigOpt = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Re-drive a capture's records into a stream, queue or topic (keys and per-key order kept).

    Prints the plan; nothing is sent without --execute.
    """
    from captures.inject import execute as run
    from captures.inject import plan_inject
    from captures.kafka import KafkaOptions, parse_settings

    plan = plan_inject(capture, to, rate=rate, speed=speed)
    for line in plan.lines():
        out_console.print(line, soft_wrap=True, highlight=False)
    if not execute:
        out_console.print("nothing sent: add --execute to send", highlight=False)
        return
    kafka = KafkaOptions(bootstrap, parse_settings(kafka_config or []))
    with _shard_bars() as bars:
        from captures.common import ShardProgress

        result = run(
            plan,
            _aws(endpoint_url, profile, region),
            kafka,
            progress=lambda n: bars(ShardProgress("sent", n, None, n >= plan.records.num_rows)),
        )
    out_console.print(
        f"sent {result.sent} records in {result.calls} calls ({result.retried} entries retried)",
        highlight=False,
    )


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
