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
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from replay.errors import FunctionModelError, UserError
from replay.timeutil import parse_time

Handler = Callable[[dict[str, Any], Any], Any]

DEFAULT_TIMEOUT_S = 3.0  # Lambda's default function timeout
DEFAULT_MEMORY_MB = 128


class InvokeResult(StrEnum):
    """How one invocation attempt ended, as the ESM sees it."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    PARTIAL = "partial"
    INVALID = "invalid-response"


@dataclass(frozen=True)
class Duration:
    """Virtual time an invocation takes: ``base_ms + per_record_ms * records + per_kb_ms * kB``."""

    base_ms: float = 20.0
    per_record_ms: float = 0.5
    per_kb_ms: float = 0.0

    def of(self, records: int, nbytes: int) -> int:
        """Duration in whole milliseconds (rounded up, at least 1)."""
        ms = self.base_ms + self.per_record_ms * records + self.per_kb_ms * nbytes / 1024
        return max(1, math.ceil(ms))


@dataclass(frozen=True)
class Fault:
    """One fault rule of a declarative model.

    Attributes:
        when: SQL predicate over capture columns (DuckDB); None means "any batch".
        error: a batch holding a matching record raises (function error ``Unhandled``).
        report: matching records are returned in ``batchItemFailures``.
        timeout: a batch holding a matching record runs until the function timeout.
        probability: the rule fires only with this probability per invocation (seeded).
        times: the rule applies to a record's first ``times`` deliveries only (transient).
        extra_ms: virtual time added to the invocation per matching record.
        from_ms: the rule applies only to invocations starting at or after this instant (a
            regression deployed then).
        to_ms: the rule applies only to invocations starting before this instant (the fix
            deployed then: the next invocation runs the new code, as in recorded case S13).
    """

    when: str | None = None
    error: str | None = None
    report: bool = False
    timeout: bool = False
    probability: float | None = None
    times: int | None = None
    extra_ms: float = 0.0
    from_ms: int | None = None
    to_ms: int | None = None

    def active(self, now_ms: int | None) -> bool:
        """Whether the rule applies to an invocation starting at ``now_ms`` (S13: a new function
        version takes every invocation that starts after the update)."""
        if now_ms is None:
            return True
        if self.from_ms is not None and now_ms < self.from_ms:
            return False
        return self.to_ms is None or now_ms < self.to_ms


@dataclass(frozen=True)
class ThrottlePeriod:
    """A span of virtual time during which every invocation is throttled (before invocation)."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class FunctionModel:
    """The whole function model: handler and/or declarative behaviour plus Lambda settings."""

    handler: str | None = None
    name: str | None = None
    timeout_s: float | None = None
    memory_mb: int | None = None
    duration: Duration = field(default_factory=Duration)
    reserved_concurrency: int | None = None
    faults: tuple[Fault, ...] = ()
    throttles: tuple[ThrottlePeriod, ...] = ()
    source: str = "default"

    def to_json(self) -> dict[str, Any]:
        """The model as recorded in run.json."""
        return {
            "source": self.source,
            "handler": self.handler,
            "name": self.name,
            "timeout_s": self.timeout_s,
            "memory_mb": self.memory_mb,
            "duration": {
                "base_ms": self.duration.base_ms,
                "per_record_ms": self.duration.per_record_ms,
                "per_kb_ms": self.duration.per_kb_ms,
            },
            "reserved_concurrency": self.reserved_concurrency,
            "faults": [
                {k: v for k, v in vars(f).items() if v not in (None, False, 0.0)}
                for f in self.faults
            ],
            "throttles": [{"start_ms": t.start_ms, "end_ms": t.end_ms} for t in self.throttles],
        }


_MODEL_KEYS = {
    "handler",
    "name",
    "timeout",
    "memory",
    "duration",
    "reserved_concurrency",
    "faults",
    "throttles",
}
_FAULT_KEYS = {
    "when",
    "error",
    "report",
    "timeout",
    "probability",
    "times",
    "extra_ms",
    "from",
    "to",
}
_DURATION_KEYS = {"base_ms", "per_record_ms", "per_kb_ms"}


def load_function(spec: str | None) -> FunctionModel:
    """Resolve ``--function``: a handler reference, a YAML/JSON model file, or None (always succeeds).

    Raises:
        FunctionModelError: the file is malformed or the handler cannot be imported.
    """
    if spec is None:
        return FunctionModel()
    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
        return parse_model(_read_model_file(path), where=str(path))
    resolve_handler(spec)  # fail early, with a clear line, on a bad reference
    return FunctionModel(handler=spec, source="handler")


def _read_model_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:
        raise FunctionModelError(f"{path}: not valid {path.suffix[1:].upper()} ({exc})") from None


