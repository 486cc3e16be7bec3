"""Shape checking — the ``ValidationException`` layer — and reading the checked document.

:func:`_check` walks a configuration (API JSON) against the request shape of
:mod:`replay.config.shapes`: types, ranges, enums and patterns, refused in AWS's words. What it
returns is a clean copy (nulls dropped, timestamps in epoch ms) that :func:`_prune` then rids of
unset members; the cross-field rules and the build read only that clean document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from replay.config.messages import (
    _PARAM,
    _VALIDATION,
    _Ctx,
    _dotted,
    _fail,
    _Path,
    _show,
    _type_error,
    _unknown,
    _validation_text,
)
from replay.config.shapes import _REQUEST, _TIMESTAMP, _Shape
from replay.errors import UserError
from replay.timeutil import parse_time
from replay.vocabulary import SourceKind


def _scalar_violation(value: Any, shape: _Shape) -> str | None:
    """The constraint a (type-correct) scalar breaks, in AWS's words, or None."""
    size = len(value) if isinstance(value, str | list | tuple | dict) else value
    noun = "length" if shape.type != "integer" else "value"
    if shape.enum and value not in shape.enum:
        return f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
    if shape.max is not None and size > shape.max:
        return f"Member must have {noun} less than or equal to {shape.max}"
    if shape.min is not None and size < shape.min:
        return f"Member must have {noun} greater than or equal to {shape.min}"
    if (
        shape.pattern is not None
        and isinstance(value, str)
        and not re.fullmatch(shape.pattern, value)
    ):
        return f"Member must satisfy regular expression pattern: {shape.pattern}"
    return None


def _check(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    """Validate ``value`` against ``shape``; return a clean copy (nulls dropped, times in ms)."""
    if shape.type == "structure":
        return _check_struct(value, shape, path, ctx)
    if shape.type == "list":
        return _check_list(value, shape, path, ctx)
    if shape.type == "map":
        return _check_map(value, shape, path, ctx)
    if shape.type == "timestamp":
        return _check_timestamp(value, path, ctx)
    if shape.type == "any":
        return value
    _check_scalar_type(value, shape, path, ctx)
    violation = _scalar_violation(value, shape)
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, value, violation))
    return value


def _check_scalar_type(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> None:
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
    }[shape.type]
    if not ok:
        _type_error(ctx, path, value, shape)


def _check_struct(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        _type_error(ctx, path, value, shape)
    assert shape.members is not None
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = shape.members.get(key) if isinstance(key, str) else None
        if member is None:
            _unknown(ctx, path, str(key), shape.members)
        if item is None:
            continue
        if key == "Pattern" and isinstance(item, dict | list):
            # A pattern written as a YAML/JSON object instead of a JSON string: same meaning.
            item = json.dumps(item)
        if path == () and key == "MaximumBatchingWindowInSeconds" and _is_kafka_default(item, ctx):
            out[key] = item
            continue
        out[key] = _check(item, member, (*path, key), ctx)
    return out


def _is_kafka_default(value: Any, ctx: _Ctx) -> bool:
    """0.5 s is how :meth:`EsmConfig.to_aws` writes the Kafka default window (B11, B17)."""
    return ctx.kind is SourceKind.KAFKA and isinstance(value, float) and value == 0.5


def _check_list(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> list[Any]:
    if not isinstance(value, list | tuple):
        _type_error(ctx, path, value, shape)
    assert shape.item is not None
    item_shape = shape.item
    out: list[Any] = []
    for index, item in enumerate(value):
        if item_shape.type in ("structure", "list", "map", "timestamp"):
            out.append(_check(item, item_shape, (*path, index), ctx))
            continue
        _check_scalar_type(item, item_shape, (*path, index), ctx)
        violation = _scalar_violation(item, item_shape)
        if violation:
            # AWS reports a bad member at the list, wrapping the member's constraint.
            text = f"Member must satisfy constraint: [{violation}]"
            _fail(ctx, [path], _VALIDATION, _validation_text(path, list(value), text))
        out.append(item)
    violation = _scalar_violation(out, _Shape("list", min=shape.min, max=shape.max))
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, list(value), violation))
    return out


def _check_map(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        _type_error(ctx, path, value, shape)
    assert shape.key is not None and shape.item is not None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            _type_error(ctx, (*path, str(key)), key, shape.key)
        violation = _scalar_violation(key, shape.key)
        if violation:
            _fail(ctx, [path], _VALIDATION, _validation_text(path, key, violation))
        if item is not None:
            out[key] = _check(item, shape.item, (*path, key), ctx)
    violation = _scalar_violation(out, _Shape("map", min=shape.min, max=shape.max))
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, list(out), violation))
    return out


def _check_timestamp(value: Any, path: _Path, ctx: _Ctx) -> int:
    """A timestamp as epoch ms: epoch seconds (API JSON), ISO-8601/RFC3339 text, or datetime."""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        _type_error(ctx, path, value, _TIMESTAMP)
    try:
        return parse_time(value, field=_dotted(path))
    except UserError:
        _fail(
            ctx,
            [path],
            _PARAM,
            f"Invalid timestamp value for parameter {_dotted(path)}: {_show(value)}; "
            "use ISO-8601 / RFC3339 (2024-05-01T12:00:00Z) or epoch seconds",
        )


# ---------------------------------------------------------------------------------------------
# The checked document: what is set, and what is not
# ---------------------------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    """Unset in AWS's sense: null, "", [], {} or an object holding only such values."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, Mapping) and all(_is_empty(v) for v in value.values())


def _present(doc: Mapping[str, Any], name: str) -> bool:
    return name in doc and not _is_empty(doc[name])


def _prune(doc: dict[str, Any], shape: _Shape = _REQUEST) -> dict[str, Any]:
    """Drop unset members of objects (AWS: an empty string removes a destination).

    Only structures are pruned: list items and map entries (a tag with an empty value) are data.
    """
    assert shape.members is not None
    out: dict[str, Any] = {}
    for key, value in doc.items():
        member = shape.members.get(key)
        if isinstance(value, dict) and member is not None and member.type == "structure":
            value = _prune(value, member)
        if not _is_empty(value):
            out[key] = value
    return out


def _destination(doc: Mapping[str, Any]) -> str | None:
    """The on-failure destination of a checked document, or None."""
    value = doc.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return value or None
