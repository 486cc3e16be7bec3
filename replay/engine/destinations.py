"""On-failure destination records, exactly as Lambda writes them (2.6, 5, 7, B43–B47, B65, B84, B85).

Each function returns the JSON object the destination receives (SQS message body, SNS ``Message``,
S3 object, Kafka record value), with AWS's key order, so ``destinations.jsonl`` can be diffed
against what production really wrote:

- :func:`stream_failure_record`: Kinesis/DynamoDB (K06–K08, D03–D05).
- :func:`kafka_failure_record`: Kafka to an SQS/SNS/S3 destination (``KafkaBatchInfo`` with a
  ``recordsInfo`` range per partition, B84).
- :func:`kafka_topic_failure_record`: Kafka to a ``kafka://`` destination, one per failed record
  (B85).
- :func:`sqs_dead_letter_line`: SQS has no on-failure destination; the queue's redrive policy
  moves the message to its dead-letter queue (B65, S04). The line is that message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replay.events import order_sqs_attributes
from replay.timeutil import iso_ms, iso_s
from replay.vocabulary import SourceKind

SNS_MESSAGE_LIMIT = 256 * 1024
KAFKA_TOPIC_CONDITION = "RetriesExhausted"
"""``condition`` in the kafka-on-failure-destination example; every other destination says
``RetryAttemptsExhausted`` (ESM-SEMANTICS 10.7). UNCONFIRMED which one Lambda really writes."""


def destination_kind(destination: str | None) -> str | None:
    """``sqs`` | ``sns`` | ``s3`` | ``kafka`` from a destination ARN (or ``kafka://topic``)."""
    if not destination:
        return None
    if destination.startswith("kafka://"):
        return "kafka"
    parts = destination.split(":")
    service = parts[2] if len(parts) > 2 else ""
    return service if service in ("sqs", "sns", "s3") else None


def _invocation_header(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    response: Mapping[str, Any] | None,
    timestamp_ms: int,
    null_response: bool,
) -> dict[str, Any]:
    """``requestContext``, ``responseContext``, ``version``, ``timestamp``: what every on-failure
    record begins with. Without a response (records never sent), ``responseContext`` is left out
    (streams, K12–K14) or null (Kafka, B84) as ``null_response`` says."""
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": str(condition),  # a Reason member as its plain value
            "approximateInvokeCount": approximate_invoke_count,
        }
    }
    if response is not None:
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": response.get("functionError"),
        }
    elif null_response:
        record["responseContext"] = None
    record["version"] = "1.0"
    record["timestamp"] = iso_ms(timestamp_ms)
    return record


def _payload(payload: dict[str, Any], as_string: bool) -> Any:
    return json.dumps(payload, separators=(",", ":")) if as_string else payload


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
    record = _invocation_header(
        request_id=request_id,
        function_arn=function_arn,
        condition=condition,
        approximate_invoke_count=approximate_invoke_count,
        response=response,
        timestamp_ms=timestamp_ms,
        null_response=False,
    )
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
        record["payload"] = _payload(payload, payload_as_string)
    return record


def s3_object_key(esm_uuid: str, shard_id: str, timestamp_ms: int, suffix: str) -> str:
    """B44: ``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``."""
    stamp = iso_s(timestamp_ms)  # 2024-05-01T12:00:00Z
    day = stamp[:10].replace("-", "/")
    clock = stamp[:19].replace(":", ".")
    return f"aws/lambda/{esm_uuid}/{shard_id}/{day}/{clock}-{suffix}"


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class KafkaRange:
    """The records of one partition in a failed Kafka batch: ``recordsInfo["<topic>-<p>"]``."""

    first_offset: int
    last_offset: int
    first_timestamp_ms: int
    last_timestamp_ms: int


def kafka_records_info(
    partitions: Sequence[str], offsets: Sequence[int], timestamps_ms: Sequence[int]
) -> dict[str, KafkaRange]:
    """Per ``"<topic>-<partition>"`` (first-appearance order), the lowest and highest offset of the
    batch and those records' timestamps.

    Args:
        partitions: each record's ``"<topic>-<partition>"``.
        offsets: each record's offset.
        timestamps_ms: each record's timestamp, epoch milliseconds.
    """
    lows: dict[str, tuple[int, int]] = {}
    highs: dict[str, tuple[int, int]] = {}
    for partition, offset, ts in zip(partitions, offsets, timestamps_ms, strict=True):
        if partition not in lows or offset < lows[partition][0]:
            lows[partition] = (offset, ts)
        if partition not in highs or offset > highs[partition][0]:
            highs[partition] = (offset, ts)
    return {p: KafkaRange(lows[p][0], highs[p][0], lows[p][1], highs[p][1]) for p in lows}


def _kafka_batch_info(
    batch_size: int, event_source_arn: str | None, bootstrap_servers: str | None, payload_size: int
) -> dict[str, Any]:
    return {
        "batchSize": batch_size,
        "eventSourceArn": event_source_arn,
        "bootstrapServers": bootstrap_servers,
        "payloadSize": payload_size,
    }


