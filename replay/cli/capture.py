"""``esm-replay capture esm|failures|import|verify`` and ``esm-replay inject``: configuration and
failure snapshots, imports of AWS JSON, checking a capture, and re-driving one; thin adapters
over ``captures/`` (imported inside each command) and :mod:`replay.formats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from replay.cli.app import app, capture_app, out_console
from replay.cli.capture_options import (
    BOOTSTRAP,
    BootstrapOpt,
    EndpointOpt,
    KafkaConfigOpt,
    ProfileOpt,
    RedactKeyOpt,
    RedactOpt,
    RegionOpt,
    aws_options,
    need,
    redactor_for,
    report_unmatched,
    say,
    shard_bars,
)
from replay.vocabulary import SourceKind


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
    """Snapshot an ESM (GetEventSourceMapping) and its function (Timeout, reserved concurrency...).

    Example: esm-replay capture esm --function orders-projector --into cap
    """
    import json

    need("boto3", "capture esm")
    from captures.esm import snapshot, store_into, write_config
    from replay.formats.capture import read_manifest

    if into is not None:
        read_manifest(into)  # a capture that is not there is refused before AWS is called
    snap = snapshot(aws_options(endpoint_url, profile, region), uuid, function)
    for m in snap.mappings:
        fn = snap.function_for(m)
        say(
            f"ESM {m.get('UUID')}: {m.get('EventSourceArn')} -> {m.get('FunctionArn')} "
            f"(function Timeout {fn.get('Timeout')}, ReservedConcurrentExecutions "
            f"{fn.get('ReservedConcurrentExecutions')})"
        )
    if out is not None:
        path = write_config(snap, out)
        say(f"configuration written to {path}")
    if into is not None:
        store_into(snap, into)
        say(f"stored in {into}/manifest.json (esm, function)")
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
    """Store what production sent to the on-failure destination under the capture's observed/.

    Example: esm-replay capture failures orders-esm-failures --into cap
    """
    need("boto3", "capture failures")
    from captures.failures import FAILURES_FILE
    from captures.failures import capture_failures as run
    from replay.formats.capture import read_manifest

    read_manifest(into)  # a capture that is not there is refused before AWS is called
    result = run(
        aws_options(endpoint_url, profile, region), destination, into, move=move, force=force
    )
    conditions = ", ".join(f"{k} {v}" for k, v in sorted(result.conditions.items())) or "none"
    say(
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

    Example: esm-replay inject cap --to arn:aws:kinesis:eu-west-1:123456789012:stream/test
    """
    from captures.inject import execute as run
    from captures.inject import plan_inject
    from captures.kafka import KafkaOptions, parse_settings

    settings = parse_settings(kafka_config or [])
    servers = bootstrap or settings.get("bootstrap.servers")
    plan = plan_inject(capture, to, rate=rate, speed=speed, bootstrap=servers)
    for line in plan.lines():
        say(line)
    if not execute:
        say("nothing sent: add --execute to send")
        return
    kafka = KafkaOptions(bootstrap, settings)
    with shard_bars() as bars:
        from captures.common import ShardProgress

        result = run(
            plan,
            aws_options(endpoint_url, profile, region),
            kafka,
            progress=lambda n: bars(ShardProgress("sent", n, None, n >= plan.records.num_rows)),
            to_source=to_source,
        )
    say(f"sent {result.sent} records in {result.calls} calls ({result.retried} entries retried)")


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
    out: Annotated[Path, typer.Option("--out", "-o", help="Capture directory to write.")],
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
        typer.Option(
            *BOOTSTRAP, help="Kafka bootstrap servers (HOST:PORT,...), when the events lack them."
        ),
    ] = None,
    arrival: Annotated[
        str | None,
        typer.Option(
            help="Arrival time (ISO-8601 or epoch seconds) for Kinesis/DynamoDB records that "
            "carry none, as old sample events; later ones 1 ms apart in file order."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    redact: RedactOpt = None,
    redact_key_env: RedactKeyOpt = "ESM_REPLAY_REDACT_KEY",
) -> None:
    """Build a capture from Lambda event JSON, AWS CLI output or kcat output.

    Settings given with --source-setting win over those read from --queue-attributes. --redact
    masks or hashes values before anything is written, as in the live captures.

    Example: esm-replay capture import docs/examples/kinesis-events.jsonl --source kinesis -o cap
    """
    from captures.importers import import_to_capture, parse_setting_pairs, read_queue_attributes

    redactor = redactor_for(redact, redact_key_env)
    settings = read_queue_attributes(queue_attributes) if queue_attributes else {}
    settings.update(parse_setting_pairs(source_setting or []))
    result = import_to_capture(
        files, out, source=source, arn=arn, shard=shard, region=region, overwrite=overwrite,
        source_settings=settings or None, bootstrap_servers=bootstrap_servers, redactor=redactor,
        arrival=arrival,
    )  # fmt: skip
    for note in result.notes:
        say(f"note: {note}", err=True)
    report_unmatched(redactor)
    shards = len(result.capture.manifest.shards)
    say(
        f"capture written to {result.capture.path}: {result.records} records in {shards} shard(s) "
        f"from {result.files} file(s); {result.duplicates} duplicate(s) dropped"
    )


@capture_app.command("verify")
def capture_verify(
    capture: Annotated[str, typer.Argument(help="Capture directory or s3://bucket/prefix.")],
) -> None:
    """Check a capture whole: every records file against the sha256 and row count the manifest
    lists, unique records, per-shard counts, every manifest field. One line either way; exit 2
    when anything is wrong.

    Example: esm-replay capture verify demo-output/kinesis/capture
    """
    from replay.formats.capture import read_capture

    cap = read_capture(capture)
    parts = cap.manifest.parts
    sums = (
        f"{len(parts)} part(s), each matching its sha256"
        if parts
        else "no checksums recorded (a capture older than them)"
    )
    state = "complete" if cap.manifest.complete else "incomplete: resume it with --resume"
    say(
        f"{capture}: OK, {cap.records.num_rows} records in {len(cap.manifest.shards)} shard(s); "
        f"{sums}; records unique; {state}"
    )
