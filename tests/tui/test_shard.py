"""S4 Shard timeline: explain --shard's golden text; Enter on the block opens its culprit."""

from __future__ import annotations

from pathlib import Path

from tests.replay.support import GOLDEN
from tests.tui.conftest import SIZE, make_app, settle
from tui.screens.record import RecordScreen
from tui.screens.shard import ShardScreen, culprit_ref


async def test_shard_timeline_and_its_culprit(demo: Path) -> None:
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the first timeline row: the blocked shard
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShardScreen) and screen.shard == "shardId-000000000003"
        assert screen.text == (GOLDEN / "explain_production_shard.txt").read_text()
        await pilot.press("enter")
        await settle(pilot)
        record = app.screen
        assert isinstance(record, RecordScreen) and record.ref == "shardId-000000000003#537"
        assert record.texts[0] == (GOLDEN / "explain_production_poison.txt").read_text()


def test_culprit_references() -> None:
    assert culprit_ref("record shardId-000000000003#537") == "shardId-000000000003#537"
    assert culprit_ref("batch 7 of 4 records shardId-0#12..#15") == "shardId-0#12"
    assert culprit_ref("message orders.fifo#3 (m-3)") == "orders.fifo#3"
    assert culprit_ref("-") is None
