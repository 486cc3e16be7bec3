"""S2 Run view: timelines on one scale, the paged tables, the not-processed filter, sort and
counts, the UNCONFIRMED choices."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc

from replay.analysis.query import read_run_meta
from replay.analysis.text import duration
from replay.formats.runfiles import read_run
from tests.tui.conftest import SIZE, make_app, settle
from tui.screens.run import RunScreen
from tui.widgets.frequencies import FrequencyScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.timeline import ShardTimelines


async def _run_screen(pilot: object) -> RunScreen:
    await settle(pilot)  # type: ignore[arg-type]
    screen = pilot.app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, RunScreen)
    return screen


async def test_shards_come_most_blocked_first_on_one_scale(demo: Path) -> None:
    run = demo / "run-production"
    shards = read_run_meta(run)["summary"]["shards"]
    app = make_app([run])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        rows = screen.query_one("#timelines", ShardTimelines)
        assert rows.names[0] == "shardId-000000000003" and len(rows.names) == len(shards) == 4
        lines = [line.plain for line in rows.lines(80)]
        first = next(line for line in lines if line.startswith("›3"))
        assert first.split()[-4:] == [
            *duration(shards["shardId-000000000003"]["blocked_ms"]).split(),
            *duration(shards["shardId-000000000003"]["max_iterator_age_ms"]).split(),
        ]
        assert first.split()[-4:] == ["24.0", "h", "24.0", "h"]
        assert "█" in first  # 24 h draws full height on the shared scale ...
        calm = next(line for line in lines if line.startswith(" 0"))
        assert "█" not in calm and "▁" in calm  # ... a shard peaking at 1 s stays low
        assert "▓" in lines[lines.index(first) + 1]  # blocked minutes: a mark, not colour only
        assert "log 1.0 s─24.0 h" in lines[0]


async def test_tables_page_filter_sort_and_count(demo: Path) -> None:
    run = demo / "run-production"
    records = read_run(run).records
    app = make_app([run])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        await pilot.press("2")
        inv = screen.query_one("#invocations-table", PagedTable)
        assert inv.row_count == 5977
        await pilot.press("3")
        table = screen.records_table
        assert table.row_count == 1  # not processed first
        assert table.row_values()["pos"] == 537
        await pilot.press("p")
        assert table.row_count == 6000
        table.move_cursor(column=table.paged.names.index("latency_ms"))
        await pilot.press("s", "s")  # twice: descending
        assert table.row_values()["latency_ms"] == pc.max(records.column("latency_ms")).as_py()
        await pilot.press("2")
        inv.move_cursor(column=inv.paged.names.index("result"))
        await pilot.press("F")
        await pilot.pause()
        freq = app.screen
        assert isinstance(freq, FrequencyScreen)
        assert {r["value"]: r["n"] for r in freq.table.to_pylist()} == {"error": 1446, "ok": 4531}


async def test_filter_by_value_and_back(demo: Path) -> None:
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        await pilot.press("2")
        inv = screen.query_one("#invocations-table", PagedTable)
        inv.move_cursor(row=0, column=inv.paged.names.index("shard"))
        await pilot.press("f")
        shard = inv.row_values()["shard"]
        assert (
            inv.row_count
            == read_run_meta(demo / "run-production")["summary"]["shards"][shard]["invocations"]
        )
        await pilot.press("backspace")
        assert inv.row_count == 5977


async def test_config_tab_lists_every_unconfirmed_choice(demo: Path) -> None:
    run = demo / "run-safer"
    meta = read_run_meta(run)
    app = make_app([run])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        await pilot.press("5")
        text = str(screen.query_one("#config-text").render())
        for choice in meta["choices"]:
            value = choice["value"]
            shown = (
                "none" if value is None else value if isinstance(value, str) else json.dumps(value)
            )
            assert f"  {choice['option']} = {shown}" in text
        assert "UNCONFIRMED choices" in text
        assert f"overrides: {' '.join(meta['overrides']) or 'none'}" in text


async def test_failures_tab_shows_the_destination_records(demo: Path) -> None:
    run = demo / "run-safer"
    app = make_app([run])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        await pilot.press("4")
        table = screen.query_one("#failures-table", PagedTable)
        assert table.row_count == read_run_meta(run)["summary"]["destination_records"] == 1
        assert table.row_values()["condition"] == "RetryAttemptsExhausted"
        await pilot.press("enter")
        await pilot.pause()
        assert '"condition": "RetryAttemptsExhausted"' in app.screen.text  # type: ignore[attr-defined]


async def test_the_filter_line(demo: Path) -> None:
    from tui.widgets.filter_line import FilterScreen, parse_filters

    assert parse_filters(
        "reason=RetentionExpired pos=537 seq!=∅",
        {"reason": "VARCHAR", "pos": "BIGINT", "seq": "VARCHAR"},
    ) == (
        {"reason": "RetentionExpired", "pos": 537},
        {"seq": None},
    )
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_screen(pilot)
        await pilot.press("3", "p", "slash")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"shard=shardId-000000000001", "enter")
        await pilot.pause()
        shards = read_run_meta(demo / "run-production")["summary"]["shards"]
        assert screen.records_table.row_count == shards["shardId-000000000001"]["records"]
        await pilot.press("slash", *"nope=1", "enter")
        await pilot.pause()
        assert screen.records_table.row_count == shards["shardId-000000000001"]["records"]
