"""S1 Home: the catalog's rows, marks and compare, and unreadable entries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from replay.analysis.query import read_run_meta
from replay.errors import UserError
from tests.tui.conftest import SIZE, make_app, settle
from tui.format import count
from tui.screens.compare import CompareScreen
from tui.screens.home import HomeScreen
from tui.screens.run import RunScreen


def _column(screen: HomeScreen, name: str) -> list[str]:
    return [str(v) for v in screen.table.source.table.column(name).to_pylist()]


async def test_catalog_lists_the_capture_and_its_runs(demo: Path) -> None:
    app = make_app([demo])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert [n.strip(" ▾") for n in _column(home, "name")] == [
            "capture",
            "run-production",
            "run-safer",
        ]
        discarded = [
            count(read_run_meta(demo / r)["summary"]["dispositions"].get("discarded", 0))
            for r in ("run-production", "run-safer")
        ]
        assert _column(home, "discard")[1:] == discarded
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_name == "run-production"


async def test_marking_two_runs_and_comparing(demo: Path) -> None:
    app = make_app([demo])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "space", "space", "c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.names == ["run-production", "run-safer"]


async def test_a_corrupt_run_is_a_problem_row(
    demo: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in ("capture", "run-production", "run-safer"):
        shutil.copytree(demo / name, tmp_path / name)
    (tmp_path / "run-safer" / "run.json").write_text("{broken")
    with pytest.raises(UserError) as exc:
        read_run_meta(tmp_path / "run-safer")
    app = make_app([tmp_path])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert _column(home, "name")[-1] == f"run-safer: {exc.value}"
        assert _column(home, "mark")[-1] == "⚠"
