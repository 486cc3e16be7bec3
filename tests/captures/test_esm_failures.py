"""capture esm (snapshot replayed as-is) and capture failures (records joined to payloads)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from captures.failures import failure_view
from replay.formats.capture import read_capture
from tests.captures.util import now_ms, put_kinesis


def _function(aws, name: str = "consumer") -> str:
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="esm-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()},
        Timeout=42,
        MemorySize=256,
    )
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=7)
    return role


def _stream_capture(aws, run_cli, tmp_path: Path, n: int = 120) -> Path:
    k = aws.client("kinesis")
    k.create_stream(StreamName="orders", ShardCount=2)
    t_from = now_ms()
    put_kinesis(k, "orders", 0, n)
    time.sleep(0.05)
    out = tmp_path / "cap"
    run_cli(
        "capture",
        "kinesis",
        "orders",
        "--from",
        str(t_from / 1000),
        "--to",
        str(now_ms() / 1000),
        "--no-follow",
        "-o",
        str(out),
        *aws.cli,
    )
    return out


def test_esm_snapshot_replayed_as_is(aws, run_cli, tmp_path: Path) -> None:
    role = _function(aws)
    cap = _stream_capture(aws, run_cli, tmp_path)
    sqs = aws.client("sqs")
    dest = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="onfail")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    stream_arn = read_capture(cap).manifest.source.arn
    esm = aws.client("lambda").create_event_source_mapping(
        FunctionName="consumer",
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=50,
        MaximumRetryAttempts=3,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": dest}},
    )
    config = tmp_path / "esm.json"
    proc = run_cli("capture", "esm", esm["UUID"], "-o", str(config), "--into", str(cap), *aws.cli)
    assert "Timeout 42" in proc.stdout and "ReservedConcurrentExecutions 7" in proc.stdout
    doc = json.loads(config.read_text())
    assert doc["UUID"] == esm["UUID"] and doc["BatchSize"] == 50 and "ResponseMetadata" not in doc
    manifest = read_capture(cap).manifest
    assert manifest.esm[0]["UUID"] == esm["UUID"]
    assert (
        manifest.function["Timeout"] == 42
        and manifest.function["ReservedConcurrentExecutions"] == 7
    )
    assert manifest.function["Role"] == role and manifest.function["MemorySize"] == 256
    run = tmp_path / "run"
    run_cli("replay", str(cap), "--config", str(config), "-o", str(run))
    meta = json.loads((run / "run.json").read_text())
    assert meta["config"]["BatchSize"] == 50 and meta["config"]["MaximumRetryAttempts"] == 3
    assert meta["summary"]["records"] == 120
    # The capture alone (its stored ESM) replays the same way.
    run_cli("replay", str(cap), "-o", str(tmp_path / "run2"))
    meta2 = json.loads((tmp_path / "run2" / "run.json").read_text())
    assert meta2["config_source"] == "capture" and meta2["config"]["BatchSize"] == 50
    # By function name: every mapping of the function.
    listed = run_cli("capture", "esm", "--function", "consumer", *aws.cli)
    assert esm["UUID"] in listed.stdout


def _failure(shard: str, first: str, last: str, size: int, arn: str) -> dict:
    return {
        "requestContext": {
            "requestId": "r",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:consumer",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2026-11-23T00:00:00.000Z",
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "approximateArrivalOfFirstRecord": "x",
            "approximateArrivalOfLastRecord": "y",
            "batchSize": size,
            "streamArn": arn,
        },
    }


def test_failure_records_joined_to_payloads(aws, run_cli, tmp_path: Path) -> None:
    cap = _stream_capture(aws, run_cli, tmp_path)
    records = read_capture(cap).records.to_pylist()
    arn = read_capture(cap).manifest.source.arn
    shard = records[0]["shard"]
    mine = [r for r in records if r["shard"] == shard]
    f1 = _failure(shard, mine[2]["seq"], mine[6]["seq"], 5, arn)
    f2 = _failure(shard, mine[10]["seq"], mine[10]["seq"], 1, arn)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="onfail")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(f1))
    # The second arrives through SNS (non-raw delivery wraps it in an envelope).
    envelope = {"Type": "Notification", "MessageId": "x", "Message": json.dumps(f2)}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(envelope))
    proc = run_cli("capture", "failures", "onfail", "--into", str(cap), *aws.cli)
    assert "2 failure record(s)" in proc.stdout
    assert (
        int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        == 2
    )
    stored = [
        json.loads(line) for line in (cap / "observed" / "failures.jsonl").read_text().splitlines()
    ]
    assert {json.dumps(s, sort_keys=True) for s in stored} == {
        json.dumps(f, sort_keys=True) for f in (f1, f2)
    }
    manifest = read_capture(cap).manifest
    assert manifest.observed["failures"]["records"] == 2
    assert manifest.observed["failures"]["conditions"] == {"RetryAttemptsExhausted": 2}
    con = failure_view(str(cap))
    joined = con.sql(
        "SELECT failure, seq, data FROM failure_records ORDER BY failure, pos"
    ).fetchall()
    by_failure: dict[int, list[bytes]] = {}
    for failure, _, data in joined:
        by_failure.setdefault(failure, []).append(bytes(data))
    assert sorted(len(v) for v in by_failure.values()) == [1, 5]
    joined_payloads = [d for v in by_failure.values() for d in v]
    assert sorted(joined_payloads) == sorted(r["data"] for r in [*mine[2:7], mine[10]])


def test_failures_from_s3_prefix(aws, run_cli, tmp_path: Path) -> None:
    cap = _stream_capture(aws, run_cli, tmp_path, n=40)
    records = read_capture(cap).records.to_pylist()
    arn = read_capture(cap).manifest.source.arn
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="failures")
    rec = {
        **_failure(records[0]["shard"], records[0]["seq"], records[1]["seq"], 2, arn),
        "payload": "{}",
    }
    s3.put_object(
        Bucket="failures",
        Key=f"aws/lambda/uuid/{records[0]['shard']}/2026/11/23/x",
        Body=json.dumps(rec).encode(),
    )
    run_cli("capture", "failures", "s3://failures/aws/lambda/", "--into", str(cap), *aws.cli)
    con = failure_view(str(cap))
    assert con.execute("SELECT count(*) FROM failure_records").fetchall() == [(2,)]
