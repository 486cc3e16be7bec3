"""An interrupted (incomplete) capture replays what it holds, with a warning, and run.json says
so; a complete one does not warn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from replay.formats.capture import write_capture
from replay.testing import make_capture, rec


def _replay(cap: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", "replay", str(cap), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_an_incomplete_capture_warns_and_the_run_says_so(tmp_path: Path) -> None:
    cap = make_capture([rec("k", i, at=i) for i in range(4)])
    path = write_capture(tmp_path / "cap", cap.manifest, cap.records).path
    done = _replay(path, tmp_path / "run-complete")
    assert done.returncode == 0 and "warning" not in done.stderr
    doc = json.loads((path / "manifest.json").read_text())
    doc["complete"] = False
    (path / "manifest.json").write_text(json.dumps(doc))
    out = _replay(path, tmp_path / "run")
    assert out.returncode == 0, out.stderr
    assert "is an incomplete capture" in out.stderr and "--resume" in out.stderr
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["capture"]["complete"] is False
    assert json.loads((tmp_path / "run-complete" / "run.json").read_text())["capture"]["complete"]
