"""On-failure destination records, exactly as Lambda writes them (2.6, B43–B47, K06–K08, D03–D05).

Each function returns the JSON object the destination receives (SQS message body, SNS ``Message``,
S3 object), with AWS's key order, so ``destinations.jsonl`` can be diffed against what production
really wrote.
"""

from __future__ import annotations

import json
from typing import Any

from replay.model import SourceKind
from replay.timeutil import iso_ms, iso_s

SNS_MESSAGE_LIMIT = 256 * 1024


def destination_kind(destination: str | None) -> str | None:
    """``sqs`` | ``sns`` | ``s3`` | ``kafka`` from a destination ARN (or ``kafka://topic``)."""
    if not destination:
        return None
    if destination.startswith("kafka://"):
        return "kafka"
    parts = destination.split(":")
    service = parts[2] if len(parts) > 2 else ""
    return service if service in ("sqs", "sns", "s3") else None


def stream_failure_record(
    kind: SourceKind,
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    response: dict[str, Any] | None,
    timestamp_ms: int,
    shard_id: str,
    first_seq: str,
    last_seq: str,
    first_arrival_ms: int,
    last_arrival_ms: int,
    batch_size: int,
    stream_arn: str,
    payload: dict[str, Any] | None = None,
    payload_as_string: bool = True,
) -> dict[str, Any]:
    """The invocation record of discarded Kinesis/DynamoDB records.

    * ``responseContext`` is absent when the records were never (successfully) sent, as for
      ``RecordAgeExceeded`` (B25, K12–K14); otherwise ``functionError`` is ``"Unhandled"`` for
      exceptions and timeouts and ``null`` for invalid partial-batch responses (B39, K10).
    * Kinesis uses ``KinesisBatchInfo`` with millisecond timestamps (K06); DynamoDB uses
      ``DDBStreamBatchInfo`` with second precision (B45, D03).
    * An S3 destination also receives ``payload``, the original invocation event (B44); as an
      escaped JSON string by default (``payload_as_string``), an object otherwise.
    """
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        }
    }
    if response is not None:
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": response.get("functionError"),
        }
    record["version"] = "1.0"
    record["timestamp"] = iso_ms(timestamp_ms)
    fmt = iso_ms if kind is SourceKind.KINESIS else iso_s
    info_key = "KinesisBatchInfo" if kind is SourceKind.KINESIS else "DDBStreamBatchInfo"
    record[info_key] = {
        "shardId": shard_id,
        "startSequenceNumber": first_seq,
        "endSequenceNumber": last_seq,
        "approximateArrivalOfFirstRecord": fmt(first_arrival_ms),
        "approximateArrivalOfLastRecord": fmt(last_arrival_ms),
        "batchSize": batch_size,
        "streamArn": stream_arn,
    }
    if payload is not None:
        record["payload"] = (
            json.dumps(payload, separators=(",", ":")) if payload_as_string else payload
        )
    return record


def s3_object_key(esm_uuid: str, shard_id: str, timestamp_ms: int, suffix: str) -> str:
    """B44: ``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``."""
    stamp = iso_s(timestamp_ms)  # 2024-05-01T12:00:00Z
    day = stamp[:10].replace("-", "/")
    clock = stamp[:19].replace(":", ".")
    return f"aws/lambda/{esm_uuid}/{shard_id}/{day}/{clock}-{suffix}"
