"""Run directories: the five files, determinism to the byte, metrics, atomic and refused writes."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from replay.engine.runner import replay
from replay.errors import UserError
from replay.formats.capture import write_capture
from replay.formats.runfiles import RUN_FILES, read_run
from replay.testing import make_capture, rec

QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    records = [
        rec(f"k{i % 5}", {"n": i, "bad": i == 7}, at=i * 0.4, shard=f"shardId-00000000000{i % 2}")
        for i in range(40)
    ]
    cap = make_capture(records)
    return write_capture(tmp_path / "cap", cap.manifest, cap.records).path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "esm.json"
    path.write_text(
        json.dumps(
            {
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 4,
                "MaximumRetryAttempts": 2,
                "BisectBatchOnFunctionError": True,
                "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
            }
        )
    )
    return path


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "fn.yaml"
    path.write_text(
        "faults:\n"
        "  - when: \"json_extract(data, '$.bad')::BOOLEAN\"\n"
        "    error: Unhandled\n"
        "  - probability: 0.05\n"
        "    error: Unhandled\n"
    )
    return path


def test_run_writes_the_five_files(
    capture_dir: Path, config_file: Path, model_file: Path, tmp_path: Path
) -> None:
    result = replay(
        capture_dir, tmp_path / "run", config_path=config_file, function=str(model_file)
    )
    assert sorted(p.name for p in result.path.iterdir()) == sorted(RUN_FILES)
    meta = json.loads((result.path / "run.json").read_text())
    assert meta["format"] == "esm-replay.run/1"
    assert meta["config"]["BisectBatchOnFunctionError"] is True
    assert meta["capture"]["fingerprint"].startswith("sha256:")
    assert {c["option"] for c in meta["choices"]} >= {"retry_backoff_ms", "bisect_half_budget"}
    records = pq.read_table(result.path / "records.parquet")
    assert records.num_rows == 40
    assert records.column("disposition").null_count == 0
    summary = meta["summary"]
    assert summary["dispositions"]["discarded"] == 1  # the bad record, isolated by bisect
    assert summary["destination_records"] == 1
    lines = (result.path / "destinations.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["requestContext"]["condition"] == "RetryAttemptsExhausted"
    metrics = pq.read_table(result.path / "metrics.parquet")
    assert set(metrics.column("shard").to_pylist()) == {
        "shardId-000000000000",
        "shardId-000000000001",
    }
    assert sum(metrics.column("invocations").to_pylist()) == summary["results"].get(
        "ok", 0
    ) + summary["results"].get("error", 0)
    again = read_run(result.path)
    assert again.summary == summary


def test_same_inputs_and_seed_give_byte_identical_files(
    capture_dir: Path, config_file: Path, model_file: Path, tmp_path: Path
) -> None:
    a = replay(
        capture_dir, tmp_path / "a", config_path=config_file, function=str(model_file), seed=3
    )
    b = replay(
        capture_dir, tmp_path / "b", config_path=config_file, function=str(model_file), seed=3
    )
    for name in RUN_FILES:
        if name == "run.json":
            ja, jb = (json.loads((r.path / name).read_text()) for r in (a, b))
            ja.pop("timing"), jb.pop("timing")
            assert ja == jb
        else:
            assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name


def test_set_overrides_and_refusals(capture_dir: Path, config_file: Path, tmp_path: Path) -> None:
    result = replay(
        capture_dir, tmp_path / "r", config_path=config_file, overrides=["BatchSize=10"]
    )
    assert result.meta["config"]["BatchSize"] == 10
    assert result.meta["overrides"] == ["BatchSize=10"]
    with pytest.raises(UserError, match="already exists"):
        replay(capture_dir, tmp_path / "r", config_path=config_file)
    with pytest.raises(UserError, match="MaximumRetryAttempts"):
        replay(
            capture_dir,
            tmp_path / "bad",
            config_path=config_file,
            overrides=["MaximumRetryAttempts=-5"],
        )
    assert not (tmp_path / "bad").exists()


def test_defaults_when_no_config_read_the_whole_capture(capture_dir: Path, tmp_path: Path) -> None:
    result = replay(capture_dir, tmp_path / "run")
    assert result.meta["config_source"] == "defaults"
    assert result.meta["config"]["StartingPosition"] == "TRIM_HORIZON"
    assert result.summary["dispositions"] == {"processed": 40}
