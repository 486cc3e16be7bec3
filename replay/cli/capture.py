"""``esm-replay capture kinesis|dynamodb|sqs|kafka|esm|failures|import`` and ``esm-replay inject``.

Thin typer adapters over the capture agents in ``captures/``, imported inside each command so the
core stays importable without boto3 or the Kafka client. Each prints one progress bar per shard
(records and lag) on a terminal, and a one-line summary at the end.

Everything printed here may hold user text (paths, names, ARNs, values), so it is printed without
rich markup: ``[/x]`` in a path neither crashes the printer nor vanishes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
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
        "append =hash for a keyed stable hash or =mask (the default); a target containing '=' "
        "needs the method written out ($.a=b=mask). Rules that match nothing are reported. "
        "Repeatable.",
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


def _say(text: str, *, err: bool = False) -> None:
    """Print one line as it is: no markup, no emoji codes, no highlighting, no wrapping."""
    console = err_console if err else out_console
    console.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)


def _need(module: str, what: str) -> None:
    """Fail with one line naming the install command when an optional dependency is missing."""
    from captures.aws import require

    require(module, what)


def _aws(endpoint_url: str | None, profile: str | None, region: str | None) -> AwsOptions:
    from captures.aws import AwsOptions

    return AwsOptions(endpoint_url=endpoint_url, profile=profile, region=region)


def _redactor(
    specs: list[str] | None,
    key_env: str,
    *,
    out: str | None = None,
    resume: bool = False,
    kind: SourceKind | None = None,
    endpoint_url: str | None = None,
) -> Redactor | None:
    """The ``--redact`` rules (checked before anything is read). With ``--resume`` they must be
    the capture's, and the records already written are counted (so that the warnings and the
    manifest cover the whole capture)."""
    from captures.redact import DEFAULT_KEY_ENV, Redactor, resume_redaction

    redactor = Redactor.build(specs or [], key_env=key_env or DEFAULT_KEY_ENV)
    if resume and out is not None and kind is not None:
        resume_redaction(redactor, out, kind, endpoint_url=endpoint_url)
    return redactor


def _unmatched(redactor: Redactor | None) -> None:
    """One warning line on stderr per ``--redact`` rule that matched nothing."""
    for line in redactor.warnings() if redactor is not None else []:
        _say(line, err=True)


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
                tasks[p.shard] = bars.add_task(escape(p.shard), total=None, lag="")
            task = tasks[p.shard]
        total = p.records if p.done else None
        bars.update(task, completed=p.records, total=total, lag="done" if p.done else lag)

    with bars:
        yield report


def _summary(capture: object, what: str) -> None:
    from replay.formats.capture import Capture

    assert isinstance(capture, Capture)
    shards = len(capture.manifest.shards)
    _say(
        f"{what}: {capture.records.num_rows} records in {shards} shard(s) written to {capture.path}"
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
    _need("boto3", "capture kinesis")
    from captures.common import parse_window
    from captures.streams import resolve_kinesis

    window = parse_window(from_, to)
    redactor = _redactor(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.KINESIS,
        endpoint_url=endpoint_url,
    )  # fmt: skip
    target, _ = resolve_kinesis(
        _aws(endpoint_url, profile, region), stream, page_limit=page_size, window=window
    )
    _capture_stream(
        target, window, out, "kinesis", resume=resume, overwrite=overwrite,
        redactor=redactor, parallel=parallel, page_limit=page_size,
        flush_rows=flush_records, follow=follow, endpoint_url=endpoint_url,
    )  # fmt: skip


def _capture_stream(target: Any, window: Any, out: str, kind: str, **options: Any) -> None:
    """Run a Kinesis or DynamoDB stream capture with a progress bar per shard, then summarise."""
    from captures.streams import capture_stream

    with _shard_bars() as bars:
        result = capture_stream(
            target, window, out, created_by=f"capture {kind}", progress=bars, **options
        )
    _unmatched(options.get("redactor"))
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
    _need("boto3", "capture dynamodb")
    from captures.common import parse_window
    from captures.streams import resolve_dynamodb

    window = parse_window(from_, to)
    redactor = _redactor(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.DYNAMODB,
        endpoint_url=endpoint_url,
    )  # fmt: skip
    target, _ = resolve_dynamodb(
        _aws(endpoint_url, profile, region), table_or_stream, page_limit=page_size
    )
    _capture_stream(
        target, window, out, "dynamodb", resume=resume, overwrite=overwrite,
        redactor=redactor, parallel=parallel, page_limit=page_size,
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
    flush_records: Annotated[
        int,
        typer.Option(
            help="Messages per Parquet part; the receipt state is saved with each part "
            "(what a kill -9 loses is received again on --resume)."
        ),
    ] = 1_000,
    flush_seconds: Annotated[
        float, typer.Option(help="Save a part and the receipt state at least this often.")
    ] = 10.0,
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
    --resume first takes over or waits out the messages an interrupted run left hidden.
    """
    _need("boto3", "capture sqs")
    from captures.sqs import capture_sqs as run

    redactor = _redactor(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.SQS,
        endpoint_url=endpoint_url,
    )  # fmt: skip
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
            redactor=redactor,
            progress=bars,
            flush_records=flush_records,
            flush_seconds=flush_seconds,
            say=lambda line: _say(line, err=True),
        )
    for note in result.notes:
        _say(f"note: {note}", err=True)
    _unmatched(redactor)
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
    _need("confluent_kafka", "capture kafka")
    from captures.common import parse_window
    from captures.kafka import KafkaOptions, parse_settings
    from captures.kafka import capture_kafka as run

    opts = KafkaOptions(bootstrap, parse_settings(kafka_config or []))
    window = parse_window(from_, to)
    redactor = _redactor(redact, redact_key_env, out=out, resume=resume, kind=SourceKind.KAFKA)
    with _shard_bars() as bars:
        capture = run(
            opts,
            topic,
            window,
            out,
            resume=resume,
            overwrite=overwrite,
            scan=scan,
            redactor=redactor,
            flush_rows=flush_records,
            progress=bars,
        )
    _unmatched(redactor)
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

    _need("boto3", "capture esm")
    from captures.esm import snapshot, store_into, write_config
    from replay.formats.capture import read_manifest

    if into is not None:
        read_manifest(into)  # a capture that is not there is refused before AWS is called
    snap = snapshot(_aws(endpoint_url, profile, region), uuid, function)
    for m in snap.mappings:
        fn = snap.function_for(m)
        _say(
            f"ESM {m.get('UUID')}: {m.get('EventSourceArn')} -> {m.get('FunctionArn')} "
            f"(function Timeout {fn.get('Timeout')}, ReservedConcurrentExecutions "
            f"{fn.get('ReservedConcurrentExecutions')})"
        )
    if out is not None:
        path = write_config(snap, out)
        _say(f"configuration written to {path}")
    if into is not None:
        store_into(snap, into)
        _say(f"stored in {into}/manifest.json (esm, function)")
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
    _need("boto3", "capture failures")
    from captures.failures import FAILURES_FILE
    from captures.failures import capture_failures as run
    from replay.formats.capture import read_manifest

    read_manifest(into)  # a capture that is not there is refused before AWS is called
    result = run(_aws(endpoint_url, profile, region), destination, into, move=move, force=force)
    conditions = ", ".join(f"{k} {v}" for k, v in sorted(result.conditions.items())) or "none"
    _say(
        f"{result.records} failure record(s) from {destination} stored in {into}/{FAILURES_FILE} "
        f"({conditions})"
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
    to_source: Annotated[
        bool,
        typer.Option(
            "--to-source",
            help="Allow --execute into the capture's own source (a second copy of each record).",
        ),
    ] = False,
    bootstrap: BootstrapOpt = None,
    kafka_config: KafkaConfigOpt = None,
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Re-drive a capture's records into a stream, queue or topic (keys and per-key order kept).

    Prints the plan; nothing is sent without --execute. The capture's own source is refused unless
    --to-source.
    """
    from captures.inject import execute as run
    from captures.inject import plan_inject
    from captures.kafka import KafkaOptions, parse_settings

    settings = parse_settings(kafka_config or [])
    servers = bootstrap or settings.get("bootstrap.servers")
    plan = plan_inject(capture, to, rate=rate, speed=speed, bootstrap=servers)
    for line in plan.lines():
        _say(line)
    if not execute:
        _say("nothing sent: add --execute to send")
        return
    kafka = KafkaOptions(bootstrap, settings)
    with _shard_bars() as bars:
        from captures.common import ShardProgress

        result = run(
            plan,
            _aws(endpoint_url, profile, region),
            kafka,
            progress=lambda n: bars(ShardProgress("sent", n, None, n >= plan.records.num_rows)),
            to_source=to_source,
        )
    _say(f"sent {result.sent} records in {result.calls} calls ({result.retried} entries retried)")


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
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
) -> None:
    """Build a capture from Lambda event JSON, AWS CLI output or kcat output.

    Settings given with --source-setting win over those read from --queue-attributes. --redact
    masks or hashes values before anything is written, as in the live captures.
    """
    from captures.importers import import_to_capture, parse_setting_pairs, read_queue_attributes

    redactor = _redactor(redact, redact_key_env)
    settings = read_queue_attributes(queue_attributes) if queue_attributes else {}
    settings.update(parse_setting_pairs(source_setting or []))
    result = import_to_capture(
        files, out, source=source, arn=arn, shard=shard, region=region, overwrite=overwrite,
        source_settings=settings or None, bootstrap_servers=bootstrap_servers, redactor=redactor,
    )  # fmt: skip
    for note in result.notes:
        _say(f"note: {note}", err=True)
    _unmatched(redactor)
    shards = len(result.capture.manifest.shards)
    _say(
        f"capture written to {result.capture.path}: {result.records} records in {shards} shard(s) "
        f"from {result.files} file(s); {result.duplicates} duplicate(s) dropped"
    )
