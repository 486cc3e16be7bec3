"""The esm-replay TUI application: a read-only browser of captures, runs and comparisons.

The screens (:mod:`tui.screens`) stack as in k9s — catalog › run › shard › record — with ``Enter``
to go in and ``Esc`` to come back; ``?`` shows the keys, ``ctrl+p`` the command palette. The app
holds what screens share: one DuckDB connection (each table reads through its own cursor) and one
:class:`~replay.analysis.explain_index.ExplainIndex` per run, built once in a thread. Every figure
and text comes from ``replay/``; nothing here computes one. Core modules are imported where a
screen needs them, so the app starts without loading compare or explain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.screens.base import EsmScreen

if TYPE_CHECKING:
    import duckdb

    from replay.analysis.explain_index import ExplainIndex


class EsmReplayApp(App[None]):
    """``esm-replay tui PATHS``: one run opens its Run view, two or more open Compare."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "esm-replay"
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Textual types it as an instance variable)
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", show=False, id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help_key"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        paths: Sequence[str | Path] = (),
        *,
        read_only: bool = True,
        theme: str = "textual-dark",
    ) -> None:
        super().__init__()
        self.paths = [Path(p) for p in paths] or [Path(".")]
        self.read_only = read_only
        self.theme = theme
        self._con: duckdb.DuckDBPyConnection | None = None
        self._indexes: dict[Path, ExplainIndex] = {}
        self._index_lock = threading.Lock()

    # ------------------------------------------------------------------ shared state
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The app's DuckDB connection (tables read through their own cursors of it)."""
        if self._con is None:
            from replay.analysis.browse import connection

            self._con = connection()
        return self._con

    def explain_index(self, run: Path) -> ExplainIndex:
        """The run's explain index, built on first use (call from a thread worker)."""
        from replay.analysis.explain_index import ExplainIndex

        key = Path(run).resolve()
        with self._index_lock:
            if key not in self._indexes:
                self._indexes[key] = ExplainIndex.open(run)
            return self._indexes[key]

    # ------------------------------------------------------------------ start
    def on_mount(self) -> None:
        from replay.analysis.query import is_run
        from tui.screens.home import HomeScreen

        home = HomeScreen(self.paths)
        self.push_screen(home)
        given = [p for p in self.paths if is_run(p)]
        if len(given) == 1 and len(self.paths) == 1:
            self.open_run(given[0])
        elif len(given) >= 2:
            names = {r.path: r.name for r in home.catalog.runs}
            self.open_compare(given, [names.get(p, p.name) for p in given])

    # ------------------------------------------------------------------ navigation
    def open_run(self, path: Path, name: str | None = None) -> None:
        """Push the Run view of ``path``."""
        from tui.screens.run import RunScreen

        self.push_screen(RunScreen(path, name))

    def open_record(
        self,
        runs: Sequence[Path],
        *,
        row: int | None = None,
        ref: str | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        """Push the record drill-down of ``row`` (or ``ref``, ``SHARD#POS``) in ``runs``."""
        from tui.screens.record import RecordScreen

        self.push_screen(RecordScreen(runs, row=row, ref=ref, names=names))

    def open_shard(self, run: Path, shard: str, name: str | None = None) -> None:
        """Push the timeline of one shard (FIFO group, partition) of ``run``."""
        from tui.screens.shard import ShardScreen

        self.push_screen(ShardScreen(run, shard, name))

    def open_invocation(self, run: Path, invocation: int, name: str | None = None) -> None:
        """Push one invocation's detail."""
        from tui.screens.invocation import InvocationScreen

        self.push_screen(InvocationScreen(run, invocation, name))

    def open_compare(self, runs: Sequence[Path], names: Sequence[str] | None = None) -> None:
        """Push the comparison of ``runs``."""
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(runs, names))

    def compare_with_siblings(self, run: Path) -> None:
        """Compare ``run`` with the other runs of its capture in the catalog."""
        home = self.home()
        if home is None:
            return
        mine = next((r for r in home.catalog.runs if r.path.resolve() == run.resolve()), None)
        siblings = [
            r
            for r in home.catalog.runs
            if mine is not None and r.capture == mine.capture and r.capture is not None
        ]
        if len(siblings) < 2:
            self.notify("no other run of this capture in the catalog", severity="warning")
            return
        siblings.sort(key=lambda r: r.path.resolve() != run.resolve())
        self.open_compare([r.path for r in siblings], [r.name for r in siblings])

    def show_text(self, title: str, text: str) -> None:
        """A modal with ``text`` in full."""
        from tui.widgets.text_view import TextScreen

        self.push_screen(TextScreen(title, text))

    def home(self) -> Any:
        """The catalog screen at the bottom of the stack."""
        from tui.screens.home import HomeScreen

        return next((s for s in self.screen_stack if isinstance(s, HomeScreen)), None)

    def action_go_home(self) -> None:
        while len(self.screen_stack) > 2 and not _is_home(self.screen):
            self.pop_screen()

    # ------------------------------------------------------------------ help and palette
    def help_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The active keys of esm-replay's own bindings (each has an id), grouped: this view's,
        the focused widget's, everywhere; then how to move."""
        from tui.widgets.help import key_label

        groups: dict[str, list[tuple[str, str]]] = {}
        seen: set[tuple[str, str]] = set()
        for key, active in self.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.id is None:
                continue
            node = active.node
            where = (
                "this view"
                if isinstance(node, Screen)
                else "everywhere"
                if isinstance(node, App)
                else f"the {type(node).__name__}"
            )
            if (where, binding.description) in seen:
                continue
            seen.add((where, binding.description))
            groups.setdefault(where, []).append((key_label(key), binding.description))
        order = sorted(groups, key=lambda g: (g == "everywhere", g != "this view", g))
        out = [(g, groups[g]) for g in order]
        out.append(
            (
                "moving",
                [
                    ("↑ ↓ pgup pgdn", "move; home/end or g/G: first/last row"),
                    ("esc", "back"),
                    ("ctrl+p", "command palette"),
                    ("ctrl+q", "quit"),
                ],
            )
        )
        return out

    def action_help(self) -> None:
        from tui.widgets.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        focused = self.focused
        described = next(
            (
                str(getattr(n, "HELP", ""))
                for n in ([focused, *focused.ancestors_with_self] if focused else [self.screen])
                if getattr(n, "HELP", "")
            ),
            "",
        )
        self.push_screen(HelpScreen(described, self.help_groups()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Show keys", "Every key that works here (?)", self.action_help)
        yield SystemCommand("Go to catalog", "Back to the list of runs", self.action_go_home)
        home = self.home()
        if home is not None:
            yield SystemCommand(
                "Compare marked runs",
                "Put the runs marked with space in the catalog side by side",
                home.action_compare,
            )
            for run in home.catalog.runs:
                yield SystemCommand(
                    f"Open run {run.name}",
                    str(run.path),
                    lambda path=run.path, name=run.name: self.open_run(path, name),
                )
        if isinstance(screen, EsmScreen):
            for title, helptext, callback in getattr(screen, "commands", lambda: [])():
                yield SystemCommand(title, helptext, callback)


def _is_home(screen: Screen[Any]) -> bool:
    from tui.screens.home import HomeScreen

    return isinstance(screen, HomeScreen)
