"""Fixtures of the TUI tests: the small demo (a capture, run-production, run-safer), an app
factory at 80×24, and waiting for thread workers."""

from __future__ import annotations

import multiprocessing.resource_tracker
from collections.abc import Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.replay.support import small_demo
from tui.app import EsmReplayApp

SIZE = (80, 24)

multiprocessing.resource_tracker.ensure_running()  # before any app replaces sys.stderr (§13)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo: capture/, run-production/, run-safer/ (6,000 records)."""
    return small_demo(tmp_path_factory)


def make_app(paths: Sequence[Path]) -> EsmReplayApp:
    """An app as the tests run it: no animations, the default theme."""
    app = EsmReplayApp(list(paths))
    app.animation_level = "none"
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Let thread workers finish and the screen catch up."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
