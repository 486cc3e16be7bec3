"""A sweep resumes only what its inputs still say (contents, not paths), a damaged sweep.json is
one line, and killing the sweep takes its workers with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replay.errors import UserError
from replay.formats.capture import write_capture
from replay.sweep import run_sweep
from replay.testing import make_capture, rec
from tests.replay.support import scenario


def test_a_changed_function_model_is_not_resumed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = tmp_path / "s"
    shutil.copytree(scenario(tmp_path_factory), root)
    kw = {
        "config": str(root / "esm.json"),
        "function": str(root / "fn.json"),
        "vary": ["BatchSize=1,10"],
    }
    run_sweep(root / "capture", tmp_path / "sw", **kw)  # type: ignore[arg-type]
    model = json.loads((root / "fn.json").read_text())
    model["faults"] = []
    (root / "fn.json").write_text(json.dumps(model))
    with pytest.raises(UserError, match="a sweep with another contents"):
        run_sweep(root / "capture", tmp_path / "sw", **kw)  # type: ignore[arg-type]
    again = run_sweep(root / "capture", tmp_path / "sw", overwrite=True, **kw)  # type: ignore[arg-type]
    assert again.ran == 2 and again.reused == 0


def test_a_handler_file_change_is_seen_through_the_model(tmp_path: Path) -> None:
    cap = make_capture([rec("k", i, at=i) for i in range(3)])
    write_capture(tmp_path / "cap", cap.manifest, cap.records)
    (tmp_path / "h.py").write_text("def handler(e, c):\n    return None\n")
    (tmp_path / "fn.yaml").write_text("handler: h.py:handler\n")
    kw = {"function": str(tmp_path / "fn.yaml"), "vary": ["BatchSize=1"]}
    run_sweep(tmp_path / "cap", tmp_path / "sw", **kw)  # type: ignore[arg-type]
    (tmp_path / "h.py").write_text("def handler(e, c):\n    raise ValueError\n")
    with pytest.raises(UserError, match="another contents"):
        run_sweep(tmp_path / "cap", tmp_path / "sw", **kw)  # type: ignore[arg-type]


def test_a_truncated_sweep_json_is_one_line(tmp_path: Path) -> None:
    cap = make_capture([rec("k", 1)])
    write_capture(tmp_path / "cap", cap.manifest, cap.records)
    run_sweep(tmp_path / "cap", tmp_path / "sw", vary=["BatchSize=1"])
    text = (tmp_path / "sw" / "sweep.json").read_text()
    (tmp_path / "sw" / "sweep.json").write_text(text[: len(text) // 2])
    with pytest.raises(UserError, match=r"sweep\.json: not readable JSON"):
        run_sweep(tmp_path / "cap", tmp_path / "sw", vary=["BatchSize=1"])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is gone for our purpose
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_killing_the_sweep_ends_its_workers(tmp_path: Path) -> None:
    cap = make_capture([rec(f"k{i % 50}", i, at=i * 0.01) for i in range(20_000)])
    write_capture(tmp_path / "cap", cap.manifest, cap.records)
    sweep = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "sweep", str(tmp_path / "cap"), "-o",
         str(tmp_path / "sw"), "--vary", "BatchSize=1,2,3,4,5,6", "-j", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        # the pool's workers are the sweep's children (the spawn resource tracker is one too)
        workers = [
            p
            for p in _children(sweep.pid)
            if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
        ]
    assert len(workers) >= 2, "the sweep never started its workers"
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)]