def kafka_failure_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    response: dict[str, Any] | None,
    timestamp_ms: int,
    batch_size: int,
    event_source_arn: str | None,
    bootstrap_servers: str | None,
    payload_size: int,
    records_info: Mapping[str, KafkaRange],
    payload: dict[str, Any] | None = None,
    payload_as_string: bool = True,
) -> dict[str, Any]:
    """The invocation record of a discarded Kafka batch, for an SQS, SNS or S3 destination (7, B84).

    Shape (with-msk-on-failure.html, with-kafka-on-failure.html): the stream envelope, then
    ``KafkaBatchInfo{batchSize, eventSourceArn, bootstrapServers, payloadSize (bytes),
    recordsInfo{"<topic>-<p>": {firstRecordOffset, lastRecordOffset, firstRecordTimestamp,
    lastRecordTimestamp}}}``, then ``payload`` for S3.

    * ``condition``: ``RetryAttemptsExhausted``, ``RecordAgeExceeded`` or
      ``MaximumPayloadSizeExceeded``; records never sent (payload too large, too old) have
      ``responseContext`` null (B84).
    * Offsets are strings and timestamps ISO-8601 with milliseconds, as in the docs' example
      (UNCONFIRMED: that example's offsets look copied from a Kinesis record).
    * ``eventSourceArn`` is the MSK cluster; for self-managed Kafka it is null (UNCONFIRMED).

    Args:
        response: ``{"functionError": ...}`` of the last invocation, ``None`` when never sent.
        payload_size: bytes of the invocation payload (the event).
        records_info: see :func:`kafka_records_info`.
        payload: the original event (S3 destinations only).
        payload_as_string: ``payload`` as an escaped JSON string (the stream S3 form) or an object.
    """
    record = _invocation_header(
        request_id=request_id,
        function_arn=function_arn,
        condition=condition,
        approximate_invoke_count=approximate_invoke_count,
        response=response,
        timestamp_ms=timestamp_ms,
        null_response=True,
    )
    info = _kafka_batch_info(batch_size, event_source_arn, bootstrap_servers, payload_size)
    info["recordsInfo"] = {
        partition: {
            "firstRecordOffset": str(r.first_offset),
            "lastRecordOffset": str(r.last_offset),
            "firstRecordTimestamp": iso_ms(r.first_timestamp_ms),
            "lastRecordTimestamp": iso_ms(r.last_timestamp_ms),
        }
        for partition, r in records_info.items()
    }
    record["KafkaBatchInfo"] = info
    if payload is not None:
        record["payload"] = _payload(payload, payload_as_string)
    return record


def kafka_topic_failure_record(
    *,
    request_id: str,
    function_arn: str,
    approximate_invoke_count: int,
    response: dict[str, Any] | None,
    timestamp_ms: int,
    batch_size: int,
    event_source_arn: str | None,
    bootstrap_servers: str | None,
    payload_size: int,
    offset: int,
    record_timestamp_ms: int,
    payload: dict[str, Any],
    condition: str = KAFKA_TOPIC_CONDITION,
    payload_as_string: bool = False,
) -> dict[str, Any]:
    """The value Lambda produces to a ``kafka://`` destination for one failed record (B85).

    Shape (kafka-on-failure-destination.html): the envelope, then ``KafkaBatchInfo{batchSize,
    eventSourceArn, bootstrapServers, payloadSize, recordInfo{offset, timestamp}}`` and
    ``payload``: an event holding that record. The produced record keeps the original key (a
    keyless one is partitioned round-robin); the key is not part of this value.

    UNCONFIRMED: the ``condition`` spelling (parameter, default ``RetriesExhausted`` from the
    docs' example); ``recordInfo`` offset as a string and timestamp ISO-8601, like
    ``recordsInfo``; ``payload`` as an object rather than an escaped string (parameter).
    """
    record = _invocation_header(
        request_id=request_id,
        function_arn=function_arn,
        condition=condition,
        approximate_invoke_count=approximate_invoke_count,
        response=response,
        timestamp_ms=timestamp_ms,
        null_response=True,
    )
    info = _kafka_batch_info(batch_size, event_source_arn, bootstrap_servers, payload_size)
    info["recordInfo"] = {"offset": str(offset), "timestamp": iso_ms(record_timestamp_ms)}
    record["KafkaBatchInfo"] = info
    record["payload"] = _payload(payload, payload_as_string)
    return record


# --------------------------------------------------------------------------- SQS


def sqs_dead_letter_line(
    record: Mapping[str, Any], *, source_queue: str, dead_letter_queue: str
) -> dict[str, Any]:
    """The message the dead-letter queue holds after SQS moved it there (B65, S04).

    Built from the message's last delivered event record (``replay.events.build_records`` with
    that delivery): ``messageId`` and ``body`` unchanged (S04), ``attributes`` as last received
    (ApproximateReceiveCount is the receives it had, i.e. maxReceiveCount) plus
    ``DeadLetterQueueSourceArn`` (the source queue, as SQS adds to redriven messages), then
    ``messageAttributes``, ``md5OfBody``, ``sourceQueue`` and ``deadLetterQueue`` (ARNs).

    A ``receive-message`` on the dead-letter queue would show one more receive, its own.
    UNCONFIRMED: FIFO attributes are kept as in the source queue (the DLQ may assign a new
    SequenceNumber).

    Args:
        record: an SQS event record (``Records[i]``).
        source_queue: the source queue's ARN.
        dead_letter_queue: ``RedrivePolicy.deadLetterTargetArn``.
    """
    attributes = {**record["attributes"], "DeadLetterQueueSourceArn": source_queue}
    return {
        "messageId": record["messageId"],
        "body": record["body"],
        "attributes": order_sqs_attributes(attributes),
        "messageAttributes": record["messageAttributes"],
        "md5OfBody": record["md5OfBody"],
        "sourceQueue": source_queue,
        "deadLetterQueue": dead_letter_queue,
    }
