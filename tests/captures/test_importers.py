"""captures.importers: AWS JSON in, capture out; rebuilt events identical to what was imported.

Cases K01 and D01 (ESM-SEMANTICS 13) go in as the documented events and must come back byte for
byte (B90, B91); so do SQS events (S01, S03, B92) and Kafka events (B93, B94), in every input form
(Lambda events, aws sqs receive-message, kcat -J). Every malformed input is one ImportFormatError
line and writes nothing.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captures.importers import (
    DEFAULT_DYNAMODB_SHARD,
    DEFAULT_KINESIS_SHARD,
    import_files,
    import_to_capture,
    parse_setting_pairs,
    read_queue_attributes,
)
from replay.errors import CaptureError, ImportFormatError
from replay.events import EventContext, build_event, build_records, event_json, record_sizes
from replay.formats.capture import Manifest, capture_schema, read_capture
from replay.vocabulary import SourceKind

DATA = Path(__file__).parent / "data"
K01 = DATA / "kinesis_k01_event.json"
D01 = DATA / "dynamodb_d01_event.json"
K_ARN = "arn:aws:kinesis:us-east-1:111111111111:stream/test-stream-a1b2c3"
K_ROLE = "arn:aws:iam::111111111111:role/lambda-role-a1b2c3"
D_ARN = "arn:aws:dynamodb:us-east-1:111111111111:table/test-table/stream/2024-11-25T14:30:00.000"
KIN = SourceKind.KINESIS
DDB = SourceKind.DYNAMODB


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, indent=1))
    return path


def rebuilt(
    paths: list[Path], kind: SourceKind, role: str = K_ROLE, **kw: Any
) -> list[dict[str, Any]]:
    manifest, table, _ = import_files(paths, source=kind, **kw)
    ctx = EventContext(kind, manifest.source.arn or "", manifest.source.region or "", role)
    return build_records(table, range(table.num_rows), ctx)


def k_record(
    seq: int,
    key: str = "k",
    data: bytes = b"hello",
    ts: float = 1732545000.571,
    shard: str = "shardId-000000000000",
) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": key,
            "sequenceNumber": str(seq),
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": ts,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": K_ROLE,
        "awsRegion": "us-east-1",
        "eventSourceARN": K_ARN,
    }


def d_record(seq: str, key: str = "a", ts: Any = 1732545123.0, **extra: Any) -> dict[str, Any]:
    return {
        "eventID": f"id-{seq}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": ts,
            "Keys": {"pk": {"S": key}},
            "NewImage": {"pk": {"S": key}},
            "SequenceNumber": seq,
            "SizeBytes": 2 * (2 + len(key)),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": D_ARN,
        **extra,
    }


# --------------------------------------------------------------------------- K01 / D01


def test_k01_round_trip_byte_for_byte() -> None:
    """K01: the documented 10-record Kinesis event is rebuilt exactly (B90)."""
    event = json.loads(K01.read_text())
    assert event_json(
        build_event(rebuilt([K01], KIN), EventContext(KIN, K_ARN, "us-east-1"))
    ) == compact(event)


def test_k01_manifest_and_columns() -> None:
    manifest, table, duplicates = import_files([K01], source=KIN)
    assert duplicates == 0
    assert (
        manifest.source.kind,
        manifest.source.arn,
        manifest.source.region,
        manifest.source.name,
    ) == (
        KIN,
        K_ARN,
        "us-east-1",
        "test-stream-a1b2c3",
    )
    assert manifest.created_by == "import"
    assert manifest.function == {"Role": K_ROLE}  # Kinesis invokeIdentityArn, kept for rebuilding
    assert table.schema == capture_schema(KIN)
    assert table.column("shard").unique().to_pylist() == ["shardId-000000000000"]
    assert table.column("pos").to_pylist() == list(range(10))
    assert table.column("key").to_pylist() == [f"test_{i}" for i in range(10)]
    assert table.column("data").to_pylist() == [b"hello"] * 10
    assert table.column("arrival").cast("int64").to_pylist() == [1732545000571] * 10
    event = json.loads(K01.read_text())
    assert table.column("size").to_pylist() == [len(compact(r)) + 1 for r in event["Records"]]


def test_d01_round_trip_byte_for_byte() -> None:
    """D01: INSERT with a binary attribute, float ApproximateCreationDateTime, SizeBytes 70."""
    event = json.loads(D01.read_text())
    records = rebuilt([D01], DDB)
    assert event_json(build_event(records, EventContext(DDB, D_ARN, "us-east-1"))) == compact(event)
    manifest, table, _ = import_files([D01], source=DDB)
    assert table.schema == capture_schema(DDB)
    row = table.to_pylist()[0]
    assert row["size_bytes"] == 70
    assert row["key"] == '{"my_partition_key":{"S":"hello world"}}'
    assert row["shard"] == DEFAULT_DYNAMODB_SHARD
    assert (row["event_id"], row["event_name"], row["event_version"], row["stream_view_type"]) == (
        "8f4d2c3b1a0e9d8c7b6a5f4e3d2c1b0a",
        "INSERT",
        "1.1",
        "NEW_IMAGE",
    )
    assert row["user_identity"] is None
    assert row["data"] == compact(event["Records"][0]["dynamodb"])
    assert manifest.source.name == "test-table"


# --------------------------------------------------------------------------- input forms


def test_array_of_events_and_json_lines_give_the_same_records(tmp_path: Path) -> None:
    recs = [k_record(s) for s in (5, 6, 7, 8)]
    one = write(tmp_path / "one.json", {"Records": recs})
    arr = write(tmp_path / "arr.json", [{"Records": recs[:2]}, {"Records": recs[2:]}])
    events_lines = tmp_path / "events.jsonl"
    events_lines.write_text("\n".join(json.dumps({"Records": [r]}) for r in recs) + "\n\n")
    record_lines = tmp_path / "records.jsonl"
    record_lines.write_text("\n".join(json.dumps(r) for r in recs))
    expected = rebuilt([one], KIN)
    assert [r["kinesis"]["sequenceNumber"] for r in expected] == ["5", "6", "7", "8"]
    for path in (arr, events_lines, record_lines):
        assert rebuilt([path], KIN) == expected


def test_kinesis_cli_pages_v1_and_v2(tmp_path: Path) -> None:
    """aws kinesis get-records: epoch floats (CLI v1) or ISO-8601 (CLI v2); no shard id."""
    page1 = write(
        tmp_path / "page1.json",
        {
            "Records": [
                {
                    "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    "ApproximateArrivalTimestamp": 1545084650.987,
                    "Data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
                    "PartitionKey": "1",
                }
            ],
            "NextShardIterator": "AAAA",
            "MillisBehindLatest": 0,
        },
    )
    page2 = write(
        tmp_path / "page2.json",
        {
            "Records": [
                {
                    "SequenceNumber": "49590338271490256608559692540925702759324208523137515618",
                    "ApproximateArrivalTimestamp": "2018-12-17T22:11:51.166000+00:00",
                    "Data": "VGhpcyBpcyBvbmx5IGEgdGVzdC4=",
                    "PartitionKey": "1",
                    "EncryptionType": "NONE",
                }
            ],
            "NextShardIterator": "BBBB",
            "MillisBehindLatest": 0,
        },
    )
    records = rebuilt([page2, page1], KIN, arn=K_ARN)
    assert [(r["eventID"], r["kinesis"]["approximateArrivalTimestamp"]) for r in records] == [
        (
            f"{DEFAULT_KINESIS_SHARD}:49590338271490256608559692538361571095921575989136588898",
            1545084650.987,
        ),
        (
            f"{DEFAULT_KINESIS_SHARD}:49590338271490256608559692540925702759324208523137515618",
            1545084711.166,
        ),
    ]
    assert records[1]["kinesis"]["data"] == "VGhpcyBpcyBvbmx5IGEgdGVzdC4="
    named = rebuilt([page1], KIN, arn=K_ARN, shard="shardId-000000000007")
    assert named[0]["eventID"].startswith("shardId-000000000007:")


def test_dynamodbstreams_cli_output(tmp_path: Path) -> None:
    """aws dynamodbstreams get-records (CLI v2): ISO time becomes epoch seconds; TTL identity (B91)."""
    page = write(
        tmp_path / "ddb.json",
        {
            "Records": [
                {
                    "eventID": "e1",
                    "eventName": "REMOVE",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "eu-west-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": "2024-11-25T14:32:03+00:00",
                        "Keys": {"id": {"S": "x"}},
                        "OldImage": {"id": {"S": "x"}},
                        "SequenceNumber": "400000000000000000001",
                        "SizeBytes": 6,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                    "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
                }
            ],
            "NextShardIterator": "arn:aws:dynamodb:...|1|AAAA",
        },
    )
    arn = "arn:aws:dynamodb:eu-west-1:111111111111:table/t/stream/2024-11-25T14:30:00.000"
    (record,) = rebuilt([page], DDB, arn=arn, shard="shardId-00000001732545000000-abcdef12")
    assert compact(record) == compact(
        {
            "eventID": "e1",
            "eventName": "REMOVE",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1732545123.0,
                "Keys": {"id": {"S": "x"}},
                "OldImage": {"id": {"S": "x"}},
                "SequenceNumber": "400000000000000000001",
                "SizeBytes": 6,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": arn,
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        }
    )


def test_missing_size_bytes_is_computed_and_placed_like_aws(tmp_path: Path) -> None:
    rec = d_record("100000000000000000001", key="hello")
    del rec["dynamodb"]["SizeBytes"]
    path = write(tmp_path / "e.json", {"Records": [rec]})
    _, table, _ = import_files([path], source=DDB)
    assert table.column("size_bytes").to_pylist() == [14]
    assert list(json.loads(table.column("data")[0].as_py())) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]


# --------------------------------------------------------------------------- order and duplicates


def test_order_is_by_integer_sequence_number_per_shard(tmp_path: Path) -> None:
    """Sequence numbers of any width compare as integers: 9 < 10 < 99 < 100 < 56 digits."""
    big = 49590338271490256608559692538361571095921575989136588898
    recs = [
        k_record(100, "d"),
        k_record(9, "a"),
        k_record(big, "e"),
        k_record(99, "c"),
        k_record(10, "b"),
        k_record(3, "x", shard="shardId-000000000001"),
        k_record(2, "w", shard="shardId-000000000001"),
    ]
    _, table, _ = import_files([write(tmp_path / "e.json", {"Records": recs})], source=KIN)
    rows = [(r["shard"][-1], r["seq"], r["pos"], r["key"]) for r in table.to_pylist()]
    assert rows == [
        ("0", "9", 0, "a"),
        ("0", "10", 1, "b"),
        ("0", "99", 2, "c"),
        ("0", "100", 3, "d"),
        ("0", str(big), 4, "e"),
        ("1", "2", 0, "w"),
        ("1", "3", 1, "x"),
    ]


def test_duplicates_are_kept_once_counted_and_reported(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", {"Records": [k_record(1, "a"), k_record(2, "b")]})
    again = write(tmp_path / "b.json", {"Records": [k_record(2, "b"), k_record(1, "changed")]})
    out = tmp_path / "cap"
    result = import_to_capture([first, again], out, source=KIN)
    assert (result.records, result.duplicates, result.files) == (2, 2, 2)
    assert result.capture.records.column("key").to_pylist() == ["a", "b"]
    assert result.notes == (
        f"{first}: Lambda event JSON, 2 records",
        f"{again}: Lambda event JSON, 2 records",
        "2 duplicate records (same shard and sequence number) were dropped",
    )
    # Same data, different partition key: counted as a duplicate; the content check is on data.
    changed = write(tmp_path / "c.json", {"Records": [k_record(1, "a", data=b"other")]})
    notes = import_to_capture([first, changed], tmp_path / "cap2", source=KIN).notes
    assert notes[-1] == "1 of those differed in content from the record kept (the first)"


def test_import_to_capture_writes_a_readable_capture(tmp_path: Path) -> None:
    out = tmp_path / "cap"
    result = import_to_capture([K01], out, source=KIN)
    back = read_capture(out)
    assert back.records.equals(result.capture.records)
    assert back.manifest.source.arn == K_ARN
    assert back.manifest.shards[0].records == 10
    assert back.manifest.window_start_ms == 1732545000571
    with pytest.raises(CaptureError, match="already exists"):
        import_to_capture([K01], out, source=KIN)
    assert import_to_capture([D01], out, source=DDB, overwrite=True).records == 1


# --------------------------------------------------------------------------- ARN, region, shard


def test_dynamodb_shard_default_is_noted(tmp_path: Path) -> None:
    result = import_to_capture([D01], tmp_path / "cap", source=DDB)
    assert result.notes[-1] == (
        "DynamoDB stream records do not name their shard: 1 records were put in shard "
        f"{DEFAULT_DYNAMODB_SHARD} (name it with --shard)"
    )


def test_arn_is_required_when_the_input_has_none(tmp_path: Path) -> None:
    rec = k_record(1)
    del rec["eventSourceARN"]
    path = write(tmp_path / "e.json", {"Records": [rec]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN)
    assert str(err.value) == "the input carries no eventSourceARN; give the source with --arn ARN"
    assert import_files([path], source=KIN, arn=K_ARN)[0].source.arn == K_ARN


def test_conflicting_arns_are_refused(tmp_path: Path) -> None:
    other = k_record(2)
    other["eventSourceARN"] = "arn:aws:kinesis:us-east-1:111111111111:stream/other"
    path = write(tmp_path / "e.json", {"Records": [k_record(1), other]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN)
    assert str(err.value) == (
        f"conflicting eventSourceARN values: '{K_ARN}' ({path}: record 0) and "
        f"'arn:aws:kinesis:us-east-1:111111111111:stream/other' ({path}: record 1); "
        "import one source at a time"
    )
    with pytest.raises(
        ImportFormatError, match=r"^--arn 'arn:aws:kinesis:us-east-1:1:stream/x' conflicts"
    ):
        import_files([K01], source=KIN, arn="arn:aws:kinesis:us-east-1:1:stream/x")


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("stream/x", "--arn: 'stream/x' is not an ARN (arn:aws:kinesis:REGION:ACCOUNT:RESOURCE)"),
        (D_ARN, f"--arn: '{D_ARN}' is a dynamodb ARN but --source is kinesis"),
        (
            "arn:aws:kinesis:us-east-1:1:table/x",
            "--arn: 'arn:aws:kinesis:us-east-1:1:table/x' does not name a stream (stream/NAME...)",
        ),
    ],
)
def test_bad_arns(tmp_path: Path, arn: str, message: str) -> None:
    rec = k_record(1)
    del rec["eventSourceARN"]
    path = write(tmp_path / "e.json", {"Records": [rec]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN, arn=arn)
    assert str(err.value) == message


def test_region_must_match_the_arn() -> None:
    with pytest.raises(ImportFormatError) as err:
        import_files([K01], source=KIN, region="eu-west-1")
    assert str(err.value) == "--region 'eu-west-1' conflicts with the ARN's region 'us-east-1'"


# --------------------------------------------------------------------------- malformed input


def _mutate(rec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parts = path.split(".")
    target = rec
    for p in parts[:-1]:
        target = target[p]
    if value is _DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return rec


_DELETE = object()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("kinesis.sequenceNumber", _DELETE, "kinesis.sequenceNumber is missing"),
        (
            "kinesis.sequenceNumber",
            "12a",
            "kinesis.sequenceNumber must be a string of decimal digits, got '12a'",
        ),
        ("kinesis.data", "###", "kinesis.data is not valid base64"),
        ("kinesis.partitionKey", 5, "kinesis.partitionKey must be a string, got 5"),
        # a missing arrival time is assumed (--arrival): test_import_sam.py
        (
            "kinesis.approximateArrivalTimestamp",
            "yesterday",
            "kinesis.approximateArrivalTimestamp: 'yesterday' is not a time",
        ),
        ("kinesis", _DELETE, "not a Lambda Kinesis event record"),
        (
            "eventID",
            "shardId-000000000000:4",
            "eventID 'shardId-000000000000:4' does not end with kinesis.sequenceNumber 3",
        ),
        ("eventID", "nocolon", "eventID 'nocolon' is not '<shardId>:<sequenceNumber>'"),
        (
            "eventSource",
            "aws:sqs",
            "eventSource is 'aws:sqs', expected 'aws:kinesis' for --source kinesis",
        ),
    ],
)
def test_malformed_kinesis_record_names_file_record_and_problem(
    tmp_path: Path, field: str, value: Any, problem: str
) -> None:
    recs = [k_record(0), k_record(1), k_record(2), _mutate(k_record(3), field, value)]
    if field == "kinesis":
        recs = [recs[3]]
    path = write(tmp_path / "events.json", {"Records": recs})
    out = tmp_path / "cap"
    with pytest.raises(ImportFormatError) as err:
        import_to_capture([path], out, source=KIN)
    index = 0 if field == "kinesis" else 3
    assert str(err.value).startswith(f"{path}: record {index}: {problem}")
    assert "\n" not in str(err.value)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_json_lines_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    bad = k_record(2)
    del bad["kinesis"]["partitionKey"]
    path.write_text(
        "\n".join([json.dumps(k_record(0)), "", json.dumps({"Records": [k_record(1), bad]})])
    )
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN)
    assert str(err.value) == f"{path}: line 3, record 2: kinesis.partitionKey is missing"
    path.write_text(json.dumps(k_record(0)) + "\n" + '{"Records": [}\n')
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN)
    assert str(err.value) == f"{path}: line 2: not valid JSON (column 14: Expecting value)"


def test_json_lines_split_only_at_newline(tmp_path: Path) -> None:
    """U+0085 and U+2028 inside strings are not line ends (str.splitlines() would split there)."""
    path = tmp_path / "e.jsonl"
    recs = [k_record(1, "a\x85b"), k_record(2, "c\u2028d\r")]
    path.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    assert [r["kinesis"]["partitionKey"] for r in rebuilt([path], KIN)] == ["a\x85b", "c\u2028d\r"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty file; expected Lambda event JSON or AWS CLI output"),
        ('{"Records": [1', "not valid JSON (line 1 column 15: Expecting ',' delimiter)"),
        ('{"Records": {}}', "Records must be a JSON array"),
        ("[3]", "record 0: expected a JSON object, got int"),
        ('{"Records": []}', None),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, problem: str | None) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=KIN)
    assert str(err.value) == (f"{path}: {problem}" if problem else f"no records in {path}")


def test_missing_file() -> None:
    with pytest.raises(ImportFormatError, match=r"^nope\.json: no such file$"):
        import_files(["nope.json"], source=KIN)


def test_wrong_source_kind_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as err:
        import_files([D01], source=KIN)
    assert str(err.value) == (
        f"{D01}: record 0: not a Lambda Kinesis event record (kinesis.*) or aws kinesis "
        "get-records output (SequenceNumber, Data) (is --source right?)"
    )
    with pytest.raises(ImportFormatError, match=r"record 0: not an SQS record from a Lambda event"):
        import_files([K01], source=SourceKind.SQS)
    with pytest.raises(
        ImportFormatError, match=r"record 0: not a Kafka record from a Lambda event"
    ):
        import_files([K01], source=SourceKind.KAFKA)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("dynamodb.SequenceNumber", _DELETE, "dynamodb.SequenceNumber is missing"),
        # a missing ApproximateCreationDateTime is assumed (--arrival): test_import_sam.py
        ("dynamodb.Keys", _DELETE, "dynamodb.Keys is missing"),
        ("dynamodb.SizeBytes", -1, "dynamodb.SizeBytes must be a non-negative integer"),
        ("eventName", "UPSERT", "eventName is 'UPSERT'; allowed: INSERT, MODIFY, REMOVE"),
        ("userIdentity", "svc", "userIdentity must be a JSON object"),
    ],
)
def test_malformed_dynamodb_record(tmp_path: Path, field: str, value: Any, problem: str) -> None:
    recs = [
        d_record("100000000000000000001"),
        _mutate(d_record("100000000000000000002"), field, value),
    ]
    path = write(tmp_path / "events.json", {"Records": recs})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=DDB)
    assert str(err.value) == f"{path}: record 1: {problem}"


def test_size_bytes_of_a_bad_attribute_value_is_reported(tmp_path: Path) -> None:
    rec = d_record("100000000000000000001")
    del rec["dynamodb"]["SizeBytes"]
    rec["dynamodb"]["NewImage"]["blob"] = {"B": "***"}
    path = write(tmp_path / "e.json", {"Records": [rec]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=DDB)
    assert str(err.value) == f"{path}: record 0: dynamodb.NewImage.blob: '***' is not valid base64"


# --------------------------------------------------------------------------- round-trip property

kinesis_records = st.lists(
    st.fixed_dictionaries(
        {
            "shard": st.sampled_from(["shardId-000000000000", "shardId-000000000001"]),
            "seq": st.integers(0, 10**56),
            "key": st.text(min_size=1, max_size=12),
            "data": st.binary(max_size=40),
            "ms": st.integers(946_684_800_000, 4_102_444_800_000),
        }
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=kinesis_records, split=st.integers(0, 25), lines=st.booleans())
def test_round_trip_property(
    tmp_path: Path, records: list[dict[str, Any]], split: int, lines: bool
) -> None:
    """Random Kinesis records -> Lambda event JSON -> import -> build_records -> identical records.

    Records are written in arbitrary order across one or two events (or JSON Lines); the import
    must give them back per shard in integer sequence order, each (shard, seq) once (the first).
    """
    events = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r["key"],
                "sequenceNumber": str(r["seq"]),
                "data": base64.b64encode(r["data"]).decode(),
                "approximateArrivalTimestamp": r["ms"] / 1000,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{r['shard']}:{r['seq']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": K_ROLE,
            "awsRegion": "us-east-1",
            "eventSourceARN": K_ARN,
        }
        for r in records
    ]
    path = tmp_path / ("in.jsonl" if lines else "in.json")
    if lines:
        path.write_text(
            "\n".join(json.dumps(e, ensure_ascii=False) for e in events), encoding="utf-8"
        )
    else:
        docs = [{"Records": events[:split]}, {"Records": events[split:]}]
        path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    first: dict[tuple[str, int], dict[str, Any]] = {}
    for r, e in zip(records, events, strict=True):
        first.setdefault((r["shard"], r["seq"]), e)
    expected = [first[k] for k in sorted(first)]
    manifest, table, duplicates = import_files([path], source=KIN)
    assert manifest.function == {"Role": K_ROLE}
    ctx = EventContext(KIN, K_ARN, "us-east-1", K_ROLE)
    assert build_records(table, range(table.num_rows), ctx) == expected
    assert duplicates == len(records) - len(first)
    assert table.column("size").to_pylist() == record_sizes(table, ctx).to_pylist()


# --------------------------------------------------------------------------- SQS

Q_ARN = "arn:aws:sqs:us-east-1:111111111111:test-queue"
F_ARN = "arn:aws:sqs:us-east-2:123456789012:fifo.fifo"
SQS = SourceKind.SQS
KAFKA = SourceKind.KAFKA


def context(manifest: Manifest) -> EventContext:
    """The event context a replay of this capture uses (what the engines build)."""
    src = manifest.source
    return EventContext(
        src.kind,
        src.arn or "",
        src.region or "",
        bootstrap_servers=src.settings.get("BootstrapServers"),
        kafka_self_managed=bool(src.settings.get("SelfManaged", False)),
    )


def imported_event(paths: list[Path], kind: SourceKind, **kw: Any) -> dict[str, Any]:
    """Import, then rebuild one event holding every record (first receive, for SQS)."""
    manifest, table, _ = import_files(paths, source=kind, **kw)
    ctx = context(manifest)
    event = build_event(build_records(table, range(table.num_rows), ctx), ctx)
    assert table.column("size").to_pylist() == record_sizes(table, ctx).to_pylist()
    return event


def q_record(
    message_id: str,
    body: str = '{"foo":"bar"}',
    sent: int = 1732545000571,
    arn: str = Q_ARN,
    **attributes: str,
) -> dict[str, Any]:
    """An SQS Lambda event record as AWS sends it (S01), first receive."""
    return {
        "messageId": message_id,
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(sent),
            **attributes,
        },
        "messageAttributes": {},
        "md5OfMessageAttributes": None,
        "md5OfBody": "9bb58f26192e4ba00f01e2e7b136bbd8",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": arn.split(":")[3],
    }


def without_handles(event: dict[str, Any]) -> dict[str, Any]:
    """The event with receipt handles removed: they belong to one receive (S02)."""
    return {
        "Records": [{k: v for k, v in r.items() if k != "receiptHandle"} for r in event["Records"]]
    }


def test_s01_sqs_event_round_trip(tmp_path: Path) -> None:
    """S01: an SQS event in, the same event out (receipt handles are the replay's own, S02)."""
    event = {"Records": [q_record("m-1"), q_record("m-2", body="plain text", sent=1732545000600)]}
    path = write(tmp_path / "e.json", event)
    out = imported_event([path], SQS)
    assert compact(without_handles(out)) == compact(without_handles(event))
    manifest, table, _ = import_files([path], source=SQS)
    src = manifest.source
    assert (src.arn, src.region, src.name, src.fifo, src.settings) == (
        Q_ARN,
        "us-east-1",
        "test-queue",
        False,
        {},
    )
    assert table.schema == capture_schema(SQS)
    row = table.to_pylist()[0]
    assert (row["shard"], row["seq"], row["pos"], row["key"], row["data"]) == (
        "test-queue",
        "m-1",
        0,
        None,
        b'{"foo":"bar"}',
    )
    assert (row["receive_count"], row["sender_id"], row["md5_of_message_attributes"]) == (
        1,
        "AIDAIENQZJOLO23YVJ4VO",
        None,
    )
    assert json.loads(row["attributes"]) == event["Records"][0]["attributes"]


def test_s03_message_attributes_round_trip(tmp_path: Path) -> None:
    """S03: string, number and binary attributes keep the Lambda shape, lists included."""
    rec = q_record("m-1")
    rec["messageAttributes"] = {
        "Title": {
            "stringValue": "The Whistler",
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
    rec["md5OfMessageAttributes"] = "d25a6aea97eb8f585bfa92d314504a92"
    out = imported_event([write(tmp_path / "e.json", {"Records": [rec]})], SQS)
    assert compact(without_handles(out)) == compact(without_handles({"Records": [rec]}))


def test_s03_attributes_without_lists_get_them(tmp_path: Path) -> None:
    """LocalStack leaves stringListValues/binaryListValues out (section 14); AWS sends them."""
    rec = q_record("m-1")
    rec["messageAttributes"] = {"A": {"stringValue": "x", "dataType": "String"}}
    (out,) = imported_event([write(tmp_path / "e.json", {"Records": [rec]})], SQS)["Records"]
    assert out["messageAttributes"] == {
        "A": {
            "stringValue": "x",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }


def fifo_record(message_id: str, seq: str, sent: int, group: str = "1") -> dict[str, Any]:
    rec = q_record(message_id, body=f"msg {message_id}", sent=sent, arn=F_ARN)
    rec["attributes"] = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(sent),
        "SequenceNumber": seq,
        "MessageGroupId": group,
        "SenderId": "AIDAIO23YVJENQZJOL4VO",
        "MessageDeduplicationId": message_id,
        "ApproximateFirstReceiveTimestamp": str(sent),
    }
    rec["md5OfBody"] = None
    return rec


def test_b92_fifo_queue_orders_by_sent_then_sequence_number(tmp_path: Path) -> None:
    """B92: FIFO from the .fifo name; seq is SequenceNumber, compared as an integer after
    SentTimestamp; key is the MessageGroupId."""
    recs = [
        fifo_record("c", "18849496460467696130", 1573251510775),
        fifo_record("b", "9849496460467696129", 1573251510774, group="2"),
        fifo_record("a", "18849496460467696128", 1573251510774),
    ]
    path = write(tmp_path / "e.json", {"Records": recs})
    manifest, table, _ = import_files([path], source=SQS)
    assert (manifest.source.fifo, manifest.source.name) == (True, "fifo.fifo")
    rows = [(r["seq"], r["message_id"], r["key"], r["pos"]) for r in table.to_pylist()]
    assert rows == [
        ("9849496460467696129", "b", "2", 0),
        ("18849496460467696128", "a", "1", 1),
        ("18849496460467696130", "c", "1", 2),
    ]
    out = imported_event([path], SQS)
    by_id = {r["messageId"]: r for r in recs}
    for rebuilt_rec in out["Records"]:
        expected = dict(by_id[rebuilt_rec["messageId"]])
        expected["md5OfBody"] = rebuilt_rec["md5OfBody"]  # computed when the input had none
        del expected["receiptHandle"]
        assert compact({k: v for k, v in rebuilt_rec.items() if k != "receiptHandle"}) == compact(
            expected
        )


def test_standard_queue_orders_by_sent_time_then_input_and_drops_repeats(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a.json",
        {"Records": [q_record("late", sent=20), q_record("x", sent=10), q_record("y", sent=10)]},
    )
    again = write(tmp_path / "b.json", {"Records": [q_record("x", body="changed", sent=10)]})
    result = import_to_capture([first, again], tmp_path / "cap", source=SQS)
    rows = [(r["seq"], r["pos"]) for r in result.capture.records.to_pylist()]
    assert rows == [("x", 0), ("y", 1), ("late", 2)]
    assert result.duplicates == 1
    assert result.notes[-2:] == (
        "1 duplicate records (same message id) were dropped",
        "1 of those differed in content from the record kept (the first)",
    )


def test_receive_message_output(tmp_path: Path) -> None:
    """aws sqs receive-message --attribute-names All --message-attribute-names All: PascalCase,
    binary values base64; the queue comes from --arn."""
    page = {
        "Messages": [
            {
                "MessageId": "m-1",
                "ReceiptHandle": "AQEB...",
                "MD5OfBody": "9bb58f26192e4ba00f01e2e7b136bbd8",
                "Body": '{"foo":"bar"}',
                "Attributes": {
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1732545000600",
                    "ApproximateReceiveCount": "3",
                    "SentTimestamp": "1732545000571",
                    "AWSTraceHeader": "Root=1-1",
                },
                "MD5OfMessageAttributes": "abc",
                "MessageAttributes": {
                    "Kind": {"StringValue": "order", "DataType": "String"},
                    "Raw": {"BinaryValue": "AAEC", "DataType": "Binary"},
                },
            }
        ]
    }
    path = write(tmp_path / "page.json", page)
    with pytest.raises(ImportFormatError, match="the input carries no eventSourceARN"):
        import_files([path], source=SQS)
    result = import_to_capture([path], tmp_path / "cap", source=SQS, arn=Q_ARN)
    assert result.notes[0] == f"{path}: aws sqs receive-message output, 1 records"
    row = result.capture.records.to_pylist()[0]
    assert (row["receive_count"], row["trace_header"]) == (3, "Root=1-1")
    (rec,) = imported_event([path], SQS, arn=Q_ARN)["Records"]
    assert list(rec["attributes"]) == [
        "ApproximateReceiveCount",
        "AWSTraceHeader",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ]
    assert rec["attributes"]["ApproximateReceiveCount"] == "1"  # a replay starts at receive 1
    assert rec["messageAttributes"] == {
        "Kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "Raw": {
            "binaryValue": "AAEC",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert (rec["md5OfMessageAttributes"], rec["eventSourceARN"]) == ("abc", Q_ARN)


def test_receive_message_without_system_attributes_names_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", {"Messages": [{"MessageId": "m", "Body": "b"}]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=SQS, arn=Q_ARN)
    assert str(err.value) == (
        f"{path}: record 0: Attributes.SentTimestamp is missing (receive with --attribute-names All)"
    )


def test_queue_settings_are_typed_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "e.json", {"Records": [q_record("m")]})
    given = parse_setting_pairs(
        [
            "VisibilityTimeout=30",
            'RedrivePolicy={"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":"2"}',
            "DelaySeconds=0",
            "MessageRetentionPeriod=345600",
        ]
    )
    manifest, _, _ = import_files([path], source=SQS, source_settings=given)
    assert manifest.source.settings == {
        "VisibilityTimeout": 30,
        "RedrivePolicy": {
            "deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq",
            "maxReceiveCount": 2,
        },
        "DelaySeconds": 0,
        "MessageRetentionPeriod": 345600,
    }


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"VisibilityTimeut": "30"},
            "--source-setting VisibilityTimeut: not a queue setting esm-replay uses; did you mean "
            "VisibilityTimeout? known: VisibilityTimeout, RedrivePolicy, FifoQueue, DelaySeconds, "
            "MessageRetentionPeriod, ContentBasedDeduplication",
        ),
        (
            {"VisibilityTimeout": "50000"},
            "--source-setting VisibilityTimeout: 50000 is not an integer from 0 to 43200",
        ),
        ({"FifoQueue": "yes"}, "--source-setting FifoQueue: 'yes' is not true or false"),
        ({"RedrivePolicy": "{nope"}, "--source-setting RedrivePolicy: '{nope' is not JSON"),
        (
            {"RedrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:r:1:d", "maxReceiveCount": 0}'},
            "--source-setting RedrivePolicy: maxReceiveCount: 0 is not an integer from 1 to 1000",
        ),
        (
            {"FifoQueue": "true"},
            "--source-setting FifoQueue: is True but queue 'test-queue' does not end with .fifo, "
            "as every FIFO queue's name does",
        ),
        (
            {"QueueArn": "arn:aws:sqs:us-east-1:111111111111:other"},
            f"--arn '{Q_ARN}' conflicts with QueueArn 'arn:aws:sqs:us-east-1:111111111111:other'",
        ),
    ],
)
def test_bad_queue_settings(tmp_path: Path, settings: dict[str, str], problem: str) -> None:
    path = write(tmp_path / "e.json", {"Records": [q_record("m")]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=SQS, arn=Q_ARN, source_settings=settings)
    assert str(err.value) == problem


def test_queue_attributes_file(tmp_path: Path) -> None:
    """aws sqs get-queue-attributes --attribute-names All: QueueArn names the source."""
    attrs = write(
        tmp_path / "attrs.json",
        {
            "Attributes": {
                "QueueArn": F_ARN,
                "ApproximateNumberOfMessages": "0",
                "VisibilityTimeout": "8",
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:us-east-2:123456789012:dlq.fifo","maxReceiveCount":2}',
            }
        },
    )
    settings = read_queue_attributes(attrs)
    assert "ApproximateNumberOfMessages" not in settings
    rec = fifo_record("m", "1", 1)
    del rec["eventSourceARN"]
    path = write(tmp_path / "e.json", {"Records": [rec]})
    manifest, _, _ = import_files([path], source=SQS, source_settings=settings)
    assert (manifest.source.arn, manifest.source.fifo) == (F_ARN, True)
    assert manifest.source.settings == {
        "VisibilityTimeout": 8,
        "FifoQueue": True,
        "ContentBasedDeduplication": False,
        "RedrivePolicy": {
            "deadLetterTargetArn": "arn:aws:sqs:us-east-2:123456789012:dlq.fifo",
            "maxReceiveCount": 2,
        },
    }
    with pytest.raises(ImportFormatError, match=r"^--queue-attributes nope\.json: no such file$"):
        read_queue_attributes("nope.json")
    with pytest.raises(ImportFormatError, match=r"expected NAME=VALUE"):
        parse_setting_pairs(["VisibilityTimeout"])


_SQS_DELETE = object()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("attributes", _SQS_DELETE, "attributes is missing"),
        ("attributes.SentTimestamp", _SQS_DELETE, "attributes.SentTimestamp is missing"),
        (
            "attributes.SentTimestamp",
            "soon",
            "attributes.SentTimestamp must be a string of decimal digits, got 'soon'",
        ),
        ("attributes.SenderId", 5, "attributes.SenderId must be a string, got 5"),
        ("messageId", _SQS_DELETE, "messageId is missing"),
        ("body", None, "body is missing"),
        ("body", "\ud800", "body is not valid Unicode text"),
        ("messageAttributes", [], "messageAttributes must be a JSON object"),
        (
            "messageAttributes",
            {"A": {"dataType": "String"}},
            "messageAttributes.A must have exactly one of stringValue and binaryValue",
        ),
        (
            "messageAttributes",
            {"A": {"binaryValue": "***", "dataType": "Binary"}},
            "messageAttributes.A.binaryValue is not valid base64",
        ),
        (
            "messageAttributes",
            {"A": {"stringValue": "x"}},
            "messageAttributes.A.dataType is missing",
        ),
        (
            "eventSource",
            "aws:kinesis",
            "eventSource is 'aws:kinesis', expected 'aws:sqs' for --source sqs",
        ),
    ],
)
def test_malformed_sqs_record(tmp_path: Path, field: str, value: Any, problem: str) -> None:
    rec = q_record("m-2")
    parts = field.split(".")
    target = rec
    for part in parts[:-1]:
        target = target[part]
    if value is _SQS_DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    path = write(tmp_path / "e.json", {"Records": [q_record("m-1"), rec]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=SQS)
    assert str(err.value) == f"{path}: record 1: {problem}"
    assert not (tmp_path / "cap").exists()


def test_fifo_record_without_sequence_number_and_misplaced_options(tmp_path: Path) -> None:
    rec = fifo_record("m", "1", 1)
    del rec["attributes"]["SequenceNumber"]
    path = write(tmp_path / "e.json", {"Records": [fifo_record("a", "0", 1), rec]})
    with pytest.raises(ImportFormatError) as err:
        import_files([path], source=SQS)
    assert (
        str(err.value)
        == f"{path}: record 1: SequenceNumber is missing, and fifo.fifo is a FIFO queue"
    )
    ok = write(tmp_path / "ok.json", {"Records": [q_record("m")]})
    with pytest.raises(ImportFormatError, match=r"^--shard: sqs records name their own shard"):
        import_files([ok], source=SQS, shard="x")
    with pytest.raises(ImportFormatError, match=r"^--bootstrap-servers applies to kafka sources"):
        import_files([ok], source=SQS, bootstrap_servers="b:9092")
    with pytest.raises(ImportFormatError, match=r"^--source-setting: kinesis sources take no"):
        import_files([K01], source=KIN, source_settings={"VisibilityTimeout": "1"})


def test_s05_json_lines_of_records_as_a_handler_logs_them(tmp_path: Path) -> None:
    """One record per line, several receives of the same messages: each message kept once."""
    recs = [fifo_record(str(i), str(100 + i), 1000 + i) for i in (1, 2, 3, 4)]
    retry = [
        dict(r, attributes={**r["attributes"], "ApproximateReceiveCount": "2"}) for r in recs[1:]
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs + retry))
    result = import_to_capture([path], tmp_path / "cap", source=SQS)
    assert (result.records, result.duplicates) == (4, 3)
    assert result.capture.records.column("receive_count").to_pylist() == [1, 1, 1, 1]


