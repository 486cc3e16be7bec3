"""The Textual application (``esm-replay tui``): reads captures and runs through ``replay/`` only.

Not built yet: the comparison tables and run summaries it will show are already library calls in
``replay.analysis.compare`` and ``replay.engine.runner``.
"""
