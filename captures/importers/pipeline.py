"""The import itself: read every file, resolve the source, arrange the records, write the capture.

Nothing is written unless every record of every file is valid (and
:func:`replay.formats.capture.write_capture` writes atomically).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from captures.importers.documents import FORM_LABELS, parse_file
from captures.importers.identity import kafka_identity, sqs_identity, stream_identity
from captures.importers.sink import Sink, arrange, build_table
from captures.redact import Redactor
from replay.errors import CaptureError, ImportFormatError, UserError
from replay.events import record_sizes
from replay.formats.capture import Capture, Manifest, conform, write_capture
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import SourceKind

DEFAULT_ARRIVAL_MS = 1_428_537_600_000
"""Arrival time given to stream records that carry none, without ``--arrival``:
2015-04-09T00:00:00Z, the time AWS SAM's sample events use; later ones 1 ms apart."""


@dataclass(frozen=True)
class ImportResult:
    """What ``capture import`` produced.

    Attributes:
        capture: the capture as written.
        records: records in the capture (after dropping duplicates).
        duplicates: records dropped because their shard and sequence number were seen before.
        files: input files read.
        notes: one-line remarks for the user (forms detected, defaults taken, duplicates).
    """

    capture: Capture
    records: int
    duplicates: int
    files: int
    notes: tuple[str, ...]


def _import(
    paths: Sequence[str | os.PathLike[str]],
    source: SourceKind,
    arn: str | None,
    shard: str | None,
    region: str | None,
    source_settings: Mapping[str, Any] | None,
    bootstrap_servers: str | None,
    redactor: Redactor | None = None,
    arrival: str | float | None = None,
) -> tuple[Manifest, pa.Table, int, tuple[str, ...]]:
    """:func:`import_files` plus the notes for the user (forms detected, defaults, duplicates)."""
    if not paths:
        raise ImportFormatError("no input files given")
    if shard is not None and not source.is_stream:
        raise ImportFormatError(
            f"--shard: {source.value} records name their own shard (the queue, or topic-partition)"
        )
    if source_settings and source is not SourceKind.SQS:
        raise ImportFormatError(f"--source-setting: {source.value} sources take no settings here")
    if bootstrap_servers is not None and source is not SourceKind.KAFKA:
        raise ImportFormatError(f"--bootstrap-servers applies to kafka sources, not {source.value}")
    start = _arrival_start(arrival, source)
    sink = Sink(arrival_start=start if source.is_stream else None)
    notes: list[str] = []
    for p in paths:
        path = Path(p)
        form, count = parse_file(path, source, sink)
        notes.append(f"{path}: {FORM_LABELS[form]}, {count} records")
    if not sink.seq:
        raise ImportFormatError(f"no records in {', '.join(str(p) for p in paths)}")
    _note_arrivals(sink, start, arrival is not None, notes)
    if source is SourceKind.SQS:
        identity = sqs_identity(sink, arn, region, source_settings or {}, notes)
    elif source is SourceKind.KAFKA:
        identity = kafka_identity(sink, arn, region, bootstrap_servers, notes)
    else:
        identity = stream_identity(sink, source, arn, shard, region, notes)
    table, duplicates, conflicting = arrange(
        build_table(sink, source, identity.shards), source, identity.source.fifo
    )
    if duplicates:
        same = "message id" if source is SourceKind.SQS else "shard and sequence number"
        if source is SourceKind.KAFKA:
            same = "topic, partition and offset"
        notes.append(f"{duplicates} duplicate records (same {same}) were dropped")
    if conflicting:
        notes.append(f"{conflicting} of those differed in content from the record kept (the first)")
    if sink.tombstones:
        notes.append(
            f"{len(sink.tombstones)} records have a null value (tombstones) and were stored with "
            f"an empty one (first: {sink.tombstones[0]})"
        )
    if redactor is not None:
        # Before the sizes, so that they are those of the redacted records (as a live capture's).
        table = redactor.apply(table, source)
    table = conform(table.append_column("size", record_sizes(table, identity.ctx)), source)
    manifest = Manifest(
        source=identity.source,
        function=identity.function,
        redaction=redactor.describe() if redactor is not None else None,
        created_by="import",
    )
    return manifest, table, duplicates, tuple(notes)


def _arrival_start(arrival: str | float | None, source: SourceKind) -> int:
    """``--arrival`` (ISO-8601 or epoch seconds) as epoch ms, or :data:`DEFAULT_ARRIVAL_MS`."""
    if arrival is None:
        return DEFAULT_ARRIVAL_MS
    if not source.is_stream:
        raise ImportFormatError(
            f"--arrival applies to kinesis and dynamodb records, not {source.value} (whose "
            "records without a time are refused)"
        )
    try:
        start = parse_time(arrival, field="--arrival")
    except UserError as exc:
        raise ImportFormatError(str(exc)) from None
    if start < 0:
        raise ImportFormatError(f"--arrival {arrival!r} is before 1970-01-01T00:00:00Z")
    return start