sqs_messages = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "body": st.text(max_size=20),
            "sent": st.integers(946_684_800_000, 4_102_444_800_000),
            "trace": st.one_of(st.none(), st.just("Root=1-5759e988-bd862e3fe1be46a994272793")),
            "attrs": st.dictionaries(
                st.text(alphabet="abcXYZ", min_size=1, max_size=4),
                st.text(max_size=6),
                max_size=2,
            ),
        }
    ),
    min_size=1,
    max_size=15,
    unique_by=lambda m: m["id"],
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=sqs_messages)
def test_sqs_round_trip_property(tmp_path: Path, messages: list[dict[str, Any]]) -> None:
    """Random SQS messages -> Lambda event -> import -> rebuild: the same records (but for receipt
    handles), ordered by SentTimestamp then input order."""
    records = []
    for m in messages:
        extra = {"AWSTraceHeader": m["trace"]} if m["trace"] else {}
        rec = q_record(m["id"], body=m["body"], sent=m["sent"], **extra)
        if extra:  # AWS prints the trace header right after the receive count
            a = rec["attributes"]
            rec["attributes"] = {
                "ApproximateReceiveCount": a["ApproximateReceiveCount"],
                "AWSTraceHeader": a["AWSTraceHeader"],
                **{
                    k: v
                    for k, v in a.items()
                    if k not in ("ApproximateReceiveCount", "AWSTraceHeader")
                },
            }
        rec["messageAttributes"] = {
            k: {
                "stringValue": v,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
            for k, v in m["attrs"].items()
        }
        rec["md5OfMessageAttributes"] = "0" * 32 if m["attrs"] else None
        records.append(rec)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"Records": records}, ensure_ascii=False), encoding="utf-8")
    expected = sorted(records, key=lambda r: int(r["attributes"]["SentTimestamp"]))
    out = imported_event([path], SQS)
    assert compact(without_handles(out)) == compact(without_handles({"Records": expected}))


