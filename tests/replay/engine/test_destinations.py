"""replay.engine.destinations: on-failure records and dead-letter lines, key for key (2.6, 5, 7).

Streams: K06–K08, D03–D05, B25, B43–B45. Kafka: B84 (SQS/SNS/S3 destinations), B85 (kafka://).
SQS: B65, S04 (the message the dead-letter queue holds).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from replay.engine.destinations import (
    KafkaRange,
    destination_kind,
    kafka_failure_record,
    kafka_records_info,
    kafka_topic_failure_record,
    s3_object_key,
    sqs_dead_letter_line,
    stream_failure_record,
)
from replay.events import EventContext, SqsDelivery, build_records, receipt_handle
from replay.formats.capture import conform
from replay.vocabulary import SourceKind

FN = "arn:aws:lambda:us-east-1:111111111111:function:f"
K_ARN = "arn:aws:kinesis:us-east-1:111111111111:stream/s"
D_ARN = "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2024-11-25T14:30:00.000"
MSK = "arn:aws:kafka:us-east-1:111111111111:cluster/c/751d2973-a626-431c-9d4e-d7975eb44dd7-2"
SERVERS = "b-1.c.kafka.us-east-1.amazonaws.com:9092,b-2.c.kafka.us-east-1.amazonaws.com:9092"
T = 1732545000571  # 2024-11-25T14:30:00.571Z


def _stream(kind: SourceKind, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "request_id": "r-1",
        "function_arn": FN,
        "condition": "RetryAttemptsExhausted",
        "approximate_invoke_count": 2,
        "response": {"functionError": "Unhandled"},
        "timestamp_ms": T + 2000,
        "shard_id": "shardId-000000000000",
        "first_seq": "49",
        "last_seq": "50",
        "first_arrival_ms": T,
        "last_arrival_ms": T + 1,
        "batch_size": 2,
        "stream_arn": K_ARN if kind is SourceKind.KINESIS else D_ARN,
    }
    args.update(kw)
    return stream_failure_record(kind, **args)


def test_k06_kinesis_failure_record() -> None:
    """K06: key order requestContext, responseContext, version, timestamp, KinesisBatchInfo."""
    assert _stream(SourceKind.KINESIS) == {
        "requestContext": {
            "requestId": "r-1",
            "functionArn": FN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 2,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2024-11-25T14:30:02.571Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "49",
            "endSequenceNumber": "50",
            "approximateArrivalOfFirstRecord": "2024-11-25T14:30:00.571Z",
            "approximateArrivalOfLastRecord": "2024-11-25T14:30:00.572Z",
            "batchSize": 2,
            "streamArn": K_ARN,
        },
    }
    assert list(_stream(SourceKind.KINESIS)) == [
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KinesisBatchInfo",
    ]


def test_d03_b45_dynamodb_record_has_second_precision() -> None:
    info = _stream(SourceKind.DYNAMODB)["DDBStreamBatchInfo"]
    assert info["approximateArrivalOfFirstRecord"] == "2024-11-25T14:30:00Z"
    assert info["streamArn"] == D_ARN


def test_b25_record_age_has_no_response_context_and_b44_s3_payload() -> None:
    record = _stream(SourceKind.KINESIS, condition="RecordAgeExceeded", response=None)
    assert "responseContext" not in record
    event = {"Records": [{"k": "é"}]}
    s3 = _stream(SourceKind.KINESIS, payload=event)
    assert list(s3)[-1] == "payload"
    assert json.loads(s3["payload"]) == event
    assert _stream(SourceKind.KINESIS, payload=event, payload_as_string=False)["payload"] == event


def test_b44_s3_object_key_and_destination_kinds() -> None:
    assert s3_object_key("uuid", "shardId-1", T, "x") == (
        "aws/lambda/uuid/shardId-1/2024/11/25/2024-11-25T14.30.00-x"
    )
    assert [
        destination_kind(d)
        for d in (
            "arn:aws:sqs:r:1:q",
            "arn:aws:sns:r:1:t",
            "arn:aws:s3:::b",
            "kafka://dlt",
            "",
            "x",
        )
    ] == ["sqs", "sns", "s3", "kafka", None, None]


# --------------------------------------------------------------------------- Kafka


def test_kafka_records_info_per_partition_in_first_appearance_order() -> None:
    info = kafka_records_info(
        ["orders-1", "orders-0", "orders-1", "orders-0"], [8, 3, 7, 4], [T + 3, T, T + 2, T + 1]
    )
    assert info == {
        "orders-1": KafkaRange(7, 8, T + 2, T + 3),
        "orders-0": KafkaRange(3, 4, T, T + 1),
    }


def _kafka(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "request_id": "r-1",
        "function_arn": FN,
        "condition": "RetryAttemptsExhausted",
        "approximate_invoke_count": 11,
        "response": {"functionError": "Unhandled"},
        "timestamp_ms": T + 9000,
        "batch_size": 3,
        "event_source_arn": MSK,
        "bootstrap_servers": SERVERS,
        "payload_size": 1162,
        "records_info": kafka_records_info(
            ["orders-0", "orders-1", "orders-0"], [5, 9, 6], [T, T, T + 1]
        ),
    }
    args.update(kw)
    return kafka_failure_record(**args)


def test_b84_kafka_failure_record_with_kafka_batch_info() -> None:
    """Section 7: the stream envelope, then KafkaBatchInfo with recordsInfo per partition."""
    assert _kafka() == {
        "requestContext": {
            "requestId": "r-1",
            "functionArn": FN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2024-11-25T14:30:09.571Z",
        "KafkaBatchInfo": {
            "batchSize": 3,
            "eventSourceArn": MSK,
            "bootstrapServers": SERVERS,
            "payloadSize": 1162,
            "recordsInfo": {
                "orders-0": {
                    "firstRecordOffset": "5",
                    "lastRecordOffset": "6",
                    "firstRecordTimestamp": "2024-11-25T14:30:00.571Z",
                    "lastRecordTimestamp": "2024-11-25T14:30:00.572Z",
                },
                "orders-1": {
                    "firstRecordOffset": "9",
                    "lastRecordOffset": "9",
                    "firstRecordTimestamp": "2024-11-25T14:30:00.571Z",
                    "lastRecordTimestamp": "2024-11-25T14:30:00.571Z",
                },
            },
        },
    }


def test_b84_payload_too_large_has_a_null_response_context_and_s3_adds_payload() -> None:
    record = _kafka(condition="MaximumPayloadSizeExceeded", response=None)
    assert list(record) == [
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KafkaBatchInfo",
    ]
    assert record["responseContext"] is None
    event = {"eventSource": "aws:kafka", "records": {}}
    assert json.loads(_kafka(payload=event)["payload"]) == event
    assert _kafka(event_source_arn=None)["KafkaBatchInfo"]["eventSourceArn"] is None


def test_b85_kafka_topic_destination_record() -> None:
    """B85: one value per failed record: recordInfo{offset, timestamp} and the event holding it."""
    event = {"eventSource": "aws:kafka", "records": {"orders-0": [{"offset": 5}]}}
    record = kafka_topic_failure_record(
        request_id="r-1",
        function_arn=FN,
        approximate_invoke_count=11,
        response={"functionError": "Unhandled"},
        timestamp_ms=T + 9000,
        batch_size=1,
        event_source_arn=MSK,
        bootstrap_servers=SERVERS,
        payload_size=300,
        offset=5,
        record_timestamp_ms=T,
        payload=event,
    )
    assert record["requestContext"]["condition"] == "RetriesExhausted"  # docs' spelling
    assert record["KafkaBatchInfo"] == {
        "batchSize": 1,
        "eventSourceArn": MSK,
        "bootstrapServers": SERVERS,
        "payloadSize": 300,
        "recordInfo": {"offset": "5", "timestamp": "2024-11-25T14:30:00.571Z"},
    }
    assert record["payload"] == event
    assert list(record)[-2:] == ["KafkaBatchInfo", "payload"]


# --------------------------------------------------------------------------- SQS


def test_b65_s04_dead_letter_line_is_the_message_as_the_dlq_holds_it() -> None:
    """S04: same messageId, body verbatim; the receive count it had; the source queue named."""
    source = "arn:aws:sqs:us-east-1:111111111111:orders.fifo"
    dlq = "arn:aws:sqs:us-east-1:111111111111:orders-dlq.fifo"
    table = conform(
        pa.table(
            {
                "shard": ["orders.fifo"],
                "seq": ["18849496460467696128"],
                "pos": [0],
                "arrival": pa.array([T], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
                "key": ["g1"],
                "data": [b'{"n": 1}'],
                "size": [0],
                "message_id": ["m-1"],
                "sender_id": ["AIDAIENQZJOLO23YVJ4VO"],
                "group_id": ["g1"],
                "dedup_id": ["d-1"],
                "sequence_number": ["18849496460467696128"],
            }
        ),
        SourceKind.SQS,
    )
    ctx = EventContext(SourceKind.SQS, source, "us-east-1")
    delivery = SqsDelivery([2], [T + 10], [receipt_handle("m-1", 2)])
    (record,) = build_records(table, [0], ctx, sqs=delivery)
    line = sqs_dead_letter_line(record, source_queue=source, dead_letter_queue=dlq)
    assert line == {
        "messageId": "m-1",
        "body": '{"n": 1}',
        "attributes": {
            "DeadLetterQueueSourceArn": source,
            "ApproximateReceiveCount": "2",
            "SentTimestamp": str(T),
            "SequenceNumber": "18849496460467696128",
            "MessageGroupId": "g1",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "MessageDeduplicationId": "d-1",
            "ApproximateFirstReceiveTimestamp": str(T + 10),
        },
        "messageAttributes": {},
        "md5OfBody": record["md5OfBody"],
        "sourceQueue": source,
        "deadLetterQueue": dlq,
    }
    # dict equality ignores order; the HashMap order puts the source queue first
    assert next(iter(line["attributes"])) == "DeadLetterQueueSourceArn"
    assert list(line["attributes"])[-1] == "ApproximateFirstReceiveTimestamp"
