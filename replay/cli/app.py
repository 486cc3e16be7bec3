"""The command line's shared objects: the typer apps, the consoles and the progress bar.

Command modules (``replay.cli.run``, ``.capture``, ``.analysis``) register their commands on these
apps; ``replay.cli.main`` imports them all and is the console script. This module imports no
command module, so there is no cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

app = typer.Typer(
    name="esm-replay",
    help="Capture, replay and compare AWS Lambda event source mappings — in virtual time.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
capture_app = typer.Typer(
    help="Make captures: live agents (kinesis, dynamodb, sqs, kafka), ESM and failure snapshots, "
    "and imports of Lambda event JSON, AWS CLI or kcat output.",
    no_args_is_help=True,
)
app.add_typer(capture_app, name="capture")


out_console = Console()
err_console = Console(stderr=True)

# --set in replay and sweep: the names docs/config.md documents.
SET_HELP = (
    "Override one ESM field (repeatable). AWS names (MaximumRetryAttempts=3), Terraform names "
    "(maximum_retry_attempts=3) and dotted paths (DestinationConfig.OnFailure.Destination=ARN, "
    "Source.VisibilityTimeout=60 for a setting of the captured queue or stream)."
)


def say(text: str, *, err: bool = False) -> None:
    """Print one line as it is: no markup, no emoji codes, no highlighting, no wrapping."""
    console = err_console if err else out_console
    console.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)


def version() -> str:
    """The installed esm-replay version (the package's own when it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("esm-replay")
    except PackageNotFoundError:
        from replay import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        out_console.print(f"esm-replay {version()}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """The options of esm-replay itself (before any command)."""


@contextmanager
def progress(label: str, interrupted: str | None = None) -> Iterator[Progress]:
    """A transient progress bar on stderr, shown only on a terminal. On Ctrl-C, ``interrupted``
    (what became of the outputs) is printed and the command exits 130."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        try:
            yield bar
        except KeyboardInterrupt:
            if interrupted is None:
                raise
            bar.stop()
            err_console.print(Text(f"interrupted: {interrupted}"), highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
