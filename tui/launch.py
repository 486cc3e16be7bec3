"""Starting the app: ``esm-replay tui`` calls :func:`run_app`."""

from __future__ import annotations

import multiprocessing.resource_tracker
import os
from collections.abc import Sequence
from pathlib import Path


def run_app(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    read_only: bool = True,
    theme: str = "textual-dark",
) -> int:
    """Run the TUI over ``paths`` (default: the current folder) until the user quits; 0.

    The multiprocessing resource tracker starts before Textual replaces ``sys.stderr`` (a child
    process started later would fail with ``bad value(s) in fds_to_keep``: TUI-SPEC §13).
    """
    from tui.app import EsmReplayApp

    multiprocessing.resource_tracker.ensure_running()
    app = EsmReplayApp([Path(p) for p in paths], read_only=read_only, theme=theme)
    app.run()
    return 0
