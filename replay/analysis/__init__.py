"""Answers from run files: DuckDB views, compare, explain, sweep results, the HTML report.

Everything here reads captures and runs through :mod:`replay.formats`; nothing imports the engine
(an import-linter contract), so the analysis layer and the TUI open runs without the simulation."""
