"""``esm-replay capture kinesis|dynamodb|sqs|kafka``: thin typer adapters over the live capture
agents in ``captures/``, imported inside each command so the core stays importable without boto3
or the Kafka client. Each prints one progress bar per shard (records and lag) on a terminal, and
a one-line summary at the end."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from replay.cli.app import capture_app
from replay.cli.capture_options import (
    BootstrapOpt,
    EndpointOpt,
    FromOpt,
    KafkaConfigOpt,
    OutOpt,
    OverwriteOpt,
    ProfileOpt,
    RedactKeyOpt,
    RedactOpt,
    RegionOpt,
    ResumeOpt,
    ToOpt,
    aws_options,
    need,
    redactor_for,
    report_unmatched,
    say,
    shard_bars,
    summary,
)
from replay.vocabulary import SourceKind


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

    Example: esm-replay capture kinesis orders --from 2024-11-05T09:00Z --to now -o cap
    """
    need("boto3", "capture kinesis")
    from captures.common import parse_window
    from captures.streams import resolve_kinesis

    window = parse_window(from_, to)
    redactor = redactor_for(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.KINESIS,
        endpoint_url=endpoint_url,
    )  # fmt: skip
    target, _ = resolve_kinesis(
        aws_options(endpoint_url, profile, region), stream, page_limit=page_size, window=window
    )
    _capture_stream(
        target, window, out, "kinesis", resume=resume, overwrite=overwrite,
        redactor=redactor, parallel=parallel, page_limit=page_size,
        flush_rows=flush_records, follow=follow, endpoint_url=endpoint_url,
    )  # fmt: skip


def _capture_stream(target: Any, window: Any, out: str, kind: str, **options: Any) -> None:
    """Run a Kinesis or DynamoDB stream capture with a progress bar per shard, then summarise."""
    from captures.streams import capture_stream

    with shard_bars() as bars:
        result = capture_stream(
            target, window, out, created_by=f"capture {kind}", progress=bars, **options
        )
    report_unmatched(options.get("redactor"))
    summary(result.capture, f"{kind} capture")


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
    """Capture a DynamoDB stream for a time range: every shard (with lineage), 4 reads/s per shard.

    Example: esm-replay capture dynamodb orders --from 2024-11-05T09:00Z --to now -o cap
    """
    need("boto3", "capture dynamodb")
    from captures.common import parse_window
    from captures.streams import resolve_dynamodb

    window = parse_window(from_, to)
    redactor = redactor_for(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.DYNAMODB,
        endpoint_url=endpoint_url,
    )  # fmt: skip
    target, _ = resolve_dynamodb(
        aws_options(endpoint_url, profile, region), table_or_stream, page_limit=page_size
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

    Example: esm-replay capture sqs orders-queue -o cap
    """
    need("boto3", "capture sqs")
    from captures.sqs import capture_sqs as run

    redactor = redactor_for(
        redact, redact_key_env, out=out, resume=resume, kind=SourceKind.SQS,
        endpoint_url=endpoint_url,
    )  # fmt: skip
    with shard_bars() as bars:
        result = run(
            aws_options(endpoint_url, profile, region),
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
            say=lambda line: say(line, err=True),
        )
    for note in result.notes:
        say(f"note: {note}", err=True)
    report_unmatched(redactor)
    how = f"{result.deleted} deleted" if move else f"{result.restored} made visible again"
    summary(result.capture, f"sqs capture ({how})")


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
    """Capture a Kafka topic for a time range: partitions assigned, no group joined, nothing
    committed.

    Example: esm-replay capture kafka --topic orders --bootstrap-servers localhost:9092 \\
      --from 2024-11-05T09:00Z --to now -o cap
    """
    need("confluent_kafka", "capture kafka")
    from captures.common import parse_window
    from captures.kafka import KafkaOptions, parse_settings
    from captures.kafka import capture_kafka as run

    opts = KafkaOptions(bootstrap, parse_settings(kafka_config or []))
    window = parse_window(from_, to)
    redactor = redactor_for(redact, redact_key_env, out=out, resume=resume, kind=SourceKind.KAFKA)
    with shard_bars() as bars:
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
    report_unmatched(redactor)
    summary(capture, "kafka capture")