def _closest(name: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}; allowed: {', '.join(sorted(allowed))}"


def parse_model(obj: Any, *, where: str = "function model") -> FunctionModel:
    """Parse the declarative function model of DESIGN.md (already loaded from YAML/JSON)."""
    if not isinstance(obj, Mapping):
        raise FunctionModelError(
            f"{where}: expected a mapping with handler/timeout/duration/faults"
        )
    for key in obj:
        if key not in _MODEL_KEYS:
            raise FunctionModelError(f"{where}: {_closest(str(key), _MODEL_KEYS)}")
    handler = obj.get("handler")
    if handler is not None:
        if not isinstance(handler, str):
            raise FunctionModelError(f"{where}: handler must be a string like path/file.py:func")
        base = Path(where).parent if where.endswith((".yaml", ".yml", ".json")) else Path(".")
        handler = _anchor_handler(handler, base)
        resolve_handler(handler)
    return FunctionModel(
        handler=handler,
        name=_opt_str(obj, "name", where),
        timeout_s=_opt_num(obj, "timeout", where, lo=1, hi=900),
        memory_mb=_opt_int(obj, "memory", where, lo=128, hi=10240),
        duration=_parse_duration(obj.get("duration"), where),
        reserved_concurrency=_opt_int(obj, "reserved_concurrency", where, lo=0, hi=1_000_000),
        faults=tuple(
            _parse_fault(f, f"{where}: faults[{i}]")
            for i, f in enumerate(_as_list(obj, "faults", where))
        ),
        throttles=tuple(
            _parse_throttle(t, f"{where}: throttles[{i}]")
            for i, t in enumerate(_as_list(obj, "throttles", where))
        ),
        source="model",
    )


def _anchor_handler(handler: str, base: Path) -> str:
    """A model file's relative handler path is relative to the model file, not the shell."""
    module, _, func = handler.rpartition(":")
    if module.endswith(".py") and not Path(module).is_absolute():
        candidate = base / module
        if candidate.is_file():
            return f"{candidate}:{func}"
    return handler


def _as_list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key) or []
    if not isinstance(value, list):
        raise FunctionModelError(f"{where}: {key} must be a list")
    return value


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise FunctionModelError(f"{where}: {key} must be a string")
    return value


def _opt_num(obj: Mapping[str, Any], key: str, where: str, *, lo: float, hi: float) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise FunctionModelError(
            f"{where}: {key} must be a number from {lo:g} to {hi:g}, got {value!r}"
        )
    return float(value)


