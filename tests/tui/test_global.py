"""Keys everywhere: help lists the active bindings, the palette offers compare, 80×24 fits."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette
from textual.widget import Widget

from tests.tui.conftest import SIZE, make_app, settle
from tui.screens.record import RecordScreen
from tui.widgets.help import HelpScreen


async def test_help_lists_the_keys_of_the_view(demo: Path) -> None:
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        run = app.screen
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        text = help_screen.text()
        for binding in run.BINDINGS:
            description = binding.description  # type: ignore[union-attr]
            if description:
                assert description in text, description
        assert "Iterator age per bucket on one log scale" in text  # the focused widget's help
        await pilot.press("escape")
        assert app.screen is run


async def test_palette_offers_compare(demo: Path) -> None:
    app = make_app([demo])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Compare marked runs" in titles and "Open run run-safer" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)


async def test_every_screen_fits_80_columns(demo: Path) -> None:
    app = make_app([demo / "run-production"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for keys in (("1",), ("2",), ("3",), ("4",), ("5",), ("3", "enter")):
            await pilot.press(*keys)
            await settle(pilot)
            for widget in app.screen.query(Widget):
                if widget.display and widget.region.width:
                    assert widget.region.right <= SIZE[0], widget
        assert isinstance(app.screen, RecordScreen)
