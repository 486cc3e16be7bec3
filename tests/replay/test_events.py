"""replay.events: event records rebuilt from capture rows, byte for byte (B90, B91, K01, D01, 2.7).

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

from replay.capture import conform
from replay.events import (
    EVENT_OVERHEAD,
    EventContext,
    WindowInfo,
    build_event,
    build_records,
    dynamodb_size_bytes,
    envelope_overhead,
    event_json,
    record_sizes,
)
from replay.model import SourceKind

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


def test_sizes_for_other_kinds_are_not_computed_here() -> None:
    with pytest.raises(NotImplementedError):
        record_sizes(kinesis_table(k01_rows()[1]), EventContext(SourceKind.SQS, "arn", "r"))


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
