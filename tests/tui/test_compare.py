"""S5 Compare: the first divergence is compare's; differences only; every diverging record."""

from __future__ import annotations

from pathlib import Path

from replay.analysis.compare import compare
from replay.analysis.divergence import divergences
from replay.formats.runfiles import read_run
from tests.replay.support import GOLDEN
from tests.tui.conftest import SIZE, make_app, settle
from tui.screens.compare import CompareScreen
from tui.screens.record import RecordScreen
from tui.widgets.paged_table import PagedTable


async def test_compare_two_runs(demo: Path) -> None:
    paths = [demo / "run-production", demo / "run-safer"]
    runs = [read_run(p) for p in paths]
    expected = compare(runs, ["run-production", "run-safer"])
    assert expected.divergence is not None
    app = make_app(paths)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        banner = str(screen.query_one("#banner").render())
        d = expected.divergence
        assert f"first divergence {d.shard}#{d.pos}" in banner  # what the CLI names
        assert "shardId-000000000003#537" in banner
        for fate in d.fates:
            assert fate in banner
        assert screen.differences_only  # the default at 80 columns
        assert screen.figure_labels() == [r.label for r in expected.rows if r.differs]
        await pilot.press("d")
        assert screen.figure_labels() == [r.label for r in expected.rows]
        await pilot.press("2")
        table = screen.query_one("#diverging-table", PagedTable)
        assert table.row_count == divergences(runs).num_rows == 1
        await pilot.press("enter")
        await settle(pilot)
        record = app.screen
        assert isinstance(record, RecordScreen)
        assert record.texts == {
            0: (GOLDEN / "explain_production_poison.txt").read_text(),
            1: (GOLDEN / "explain_safer_poison.txt").read_text(),
        }
        await pilot.press("escape", "x")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen.ref == f"{d.shard}#{d.pos}"
