"""Source settings are typed and range-checked wherever they are given: ``--set Source.*``, the
manifest, ``capture import``; a typo is refused with the closest name, never silently ignored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from replay.engine.runner import replay
from replay.errors import CaptureError, ConfigError
from replay.formats.capture import read_capture, write_capture
from replay.testing import make_capture, msg, rec
from replay.vocabulary import SourceKind

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
DLQ = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"


@pytest.fixture
def queue(tmp_path: Path) -> Path:
    cap = make_capture(
        [msg({"n": i}, at=i) for i in range(3)],
        kind=SourceKind.SQS,
        settings={
            "VisibilityTimeout": 30,
            "RedrivePolicy": {"deadLetterTargetArn": DLQ, "maxReceiveCount": 3},
        },
    )
    return write_capture(tmp_path / "queue", cap.manifest, cap.records).path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "Source.VisibiltyTimeout=5",
            "--set Source.VisibiltyTimeout: not a queue setting esm-replay uses; did you mean "
            "VisibilityTimeout? known: VisibilityTimeout, RedrivePolicy, FifoQueue, DelaySeconds, "
            "MessageRetentionPeriod, ContentBasedDeduplication",
        ),
        (
            "Source.RedrivePolicy.maxReceiveCount=0",
            "--set Source.RedrivePolicy: maxReceiveCount: 0 is not an integer from 1 to 1000",
        ),
        (
            "Source.VisibilityTimeout=99999999",
            "--set Source.VisibilityTimeout: 99999999 is not an integer from 0 to 43200",
        ),
        (
            "Source.MessageRetentionPeriod=-5",
            "--set Source.MessageRetentionPeriod: -5 is not an integer from 60 to 1209600",
        ),
        (
            "Source.VisibilityTimeout=soon",
            "--set Source.VisibilityTimeout: 'soon' is not an integer from 0 to 43200",
        ),
    ],
)
def test_a_bad_source_override_is_refused(
    queue: Path, tmp_path: Path, override: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        replay(queue, tmp_path / "run", overrides=[override])
    assert str(caught.value) == message
    assert not (tmp_path / "run").exists()


def test_a_partial_object_override_is_merged_and_applied(queue: Path, tmp_path: Path) -> None:
    run = replay(queue, tmp_path / "run", overrides=["Source.RedrivePolicy.maxReceiveCount=5"])
    assert run.meta["source_settings"]["RedrivePolicy"] == {
        "deadLetterTargetArn": DLQ,
        "maxReceiveCount": 5,
    }


def test_the_cli_says_it_in_one_line(queue: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "replay.cli", "replay", str(queue), "-o", str(tmp_path / "r"),
         "--set", "Source.VisibiltyTimeout=5"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "did you mean VisibilityTimeout?" in out.stderr


def test_manifest_settings_are_range_checked(queue: Path) -> None:
    doc = json.loads((queue / "manifest.json").read_text())
    doc["source"]["settings"]["VisibilityTimeout"] = -1
    (queue / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(
        CaptureError, match=r"source\.settings\.VisibilityTimeout: -1 is not an integer"
    ):
        read_capture(queue)


def test_stream_retention_is_checked_too(tmp_path: Path) -> None:
    cap = make_capture([rec("k", 1)])
    path = write_capture(tmp_path / "cap", cap.manifest, cap.records).path
    with pytest.raises(
        ConfigError, match=r"RetentionPeriodHours: -3 is not a number from 24 to 8760"
    ):
        replay(path, tmp_path / "run", overrides=["Source.RetentionPeriodHours=-3"])
