"""Function models: what the simulated Lambda function does with a batch.

Two kinds, freely combined:

* a **handler** — ``path/to/file.py:func`` or ``package.module:func`` — called in-process with the
  exact event AWS would send and a Lambda-like context; an exception is a function error
  ("Unhandled"), the return value is the response the ESM interprets;
* a **declarative model** (YAML/JSON, see docs/function-model.md): timeout, virtual duration,
  reserved concurrency, throttle periods and faults whose ``when`` predicates are SQL over the
  capture's columns, evaluated once by DuckDB into boolean masks, so deciding a batch's fate is a
  few numpy operations and never touches payload bytes.

Time is virtual: a handler's wall-clock time is ignored, the model's ``duration`` decides how long an
invocation takes, and an invocation whose duration exceeds the timeout is a timeout (B24).

Modules: :mod:`.model` (the dataclasses), :mod:`.parse` (``--function`` and the YAML/JSON model),
:mod:`.handler` (importing a handler, its context object) and :mod:`.faults` (compiling and judging
declarative faults, throttle periods).
"""

from replay.function.faults import (
    NO_FAULT,
    FaultVerdict,
    compile_faults,
    judge_faults,
    throttled_at,
)
from replay.function.handler import Handler, LambdaContext, marshal, resolve_handler
from replay.function.model import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    Duration,
    Fault,
    FunctionModel,
    InvokeResult,
    ThrottlePeriod,
)
from replay.function.parse import load_function, parse_model

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "NO_FAULT",
    "Duration",
    "Fault",
    "FaultVerdict",
    "FunctionModel",
    "Handler",
    "InvokeResult",
    "LambdaContext",
    "ThrottlePeriod",
    "compile_faults",
    "judge_faults",
    "load_function",
    "marshal",
    "parse_model",
    "resolve_handler",
    "throttled_at",
]
