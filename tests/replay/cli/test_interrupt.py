"""Ctrl-C during a replay says what became of the output (nothing written) and exits 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from replay.formats.capture import write_capture
from replay.testing import make_capture, rec


def test_ctrl_c_during_replay_says_nothing_was_written(tmp_path: Path) -> None:
    cap = make_capture([rec(f"k{i % 50}", i, at=i * 0.01) for i in range(300_000)])
    write_capture(tmp_path / "cap", cap.manifest, cap.records)
    proc = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "replay", str(tmp_path / "cap"), "-o",
         str(tmp_path / "run"), "--set", "BatchSize=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell that runs the suite in the background hands children SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == f"interrupted: nothing was written to {tmp_path / 'run'}"
    assert not (tmp_path / "run").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cap"]