# --------------------------------------------------------------------------- Kafka

MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2"
SERVERS = "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092"
HEADER = [{"headerKey": [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101]}]


def kafka_record(
    partition: int, offset: int, key: bytes | None = b"recordKey", **kw: Any
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "topic": "mytopic",
        "partition": partition,
        "offset": offset,
        "timestamp": 1545084650987 + offset,
        "timestampType": "CREATE_TIME",
    }
    if key is not None:
        rec["key"] = base64.b64encode(key).decode()
    rec["value"] = base64.b64encode(b'{"key":"value"}').decode()
    rec["headers"] = HEADER
    rec.update(kw)
    return rec


def kafka_event(*records: dict[str, Any], self_managed: bool = False) -> dict[str, Any]:
    event: dict[str, Any] = {"eventSource": "SelfManagedKafka" if self_managed else "aws:kafka"}
    if not self_managed:
        event["eventSourceArn"] = MSK_ARN
    event["bootstrapServers"] = SERVERS
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        grouped.setdefault(f"{r['topic']}-{r['partition']}", []).append(r)
    event["records"] = grouped
    return event


def test_b93_msk_event_round_trip_byte_for_byte(tmp_path: Path) -> None:
    """B93: two partitions, a keyless record, headers; the event comes back byte for byte."""
    event = kafka_event(
        kafka_record(0, 15), kafka_record(0, 16, key=None), kafka_record(1, 3, headers=[])
    )
    path = write(tmp_path / "e.json", event)
    assert compact(imported_event([path], KAFKA)) == compact(event)
    manifest, table, _ = import_files([path], source=KAFKA)
    src = manifest.source
    assert (src.arn, src.region, src.name, src.settings) == (
        MSK_ARN,
        "us-east-1",
        "mytopic",
        {"SelfManaged": False, "BootstrapServers": SERVERS},
    )
    assert table.schema == capture_schema(KAFKA)
    rows = [(r["shard"], r["seq"], r["pos"], r["key"], r["key_bytes"]) for r in table.to_pylist()]
    assert rows == [
        ("mytopic-0", "15", 0, "recordKey", b"recordKey"),
        ("mytopic-0", "16", 1, None, None),
        ("mytopic-1", "3", 0, "recordKey", b"recordKey"),
    ]


