"""``capture import --redact``: the live captures' redaction, applied before anything is written."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from replay.formats.capture import read_capture
from tests.captures.util import all_bytes

SECRET = "hunter2-SECRET-4711"
K_ARN = "arn:aws:kinesis:us-east-1:111111111111:stream/pii"
Q_ARN = "arn:aws:sqs:us-east-1:111111111111:orders.fifo"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _kinesis_event(path: Path, n: int = 4) -> Path:
    records = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": f"user-{i}",
                "sequenceNumber": str(100 + i),
                "data": base64.b64encode(
                    json.dumps({"i": i, "user": {"email": f"{SECRET}-{i}@x.io"}}).encode()
                ).decode(),
                "approximateArrivalTimestamp": 1732545000.5 + i,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{100 + i}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::111111111111:role/r",
            "awsRegion": "us-east-1",
            "eventSourceARN": K_ARN,
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"Records": records}))
    return path


def test_import_redacts_before_writing_and_warns_about_unmatched_rules(
    run_cli: RunCli, tmp_path: Path
) -> None:
    event = _kinesis_event(tmp_path / "e.json")
    plain = tmp_path / "plain"
    run_cli("capture", "import", str(event), "--source", "kinesis", "-o", str(plain))
    assert SECRET.encode() in all_bytes(plain)  # the search works
    out = tmp_path / "red"
    proc = run_cli(
        "capture", "import", str(event), "--source", "kinesis", "-o", str(out),
        "--redact", "$.user.email", "--redact", "$.user.emial", "--redact", "key",
    )  # fmt: skip
    assert SECRET.encode() not in all_bytes(out) and b"user-1" not in all_bytes(out)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: --redact '$.user.emial' matched nothing in 4 record(s)"]
    cap = read_capture(out)
    red = cap.manifest.redaction
    assert red is not None
    assert red["rules"] == [
        {"target": "$.user.email", "method": "mask"},
        {"target": "$.user.emial", "method": "mask"},
        {"target": "key", "method": "mask"},
    ]
    assert red["unmatched"] == [{"target": "$.user.emial", "method": "mask"}]
    assert red["records_redacted"] == 4 and red["keys_redacted"] == 4
    docs = [json.loads(d) for d in cap.records.column("data").to_pylist()]
    assert [d["user"]["email"] for d in docs] == ["***"] * 4 and [d["i"] for d in docs] == [
        0,
        1,
        2,
        3,
    ]
    # Sizes are those of the redacted records.
    assert (
        cap.records.column("size").to_pylist()
        != read_capture(plain).records.column("size").to_pylist()
    )


def test_import_hashes_with_the_key_from_the_environment(run_cli: RunCli, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.captures.conftest import esm_replay

    event = _kinesis_event(tmp_path / "e.json")
    env = {**os.environ, "MY_KEY": "k-123"}
    env.pop("ESM_REPLAY_REDACT_KEY", None)
    args = [esm_replay(), "capture", "import", str(event), "--source", "kinesis", "--redact",
            "$.user.email=hash", "--redact-key-env", "MY_KEY"]  # fmt: skip
    for name in ("a", "b"):
        proc = subprocess.run(
            [*args, "-o", str(tmp_path / name)], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr
    emails = [
        [json.loads(d)["user"]["email"] for d in read_capture(tmp_path / n).records.column("data").to_pylist()]
        for n in ("a", "b")
    ]  # fmt: skip
    assert emails[0] == emails[1] and all(e.startswith("hmac-sha256:") for e in emails[0])
    assert b"k-123" not in all_bytes(tmp_path / "a")
    env.pop("MY_KEY")
    proc = subprocess.run(
        [*args, "-o", str(tmp_path / "c")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "MY_KEY" in proc.stderr
    assert not (tmp_path / "c").exists()


def test_import_sqs_attributes_and_group_keys(run_cli: RunCli, tmp_path: Path) -> None:
    record = {
        "messageId": "m-1",
        "body": json.dumps({"card": SECRET}),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1732545000571",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "1732545000571",
            "MessageGroupId": "customer-42",
            "MessageDeduplicationId": "d-1",
            "SequenceNumber": "18849496460467696128",
        },
        "messageAttributes": {
            "token": {
                "stringValue": SECRET,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfMessageAttributes": "0" * 32,
        "md5OfBody": "1" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": Q_ARN,
        "awsRegion": "us-east-1",
    }
    event = tmp_path / "q.json"
    event.write_text(json.dumps({"Records": [record]}))
    out = tmp_path / "q"
    proc = run_cli(
        "capture", "import", str(event), "--source", "sqs", "-o", str(out),
        "--redact", "$.card", "--redact", "attribute:token", "--redact", "key",
    )  # fmt: skip
    assert "warning" not in proc.stderr
    written = all_bytes(out)
    assert SECRET.encode() not in written and b"customer-42" not in written
    row = read_capture(out).records.to_pylist()[0]
    assert row["md5_of_body"] is None and row["md5_of_message_attributes"] is None


def test_import_bad_rule_is_one_line_and_writes_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    event = _kinesis_event(tmp_path / "e.json")
    out = tmp_path / "red"
    proc = run_cli(
        "capture", "import", str(event), "--source", "kinesis", "-o", str(out),
        "--redact", "$.secret=rot13", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: --redact '$.secret=rot13': unknown method 'rot13' after the last '='; the methods "
        "are mask and hash (a target that contains '=' is written with its method, e.g. "
        "'$.secret=rot13=mask')"
    ]
    assert not out.exists()
