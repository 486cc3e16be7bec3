"""inject round trips: capture => inject => capture gives the same records (keys, order, payloads)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from replay.formats.capture import read_capture
from tests.captures.test_kafka import _produce
from tests.captures.test_sqs import _fill, _queue
from tests.captures.util import now_ms, per_key, put_kinesis


def test_kinesis_round_trip_and_dry_run(aws, run_cli, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="src", ShardCount=4)
    k.create_stream(StreamName="dst", ShardCount=4)
    t_from = now_ms()
    put_kinesis(k, "src", 0, 300, keys=11)
    time.sleep(0.05)
    window = ["--to", str(now_ms() / 1000), "--no-follow", *aws.cli]
    first = tmp_path / "first"
    run_cli("capture", "kinesis", "src", "--from", str(t_from / 1000), "-o", str(first), *window)
    dst_arn = k.describe_stream_summary(StreamName="dst")["StreamDescriptionSummary"]["StreamARN"]
    dry = run_cli("inject", str(first), "--to", dst_arn, *aws.cli)
    assert "300 records" in dry.stdout and "nothing sent" in dry.stdout
    assert (
        k.get_records(
            ShardIterator=k.get_shard_iterator(
                StreamName="dst", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )["Records"]
        == []
    )
    t_inject = now_ms()
    sent = run_cli("inject", str(first), "--to", dst_arn, "--execute", "--rate", "2000", *aws.cli)
    assert "sent 300 records" in sent.stdout
    time.sleep(0.05)
    second = tmp_path / "second"
    run_cli(
        "capture",
        "kinesis",
        "dst",
        "--from",
        str(t_inject / 1000),
        "-o",
        str(second),
        "--to",
        str(now_ms() / 1000),
        "--no-follow",
        *aws.cli,
    )
    a, b = read_capture(first).records, read_capture(second).records
    assert sorted(
        zip(
            a.column("shard").to_pylist(),
            a.column("key").to_pylist(),
            a.column("data").to_pylist(),
            strict=True,
        )
    ) == sorted(
        zip(
            b.column("shard").to_pylist(),
            b.column("key").to_pylist(),
            b.column("data").to_pylist(),
            strict=True,
        )
    )
    assert per_key(first) == per_key(second)


def test_sqs_round_trip(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    src, _ = _queue(sqs, "src-dlq")
    _fill(sqs, src, 30)
    _, dst_arn = _queue(sqs, "replay-target")
    first = tmp_path / "first"
    run_cli("capture", "sqs", "src-dlq", "-o", str(first), *aws.cli)
    run_cli("inject", str(first), "--to", dst_arn, "--execute", *aws.cli)
    second = tmp_path / "second"
    run_cli("capture", "sqs", "replay-target", "-o", str(second), *aws.cli)

    def content(path: Path) -> list[tuple[bytes, str]]:
        recs = read_capture(path).records.to_pylist()
        return sorted((r["data"], r["message_attributes"]) for r in recs)

    assert content(first) == content(second)


def test_fifo_round_trip_keeps_group_order(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    src, _ = _queue(sqs, "src.fifo", FifoQueue="true")
    for i in range(12):
        sqs.send_message(
            QueueUrl=src,
            MessageBody=json.dumps({"i": i}),
            MessageGroupId=f"g{i % 3}",
            MessageDeduplicationId=f"d{i}",
        )
    _, dst_arn = _queue(sqs, "dst.fifo", FifoQueue="true")
    first = tmp_path / "first"
    run_cli("capture", "sqs", "src.fifo", "--move", "-o", str(first), *aws.cli)
    run_cli("inject", str(first), "--to", dst_arn, "--execute", *aws.cli)
    second = tmp_path / "second"
    run_cli("capture", "sqs", "dst.fifo", "--move", "-o", str(second), *aws.cli)
    assert per_key(first) == per_key(second)
    assert sum(len(v) for v in per_key(second).values()) == 12


def test_kafka_round_trip(kafka_bootstrap: str, run_cli, tmp_path: Path) -> None:
    t0 = now_ms() - 20_000
    _produce(kafka_bootstrap, "k-src", 240, t0)
    first = tmp_path / "first"
    run_cli(
        "capture",
        "kafka",
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        "k-src",
        "--from",
        str(t0 / 1000),
        "--to",
        "now",
        "-o",
        str(first),
    )
    t_inject = now_ms()
    run_cli(
        "inject",
        str(first),
        "--to",
        f"kafka://{kafka_bootstrap}/k-dst",
        "--execute",
        "--speed",
        "100",
    )
    second = tmp_path / "second"
    run_cli(
        "capture",
        "kafka",
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        "k-dst",
        "--from",
        str((t_inject - 1) / 1000),
        "--to",
        "now",
        "-o",
        str(second),
    )

    def content(path: Path) -> list[tuple[str, int, str, bytes, str]]:
        recs = read_capture(path).records.to_pylist()
        return [
            (r["shard"].rsplit("-", 1)[1], r["pos"], r["key"], r["data"], r["headers"])
            for r in recs
        ]

    assert content(first) == content(second)
    assert len(content(second)) == 240
