"""esm-replay core: capture and run formats, ESM configuration, function models and the
deterministic virtual-time simulation of Lambda event source mappings.

This package is pure: it never imports boto3, confluent_kafka or textual (a test and import-linter
enforce it), so it runs anywhere a capture can be read — a laptop, CI, a notebook.

The public face, for notebooks, the TUI and other tools (each name is loaded on first use, so
``import replay`` stays cheap and reading runs never loads the engine)::

    import replay
    run = replay.replay("capture", "run", overrides=["MaximumRetryAttempts=2"])
    replay.compare([replay.read_run("run"), replay.read_run("other")], ["a", "b"])

Where each lives: docs/architecture.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
ENGINE_VERSION = "0.1.0"

# name -> the module that defines it
_PUBLIC = {
    "replay": "replay.engine.runner",
    "RunRequest": "replay.engine.runner",
    "run_capture": "replay.engine.runner",
    "RunResult": "replay.formats.runfiles",
    "read_run": "replay.formats.runfiles",
    "Capture": "replay.formats.capture",
    "read_capture": "replay.formats.capture",
    "write_capture": "replay.formats.capture",
    "EsmConfig": "replay.config",
    "parse_config": "replay.config",
    "load_config": "replay.config",
    "FunctionModel": "replay.function",
    "load_function": "replay.function",
    "compare": "replay.analysis.compare",
    "Comparison": "replay.analysis.compare",
    "explain_record": "replay.analysis.explain",
    "explain_shard": "replay.analysis.timeline",
    "render_record": "replay.analysis.explain",
    "run_query": "replay.analysis.query",
    "connect": "replay.analysis.query",
    "recommend": "replay.analysis.pareto",
    "build_report": "replay.analysis.report",
    "run_sweep": "replay.sweep",
    "SourceKind": "replay.vocabulary",
    "Disposition": "replay.vocabulary",
    "UserError": "replay.errors",
}
__all__ = [
    "ENGINE_VERSION",
    "Capture",
    "Comparison",
    "Disposition",
    "EsmConfig",
    "FunctionModel",
    "RunRequest",
    "RunResult",
    "SourceKind",
    "UserError",
    "__version__",
    "build_report",
    "compare",
    "connect",
    "explain_record",
    "explain_shard",
    "load_config",
    "load_function",
    "parse_config",
    "read_capture",
    "read_run",
    "recommend",
    "render_record",
    "replay",
    "run_capture",
    "run_query",
    "run_sweep",
    "write_capture",
]

if TYPE_CHECKING:
    from replay.analysis.compare import Comparison, compare
    from replay.analysis.explain import explain_record, render_record
    from replay.analysis.pareto import recommend
    from replay.analysis.query import connect, run_query
    from replay.analysis.report import build_report
    from replay.analysis.timeline import explain_shard
    from replay.config import EsmConfig, load_config, parse_config
    from replay.engine.runner import RunRequest, replay, run_capture
    from replay.errors import UserError
    from replay.formats.capture import Capture, read_capture, write_capture
    from replay.formats.runfiles import RunResult, read_run
    from replay.function import FunctionModel, load_function
    from replay.sweep import run_sweep
    from replay.vocabulary import Disposition, SourceKind


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'replay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
