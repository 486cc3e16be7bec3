"""captures.importers: AWS JSON in, capture out; rebuilt events identical to what was imported.

Cases K01 and D01 (ESM-SEMANTICS 13) go in as the documented events and must come back byte for
byte (B90, B91). Every malformed input is one ImportFormatError line and writes nothing.
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
)
from replay.capture import capture_schema, read_capture
from replay.errors import CaptureError, ImportFormatError
from replay.events import EventContext, build_event, build_records, event_json, record_sizes
from replay.model import SourceKind

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
        (
            "kinesis.approximateArrivalTimestamp",
            _DELETE,
            "kinesis.approximateArrivalTimestamp is missing",
        ),
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
    with pytest.raises(ImportFormatError, match="cannot import it yet; allowed: kinesis, dynamodb"):
        import_files([K01], source=SourceKind.SQS)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("dynamodb.SequenceNumber", _DELETE, "dynamodb.SequenceNumber is missing"),
        (
            "dynamodb.ApproximateCreationDateTime",
            _DELETE,
            "dynamodb.ApproximateCreationDateTime is missing",
        ),
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
