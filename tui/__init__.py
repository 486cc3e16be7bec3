"""The Textual application (``esm-replay tui``): a read-only browser of captures, runs and
comparisons that reads everything through ``replay/`` (never ``captures/``).

:mod:`tui.app` holds the app, :mod:`tui.screens` one screen a module (catalog, run, record, shard,
invocation, compare), :mod:`tui.widgets` the paged table, the shard timelines and the modals,
:mod:`tui.format` how values read. docs/tui.md has the keys and screens.
"""
