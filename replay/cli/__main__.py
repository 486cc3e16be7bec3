"""``python -m replay.cli``: the same command line as ``esm-replay``."""

from replay.cli.main import main

main()
