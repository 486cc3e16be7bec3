"""``--set Key=Value`` overrides: applied to the API JSON before defaults and validation.

``Key`` is a dotted member path (PascalCase or Terraform's snake_case per segment:
``DestinationConfig.OnFailure.Destination``, ``scaling_config.maximum_concurrency``); ``Value`` is
JSON when it parses, else text, and empty to delete the member. ``Source.<Setting>=Value`` sets a
setting of the captured source instead (``Source.VisibilityTimeout=30``), returned separately.
Errors caused by an override name ``--set`` instead of the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from replay.assignments import normalised, split_assignment
from replay.config.messages import _OWN, _Ctx, _dotted, _fail, _Path, _show, _unknown
from replay.config.model import _parent
from replay.config.shapes import _REQUEST, _Shape, _snake, _split
from replay.errors import ConfigError

_DELETE = object()


def _parse_value(raw: str) -> Any:
    """JSON when it parses (numbers, true/false, lists, objects), else the text; "" deletes."""
    if raw == "":
        return _DELETE
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _resolve_key(key: str, ctx: _Ctx) -> tuple[_Path, _Shape]:
    """Map ``A.B.C`` (PascalCase or snake_case segments) to the API path and its shape."""
    shape = _REQUEST
    path: _Path = ()
    for segment in key.split("."):
        if shape.type == "map":
            assert shape.item is not None
            path, shape = (*path, segment), shape.item
            continue
        if shape.type != "structure":
            _fail(
                ctx,
                [(key,)],
                _OWN,
                f"{_dotted(path)} is a {shape.type}; give its whole value as JSON instead",
            )
        assert shape.members is not None
        member = _match_member(segment, shape.members)
        if member is None:
            _unknown(ctx, path, segment, shape.members)
        path, shape = (*path, member), shape.members[member]
    return path, shape


def _match_member(segment: str, members: Mapping[str, _Shape]) -> str | None:
    if segment in members:
        return segment
    wanted = normalised(segment)
    for name in members:
        if wanted in (normalised(name), normalised(_snake(name))):
            return name
    return None


def _coerce_override(value: Any, shape: _Shape, path: _Path) -> Any:
    """Conveniences of the command line: ``Topics=orders``, ``FilterCriteria.Filters=["{...}"]``.

    A filter given as a bare pattern (text or object) is wrapped as ``{"Pattern": ...}``; a list
    field given as text is split on commas.
    """
    if path == ("FilterCriteria", "Filters"):
        items = value if isinstance(value, list) else [value]
        return [
            item if isinstance(item, Mapping) and set(item) == {"Pattern"} else {"Pattern": item}
            for item in items
        ]
    if shape.type == "list" and isinstance(value, str):
        return _split(value)
    return value


def _apply_overrides(
    doc: dict[str, Any], overrides: Sequence[str], ctx: _Ctx
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply ``Key=Value`` overrides to API JSON; collect ``Source.*`` ones separately."""
    source: dict[str, Any] = {}
    set_ctx = _Ctx("--set", ctx.kind, ctx.fifo, ctx.max_filters)
    for item in overrides:
        assignment = split_assignment(item)
        if assignment is None:
            raise ConfigError(f"--set: {_show(item)}: {_OWN}: expected Key=Value")
        key, raw = assignment
        value = _parse_value(raw)
        if key.split(".", 1)[0].lower() == "source":
            _put_source(source, key.split(".")[1:], value, item)
            continue
        path, shape = _resolve_key(key, set_ctx)
        if value is not _DELETE:
            value = _coerce_override(value, shape, path)
        _put(doc, [str(p) for p in path], value)
        ctx.overridden.add(path)
    return doc, source


def _put(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = _parent(doc, path)
    if value is _DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _put_source(source: dict[str, Any], path: list[str], value: Any, item: str) -> None:
    """``Source.VisibilityTimeout=30`` → ``{"VisibilityTimeout": 30}``; empty value → None."""
    if not path or not all(path):
        raise ConfigError(f"--set: {_show(item)}: {_OWN}: expected Source.<Setting>=Value")
    _parent(source, path)[path[-1]] = None if value is _DELETE else value
