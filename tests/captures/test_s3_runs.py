"""Runs at s3:// URIs: replay an s3:// capture into an s3:// run over moto's S3 (real sockets).

The run written to S3 must equal, byte for byte, the run of the same capture written locally, and
read_run must read it back; an existing s3:// run is refused unless overwritten.
"""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from replay.engine.runner import replay
from replay.errors import UserError
from replay.formats.capture import write_capture
from replay.formats.runfiles import RUN_FILES, read_run
from replay.testing import make_capture, rec

from .conftest import Aws


def test_replay_an_s3_capture_into_an_s3_run(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws.url)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="incidents")
    cap = make_capture([rec(f"k{i % 4}", {"n": i}, at=i * 0.3) for i in range(60)])
    write_capture("s3://incidents/cap", cap.manifest, cap.records)
    write_capture(tmp_path / "cap", cap.manifest, cap.records)

    remote = replay("s3://incidents/cap", "s3://incidents/runs/r1", overrides=["BatchSize=7"])
    local = replay(tmp_path / "cap", tmp_path / "r1", overrides=["BatchSize=7"])
    assert remote.summary == local.summary
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="incidents", Prefix="runs/r1/")["Contents"]}
    assert keys == {f"runs/r1/{f}" for f in RUN_FILES}
    for name in RUN_FILES[1:]:
        body = s3.get_object(Bucket="incidents", Key=f"runs/r1/{name}")["Body"].read()
        assert body == (tmp_path / "r1" / name).read_bytes(), name
    back = read_run("s3://incidents/runs/r1")
    assert back.meta["capture"]["path"] == "s3://incidents/cap"
    assert back.records.equals(local.records)
    with pytest.raises(UserError, match="already exists"):
        replay("s3://incidents/cap", "s3://incidents/runs/r1")


def test_cli_replays_from_and_to_s3(
    aws: Aws, tmp_path: Path, run_cli: Callable[..., subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws.url)
    aws.client("s3").create_bucket(Bucket="incidents")
    cap = make_capture([rec("a"), rec("b", at=1.0)])
    write_capture("s3://incidents/cap2", cap.manifest, cap.records)
    out = run_cli("replay", "s3://incidents/cap2", "-o", "s3://incidents/runs/r2")
    assert "records" in out.stdout
    assert read_run("s3://incidents/runs/r2").summary["dispositions"] == {"processed": 2}
