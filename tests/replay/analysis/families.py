"""Small runs of each source family for the tests of words and figures: an SQS standard queue
with a dead-letter queue, an SQS FIFO queue whose message group stalls, and a Kafka topic of two
partitions with a poison record. Each is built once per test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replay.engine.runner import replay
from replay.formats.capture import write_capture
from replay.testing import krec, make_capture, msg
from replay.vocabulary import SourceKind

DLQ = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
FUNCTION = {
    "memory": 256,
    "duration": {"base_ms": 200, "per_record_ms": 5},
    "faults": [{"when": "json_extract(data, '$.bad')::BOOLEAN", "error": "Unhandled"}],
}
_CACHE: dict[str, Path] = {}


def _write(root: Path, name: str, doc: object) -> Path:
    path = root / name
    path.write_text(json.dumps(doc))
    return path


def family_runs(factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run directories: ``sqs-a``/``sqs-b`` (standard queue, BatchSize 10 / 1), ``fifo``,
    ``kafka-a``/``kafka-b`` (without / with bisect)."""
    if "root" not in _CACHE:
        root = factory.mktemp("families")
        fn = str(_write(root, "fn.json", FUNCTION))
        redrive = {"maxReceiveCount": 2, "deadLetterTargetArn": DLQ}
        queue = make_capture(
            [msg({"n": i, "bad": i == 7}, at=i * 0.5) for i in range(60)],
            kind=SourceKind.SQS,
            settings={"VisibilityTimeout": "5", "RedrivePolicy": json.dumps(redrive)},
        )
        write_capture(root / "sqs-cap", queue.manifest, queue.records)
        for name, size in (("sqs-a", 10), ("sqs-b", 1)):
            cfg = _write(root, f"{name}.json", {"BatchSize": size})
            replay(root / "sqs-cap", root / name, config_path=cfg, function=fn)
        fifo = make_capture(
            [msg({"n": i, "bad": i == 5}, at=i * 0.5, group=f"g{i % 3}") for i in range(60)],
            kind=SourceKind.SQS,
            settings={"FifoQueue": "true", "VisibilityTimeout": "5",
                      "RedrivePolicy": json.dumps({**redrive, "deadLetterTargetArn": DLQ + ".fifo"})},
        )  # fmt: skip
        write_capture(root / "fifo-cap", fifo.manifest, fifo.records)
        cfg = _write(root, "fifo.json", {"BatchSize": 1})
        replay(root / "fifo-cap", root / "fifo", config_path=cfg, function=fn)
        topic = make_capture(
            [krec(f"k{i}", {"n": i, "bad": i == 30}, at=i * 0.5, partition=i % 2) for i in range(200)],
            kind=SourceKind.KAFKA,
        )  # fmt: skip
        write_capture(root / "kafka-cap", topic.manifest, topic.records)
        cfg = _write(root, "kafka.json", {"StartingPosition": "TRIM_HORIZON",
                     "MaximumRetryAttempts": 2, "ProvisionedPollerConfig": {"MinimumPollers": 1}})  # fmt: skip
        replay(root / "kafka-cap", root / "kafka-a", config_path=cfg, function=fn)
        replay(root / "kafka-cap", root / "kafka-b", config_path=cfg, function=fn,
               overrides=["BisectBatchOnFunctionError=true"])  # fmt: skip
        _CACHE["root"] = root
    root = _CACHE["root"]
    return {n: root / n for n in ("sqs-a", "sqs-b", "fifo", "kafka-a", "kafka-b")}
