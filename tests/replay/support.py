"""Shared builders of the replay tests: golden files, the small demo, a two-poison scenario and
the CLI in a subprocess. Each builder builds once per test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import replay.demo as demo_module
from replay.engine.runner import replay
from replay.formats.capture import write_capture
from replay.testing import make_capture, rec

GOLDEN = Path(__file__).parent / "golden"
DEMO_RECORDS = 6_000
_CACHE: dict[str, Path] = {}


def golden(name: str, text: str) -> None:
    """Compare with tests/replay/golden/NAME; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def small_demo(factory: pytest.TempPathFactory) -> Path:
    """The demo incident with 6,000 records (same poison record, same two configurations)."""
    if "demo" not in _CACHE:
        out = factory.mktemp("demo")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(demo_module, "RECORDS", DEMO_RECORDS)
            demo_module.run_demo(out)
        _CACHE["demo"] = out
    return _CACHE["demo"]


FUNCTION = {
    "memory": 256,
    "duration": {"base_ms": 20, "per_record_ms": 1},
    "faults": [{"when": "json_extract(data, '$.bad')::BOOLEAN", "error": "Unhandled"}],
}


def scenario(factory: pytest.TempPathFactory) -> Path:
    """A 2-shard capture of 40 records, two poison records, a config and a function model."""
    if "scenario" not in _CACHE:
        root = factory.mktemp("scenario")
        records = [
            rec(
                f"k{i % 5}",
                {"n": i, "bad": i in (7, 23)},
                at=i * 0.5,
                shard=f"shardId-00000000000{i % 2}",
            )
            for i in range(40)
        ]
        cap = make_capture(records)
        write_capture(root / "capture", cap.manifest, cap.records)
        (root / "esm.json").write_text(
            json.dumps({"StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 2})
        )
        (root / "fn.json").write_text(json.dumps(FUNCTION))
        _CACHE["scenario"] = root
    return _CACHE["scenario"]


def scenario_runs(factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the scenario: retries only, and bisect with an on-failure destination."""
    if "scenario_runs" not in _CACHE:
        root = scenario(factory)
        common = {"config_path": root / "esm.json", "function": str(root / "fn.json")}
        replay(root / "capture", root / "retry", **common)  # type: ignore[arg-type]
        replay(
            root / "capture",
            root / "bisect",
            overrides=[
                "BisectBatchOnFunctionError=true",
                "DestinationConfig.OnFailure.Destination=arn:aws:sqs:us-east-1:123456789012:dlq",
            ],
            **common,  # type: ignore[arg-type]
        )
        _CACHE["scenario_runs"] = root
    root = _CACHE["scenario_runs"]
    return root / "retry", root / "bisect"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args], capture_output=True, text=True, timeout=120
    )
