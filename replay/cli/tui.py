"""``esm-replay tui``: the terminal browser of captures, runs and comparisons (the ``tui``
package, imported inside the command so the CLI starts without Textual)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from replay.cli.app import app


@app.command()
def tui(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Captures, runs, sweeps, or folders holding them (searched 3 levels deep; "
            "default: the current folder). One run opens its view, two or more open compare."
        ),
    ] = None,
    theme: Annotated[
        str, typer.Option(help="Textual theme: textual-dark, textual-light, ansi-dark, ...")
    ] = "textual-dark",
) -> None:
    """Browse captures, runs and comparisons in the terminal (read-only).

    Keys: Enter open, Esc back, ? help, ctrl+p commands, ctrl+q quit.

    Example: esm-replay tui demo-output/kinesis
    """
    from replay.errors import UserError
    from replay.extras import install_command

    try:
        import textual  # noqa: F401
        import textual_fastdatatable  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"esm-replay tui needs {exc.name or 'textual'}, which is not installed; install the "
            f"tui extra with: {install_command('tui')}"
        ) from None
    missing = [p for p in paths or [] if not p.exists()]
    if missing:  # a mistyped path: one line, before a screen opens
        raise UserError(f"{missing[0]}: no such file or folder (give captures, runs or sweeps)")
    from tui.launch import run_app

    raise typer.Exit(run_app(paths or [Path(".")], theme=theme))
