"""Handlers: importing the user's ``path/to/file.py:func`` or ``package.module:func`` and the
Lambda-like context object it is called with."""

from __future__ import annotations

import decimal
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay.errors import FunctionModelError

Handler = Callable[[dict[str, Any], Any], Any]


def resolve_handler(spec: str) -> Handler:
    """Import ``path/to/file.py:func`` or ``package.module:func`` and return the callable."""
    module_ref, sep, func_name = spec.rpartition(":")
    if not sep or not module_ref or not func_name:
        raise FunctionModelError(
            f"--function {spec!r}: expected path/to/file.py:function, package.module:function or a .yaml/.json model"
        )
    try:
        if module_ref.endswith(".py") or "/" in module_ref:
            module = _import_file(Path(module_ref), spec)
        else:
            module = importlib.import_module(module_ref)
    except FunctionModelError:
        raise
    except SystemExit as exc:  # the module exits while it is imported: never end the replay
        raise FunctionModelError(
            f"--function {spec!r}: importing {module_ref!r} called sys.exit({exc.code!r})"
        ) from None
    except Exception as exc:
        raise FunctionModelError(
            f"--function {spec!r}: cannot import {module_ref!r}: {type(exc).__name__}: {exc}"
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise FunctionModelError(
            f"--function {spec!r}: {module_ref!r} has no callable {func_name!r}"
        )
    return func


def _import_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise FunctionModelError(f"--function {spec!r}: file {str(path)!r} not found")
    resolved = path.resolve()
    name = "esm_replay_handler_" + str(abs(hash(str(resolved))))
    if name in sys.modules:
        return sys.modules[name]
    # The handler's own directory goes on sys.path so it can import its sibling modules, as in Lambda.
    if str(resolved.parent) not in sys.path:
        sys.path.insert(0, str(resolved.parent))
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise FunctionModelError(f"--function {spec!r}: cannot load {str(path)!r}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class LambdaContext:
    """The context object handed to a handler: the attributes Python handlers use."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_ms: int

    def get_remaining_time_in_millis(self) -> int:
        """Virtual time is frozen while the handler runs, so this is the whole timeout."""
        return self.timeout_ms


def _decimal(value: Any) -> Any:
    # Lambda's Python runtime serialises Decimal (DynamoDB numbers); nothing else beyond JSON
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def marshal(response: Any) -> None:
    """What Lambda's runtime does with a handler's return value: JSON, or Runtime.MarshalError.

    Raises:
        TypeError, ValueError: the value cannot be serialised (a set, an arbitrary object, a
            reference cycle).
    """
    json.dumps(response, default=_decimal)
