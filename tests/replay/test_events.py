"""replay.events: event records rebuilt from capture rows, byte for byte (B90–B94, K01, D01, S01–S03, 2.7).

Each test puts capture rows in and expects the exact JSON AWS sends out.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay.events import (
    EVENT_OVERHEAD,
    RECEIPT_HANDLE_LENGTH,
    EventContext,
    SqsDelivery,
    WindowInfo,
    build_event,
    build_records,
    dynamodb_size_bytes,
    envelope_overhead,
    event_json,
    receipt_handle,
    record_sizes,
)
from replay.formats.capture import conform
from replay.vocabulary import SourceKind

DATA = Path(__file__).parent.parent / "captures" / "data"
K_ARN = "arn:aws:kinesis:us-east-1:111111111111:stream/test-stream-a1b2c3"
K_ROLE = "arn:aws:iam::111111111111:role/lambda-role-a1b2c3"
D_ARN = "arn:aws:dynamodb:us-east-1:111111111111:table/test-table/stream/2024-11-25T14:30:00.000"
K_CTX = EventContext(SourceKind.KINESIS, K_ARN, "us-east-1", K_ROLE)
D_CTX = EventContext(SourceKind.DYNAMODB, D_ARN, "us-east-1")


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def kinesis_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Capture rows from dicts with shard, seq, key, data (bytes), arrival_ms."""
    return conform(
        pa.table(
            {
                "shard": [r["shard"] for r in rows],
                "seq": [r["seq"] for r in rows],
                "pos": list(range(len(rows))),
                "arrival": pa.array([r["arrival_ms"] for r in rows], pa.int64()).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                "key": pa.array([r["key"] for r in rows], pa.string()),
                "data": pa.array([r["data"] for r in rows], pa.binary()),
                "size": pa.array([0] * len(rows), pa.int32()),
            }
        ),
        SourceKind.KINESIS,
    )


def dynamodb_table(records: list[dict[str, Any]], shard: str = "shardId-1") -> pa.Table:
    """Capture rows from DynamoDB event records (what the importer stores, column by column)."""
    return conform(
        pa.table(
            {
                "shard": [shard] * len(records),
                "seq": [r["dynamodb"]["SequenceNumber"] for r in records],
                "pos": list(range(len(records))),
                "arrival": pa.array(
                    [int(r["dynamodb"]["ApproximateCreationDateTime"] * 1000) for r in records],
                    pa.int64(),
                ).cast(pa.timestamp("ms", tz="UTC")),
                "key": [
                    json.dumps(r["dynamodb"]["Keys"], sort_keys=True, separators=(",", ":"))
                    for r in records
                ],
                "data": pa.array([compact(r["dynamodb"]) for r in records], pa.binary()),
                "size": pa.array([0] * len(records), pa.int32()),
                "event_id": [r.get("eventID") for r in records],
                "event_name": [r.get("eventName") for r in records],
                "event_version": [r.get("eventVersion") for r in records],
                "stream_view_type": [r["dynamodb"].get("StreamViewType") for r in records],
                "user_identity": pa.array(
                    [
                        compact(r["userIdentity"]).decode() if "userIdentity" in r else None
                        for r in records
                    ],
                    pa.string(),
                ),
                "size_bytes": pa.array(
                    [r["dynamodb"].get("SizeBytes") for r in records], pa.int32()
                ),
            }
        ),
        SourceKind.DYNAMODB,
    )


def k01_rows() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    event = json.loads((DATA / "kinesis_k01_event.json").read_text())
    rows = [
        {
            "shard": r["eventID"].split(":")[0],
            "seq": r["kinesis"]["sequenceNumber"],
            "key": r["kinesis"]["partitionKey"],
            "data": base64.b64decode(r["kinesis"]["data"]),
            "arrival_ms": round(r["kinesis"]["approximateArrivalTimestamp"] * 1000),
        }
        for r in event["Records"]
    ]
    return event, rows


# --------------------------------------------------------------------------- Kinesis (B90, K01)


def test_k01_event_rebuilt_byte_for_byte() -> None:
    """K01: 10 records "hello", keys test_0..test_9, one invocation; B90's record shape."""
    event, rows = k01_rows()
    records = build_records(kinesis_table(rows), np.arange(10), K_CTX)
    assert event_json(build_event(records, K_CTX)) == compact(event)


