"""The summary ``replay`` prints speaks the run's source family: an SQS run reports the age of the
oldest message and DLQ messages, never an iterator age or destination records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from replay.formats.capture import write_capture
from replay.testing import make_capture, msg, rec
from replay.vocabulary import SourceKind


def _summary(cap: Path, out: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "replay.cli", "replay", str(cap), "-o", str(out)],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_sqs_run_is_summarised_in_queue_words(tmp_path: Path) -> None:
    cap = make_capture([msg({"n": i}, at=i) for i in range(3)], kind=SourceKind.SQS)
    path = write_capture(tmp_path / "q", cap.manifest, cap.records).path
    text = _summary(path, tmp_path / "run")
    assert "max age of oldest message" in text and "DLQ messages (dead-lettered)" in text
    assert "iterator age" not in text and "destination records" not in text


def test_a_stream_run_keeps_stream_words(tmp_path: Path) -> None:
    cap = make_capture([rec("k", i, at=i) for i in range(3)])
    path = write_capture(tmp_path / "s", cap.manifest, cap.records).path
    text = _summary(path, tmp_path / "run")
    assert "max iterator age" in text and "on-failure destination records" in text
