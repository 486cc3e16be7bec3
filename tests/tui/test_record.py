"""S3 Record drill-down: the chain is explain's golden text; fate badge, copy, other runs."""

from __future__ import annotations

from pathlib import Path

from tests.replay.support import GOLDEN
from tests.tui.conftest import SIZE, make_app, settle
from tui.screens.record import RecordScreen, fate_line
from tui.screens.run import RunScreen

POISON = "shardId-000000000003#537"


async def test_enter_on_the_poison_record_shows_its_golden_chain(demo: Path) -> None:
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen)
        assert screen.texts[0] == (GOLDEN / "explain_production_poison.txt").read_text()
        x = screen.explanations[0]
        assert fate_line(x) == "DISCARDED (RetentionExpired) [B28]  1446 deliveries · 1446 attempts"
        assert str(screen.query_one("#fate-0").render()) == fate_line(x)
        assert screen.trail() == "esm-replay › catalog › run-production › #537"
        await pilot.press("y")
        assert app.clipboard == POISON
        await pilot.press("Y")
        assert app.clipboard == screen.texts[0]
        await pilot.press("escape")
        run = app.screen
        assert isinstance(run, RunScreen) and run.tabs.active == "records"
        assert run.records_table.row_values()["pos"] == 537  # the cursor row is kept


async def test_the_record_in_both_runs(demo: Path) -> None:
    app = make_app([demo / "run-production", demo / "run-safer"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_record(
            [demo / "run-production", demo / "run-safer"],
            ref=POISON,
            names=["run-production", "run-safer"],
        )
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen)
        assert screen.texts == {
            0: (GOLDEN / "explain_production_poison.txt").read_text(),
            1: (GOLDEN / "explain_safer_poison.txt").read_text(),
        }
        assert screen.current() == 0
        await pilot.press("o")
        assert screen.current() == 1


async def test_a_bad_reference_is_one_line(demo: Path) -> None:
    app = make_app([demo])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_record([demo / "run-production"], ref="shardId-000000000003#9999")
        await settle(pilot)
        text = str(app.screen.query_one("#fate-0").render())
        assert text == (
            "error: --record shardId-000000000003#9999: no position 9999 in shard "
            "shardId-000000000003"
        )


async def test_steps_fold_like_the_text(demo: Path) -> None:
    from replay.analysis.explain_index import group_steps
    from tui.screens.invocation import InvocationScreen
    from tui.widgets.paged_table import PagedTable

    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen)
        await pilot.press("2")
        table = screen.query_one("#steps-table", PagedTable)
        (group,) = group_steps(screen.explanations[0].steps)
        assert table.row_count == 3  # first attempt, "… 1444 more attempts alike", last attempt
        rows = table.source.table.to_pylist()
        assert [r["invocation"] for r in rows] == [
            group.steps[0].invocation,
            None,
            group.steps[-1].invocation,
        ]
        assert rows[1]["checkpoint"].startswith(f"… {group.folded} more attempts alike")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InvocationScreen)
        assert app.screen.invocation == group.steps[0].invocation
