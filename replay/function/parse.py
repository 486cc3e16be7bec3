"""Reading ``--function``: a handler reference, or a declarative model from YAML/JSON checked
field by field (unknown fields are answered with the closest known one)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from replay.assignments import closest
from replay.errors import FunctionModelError, UserError
from replay.function.handler import resolve_handler
from replay.function.model import Duration, Fault, FunctionModel, ThrottlePeriod
from replay.timeutil import parse_time

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


def _check_fields(obj: Mapping[Any, Any], allowed: set[str], where: str) -> None:
    """Refuse the first field of ``obj`` not in ``allowed``, with a "did you mean" hint (names
    compared as written) and the allowed names."""
    for key in obj:
        if key not in allowed:
            name = str(key)
            guess = closest(name, allowed, blind=False)
            hint = f" (did you mean {guess!r}?)" if guess is not None else ""
            raise FunctionModelError(
                f"{where}: unknown field {name!r}{hint}; allowed: {', '.join(sorted(allowed))}"
            )


def parse_model(obj: Any, *, where: str = "function model") -> FunctionModel:
    """Parse the declarative function model of DESIGN.md (already loaded from YAML/JSON)."""
    if not isinstance(obj, Mapping):
        raise FunctionModelError(
            f"{where}: expected a mapping with handler/timeout/duration/faults"
        )
    _check_fields(obj, _MODEL_KEYS, where)
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
    _check_fields(obj, _DURATION_KEYS, f"{where}: duration")
    values = {k: _opt_num(obj, k, f"{where}: duration", lo=0, hi=900_000) for k in _DURATION_KEYS}
    return Duration(**{k: v for k, v in values.items() if v is not None})


def _parse_fault(obj: Any, where: str) -> Fault:
    if not isinstance(obj, Mapping):
        raise FunctionModelError(
            f"{where}: a fault must be a mapping (when/error/report/timeout/probability)"
        )
    _check_fields(obj, _FAULT_KEYS, where)
    error = obj.get("error")
    if error is True:
        error = "Unhandled"
    if error is not None and not isinstance(error, str):
        raise FunctionModelError(f"{where}: error must be an error name such as Unhandled")
    effects = ("error", "report", "timeout", "extra_ms")
    if obj.get("probability") is not None and not any(obj.get(k) for k in effects):
        # a bare probability is a transient function error (DESIGN.md's function model)
        error = "Unhandled"
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
