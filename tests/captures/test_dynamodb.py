"""capture dynamodb against moto in server mode: the table's stream, rebuilt events, redaction."""

from __future__ import annotations

import json
import time
from pathlib import Path

from replay.events import EventContext, build_records
from replay.formats.capture import read_capture
from replay.vocabulary import SourceKind
from tests.captures.util import all_bytes, now_ms


def _table(aws, name: str = "orders") -> tuple[object, str]:
    ddb = aws.client("dynamodb")
    resp = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return ddb, resp["TableDescription"]["LatestStreamArn"]


def test_table_stream_window_and_events(aws, run_cli, tmp_path: Path) -> None:
    ddb, stream_arn = _table(aws)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "early"}, "n": {"N": "0"}})
    time.sleep(0.05)
    t_from = now_ms()
    for i in range(30):
        ddb.put_item(
            TableName="orders",
            Item={
                "pk": {"S": f"o{i % 5}"},
                "n": {"N": str(i)},
                "b": {"B": b"\x01\x02"},
                "email": {"S": f"x{i}@SECRET.example"},
            },
        )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o0"}})
    time.sleep(0.05)
    t_to = now_ms()
    out = tmp_path / "d"
    run_cli(
        "capture",
        "dynamodb",
        "orders",
        "--from",
        str(t_from / 1000),
        "--to",
        str(t_to / 1000),
        "--no-follow",
        "-o",
        str(out),
        *aws.cli,
        "--redact",
        "attribute:email",
    )
    cap = read_capture(out)
    m = cap.manifest
    assert m.source.arn == stream_arn and m.source.name == "orders"
    assert m.source.settings["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert len(m.shards) >= 1 and m.complete
    recs = cap.records.to_pylist()
    assert len(recs) == 31
    assert [r["event_name"] for r in recs].count("REMOVE") == 1
    assert recs[0]["key"] == '{"pk":{"S":"o0"}}'
    events = build_records(
        cap.records,
        range(cap.records.num_rows),
        EventContext(SourceKind.DYNAMODB, stream_arn, "us-east-1"),
    )
    first = events[0]
    assert first["eventSource"] == "aws:dynamodb" and first["eventName"] == "INSERT"
    assert first["dynamodb"]["NewImage"]["b"] == {"B": "AQI="}
    assert first["dynamodb"]["NewImage"]["email"] == {"S": "***"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    assert [int(r["seq"]) for r in recs] == sorted(int(r["seq"]) for r in recs)
    assert b"SECRET" not in all_bytes(out)
    assert json.loads((out / "manifest.json").read_text())["redaction"]["rules"] == [
        {"target": "attribute:email", "method": "mask"}
    ]
