"""What production sent to the on-failure destination, and the payloads it did not send.

``capture_failures`` reads the on-failure records an ESM wrote (an SQS queue, possibly behind an
SNS topic, or an S3 prefix) and stores them in a capture as ``observed/failures.jsonl`` (one record
per line, the object itself, as the destination received it), with a summary under the manifest's
``observed.failures``. The queue is read by hide-and-restore, like ``capture sqs`` (or drained with
``move``); S3 objects are only listed and read.

SQS and SNS destinations receive metadata only: a shard and a sequence range (Kinesis, DynamoDB) or
offsets per partition (Kafka). :func:`failure_view` puts the failures and the captured records in a
DuckDB connection and joins them: ``failure_records`` holds one row per captured record that a
failure record names (shard + sequence range, compared as integers), with its payload.

Opening SNS envelopes and reading the stored records back are :mod:`replay.formats.failures`'s, the
one reader the query views, compare and explain use too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from captures.aws import Arn, AwsOptions, aws_errors
from captures.common import StopFlag
from captures.writer import update_manifest, write_bytes_atomic
from replay.errors import UserError
from replay.formats.capture import filesystem, read_capture, read_manifest
from replay.formats.failures import FAILURES_FILE, FailureRecord, observed_failures, unwrap

VISIBILITY_S = 300  # how long messages stay hidden while the destination queue is read
_SEQ_WIDTH = 64  # sequence numbers compared as zero-padded text: Kinesis uses 56 digits


@dataclass(frozen=True)
class FailureResult:
    """What ``capture failures`` stored."""

    records: int
    destination: str
    conditions: dict[str, int]


def _from_s3(aws: AwsOptions, uri: str) -> list[Any]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    s3 = aws.client("s3")
    out: list[Any] = []
    with aws_errors(f"s3 destination {uri}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
                if obj["Key"].endswith("/"):
                    continue
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                out.append(json.loads(body))
    return out


def _from_sqs(aws: AwsOptions, queue_ref: str, *, move: bool, force: bool) -> list[Any]:
    from captures import sqs

    queue, client, aws = sqs.resolve_queue(aws, queue_ref)
    if not move:
        sqs.check_safe(queue, force=force)
    bodies: dict[str, tuple[int, str]] = {}
    handles: dict[str, str] = {}

    def on_batch(msgs: list[dict[str, Any]]) -> None:
        for m in msgs:
            sent = int(m.get("Attributes", {}).get("SentTimestamp", "0"))
            bodies.setdefault(m["MessageId"], (sent, m.get("Body", "")))
        if move:
            sqs.delete(client, queue, msgs)

    try:
        with aws_errors(f"sqs destination {queue.name}"):
            sqs.receive_all(
                client,
                queue,
                visibility_s=VISIBILITY_S,
                wait_s=1,
                empty_polls=2,
                on_batch=on_batch,
                stop=StopFlag(),
                handles=handles,
            )
    except (KeyboardInterrupt, UserError) as exc:
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        note = "" if move else sqs.restore_after_failure(client, queue, handles, VISIBILITY_S)
        raise UserError(f"{why}{note}; nothing was written, run the command again") from None
    if not move and handles:
        with aws_errors(f"sqs destination {queue.name}: restoring visibility"):
            sqs.restore(client, queue, handles)
    ordered = sorted(bodies.items(), key=lambda kv: (kv[1][0], kv[0]))
    # A body is the failure record, or an SNS envelope around it (non-raw delivery).
    return [unwrap(json.loads(body)) for _, (_, body) in ordered]


def capture_failures(
    aws: AwsOptions, destination: str, capture_path: str, *, move: bool = False, force: bool = False
) -> FailureResult:
    """Read an on-failure destination into ``capture_path``'s ``observed/``.

    Raises:
        UserError: the destination cannot be read, or the capture does not exist.
    """
    manifest = read_manifest(capture_path)
    if destination.startswith("s3://"):
        records = _from_s3(aws, destination)
    else:
        arn = Arn.parse(destination)
        if arn is not None and arn.service not in ("sqs",):
            raise UserError(
                f"{destination}: expected an SQS queue (name, URL, ARN) or an s3:// prefix"
            )
        records = _from_sqs(aws, destination, move=move, force=force)
    records.sort(key=lambda r: str(r.get("timestamp", "")) if isinstance(r, dict) else "")
    fs, inner = filesystem(capture_path)
    fs.create_dir(f"{inner}/observed", recursive=True)
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode("utf-8")
    write_bytes_atomic(fs, f"{inner}/{FAILURES_FILE}", data)
    conditions = Counter(
        str((r.get("requestContext") or {}).get("condition"))
        for r in records
        if isinstance(r, dict)
    )
    summary = {
        "destination": destination,
        "file": FAILURES_FILE,
        "records": len(records),
        "conditions": dict(sorted(conditions.items())),
    }
    observed = {**manifest.observed, "failures": summary}
    update_manifest(capture_path, replace(manifest, observed=observed))
    return FailureResult(len(records), destination, dict(conditions))


# The ``failures`` view of failure_view: one row per failure record and shard range.
_RANGE_SCHEMA = pa.schema(
    [
        ("failure", pa.int64()),
        ("condition", pa.string()),
        ("timestamp", pa.string()),
        ("shard", pa.string()),
        ("first_seq", pa.string()),
        ("last_seq", pa.string()),
        ("batch_size", pa.int64()),
        ("record", pa.string()),
    ]
)


def failure_ranges(records: Sequence[FailureRecord]) -> pa.Table:
    """One row per (failure record, shard range) it names; a range without a shard is left out
    (it names no captured record), and so is an SQS message (it names no range).

    Columns: ``failure`` (index in failures.jsonl), ``condition``, ``timestamp`` (as the record
    gives it), ``shard``, ``first_seq``, ``last_seq``, ``batch_size``, ``record`` (the failure record
    as JSON).
    """
    rows = [
        {
            "failure": i,
            "condition": rec.condition,
            "timestamp": rec.record.get("timestamp"),
            "shard": r.shard,
            "first_seq": r.first_seq,
            "last_seq": r.last_seq,
            "batch_size": rec.batch_size,
            "record": rec.record_json(),
        }
        for i, rec in enumerate(records)
        for r in rec.ranges
        if r.shard is not None
    ]
    return pa.Table.from_pylist(rows, schema=_RANGE_SCHEMA)


def failure_view(capture_path: str, con: Any = None) -> Any:
    """A DuckDB connection with views ``records``, ``failures`` and ``failure_records``.

    ``failure_records`` joins each failure record to the captured records it names: the columns of
    ``records`` plus ``failure``, ``condition`` and ``failure_timestamp``. Records named by a
    failure but missing from the capture (outside its window) simply do not appear; compare
    ``failures.batch_size`` with the joined count to see them.
    """
    import duckdb

    con = con or duckdb.connect()
    records = read_capture(capture_path).records
    ranges = failure_ranges(observed_failures(capture_path) or [])
    con.register("_esm_replay_records", records)
    con.register("_esm_replay_failures", ranges)
    con.execute("CREATE OR REPLACE VIEW records AS SELECT * FROM _esm_replay_records")
    con.execute("CREATE OR REPLACE VIEW failures AS SELECT * FROM _esm_replay_failures")
    con.execute(
        f"""
        CREATE OR REPLACE VIEW failure_records AS
        SELECT f.failure, f.condition, f.timestamp AS failure_timestamp, r.*
        FROM failures f
        JOIN records r
          ON r.shard = f.shard
         AND lpad(r.seq, {_SEQ_WIDTH}, '0') BETWEEN lpad(f.first_seq, {_SEQ_WIDTH}, '0')
                                              AND lpad(f.last_seq, {_SEQ_WIDTH}, '0')
        ORDER BY f.failure, r.shard, r.pos
        """
    )
    return con
