"""catalog.scan: captures, runs and sweeps from their JSON alone; problems, never a failed scan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from replay.analysis.catalog import scan
from replay.analysis.query import read_run_meta
from replay.errors import UserError
from tests.replay.support import small_demo


def test_scan_finds_the_demo_and_links_runs_to_their_capture(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = small_demo(tmp_path_factory)
    cat = scan([d])
    assert [c.name for c in cat.captures] == ["capture"]
    assert [r.name for r in cat.runs] == ["run-production", "run-safer"]
    assert cat.problems == () and cat.sweeps == ()
    cap = cat.captures[0]
    assert (cap.kind, cap.shards, cap.records) == ("kinesis", 4, 6000)
    assert [r.name for r in cat.runs_of(cap)] == ["run-production", "run-safer"]
    assert cat.runs_of(None) == ()
    prod = cat.runs[0]
    summary = read_run_meta(d / "run-production")["summary"]
    assert prod.headline["dispositions"] == summary["dispositions"]
    assert prod.headline["invocations"] == summary["invocations"] == 5977
    assert prod.config_source == "demo:production" and prod.seed == 0
    assert prod.capture is not None and prod.capture.resolve() == (d / "capture").resolve()


def test_scan_reports_an_unreadable_run_and_goes_on(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    d = small_demo(tmp_path_factory)
    for name in ("capture", "run-production", "run-safer"):
        shutil.copytree(d / name, tmp_path / "incident" / name)
    (tmp_path / "incident" / "run-safer" / "run.json").write_text("{not json")
    (tmp_path / "incident" / ".run-x.tmp-123").mkdir()  # an atomic write's leftover: skipped
    cat = scan([tmp_path])
    assert [r.name for r in cat.runs] == ["run-production"]
    with pytest.raises(UserError) as exc:
        read_run_meta(tmp_path / "incident" / "run-safer")
    assert cat.problems == ((tmp_path / "incident" / "run-safer", str(exc.value)),)


def test_scan_of_a_missing_or_empty_path_is_a_problem(tmp_path: Path) -> None:
    cat = scan([tmp_path / "nope", tmp_path])
    assert [p for p, _ in cat.problems] == [tmp_path / "nope", tmp_path]
    assert cat.problems[1][1] == f"{tmp_path}: no capture, run or sweep found"


def test_scan_respects_max_depth(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    shutil.copytree(d / "run-safer", tmp_path / "a" / "b" / "c" / "run-safer")
    assert [r.name for r in scan([tmp_path], max_depth=4).runs] == ["run-safer"]
    assert scan([tmp_path], max_depth=2).runs == ()
