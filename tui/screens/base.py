"""What every screen shares: breadcrumbs on top, the footer, ``Esc`` back, loading in a thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.app import EsmReplayApp

CRUMB_SEPARATOR = " › "


class Crumbs(Static):
    """``esm-replay › catalog › run-production › #537``: where the screen stack is."""


class EsmScreen(Screen[None]):
    """A screen of the stack: a crumb, a one-line title after the crumbs, ``Esc`` back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back"),
    ]
    HELP = ""

    @property
    def esm(self) -> EsmReplayApp:
        """The app, typed."""
        from tui.app import EsmReplayApp

        assert isinstance(self.app, EsmReplayApp)
        return self.app

    def crumb(self) -> str:
        """This screen's part of the breadcrumbs."""
        return ""

    def subtitle(self) -> str:
        """Words after the breadcrumbs (what the screen shows)."""
        return ""

    def trail(self) -> str:
        """The breadcrumbs of the stack up to this screen."""
        parts = ["esm-replay"]
        for screen in self.app.screen_stack:
            if isinstance(screen, EsmScreen) and screen.crumb():
                parts.append(screen.crumb())
            if screen is self:
                break
        return CRUMB_SEPARATOR.join(parts)

    def crumbs(self) -> Crumbs:
        """The top line: breadcrumbs and subtitle."""
        sub = self.subtitle()
        return Crumbs(self.trail() + (f"  {sub}" if sub else ""), id="crumbs", markup=False)

    def action_back(self) -> None:
        if len([s for s in self.app.screen_stack if isinstance(s, EsmScreen)]) > 1:
            self.app.pop_screen()
