"""The ``esm-replay`` command line: thin typer adapters over library calls.

Every command parses its options, calls one function of the core (the same function the TUI and
tests call) and prints. A user mistake (:class:`~replay.errors.UserError`) prints one line and exits
2; anything else is a bug and keeps its traceback (exit 1). ``captures`` (AWS, Kafka) and ``tui``
are imported inside the commands that need them, so the core stays importable without them.

Importing this module registers every command on :data:`replay.cli.app.app`.
"""

from __future__ import annotations

import importlib
import sys

from rich.text import Text

from replay.cli.app import app, err_console
from replay.errors import UserError

__all__ = ["app", "main"]

# Each command module registers its commands on ``app`` when imported; this order is --help's.
COMMAND_MODULES = (
    "replay.cli.run",
    "replay.cli.analysis",
    "replay.cli.tui",
    "replay.cli.capture_live",
    "replay.cli.capture",
)
for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def main() -> None:
    """Console-script entry point: user errors become one line and exit code 2.

    The message is printed as plain text (a :class:`~rich.text.Text`, never parsed as markup):
    it holds paths, names and values, and ``[/x]`` or ``[report]`` in them must come out as typed.
    """
    # A SQL argument that begins with a comment ("-- which records ...") would be read as an
    # option; no option starts with "-- ", so such an argument is passed on as the text it is.
    sys.argv[1:] = [f"\n{a}" if a.startswith(("-- ", "--\n", "--\t")) else a for a in sys.argv[1:]]
    try:
        app()
    except UserError as exc:
        err_console.print(
            Text.assemble(("error:", "red"), " ", str(exc)), highlight=False, soft_wrap=True
        )
        sys.exit(2)