def test_kinesis_record_fields_and_order() -> None:
    """B90: base64 data, eventID "<shardId>:<sequenceNumber>", eventName "aws:kinesis:record"."""
    table = kinesis_table(
        [
            {
                "shard": "shardId-000000000006",
                "seq": "49590338271490256608559692538361571095921575989136588898",
                "key": "1",
                "data": b"Hello, this is a test.",
                "arrival_ms": 1607497475000,
            }
        ]
    )
    (record,) = build_records(table, [0], K_CTX)
    assert compact(record) == (
        b'{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1",'
        b'"sequenceNumber":"49590338271490256608559692538361571095921575989136588898",'
        b'"data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","approximateArrivalTimestamp":1607497475.0},'
        b'"eventSource":"aws:kinesis","eventVersion":"1.0",'
        b'"eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898",'
        b'"eventName":"aws:kinesis:record",'
        b'"invokeIdentityArn":"arn:aws:iam::111111111111:role/lambda-role-a1b2c3",'
        b'"awsRegion":"us-east-1",'
        b'"eventSourceARN":"arn:aws:kinesis:us-east-1:111111111111:stream/test-stream-a1b2c3"}'
    )


def test_default_invoke_identity_arn() -> None:
    ctx = EventContext(SourceKind.KINESIS, K_ARN, "eu-west-1")
    _, rows = k01_rows()
    (record,) = build_records(kinesis_table(rows), [0], ctx)
    assert record["invokeIdentityArn"] == "arn:aws:iam::123456789012:role/esm-replay"
    assert record["awsRegion"] == "eu-west-1"


def test_rows_follow_the_given_order_and_may_skip() -> None:
    _, rows = k01_rows()
    table = kinesis_table(rows)
    keys = [r["kinesis"]["partitionKey"] for r in build_records(table, np.array([7, 2, 9]), K_CTX)]
    assert keys == ["test_7", "test_2", "test_9"]
    assert [r["kinesis"]["partitionKey"] for r in build_records(table, range(3, 6), K_CTX)] == [
        "test_3",
        "test_4",
        "test_5",
    ]
    assert build_records(table, np.array([], dtype=np.int64), K_CTX) == []


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (1545084650987, "1545084650.987"),
        (1545084650980, "1545084650.98"),
        (1545084650900, "1545084650.9"),
        (1545084650000, "1545084650.0"),
        (1, "0.001"),
        (0, "0.0"),
    ],
)
def test_arrival_is_epoch_seconds_with_ms_precision(ms: int, text: str) -> None:
    table = kinesis_table([{"shard": "s", "seq": "1", "key": "k", "data": b"", "arrival_ms": ms}])
    (record,) = build_records(table, [0], K_CTX)
    assert json.dumps(record["kinesis"]["approximateArrivalTimestamp"]) == text
    assert record_sizes(table, K_CTX).to_pylist() == [len(compact(record)) + 1]


# --------------------------------------------------------------------------- DynamoDB (D01, B91)


def test_d01_event_rebuilt_byte_for_byte() -> None:
    """D01: INSERT, eventVersion 1.1, float ApproximateCreationDateTime, binary as base64, SizeBytes 70."""
    event = json.loads((DATA / "dynamodb_d01_event.json").read_text())
    records = build_records(dynamodb_table(event["Records"]), [0], D_CTX)
    assert event_json(build_event(records, D_CTX)) == compact(event)
    assert isinstance(records[0]["dynamodb"]["ApproximateCreationDateTime"], float)
    assert records[0]["dynamodb"]["SizeBytes"] == 70 == dynamodb_size_bytes(records[0]["dynamodb"])


TTL_REMOVE = {
    "eventID": "a1b2c3",
    "eventName": "REMOVE",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "ApproximateCreationDateTime": 1732545200.0,
        "Keys": {"id": {"S": "x"}},
        "OldImage": {"id": {"S": "x"}, "ttl": {"N": "1732545100"}},
        "SequenceNumber": "200000000000000000001",
        "SizeBytes": 14,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
    "eventSourceARN": D_ARN,
    "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
}


def test_ttl_delete_carries_user_identity_last() -> None:
    """B91: a TTL deletion is a REMOVE record with userIdentity {type Service, principalId ...}."""
    (record,) = build_records(dynamodb_table([TTL_REMOVE]), [0], D_CTX)
    assert compact(record) == compact(TTL_REMOVE)
    assert list(record)[-1] == "userIdentity"
    assert dynamodb_size_bytes(TTL_REMOVE["dynamodb"]) == 14


def test_ordinary_dynamodb_record_has_no_user_identity() -> None:
    event = json.loads((DATA / "dynamodb_d01_event.json").read_text())
    (record,) = build_records(dynamodb_table(event["Records"]), [0], D_CTX)
    assert "userIdentity" not in record


