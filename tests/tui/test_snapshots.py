"""SVG snapshots of each M1 screen at 80×24 (TUI-SPEC §14.3), two at 120×40.

Regenerate only after reviewing the report: ``pytest tests/tui --snapshot-update``. The app runs
in the demo folder and is given relative paths, so no temporary path reaches a screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import SIZE, make_app, settle

Snap = Callable[..., bool]


def _before(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run


CASES: dict[str, tuple[Sequence[str], Sequence[str], tuple[int, int]]] = {
    "home": ((".",), (), SIZE),
    "run_shards": (("run-production",), (), SIZE),
    "run_shards_wide": (("run-production",), (), (120, 40)),
    "run_invocations": (("run-production",), ("2",), SIZE),
    "run_records": (("run-production",), ("3",), SIZE),
    "record_chain": (("run-production",), ("3", "enter"), SIZE),
    "shard": (("run-production",), ("enter",), SIZE),
    "compare_figures": (("run-production", "run-safer"), (), SIZE),
    "compare_figures_wide": (("run-production", "run-safer"), (), (120, 40)),
    "compare_diverging": (("run-production", "run-safer"), ("2",), SIZE),
    "help": (("run-production",), ("question_mark",), SIZE),
}


@pytest.mark.parametrize("case", list(CASES))
def test_screen(case: str, snap_compare: Snap, demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths, keys, size = CASES[case]
    monkeypatch.chdir(demo)
    app: Any = make_app([Path(p) for p in paths])
    assert snap_compare(app, terminal_size=size, run_before=_before(*keys))
