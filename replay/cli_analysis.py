"""``esm-replay query|explain|sweep|report``: thin typer adapters over the analysis library calls."""

from __future__ import annotations