def test_dynamodb_fallbacks_for_rows_without_event_columns() -> None:
    """Rows written without event_id/event_name/event_version still give a full record."""
    rec = {
        "dynamodb": {
            "ApproximateCreationDateTime": 1732545000.0,
            "Keys": {"id": {"S": "a"}},
            "OldImage": {"id": {"S": "a"}},
            "SequenceNumber": "300000000000000000001",
            "SizeBytes": 4,
            "StreamViewType": "OLD_IMAGE",
        }
    }
    (record,) = build_records(dynamodb_table([rec], shard="shardId-9"), [0], D_CTX)
    assert record["eventName"] == "REMOVE"
    assert record["eventVersion"] == "1.1"
    assert record["eventID"] == "f184521a1aaa298d326da57ab90e6003"  # md5 of "<shard>:<seq>": stable
    assert list(record) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]


# --------------------------------------------------------------------------- SizeBytes (D01 fact)


def s(v: str) -> dict[str, str]:
    return {"S": v}


@pytest.mark.parametrize(
    ("ddb", "size"),
    [
        ({"Keys": {"id": s("id_value")}, "NewImage": {"id": s("id_value")}}, 20),
        (
            {
                "Keys": {"id": s("id_value")},
                "NewImage": {"id": s("id_value"), "id2": s("id2_value")},
            },
            32,
        ),
        (
            {
                "Keys": {"id": s("id_value")},
                "NewImage": {"id": s("id_value"), "id2": s("id2_new_value")},
                "OldImage": {"id": s("id_value")},
            },
            46,
        ),
        (
            {
                "Keys": {"my_partition_key": s("hello world")},
                "NewImage": {"my_partition_key": s("hello world")},
            },
            54,
        ),
        (
            {
                "Keys": {"my_partition_key": s("hello world")},
                "NewImage": {"binary_key": {"B": "Zm9vYmFy"}, "my_partition_key": s("hello world")},
            },
            70,
        ),
        (
            {
                "Keys": {"my_partition_key": s("testId0")},
                "NewImage": {"my_partition_key": s("testId0"), "should_fail": {"BOOL": False}},
            },
            58,
        ),
    ],
    ids=["20", "32", "46-modify", "54", "70-binary", "58-bool"],
)
def test_size_bytes_reproduces_the_d01_derived_fact(ddb: dict[str, Any], size: int) -> None:
    """The "Derived fact" after D01: every example it gives."""
    assert dynamodb_size_bytes(ddb) == size