def _note_arrivals(sink: Sink, start: int, from_option: bool, notes: list[str]) -> None:
    """Say which records were given an arrival time, and from when (or that ``--arrival`` was
    not needed)."""
    if not sink.no_arrival:
        if from_option:
            notes.append("--arrival applies only to records without an arrival time; all have one")
        return
    where, name = sink.no_arrival[0]
    n = len(sink.no_arrival)
    times = iso_ms(start) if n == 1 else f"{iso_ms(start)} onward, 1 ms apart in file order"
    how = "from --arrival" if from_option else "(set the time with --arrival T)"
    notes.append(f"{n} records have no {name} (first: {where}): given {times} {how}")


def import_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    source: SourceKind,
    arn: str | None = None,
    shard: str | None = None,
    region: str | None = None,
    source_settings: Mapping[str, Any] | None = None,
    bootstrap_servers: str | None = None,
    redactor: Redactor | None = None,
    arrival: str | float | None = None,
) -> tuple[Manifest, pa.Table, int]:
    """Read AWS JSON files into a manifest and a records table, validating everything.

    Records are ordered per shard as the ESM reads them (streams and Kafka: by sequence number or
    offset compared as integers; SQS: by SentTimestamp, then FIFO SequenceNumber); ``pos`` is the
    0-based rank within the shard; a record seen before (same shard and sequence number or offset;
    SQS: same message id) is dropped. ``size`` comes from :func:`replay.events.record_sizes`.

    Args:
        paths: input files: Lambda event JSON (object, array or JSON Lines), AWS CLI output
            (kinesis/dynamodbstreams get-records, sqs receive-message) or kcat -J output.
        source: the source kind the files hold.
        arn: the stream, queue or MSK cluster ARN; optional when the records carry it (then it
            must match). For SQS, ``source_settings["QueueArn"]`` may give it too.
        shard: shard id for stream records that carry none (DynamoDB records, Kinesis CLI output).
        region: the region; must match the ARN's when given.
        source_settings: SQS queue settings by AWS attribute name (``VisibilityTimeout``,
            ``RedrivePolicy``, ``FifoQueue``, ``DelaySeconds``, ``MessageRetentionPeriod``,
            ``ContentBasedDeduplication``, and ``QueueArn``), as text (``--source-setting K=V``,
            :func:`read_queue_attributes`) or typed; stored typed in ``manifest.source.settings``.
        bootstrap_servers: Kafka: the cluster's bootstrap servers (``host:port,...``); must match
            the events' ``bootstrapServers`` when both are given.
        redactor: ``--redact`` rules applied to the records before anything is written (the same
            :class:`~captures.redact.Redactor` a live capture uses); its counts and the rules that
            matched nothing go to ``manifest.redaction``.
        arrival: Kinesis and DynamoDB: the arrival time (ISO-8601 or epoch seconds) of records
            that carry none (old sample events), 1 ms later for each further one in file order;
            default :data:`DEFAULT_ARRIVAL_MS`. A placeholder source ARN (``arn:aws:kinesis:EXAMPLE``)
            gives way to ``arn`` or to a well-formed default; a note says so.

    Returns:
        The manifest, the records table (capture schema plus nothing else), duplicates dropped.

    Raises:
        ImportFormatError: one line naming the file, record and problem.
    """
    manifest, table, duplicates, _ = _import(
        paths, source, arn, shard, region, source_settings, bootstrap_servers, redactor, arrival
    )
    return manifest, table, duplicates


def import_to_capture(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    source: SourceKind,
    arn: str | None = None,
    shard: str | None = None,
    region: str | None = None,
    overwrite: bool = False,
    source_settings: Mapping[str, Any] | None = None,
    bootstrap_servers: str | None = None,
    redactor: Redactor | None = None,
    arrival: str | float | None = None,
) -> ImportResult:
    """Import AWS JSON files and write them as a capture at ``out`` (atomically).

    Arguments as for :func:`import_files`.

    Raises:
        ImportFormatError: an input file is malformed (nothing is written).
        CaptureError: ``out`` exists and ``overwrite`` is false.
    """
    target = Path(out)
    if target.exists() and not overwrite:
        raise CaptureError(f"{target}: already exists; choose another output or remove it")
    manifest, table, duplicates, notes = _import(
        paths, source, arn, shard, region, source_settings, bootstrap_servers, redactor, arrival
    )
    capture = write_capture(target, manifest, table, overwrite=overwrite)
    return ImportResult(
        capture=capture,
        records=capture.records.num_rows,
        duplicates=duplicates,
        files=len(paths),
        notes=notes,
    )