def _opt_int(obj: Mapping[str, Any], key: str, where: str, *, lo: int, hi: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FunctionModelError(
            f"{where}: {key} must be an integer from {lo} to {hi}, got {value!r}"
        )
    return value


def _parse_duration(obj: Any, where: str) -> Duration:
    if obj is None:
        return Duration()
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return Duration(base_ms=float(obj), per_record_ms=0.0)
    if not isinstance(obj, Mapping):
        raise FunctionModelError(
            f"{where}: duration must be a number of ms or {{base_ms, per_record_ms, per_kb_ms}}"
        )
    for key in obj:
        if key not in _DURATION_KEYS:
            raise FunctionModelError(f"{where}: duration: {_closest(str(key), _DURATION_KEYS)}")
    values = {k: _opt_num(obj, k, f"{where}: duration", lo=0, hi=900_000) for k in _DURATION_KEYS}
    return Duration(**{k: v for k, v in values.items() if v is not None})


def _parse_fault(obj: Any, where: str) -> Fault:
    if not isinstance(obj, Mapping):
        raise FunctionModelError(
            f"{where}: a fault must be a mapping (when/error/report/timeout/probability)"
        )
    for key in obj:
        if key not in _FAULT_KEYS:
            raise FunctionModelError(f"{where}: {_closest(str(key), _FAULT_KEYS)}")
    error = obj.get("error")
    if error is True:
        error = "Unhandled"
    if error is not None and not isinstance(error, str):
        raise FunctionModelError(f"{where}: error must be an error name such as Unhandled")
    fault = Fault(
        when=_opt_str(obj, "when", where),
        error=error,
        report=bool(obj.get("report", False)),
        timeout=bool(obj.get("timeout", False)),
        probability=_opt_num(obj, "probability", where, lo=0, hi=1),
        times=_opt_int(obj, "times", where, lo=1, hi=1_000_000),
        extra_ms=_opt_num(obj, "extra_ms", where, lo=0, hi=900_000) or 0.0,
        from_ms=_opt_time(obj, "from", where),
        to_ms=_opt_time(obj, "to", where),
    )
    if fault.from_ms is not None and fault.to_ms is not None and fault.to_ms <= fault.from_ms:
        raise FunctionModelError(f"{where}: 'to' must be after 'from'")
    if not (
        fault.error
        or fault.report
        or fault.timeout
        or fault.extra_ms
        or fault.probability is not None
    ):
        raise FunctionModelError(
            f"{where}: says nothing happens; give error, report, timeout, extra_ms or probability"
        )
    return fault


def _opt_time(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    if obj.get(key) is None:
        return None
    try:
        return parse_time(obj[key], field=f"{where}: {key}")
    except UserError as exc:
        raise FunctionModelError(str(exc)) from None


def _parse_throttle(obj: Any, where: str) -> ThrottlePeriod:
    if not isinstance(obj, Mapping) or "from" not in obj or "to" not in obj:
        raise FunctionModelError(
            f"{where}: a throttle period needs 'from' and 'to' (ISO-8601 or epoch seconds)"
        )
    start = parse_time(obj["from"], field=f"{where}: from")
    end = parse_time(obj["to"], field=f"{where}: to")
    if end <= start:
        raise FunctionModelError(f"{where}: 'to' must be after 'from'")
    return ThrottlePeriod(start, end)


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


def compile_faults(model: FunctionModel, records: pa.Table) -> list[np.ndarray]:
    """Evaluate every fault's ``when`` predicate over the capture once, with DuckDB.

    ``data`` is presented as text (UTF-8 decoded, NULL when not text) so predicates such as
    ``json_extract_string(data::VARCHAR, '$.type') = 'bad'`` work; a predicate that errors on a
    row (malformed JSON, a failed cast) is false for that row rather than failing the replay.

    Returns:
        one boolean mask per fault, aligned with ``records`` rows (all True when ``when`` is None).

    Raises:
        FunctionModelError: a predicate is not valid SQL for the capture's columns.
    """
    import duckdb

    masks: list[np.ndarray] = []
    if not model.faults:
        return masks
    con = duckdb.connect()
    try:
        con.register("capture_records", records)
        con.execute(
            "CREATE TEMP VIEW records AS SELECT * REPLACE (try(decode(data)) AS data) FROM capture_records"
        )
        for i, fault in enumerate(model.faults):
            if fault.when is None:
                masks.append(np.ones(records.num_rows, dtype=bool))
                continue
            sql = f"SELECT coalesce(try(({fault.when})), false) AS hit FROM records"
            try:
                hit = con.execute(sql).fetchnumpy()["hit"]
            except duckdb.Error as exc:
                first_line = str(exc).splitlines()[0]
                raise FunctionModelError(f"faults[{i}].when {fault.when!r}: {first_line}") from None
            masks.append(np.asarray(hit, dtype=bool))
    finally:
        con.close()
    return masks


@dataclass(frozen=True)
class FaultVerdict:
    """What the declarative faults decide for one batch."""

    throttled: bool = False
    timeout: bool = False
    error: str | None = None
    reported: np.ndarray | None = None  # positions in the batch to report as failed
    extra_ms: float = 0.0


def judge_faults(
    model: FunctionModel,
    masks: Sequence[np.ndarray],
    rows: np.ndarray,
    seen: np.ndarray,
    rng: random.Random,
    now_ms: int | None = None,
) -> FaultVerdict:
    """Apply the fault rules to one batch.

    Args:
        rows: capture row indices of the batch.
        seen: for each batch row, how many times the function will have seen it with this attempt.
        now_ms: when the invocation starts: rules with ``from``/``to`` apply only inside their span.
    """
    timeout = False
    error: str | None = None
    reported: np.ndarray | None = None
    extra = 0.0
    fired = False
    for fault, mask in zip(model.faults, masks, strict=True):
        if not fault.active(now_ms):
            continue
        hit = mask[rows]
        if fault.times is not None:
            hit &= seen <= fault.times
        if not hit.any():
            continue
        if fault.probability is not None and rng.random() >= fault.probability:
            continue
        fired = True
        timeout = timeout or fault.timeout
        if fault.error and error is None:
            error = fault.error
        if fault.report:
            reported = hit if reported is None else reported | hit
        extra += fault.extra_ms * int(hit.sum())
    if not fired:
        return NO_FAULT
    return FaultVerdict(
        timeout=timeout,
        error=error,
        reported=np.flatnonzero(reported) if reported is not None else None,
        extra_ms=extra,
    )


NO_FAULT = FaultVerdict()


def throttled_at(model: FunctionModel, now_ms: int) -> bool:
    """True when a throttle period of the model covers ``now_ms``."""
    return any(t.start_ms <= now_ms < t.end_ms for t in model.throttles)