@pytest.mark.parametrize(
    ("ddb", "size"),
    [
        # Lambda developer guide, with-ddb example records: SizeBytes 26, 59, 38.
        (
            {
                "Keys": {"Id": {"N": "101"}},
                "NewImage": {"Message": s("New item!"), "Id": {"N": "101"}},
            },
            26,
        ),
        (
            {
                "Keys": {"Id": {"N": "101"}},
                "NewImage": {"Message": s("This item has changed"), "Id": {"N": "101"}},
                "OldImage": {"Message": s("New item!"), "Id": {"N": "101"}},
            },
            59,
        ),
        (
            {
                "Keys": {"Id": {"N": "101"}},
                "OldImage": {"Message": s("This item has changed"), "Id": {"N": "101"}},
            },
            38,
        ),
    ],
)
def test_size_bytes_matches_the_lambda_guide_examples(ddb: dict[str, Any], size: int) -> None:
    assert dynamodb_size_bytes(ddb) == size


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"N": "42"}, 2),
        ({"N": "0"}, 1),
        ({"N": "-12345"}, 4),
        ({"N": "1000"}, 2),
        ({"N": "0.0012"}, 2),
        ({"NULL": True}, 1),
        ({"S": "é"}, 2),
        ({"L": []}, 3),
        ({"L": [s("ab"), {"N": "7"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {}}, 3),
        ({"M": {"k": s("v"), "nn": {"BOOL": True}}}, 3 + (1 + 1 + 1) + (1 + 2 + 1)),
        ({"SS": ["a", "bc"]}, 3),
        ({"NS": ["1", "22"]}, 4),
        ({"BS": ["AAE=", "AQ=="]}, 3),
    ],
)
def test_attribute_value_sizes(value: dict[str, Any], size: int) -> None:
    """DynamoDB item-size rules; the key "a" adds 1 byte (sets: UNCONFIRMED, sum of members)."""
    assert dynamodb_size_bytes({"Keys": {"a": value}}) == 1 + size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"X": "1"}, "Keys.a has unknown attribute type 'X'"),
        ("plain", "Keys.a is not a DynamoDB attribute value"),
        ({"B": "not base64!"}, "Keys.a: 'not base64!' is not valid base64"),
        ({"N": "1x"}, "Keys.a: '1x' is not a number"),
    ],
)
def test_size_bytes_refuses_what_is_not_dynamodb_json(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        dynamodb_size_bytes({"Keys": {"a": value}})


# --------------------------------------------------------------------------- tumbling windows (2.7)


def test_window_event_extras_in_aws_order() -> None:
    """2.7: window{start,end} (ISO), state, shardId, eventSourceARN, isFinal..., isWindowTerminatedEarly."""
    _, rows = k01_rows()
    records = build_records(kinesis_table(rows[:1]), [0], K_CTX)
    window = WindowInfo(
        start_ms=1607497440000,
        end_ms=1607497560000,
        state={"1": 282, "2": 715},
        shard_id="shardId-000000000000",
        final=False,
        terminated_early=False,
    )
    event = build_event(records, K_CTX, window)
    assert list(event) == [
        "Records",
        "window",
        "state",
        "shardId",
        "eventSourceARN",
        "isFinalInvokeForWindow",
        "isWindowTerminatedEarly",
    ]
    tail = event_json(event)[len(event_json(build_event(records, K_CTX))) - 1 :]
    assert tail == (
        b',"window":{"start":"2020-12-09T07:04:00Z","end":"2020-12-09T07:06:00Z"},'
        b'"state":{"1":282,"2":715},"shardId":"shardId-000000000000",'
        b'"eventSourceARN":"arn:aws:kinesis:us-east-1:111111111111:stream/test-stream-a1b2c3",'
        b'"isFinalInvokeForWindow":false,"isWindowTerminatedEarly":false}'
    )


def test_window_times_keep_milliseconds_only_when_present() -> None:
    window = WindowInfo(1500, 2000, {}, "s", True, True)
    event = build_event([], D_CTX, window)
    assert event["window"] == {"start": "1970-01-01T00:00:01.500Z", "end": "1970-01-01T00:00:02Z"}
    assert event["isFinalInvokeForWindow"] is True and event["isWindowTerminatedEarly"] is True


# --------------------------------------------------------------------------- sizes


def test_envelope_overhead() -> None:
    assert event_json(build_event([], K_CTX)) == b'{"Records":[]}'
    assert EVENT_OVERHEAD == envelope_overhead(K_CTX) == 13


def test_k01_size_identity() -> None:
    """Sum of record sizes + envelope overhead = the serialised event's length."""
    event, rows = k01_rows()
    table = kinesis_table(rows)
    sizes = record_sizes(table, K_CTX)
    assert sizes.type == pa.int32()
    assert EVENT_OVERHEAD + sum(sizes.to_pylist()) == len(compact(event))


def test_size_identity_with_window() -> None:
    _, rows = k01_rows()
    table = kinesis_table(rows)
    window = WindowInfo(
        0, 60_000, {"count": 3, "name": "é\n"}, "shardId-000000000000", False, False
    )
    event = build_event(build_records(table, range(10), K_CTX), K_CTX, window)
    assert len(event_json(event)) == envelope_overhead(K_CTX, window) + sum(
        record_sizes(table, K_CTX).to_pylist()
    )


def test_dynamodb_size_identity() -> None:
    event = json.loads((DATA / "dynamodb_d01_event.json").read_text())
    records = [*event["Records"], TTL_REMOVE]
    table = dynamodb_table(records)
    sizes = record_sizes(table, D_CTX).to_pylist()
    assert sizes == [len(compact(r)) + 1 for r in records]
    built = build_event(build_records(table, range(2), D_CTX), D_CTX)
    assert len(event_json(built)) == EVENT_OVERHEAD + sum(sizes)


def test_dynamodb_sizes_of_stored_json_that_is_not_compact() -> None:
    """Sizes measure the record as rebuilt, whatever spacing the stored JSON had."""
    event = json.loads((DATA / "dynamodb_d01_event.json").read_text())
    records = [*event["Records"], TTL_REMOVE]
    table = dynamodb_table(records)
    pretty = pa.array([json.dumps(r["dynamodb"], indent=2).encode() for r in records], pa.binary())
    table = table.set_column(table.schema.get_field_index("data"), "data", pretty)
    assert record_sizes(table, D_CTX).to_pylist() == [len(compact(r)) + 1 for r in records]


def test_dynamodb_sizes_with_fallback_fields() -> None:
    rec = {"dynamodb": {**TTL_REMOVE["dynamodb"]}}
    table = dynamodb_table([rec, TTL_REMOVE])
    built = build_records(table, [0, 1], D_CTX)
    assert record_sizes(table, D_CTX).to_pylist() == [len(compact(r)) + 1 for r in built]


def test_sizes_of_keys_that_json_escapes_and_null_keys() -> None:
    rows = [
        {"shard": "shardId-0", "seq": "1", "key": k, "data": b"xyz" * i, "arrival_ms": 10**12 + i}
        for i, k in enumerate(['quote"', "back\\slash", "tab\t", "bell\x07", "ünï✓", None, "plain"])
    ]
    table = kinesis_table(rows)
    records = build_records(table, range(len(rows)), K_CTX)
    assert record_sizes(table, K_CTX).to_pylist() == [len(compact(r)) + 1 for r in records]


record_strategy = st.fixed_dictionaries(
    {
        "shard": st.sampled_from(["shardId-000000000000", 'odd"shard', "shardId-000000000001"]),
        "seq": st.integers(0, 10**56).map(str),
        "key": st.one_of(st.none(), st.text(max_size=20)),
        "data": st.binary(max_size=50),
        "arrival_ms": st.integers(0, 4_102_444_800_000),
    }
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record_strategy, min_size=1, max_size=30))
def test_size_identity_property(rows: list[dict[str, Any]]) -> None:
    """For any Kinesis rows: each size is its record's compact JSON + 1, and they sum to the event."""
    table = kinesis_table(rows)
    records = build_records(table, range(len(rows)), K_CTX)
    sizes = record_sizes(table, K_CTX).to_pylist()
    assert sizes == [len(compact(r)) + 1 for r in records]
    assert len(event_json(build_event(records, K_CTX))) == EVENT_OVERHEAD + sum(sizes)