def test_b94_self_managed_event_round_trip(tmp_path: Path) -> None:
    event = kafka_event(kafka_record(0, 1), self_managed=True)
    path = write(tmp_path / "e.json", event)
    assert compact(imported_event([path], KAFKA)) == compact(event)
    manifest, _, _ = import_files([path], source=KAFKA)
    assert (manifest.source.arn, manifest.source.settings["SelfManaged"]) == (None, True)
    with pytest.raises(ImportFormatError, match="which has no source ARN"):
        import_files([path], source=KAFKA, arn=MSK_ARN)


def test_kafka_records_ordered_by_offset_and_repeats_dropped(tmp_path: Path) -> None:
    lines = tmp_path / "records.jsonl"
    recs = [kafka_record(0, 10), kafka_record(0, 9), kafka_record(0, 100), kafka_record(0, 9)]
    lines.write_text("\n".join(json.dumps(r) for r in recs))
    result = import_to_capture(
        [lines], tmp_path / "cap", source=KAFKA, arn=MSK_ARN, bootstrap_servers=SERVERS
    )
    assert result.capture.records.column("offset").to_pylist() == [9, 10, 100]
    assert result.duplicates == 1
    assert "1 duplicate records (same topic, partition and offset) were dropped" in result.notes


def test_kcat_json_output(tmp_path: Path) -> None:
    """kcat -C -J: raw bytes (not UTF-8 too), header pairs, logappend time, a tombstone."""
    lines = [
        b'{"topic":"orders","partition":1,"offset":7,"tstype":"logappend","ts":1700000000123,'
        b'"broker":1,"headers":["trace","abc","empty",null],"key":"k1","payload":"{\\"a\\":1}"}',
        b'{"topic":"orders","partition":1,"offset":8,"tstype":"create","ts":1700000000124,'
        b'"broker":1,"key":null,"payload":"\xff\xfe raw"}',
        b'{"topic":"orders","partition":0,"offset":2,"tstype":"create","ts":1700000000100,'
        b'"broker":2,"headers":{"h":["x","y"]},"key":"\xc3\x28","payload":null}',
    ]
    path = tmp_path / "kcat.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = import_to_capture([path], tmp_path / "cap", source=KAFKA, bootstrap_servers=SERVERS)
    assert result.notes == (
        f"{path}: kcat -J output, 3 records",
        "nothing names an MSK cluster: imported as self-managed Apache Kafka (give --arn "
        "CLUSTER_ARN for Amazon MSK)",
        f"1 records have a null value (tombstones) and were stored with an empty one (first: "
        f"{path}: line 3, record 2)",
    )
    ctx = context(result.capture.manifest)
    table = result.capture.records
    event = build_event(build_records(table, range(3), ctx), ctx)
    assert event["eventSource"] == "SelfManagedKafka"
    (p0,) = event["records"]["orders-0"]
    assert base64.b64decode(p0["key"]) == b"\xc3\x28"
    assert p0["headers"] == [{"h": [120]}, {"h": [121]}]
    first, second = event["records"]["orders-1"]
    assert (first["timestampType"], first["timestamp"]) == ("LOG_APPEND_TIME", 1700000000123)
    assert first["headers"] == [{"trace": [97, 98, 99]}, {"empty": None}]
    assert base64.b64decode(first["value"]) == b'{"a":1}'
    assert base64.b64decode(second["value"]) == b"\xff\xfe raw"
    assert "key" not in second
    assert table.column("key").to_pylist() == [base64.b64encode(b"\xc3\x28").decode(), "k1", None]


