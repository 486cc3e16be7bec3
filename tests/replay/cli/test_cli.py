"""The command line: thin adapters, one-line errors with exit 2, the demo."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from replay.formats.capture import write_capture
from replay.testing import T0, make_capture, rec
from replay.timeutil import iso_ms


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replay.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    cap = make_capture([rec(f"k{i}", {"n": i}, at=i * 0.5) for i in range(10)])
    return write_capture(tmp_path / "cap", cap.manifest, cap.records).path


def test_replay_prints_a_summary(capture_dir: Path, tmp_path: Path) -> None:
    out = cli("replay", str(capture_dir), "-o", str(tmp_path / "run"), "--set", "BatchSize=3")
    assert out.returncode == 0, out.stderr
    assert "records" in out.stdout and "10" in out.stdout
    assert json.loads((tmp_path / "run" / "run.json").read_text())["config"]["BatchSize"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "BatchSize=0"], "BatchSize"),
        (["--set", "BatchSise=3"], "BatchSize"),  # a typo names the closest field
        (["--function", "nope.py:handler"], "not found"),
        (["--option", "bisect_half_budget=sometimes"], "bisect_half_budget"),
        (["--start", "yesterday"], "--start"),
        (["--disabled", "2023-11-14T22:14:00Z"], "expected FROM..TO"),
        (["--disabled", "2023-11-14T22:14:00Z..2023-11-14T22:13:00Z"], "TO must be after FROM"),
        (
            ["--disabled", "1700000000..1700000100", "--disabled", "1700000050..1700000200"],
            "overlap",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capture_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = cli("replay", str(capture_dir), "-o", str(tmp_path / "run"), *args)
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


def test_missing_capture_is_exit_2(tmp_path: Path) -> None:
    out = cli("replay", str(tmp_path / "nothing"), "-o", str(tmp_path / "run"))
    assert out.returncode == 2
    assert "not a capture directory" in out.stderr


def test_disabled_span_is_recorded_and_defers_reading(capture_dir: Path, tmp_path: Path) -> None:
    """B29 from the command line: records arrive over 5 s; disabled from 1 s to 60 s after the
    first, the mapping reads nothing in between and resumes from its checkpoint at 60 s."""
    span = f"{(T0 + 1_000) / 1000}..{(T0 + 60_000) / 1000}"
    out = cli("replay", str(capture_dir), "-o", str(tmp_path / "run"), "--disabled", span)
    assert out.returncode == 0, out.stderr
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["disabled"] == [{"from": iso_ms(T0 + 1_000), "to": iso_ms(T0 + 60_000)}]
    starts = pq.read_table(tmp_path / "run" / "invocations.parquet").column("start")
    rel = sorted((m - T0) / 1000 for m in starts.cast(pa.int64()).to_pylist())
    assert rel and not [t for t in rel if 1 <= t < 60] and rel[-1] >= 60
    shown = cli("compare", str(tmp_path / "run"), str(tmp_path / "run"), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = {r["key"]: r for r in json.loads(shown.stdout)["rows"]}
    assert rows["run.disabled"]["values"][0] == f"{iso_ms(T0 + 1_000)}..{iso_ms(T0 + 60_000)}"
    assert meta["summary"]["dispositions"] == {"processed": 10}


def test_compare_two_runs(capture_dir: Path, tmp_path: Path) -> None:
    assert cli("replay", str(capture_dir), "-o", str(tmp_path / "a")).returncode == 0
    assert (
        cli(
            "replay", str(capture_dir), "-o", str(tmp_path / "b"), "--set", "BatchSize=1"
        ).returncode
        == 0
    )
    out = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert "BatchSize" in out.stdout and "invocations" in out.stdout


@pytest.mark.slow
def test_demo_tells_the_story(tmp_path: Path) -> None:
    out = cli("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "blocked for 24.0 h" in out.stdout
    assert "1 on-failure record" in out.stdout
    assert (tmp_path / "demo" / "run-production" / "records.parquet").is_file()


@pytest.mark.slow
def test_demo_sqs_incident_throttling_sends_valid_orders_to_the_dlq(tmp_path: Path) -> None:
    """B67 then B65: with default scaling the pollers outrun reserved concurrency 10, throttled
    receives count toward maxReceiveCount 3, valid orders are dead-lettered; MaximumConcurrency 10
    (B69) keeps them all. Exact figures: the sample is seeded."""
    out = cli("demo", "--incident", "sqs", "--out", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "34,800 orders on the SQS queue orders-queue" in out.stdout
    assert "4,166 valid orders dead-lettered, 84,874 throttled invokes" in out.stdout
    assert "(ScalingConfig.MaximumConcurrency 10): 0 dead-lettered, 0 throttled" in out.stdout
    again = cli("demo", "--incident", "sqs", "--out", str(tmp_path / "e"))
    for f in ("invocations.parquet", "records.parquet", "destinations.jsonl"):
        a = (tmp_path / "d" / "run-production" / f).read_bytes()
        assert a == (tmp_path / "e" / "run-production" / f).read_bytes(), f
    assert again.returncode == 0


def test_demo_unknown_incident_is_one_line_exit_2(tmp_path: Path) -> None:
    out = cli("demo", "--incident", "kafka", "--out", str(tmp_path / "d"))
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --incident 'kafka': allowed kinesis, sqs"
    assert not (tmp_path / "d").exists()
