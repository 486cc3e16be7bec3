"""How the configuration layer words its refusals: the error context and AWS's message forms.

Every error is a :class:`~replay.errors.ConfigError` whose text is one line:
``<where>: <FieldName>: <exception name>: <text>``, where ``where`` is the file name (or ``--set``
when the offending value came from an override). The exception name is AWS's own where AWS would
refuse the value (``ValidationException`` for the shape layer, ``InvalidParameterValueException``
for the rules, botocore's ``ParamValidationError`` for unknown fields and wrong types) and
``ConfigError`` where the refusal is esm-replay's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from replay.assignments import closest
from replay.config.shapes import _Shape
from replay.errors import ConfigError
from replay.vocabulary import SourceKind

# Exception names used in messages. AWS's own where AWS would refuse the value; ``ConfigError``
# where the refusal is esm-replay's (the value is legal for AWS but cannot be replayed here).
_IPVE = "InvalidParameterValueException"
_VALIDATION = "ValidationException"
_PARAM = "ParamValidationError"
_OWN = "ConfigError"

_Path = tuple[str | int, ...]
"""Where a value sits in the API JSON: member names, and list indexes."""


@dataclass
class _Ctx:
    """What a check needs to phrase its error: the file, the source, and which paths --set set."""

    where: str
    kind: SourceKind
    fifo: bool
    max_filters: int
    overridden: set[_Path] = field(default_factory=set)

    def where_for(self, paths: Sequence[_Path]) -> str:
        """``--set`` when an override set (part of) one of ``paths``, else the file name."""
        for path in paths:
            for done in self.overridden:
                n = min(len(path), len(done))
                if n and path[:n] == done[:n]:
                    return "--set"
        return self.where


def _dotted(path: _Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "-"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show(value: Any, limit: int = 100) -> str:
    """A value as it appears in a one-line message (long values cut, newlines folded)."""
    if isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail(ctx: _Ctx, paths: Sequence[_Path], exc: str, text: str) -> NoReturn:
    """Raise the one-line ConfigError ``<where>: <FieldName>: <exc>: <text>``."""
    where = ctx.where_for(paths)
    raise ConfigError(f"{where}: {_dotted(paths[0])}: {exc}: {_one_line(text)}")


def _camel_path(path: _Path) -> str:
    """AWS's member path in a ValidationException: ``filterCriteria.filters.1.member.pattern``."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"{part + 1}.member")
        else:
            parts.append(part[:1].lower() + part[1:])
    return ".".join(parts)


def _validation_text(path: _Path, value: Any, constraint: str) -> str:
    shown = "null" if value is None else f"'{_show(value)}'"
    return (
        f"1 validation error detected: Value {shown} at '{_camel_path(path)}' "
        f"failed to satisfy constraint: {constraint}"
    )


def _unknown(ctx: _Ctx, path: _Path, key: str, names: Iterable[str]) -> NoReturn:
    """An unknown field: never a silent default. Names the closest known field."""
    known = sorted(names)
    guess = closest(key, known)
    hint = f'; did you mean "{guess}"?' if guess else f", must be one of: {', '.join(known)}"
    _fail(ctx, [(*path, key)], _PARAM, f'Unknown parameter in input: "{key}"{hint}')


# botocore's wording of the Python types a shape accepts (ParamValidationError).
_PY_TYPES = {
    "structure": "<class 'dict'>",
    "list": "<class 'list'>, <class 'tuple'>",
    "map": "<class 'dict'>",
    "integer": "<class 'int'>",
    "boolean": "<class 'bool'>",
    "string": "<class 'str'>",
    "timestamp": "<class 'datetime.datetime'>, timestamp-string",
}


def _type_error(ctx: _Ctx, path: _Path, value: Any, shape: _Shape) -> NoReturn:
    _fail(
        ctx,
        [path],
        _PARAM,
        f"Invalid type for parameter {_dotted(path)}, value: {_show(value)}, "
        f"type: {type(value)}, valid types: {_PY_TYPES[shape.type]}",
    )
