"""The typer face of esm-replay: the only part of ``replay/`` that reaches ``captures/`` and
``tui/`` (lazily, inside commands). ``replay.cli.main:main`` is the console script."""