def test_kafka_identity_conflicts(tmp_path: Path) -> None:
    other_topic = write(
        tmp_path / "two.json", kafka_event(kafka_record(0, 1), kafka_record(0, 2, topic="other"))
    )
    with pytest.raises(
        ImportFormatError, match="an ESM reads one topic; import one topic at a time"
    ):
        import_files([other_topic], source=KAFKA)
    msk = write(tmp_path / "msk.json", kafka_event(kafka_record(0, 1)))
    smk = write(tmp_path / "smk.json", kafka_event(kafka_record(0, 2), self_managed=True))
    with pytest.raises(ImportFormatError, match="conflicting eventSource values: Amazon MSK"):
        import_files([msk, smk], source=KAFKA)
    with pytest.raises(ImportFormatError, match="--bootstrap-servers 'x:1' conflicts with"):
        import_files([msk], source=KAFKA, bootstrap_servers="x:1")
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps(kafka_record(0, 1)))
    with pytest.raises(ImportFormatError, match="is a kinesis ARN but --source is kafka"):
        import_files([bare], source=KAFKA, arn=K_ARN)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            kafka_record(0, 1, timestampType="NO_TIMESTAMP_TYPE"),
            "timestampType is 'NO_TIMESTAMP_TYPE'; allowed: CREATE_TIME, LOG_APPEND_TIME",
        ),
        (kafka_record(0, 1, value="***"), "value is not valid base64"),
        ({**kafka_record(0, 1), "offset": -1}, "offset must be a non-negative integer, got -1"),
        (kafka_record(0, 1, headers={"a": 1}), "headers must be a JSON array"),
        (kafka_record(0, 1, headers=[{"a": [300]}]), "headers[0].a must be a list of byte values"),
        (kafka_record(0, 1, topic=5), "topic must be a string, got 5"),
    ],
)
def test_malformed_kafka_record(tmp_path: Path, record: dict[str, Any], problem: str) -> None:
    lines = tmp_path / "r.jsonl"
    lines.write_text(json.dumps(kafka_record(0, 0)) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(ImportFormatError) as err:
        import_files([lines], source=KAFKA)
    assert str(err.value).startswith(f"{lines}: line 2, record 1: {problem}")


def test_malformed_kafka_inputs(tmp_path: Path) -> None:
    event = kafka_event(kafka_record(0, 1))
    event["records"] = {"mytopic-1": event["records"]["mytopic-0"]}
    misplaced = write(tmp_path / "e.json", event)
    with pytest.raises(ImportFormatError) as err:
        import_files([misplaced], source=KAFKA)
    assert str(err.value) == (
        f"{misplaced}: a record of topic 'mytopic' partition 0 sits under records['mytopic-1']"
    )
    kcat = tmp_path / "k.jsonl"
    kcat.write_text('{"topic":"t","partition":0,"offset":1,"broker":1,"key":null,"payload":"x"}\n')
    with pytest.raises(ImportFormatError, match=r"record 0: tstype/ts are missing"):
        import_files([kcat], source=KAFKA)
    kcat.write_text(
        '{"topic":"t","partition":0,"offset":1,"tstype":"create","ts":1,"key":null,"payload":{"a":1}}\n'
    )
    with pytest.raises(ImportFormatError, match=r"-s avro is not supported"):
        import_files([kcat], source=KAFKA)


kafka_inputs = st.lists(
    st.fixed_dictionaries(
        {
            "partition": st.integers(0, 3),
            "offset": st.integers(0, 10**12),
            "key": st.one_of(st.none(), st.binary(max_size=8)),
            "value": st.binary(max_size=30),
            "headers": st.lists(
                st.dictionaries(
                    st.text(min_size=1, max_size=4),
                    st.lists(st.integers(0, 255), max_size=3),
                    min_size=1,
                    max_size=1,
                ),
                max_size=2,
            ),
        }
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=kafka_inputs, self_managed=st.booleans())
def test_kafka_round_trip_property(
    tmp_path: Path, records: list[dict[str, Any]], self_managed: bool
) -> None:
    """Random Kafka records -> one Lambda event -> import -> rebuild: the same records, per
    partition in offset order, each (partition, offset) once."""
    recs = [
        kafka_record(r["partition"], r["offset"], key=r["key"], headers=r["headers"],
                     value=base64.b64encode(r["value"]).decode())
        for r in records
    ]  # fmt: skip
    path = write(tmp_path / "e.json", kafka_event(*recs, self_managed=self_managed))
    first: dict[tuple[int, int], dict[str, Any]] = {}
    for r in recs:
        first.setdefault((r["partition"], r["offset"]), r)
    expected = kafka_event(*(first[k] for k in sorted(first)), self_managed=self_managed)
    assert compact(imported_event([path], KAFKA)) == compact(expected)
