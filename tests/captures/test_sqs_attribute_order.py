"""Message attributes reach the handler in the order Lambda delivers them (S03): a capture of
``receive-message`` output is put in that order; one of Lambda events keeps the events' order."""

from __future__ import annotations

import json
from pathlib import Path

from captures.importers import import_to_capture
from replay.events import EventContext, build_records
from replay.vocabulary import SourceKind

QUEUE = "arn:aws:sqs:us-east-1:123456789012:books"
SENT = ["Title", "Author", "WeeksOn"]


def _attribute(name: str) -> dict[str, str]:
    return (
        {"DataType": "Number", "StringValue": "6"}
        if name == "WeeksOn"
        else {"DataType": "String", "StringValue": name}
    )


def _delivered_order(cap_path: Path) -> list[str]:
    from replay.formats.capture import read_capture

    cap = read_capture(cap_path)
    ctx = EventContext(SourceKind.SQS, QUEUE, "us-east-1")
    return list(build_records(cap.records, [0], ctx)[0]["messageAttributes"])


def test_receive_message_output_gets_lambdas_order(tmp_path: Path) -> None:
    message = {
        "MessageId": "m-1", "Body": "hi", "MD5OfBody": "49f68a5c8493ec2c0bf489821c21fc3b",
        "Attributes": {"SentTimestamp": "1732545000571", "ApproximateReceiveCount": "1"},
        "MessageAttributes": {name: _attribute(name) for name in SENT},
    }  # fmt: skip
    (tmp_path / "page.json").write_text(json.dumps({"Messages": [message]}))
    import_to_capture([tmp_path / "page.json"], tmp_path / "cap", source=SourceKind.SQS, arn=QUEUE)
    assert _delivered_order(tmp_path / "cap") == ["WeeksOn", "Author", "Title"]


def test_lambda_events_keep_the_order_they_had(tmp_path: Path) -> None:
    given = ["Title", "Author", "WeeksOn"]  # whatever the events say is what Lambda delivered
    record = {
        "messageId": "m-1", "receiptHandle": "AQEB", "body": "hi", "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE, "awsRegion": "us-east-1", "md5OfBody": "49f68a5c8493ec2c0bf489821c21fc3b",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1732545000571",
                       "SenderId": "A", "ApproximateFirstReceiveTimestamp": "1732545000600"},
        "messageAttributes": {
            n: {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for n in given
        },
    }  # fmt: skip
    (tmp_path / "events.json").write_text(json.dumps({"Records": [record]}))
    import_to_capture([tmp_path / "events.json"], tmp_path / "cap", source=SourceKind.SQS)
    assert _delivered_order(tmp_path / "cap") == given
