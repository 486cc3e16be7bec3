"""The files esm-replay reads and writes: captures, runs, observed failure records, and atomic
directory writes. Nothing here imports the engine, so anything that reads files (analysis, the
TUI, notebooks) can use it without loading the simulation."""