# --------------------------------------------------------------------------- SQS (S01–S03, B92)

Q_ARN = "arn:aws:sqs:us-east-1:111111111111:test-queue"
Q_CTX = EventContext(SourceKind.SQS, Q_ARN, "us-east-1")
SENT = 1732545000571


def sqs_table(rows: list[dict[str, Any]], shard: str = "test-queue") -> pa.Table:
    """Capture rows from dicts: message_id, body (str or bytes), sent (ms) and any SQS column."""
    columns: dict[str, list[Any]] = {
        "shard": [shard] * len(rows),
        "seq": [r.get("seq", r["message_id"]) for r in rows],
        "pos": list(range(len(rows))),
        "arrival": [r.get("sent", SENT) for r in rows],
        "key": [r.get("group_id") for r in rows],
        "data": [r["body"].encode() if isinstance(r["body"], str) else r["body"] for r in rows],
        "size": [0] * len(rows),
    }
    extra = sorted({k for r in rows for k in r} - {"seq", "sent", "body"})
    for name in extra:
        columns[name] = [r.get(name) for r in rows]
    table = pa.table(
        {
            **columns,
            "arrival": pa.array(columns["arrival"], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        }
    )
    return conform(table, SourceKind.SQS)


def sqs_row(message_id: str = "059f36b4-87a3-44ab-83d2-661975830a7d", **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "message_id": message_id,
        "body": '{"foo":"bar"}',
        "sender_id": "AIDAIENQZJOLO23YVJ4VO",
        "md5_of_body": "9bb58f26192e4ba00f01e2e7b136bbd8",
    }
    row.update(kw)
    return row


def test_s01_sqs_event_rebuilt_byte_for_byte() -> None:
    """S01: body verbatim, four attributes, messageAttributes {}, md5OfMessageAttributes null."""
    table = sqs_table([sqs_row()])
    event = build_event(build_records(table, [0], Q_CTX), Q_CTX)
    handle = receipt_handle("059f36b4-87a3-44ab-83d2-661975830a7d", 1)
    assert (
        event_json(event)
        == (
            '{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d",'
            f'"receiptHandle":"{handle}",'
            '"body":"{\\"foo\\":\\"bar\\"}",'
            '"attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1732545000571",'
            '"SenderId":"AIDAIENQZJOLO23YVJ4VO","ApproximateFirstReceiveTimestamp":"1732545000571"},'
            '"messageAttributes":{},"md5OfMessageAttributes":null,'
            '"md5OfBody":"9bb58f26192e4ba00f01e2e7b136bbd8","eventSource":"aws:sqs",'
            f'"eventSourceARN":"{Q_ARN}","awsRegion":"us-east-1"}}]}}'
        ).encode()
    )


def test_s03_message_attributes_shape_and_md5() -> None:
    """S03: each attribute {stringValue|binaryValue, stringListValues, binaryListValues, dataType}."""
    attrs = {
        "Title": {
            "stringValue": "The Whistler",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "Author": {
            "stringValue": "John Grisham",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "WeeksOn": {
            "stringValue": "6",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "Blob": {
            "binaryValue": "AAEC",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    row = sqs_row(
        message_attributes=compact(attrs).decode(),
        md5_of_message_attributes="d25a6aea97eb8f585bfa92d314504a92",
    )
    (record,) = build_records(sqs_table([row]), [0], Q_CTX)
    assert record["messageAttributes"] == attrs
    assert list(record["messageAttributes"]) == ["Title", "Author", "WeeksOn", "Blob"]
    assert record["md5OfMessageAttributes"] == "d25a6aea97eb8f585bfa92d314504a92"
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]


def test_b92_fifo_record_matches_the_docs_example() -> None:
    """B92: the with-sqs.html FIFO example, byte for byte (its receipt handle is truncated there)."""
    arn = "arn:aws:sqs:us-east-2:123456789012:fifo.fifo"
    ctx = EventContext(SourceKind.SQS, arn, "us-east-2")
    row = {
        "message_id": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
        "seq": "18849496460467696128",
        "sent": 1573251510774,
        "body": "Test message.",
        "sender_id": "AIDAIO23YVJENQZJOL4VO",
        "group_id": "1",
        "dedup_id": "1",
        "sequence_number": "18849496460467696128",
        "md5_of_body": "e4e68fb7bd0e697a0ae8f1bb342846b3",
    }
    table = sqs_table([row], shard="fifo.fifo")
    docs = {
        "Records": [
            {
                "messageId": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
                "receiptHandle": "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
                "body": "Test message.",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1573251510774",
                    "SequenceNumber": "18849496460467696128",
                    "MessageGroupId": "1",
                    "SenderId": "AIDAIO23YVJENQZJOL4VO",
                    "MessageDeduplicationId": "1",
                    "ApproximateFirstReceiveTimestamp": "1573251510774",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-2",
            }
        ]
    }
    (record,) = build_records(table, [0], ctx)
    # The docs' example predates md5OfMessageAttributes (S01 shows it, null, after messageAttributes).
    assert record.pop("md5OfMessageAttributes") is None
    record["receiptHandle"] = docs["Records"][0]["receiptHandle"]
    assert compact(build_event([record], ctx)) == compact(docs)


def test_attribute_order_follows_real_events() -> None:
    """AWSTraceHeader right after ApproximateReceiveCount and DeadLetterQueueSourceArn first, as in
    events recorded from AWS (the HashMap model of events.order_sqs_attributes)."""
    row = sqs_row(
        trace_header="Root=1-646f68f6-29168d517efd3a056d14b505;Parent=678c8388376f339d;Sampled=0",
        attributes=compact(
            {
                "ApproximateReceiveCount": "3",
                "DeadLetterQueueSourceArn": "arn:aws:sqs:us-east-1:111111111111:source",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            }
        ).decode(),
    )
    (record,) = build_records(sqs_table([row]), [0], Q_CTX)
    assert list(record["attributes"]) == [
        "DeadLetterQueueSourceArn",
        "ApproximateReceiveCount",
        "AWSTraceHeader",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ]
    # Typed columns win over the captured JSON: the receive count is the delivery's, not "3".
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_s02_each_delivery_has_its_count_first_receive_and_handle() -> None:
    """S02: the second receive carries ApproximateReceiveCount "2" and a new receipt handle."""
    table = sqs_table([sqs_row("m1"), sqs_row("m2", sent=SENT + 5)])
    first = build_records(table, [0, 1], Q_CTX)
    delivery = SqsDelivery(
        receive_counts=[2, 1],
        first_receive_ms=[SENT + 20, SENT + 30],
        receipt_handles=[receipt_handle("m1", 2), receipt_handle("m2", 1)],
    )
    second = build_records(table, [0, 1], Q_CTX, sqs=delivery)
    assert second[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert second[0]["attributes"]["ApproximateFirstReceiveTimestamp"] == str(SENT + 20)
    assert second[0]["receiptHandle"] != first[0]["receiptHandle"]
    assert second[1]["receiptHandle"] == first[1]["receiptHandle"]
    assert first[1]["attributes"]["ApproximateFirstReceiveTimestamp"] == str(SENT + 5)
    with pytest.raises(ValueError, match="one per row"):
        build_records(table, [0, 1], Q_CTX, sqs=SqsDelivery([1], [SENT], ["h"]))


def test_receipt_handles_are_deterministic_realistic_and_fixed_length() -> None:
    handles = {receipt_handle(m, c) for m in ("a", "b") for c in (1, 2, 10, 100)}
    assert len(handles) == 8
    assert receipt_handle("a", 1) == receipt_handle("a", 1)
    for h in handles:
        assert h.startswith("AQEB")
        assert len(h) == RECEIPT_HANDLE_LENGTH
        base64.b64decode(h, validate=True)


def test_sqs_fallbacks_md5_of_body_and_message_id() -> None:
    row = {"message_id": None, "seq": "m-7", "body": "hello"}
    (record,) = build_records(sqs_table([row]), [0], Q_CTX)
    assert record["messageId"] == "m-7"
    assert record["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "ApproximateFirstReceiveTimestamp",
    ]


sqs_rows = st.lists(
    st.fixed_dictionaries(
        {
            "message_id": st.uuids().map(str),
            "body": st.text(max_size=30),
            "sent": st.integers(0, 4_102_444_800_000),
        },
        optional={
            "sender_id": st.text(max_size=10),
            "trace_header": st.text(max_size=10),
            "group_id": st.text(min_size=1, max_size=5),
            "dedup_id": st.text(max_size=5),
            "sequence_number": st.integers(0, 10**20).map(str),
            "md5_of_body": st.text(min_size=32, max_size=32, alphabet="0123456789abcdef"),
            "md5_of_message_attributes": st.text(max_size=32, alphabet="0123456789abcdef"),
            "message_attributes": st.dictionaries(
                st.text(min_size=1, max_size=5),
                st.fixed_dictionaries(
                    {
                        "stringValue": st.text(max_size=5),
                        "stringListValues": st.just([]),
                        "binaryListValues": st.just([]),
                        "dataType": st.sampled_from(["String", "Number"]),
                    }
                ),
                max_size=2,
            ).map(lambda d: compact(d).decode()),
            "attributes": st.dictionaries(
                st.sampled_from(
                    ["SenderId", "DeadLetterQueueSourceArn", 'Custom"', "SentTimestamp"]
                ),
                st.text(max_size=6),
                max_size=3,
            ).map(lambda d: compact(d).decode()),
        },
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sqs_rows)
def test_sqs_size_identity_property(rows: list[dict[str, Any]]) -> None:
    """For any SQS rows: each size is its first-receive record's compact JSON + 1, summing to the
    event's length with EVENT_OVERHEAD."""
    table = sqs_table(rows)
    records = build_records(table, range(len(rows)), Q_CTX)
    sizes = record_sizes(table, Q_CTX).to_pylist()
    assert sizes == [len(compact(r)) + 1 for r in records]
    assert len(event_json(build_event(records, Q_CTX))) == envelope_overhead(Q_CTX) + sum(sizes)


def test_sqs_sizes_of_non_compact_message_attributes_and_later_receives() -> None:
    """Stored JSON that is not compact is sized by serialising; a 10th receive adds one byte."""
    loose = '{"A": {"stringValue": "x", "dataType": "String"}}'
    table = sqs_table([sqs_row(message_attributes=loose), sqs_row("m2")])
    records = build_records(table, [0, 1], Q_CTX)
    assert record_sizes(table, Q_CTX).to_pylist() == [len(compact(r)) + 1 for r in records]
    tenth = build_records(
        table, [1], Q_CTX, sqs=SqsDelivery([10], [SENT], [receipt_handle("m2", 10)])
    )
    assert len(compact(tenth[0])) == len(compact(records[1])) + 1


# --------------------------------------------------------------------------- Kafka (B93, B94)

MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2"
SERVERS = "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092"
MSK_CTX = EventContext(SourceKind.KAFKA, MSK_ARN, "us-east-1", bootstrap_servers=SERVERS)
SELF_CTX = EventContext(
    SourceKind.KAFKA, "", "", bootstrap_servers=SERVERS, kafka_self_managed=True
)


def kafka_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Capture rows from dicts: topic, partition, offset, ts, value, and optional key/headers/type."""
    return conform(
        pa.table(
            {
                "shard": [f"{r['topic']}-{r['partition']}" for r in rows],
                "seq": [str(r["offset"]) for r in rows],
                "pos": list(range(len(rows))),
                "arrival": pa.array([r["ts"] for r in rows], pa.int64()).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                "key": [None] * len(rows),
                "data": pa.array([r["value"] for r in rows], pa.binary()),
                "size": [0] * len(rows),
                "topic": [r.get("topic_column", r["topic"]) for r in rows],
                "partition": pa.array([r["partition"] for r in rows], pa.int32()),
                "offset": pa.array([r["offset"] for r in rows], pa.int64()),
                "timestamp_type": [r.get("type") for r in rows],
                "key_bytes": pa.array([r.get("key") for r in rows], pa.binary()),
                "headers": [r.get("headers") for r in rows],
            }
        ),
        SourceKind.KAFKA,
    )


HEADER = '[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]'


def test_b93_b94_msk_event_matches_the_docs_example() -> None:
    """B93/B94: the with-msk.html example event, byte for byte."""
    table = kafka_table(
        [
            {
                "topic": "mytopic",
                "partition": 0,
                "offset": 15,
                "ts": 1545084650987,
                "type": "CREATE_TIME",
                "key": b"recordKey",
                "value": b'{"key":"value"}',
                "headers": HEADER,
            }
        ]
    )
    event = build_event(build_records(table, [0], MSK_CTX), MSK_CTX)
    assert (
        event_json(event)
        == (
            '{"eventSource":"aws:kafka",'
            f'"eventSourceArn":"{MSK_ARN}",'
            f'"bootstrapServers":"{SERVERS}",'
            '"records":{"mytopic-0":[{"topic":"mytopic","partition":0,"offset":15,'
            '"timestamp":1545084650987,"timestampType":"CREATE_TIME","key":"cmVjb3JkS2V5",'
            '"value":"eyJrZXkiOiJ2YWx1ZSJ9",'
            '"headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}]}}'
        ).encode()
    )


def test_b94_self_managed_has_no_event_source_arn() -> None:
    table = kafka_table([{"topic": "t", "partition": 0, "offset": 1, "ts": 5, "value": b"v"}])
    event = build_event(build_records(table, [0], SELF_CTX), SELF_CTX)
    assert list(event) == ["eventSource", "bootstrapServers", "records"]
    assert event["eventSource"] == "SelfManagedKafka"
    unknown = EventContext(SourceKind.KAFKA, MSK_ARN, "us-east-1")
    assert list(build_event([], unknown)) == ["eventSource", "eventSourceArn", "records"]


def test_b93_two_partitions_grouped_in_first_appearance_order() -> None:
    """B93: records of orders-1 and orders-0 in one event: grouped, order kept within each."""
    rows = [
        {"topic": "orders", "partition": 1, "offset": 7, "ts": 10, "value": b"a"},
        {"topic": "orders", "partition": 0, "offset": 3, "ts": 11, "value": b"b"},
        {"topic": "orders", "partition": 1, "offset": 8, "ts": 12, "value": b"c", "key": b"k"},
    ]
    event = build_event(build_records(kafka_table(rows), [0, 1, 2], MSK_CTX), MSK_CTX)
    groups = event["records"]
    assert list(groups) == ["orders-1", "orders-0"]
    assert [r["offset"] for r in groups["orders-1"]] == [7, 8]
    assert [base64.b64decode(r["value"]) for r in groups["orders-1"]] == [b"a", b"c"]
    assert "key" not in groups["orders-1"][0]  # keyless: no key at all (UNCONFIRMED vs null)
    assert groups["orders-1"][1]["key"] == "aw=="
    assert groups["orders-0"][0]["headers"] == []
    assert groups["orders-0"][0]["timestampType"] == "CREATE_TIME"


def test_kafka_rows_without_topic_take_it_from_the_shard() -> None:
    """A topic may hold hyphens: shard "my-topic-12" is topic "my-topic", partition 12."""
    row = {"topic": "my-topic", "partition": 12, "offset": 4, "ts": 1, "value": b""}
    table = kafka_table([{**row, "topic_column": None}])
    (record,) = build_records(table, [0], MSK_CTX)
    assert (record["topic"], record["partition"]) == ("my-topic", 12)
    assert record_sizes(table, MSK_CTX).to_pylist() == [len(compact(record)) + 1]


kafka_rows = st.lists(
    st.fixed_dictionaries(
        {
            "topic": st.sampled_from(["t", "my-topic", 'q"uote']),
            "partition": st.integers(0, 200),
            "offset": st.integers(0, 2**62),
            "ts": st.integers(-1, 4_102_444_800_000),
            "value": st.binary(max_size=40),
        },
        optional={
            "key": st.binary(max_size=10),
            "type": st.sampled_from(["CREATE_TIME", "LOG_APPEND_TIME"]),
            "headers": st.lists(
                st.dictionaries(
                    st.text(min_size=1, max_size=4),
                    st.lists(st.integers(0, 255), max_size=4),
                    min_size=1,
                    max_size=1,
                ),
                max_size=3,
            ).map(lambda h: compact(h).decode()),
        },
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kafka_rows, st.booleans())
def test_kafka_size_identity_property(rows: list[dict[str, Any]], self_managed: bool) -> None:
    """For any Kafka rows: sizes are compact JSON + 1 and, with the batch's partitions, sum with
    envelope_overhead to the event's exact length."""
    ctx = SELF_CTX if self_managed else MSK_CTX
    table = kafka_table(rows)
    records = build_records(table, range(len(rows)), ctx)
    sizes = record_sizes(table, ctx).to_pylist()
    assert sizes == [len(compact(r)) + 1 for r in records]
    partitions = list(dict.fromkeys(f"{r['topic']}-{r['partition']}" for r in rows))
    event = build_event(records, ctx)
    assert len(event_json(event)) == envelope_overhead(ctx, partitions=partitions) + sum(sizes)


def test_kafka_sizes_of_headers_that_are_not_compact() -> None:
    row = {"topic": "t", "partition": 0, "offset": 1, "ts": 5, "value": b"v"}
    table = kafka_table([{**row, "headers": '[ {"h": [1, 2]} ]'}, row])
    records = build_records(table, [0, 1], MSK_CTX)
    assert record_sizes(table, MSK_CTX).to_pylist() == [len(compact(r)) + 1 for r in records]
