"""Filter patterns: validation and compilation of ``FilterCriteria`` pattern text into matchers
(A06; AND across fields and OR across filters, B54), and the field matchers that apply the
payload format-mismatch rules (B53, B72, Kafka's B80).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from replay.filters.values import (
    RESERVED_IN_OR,
    FilterPatternError,
    Matcher,
    Values,
    compile_values,
)
from replay.filters.views import JSON_DECODER, PAYLOAD_TYPES

MAX_DEPTH: Final = 100
"""esm-replay's own limit on pattern nesting (AWS documents none; matching recurses per level)."""


class _Missing:
    """The value of a field that is absent from the record."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()
_EMPTY: Final[Mapping[str, Any]] = {}


# --------------------------------------------------------------------------- public types
@dataclass(frozen=True)
class Pattern:
    """One compiled filter pattern.

    Attributes:
        canonical: The pattern as canonical JSON (sorted keys); equality and hashing use it.
        source: The text as given.
        top_keys: Top-level field names the pattern (or a top-level ``$or`` branch) constrains.
        top_leaf_keys: Those of ``top_keys`` given as a value array rather than a nested object.
        matcher: Tests one filter view; use :func:`pattern_matches`.
    """

    canonical: str
    source: str = field(compare=False)
    top_keys: frozenset[str] = field(compare=False)
    top_leaf_keys: frozenset[str] = field(compare=False)
    matcher: Callable[[Mapping[str, Any]], bool] = field(compare=False, repr=False)


@dataclass(frozen=True)
class FilterSet:
    """The FilterCriteria of one ESM: a record passes when any pattern matches (B54).

    Attributes:
        patterns: The compiled patterns; empty means no filtering (everything passes).
    """

    patterns: tuple[Pattern, ...] = ()

    @staticmethod
    def from_texts(texts: Sequence[str]) -> FilterSet:
        """Compile ``FilterCriteria.Filters[].Pattern`` strings.

        Args:
            texts: The pattern strings, in configuration order.

        Returns:
            The compiled set.

        Raises:
            FilterPatternError: If any pattern is invalid (A06).
            TypeError: If ``texts`` is a single string rather than a sequence of them.
        """
        if isinstance(texts, str):
            raise TypeError("from_texts takes a sequence of pattern strings, not one string")
        return FilterSet(tuple(parse_pattern(text) for text in texts))

    @property
    def top_keys(self) -> frozenset[str]:
        """Top-level field names any pattern constrains."""
        return frozenset().union(*(p.top_keys for p in self.patterns))

    def matches(self, view: Mapping[str, Any]) -> bool:
        """Whether a filter view passes the FilterCriteria (B54: OR across filters).

        Args:
            view: A filter view built by :func:`filter_view`.

        Returns:
            True when no patterns are configured or at least one matches.
        """
        if not self.patterns:
            return True
        return any(p.matcher(view) for p in self.patterns)


# --------------------------------------------------------------------------- parsing
def parse_pattern(text: str) -> Pattern:
    """Validate and compile one filter pattern (A06).

    Duplicate keys keep their last value, as the Lambda docs state ("Duplicate keys").

    Args:
        text: The ``Pattern`` string of one filter.

    Returns:
        The compiled pattern.

    Raises:
        FilterPatternError: For anything AWS rejects: text that is not a JSON object, an empty
            object or array, a value that is neither an array nor an object, an unknown or
            unsupported operator, or bad operator operands.
    """
    if not isinstance(text, str):
        raise FilterPatternError(f"pattern must be a string, got {type(text).__name__}")
    try:
        doc = JSON_DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise FilterPatternError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise FilterPatternError("a pattern must be a JSON object")
    matcher = _compile_object(doc, "", top=True, in_or=False, depth=1)
    top_keys, top_leaf_keys = _top_keys(doc)
    return Pattern(
        canonical=json.dumps(doc, sort_keys=True, separators=(",", ":")),
        source=text,
        top_keys=top_keys,
        top_leaf_keys=top_leaf_keys,
        matcher=matcher,
    )


def _top_keys(doc: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """Top-level field names of a validated pattern, looking through top-level ``$or`` branches."""
    keys: set[str] = set()
    leaf: set[str] = set()
    for key, spec in doc.items():
        if key == "$or":
            for branch in spec:
                sub_keys, sub_leaf = _top_keys(branch)
                keys |= sub_keys
                leaf |= sub_leaf
        else:
            keys.add(key)
            if isinstance(spec, list):
                leaf.add(key)
    return frozenset(keys), frozenset(leaf)


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _compile_object(
    obj: Mapping[str, Any], path: str, *, top: bool, in_or: bool, depth: int
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a pattern object: every field must match and every ``$or`` group must (B54)."""
    if not obj:
        raise FilterPatternError(f"empty object at {path or 'top level'}")
    if depth > MAX_DEPTH:
        raise FilterPatternError(f"pattern nested deeper than {MAX_DEPTH} levels")
    fields: list[tuple[str, Matcher]] = []
    or_groups: list[tuple[Callable[[Mapping[str, Any]], bool], ...]] = []
    for key, spec in obj.items():
        where = _where(path, key)
        if in_or and key in RESERVED_IN_OR:
            raise FilterPatternError(f"{where}: operator name used as a field inside $or")
        if key == "$or":
            or_groups.append(_compile_or(spec, path, top=top, depth=depth + 1))
        elif isinstance(spec, dict):
            sub = _compile_object(spec, where, top=False, in_or=in_or, depth=depth + 1)
            fields.append((key, _nested_field(sub, top=top)))
        elif isinstance(spec, list):
            fields.append((key, _leaf_field(compile_values(spec, where), top=top)))
        else:
            raise FilterPatternError(f"{where}: a value must be an array or an object")
    return _all_of(tuple(fields), tuple(or_groups))


def _compile_or(
    spec: Any, path: str, *, top: bool, depth: int
) -> tuple[Callable[[Mapping[str, Any]], bool], ...]:
    """``$or`` (listed by the Lambda docs as "Or (multiple fields)"): an array of ≥2 objects."""
    where = _where(path, "$or")
    if not isinstance(spec, list) or len(spec) < 2:
        raise FilterPatternError(f"{where}: $or needs an array of at least two objects")
    branches = []
    for branch in spec:
        if not isinstance(branch, dict):
            raise FilterPatternError(f"{where}: $or array members must be objects")
        branches.append(_compile_object(branch, path, top=top, in_or=True, depth=depth))
    return tuple(branches)


def _all_of(
    fields: tuple[tuple[str, Matcher], ...],
    or_groups: tuple[tuple[Callable[[Mapping[str, Any]], bool], ...], ...],
) -> Callable[[Mapping[str, Any]], bool]:
    """AND of field tests and ``$or`` groups over one mapping; specialised for the common shapes."""
    if not or_groups and len(fields) == 1:
        ((key, test),) = fields

        def one_field(m: Mapping[str, Any]) -> bool:
            return test(m.get(key, _MISSING))

        return one_field

    if not or_groups:

        def all_fields(m: Mapping[str, Any]) -> bool:
            get = m.get
            # An explicit loop: no generator object per record on the hot path.
            for key, test in fields:  # noqa: SIM110
                if not test(get(key, _MISSING)):
                    return False
            return True

        return all_fields

    def fields_and_ors(m: Mapping[str, Any]) -> bool:
        get = m.get
        for key, test in fields:
            if not test(get(key, _MISSING)):
                return False
        return all(any(branch(m) for branch in group) for group in or_groups)

    return fields_and_ors


# --------------------------------------------------------------------------- field matchers
# JSON leaves; ``type(v) in _SCALARS`` is the cheapest test on the per-record path (an ABC
# ``isinstance(v, Mapping)`` on every string costs more than the rest of a leaf test).
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _is_mapping(value: Any) -> bool:
    return isinstance(value, (dict, Mapping))


def _object_elements(values: list[Any]) -> list[Mapping[str, Any]]:
    """The objects inside an array (nested arrays flattened, as event-ruler flattens them)."""
    found: list[Mapping[str, Any]] = []
    for value in values:
        if isinstance(value, list):
            found.extend(_object_elements(value))
        elif _is_mapping(value):
            found.append(value)
    return found


def _leaf_values(values: list[Any]) -> list[Any]:
    """The leaves (non-object, non-array values) inside an array, nested arrays flattened."""
    found: list[Any] = []
    for value in values:
        if type(value) in _SCALARS:
            found.append(value)
        elif isinstance(value, list):
            found.extend(_leaf_values(value))
        elif not _is_mapping(value):
            found.append(value)
    return found


def _nested_field(sub: Callable[[Mapping[str, Any]], bool], *, top: bool) -> Matcher:
    """A field whose pattern is an object: descend into the record's value.

    A value that is not an object (missing, a leaf) is seen as an empty object, so only
    ``exists: false`` parts of the sub-pattern can hold — event-ruler's flattened view.
    """
    when_empty = sub(_EMPTY)

    def nested(value: Any) -> bool:
        if isinstance(value, dict):
            return sub(value)
        if type(value) in _SCALARS or value is _MISSING:
            return when_empty
        if isinstance(value, list):
            objects = _object_elements(value)
            return any(sub(o) for o in objects) if objects else when_empty
        if isinstance(value, Mapping):
            return sub(value)
        return when_empty

    if not top:
        return nested

    def top_nested(value: Any) -> bool:
        if isinstance(value, dict):
            return sub(value)
        # B53/B72: a JSON pattern on a payload that is not JSON drops the record (Kafka: ignored).
        if type(value) in PAYLOAD_TYPES and value.shape != "json":
            return bool(value.lenient)
        return nested(value)

    return top_nested


def _leaf_field(values: Values, *, top: bool) -> Matcher:
    """A field whose pattern is a value array: OR of the tests over the value's leaves."""
    test, exists_true, exists_false = values.test, values.exists_true, values.exists_false

    def leaf(value: Any) -> bool:
        if type(value) in _SCALARS:
            return exists_true or test(value)
        if value is _MISSING:
            return exists_false
        if isinstance(value, list):
            leaves = _leaf_values(value)
            if not leaves:
                return exists_false
            return exists_true or any(test(v) for v in leaves)
        if _is_mapping(value):
            # An object is not a leaf (D09f): it "does not exist" for operators.
            return exists_false
        return exists_true or test(value)

    if not top:
        return leaf

    def top_leaf(value: Any) -> bool:
        if type(value) in _SCALARS:
            return exists_true or test(value)
        # B72 reverse: a plain-string pattern on a JSON payload drops the record (Kafka: ignored).
        if type(value) in PAYLOAD_TYPES and value.shape != "text":
            return bool(value.lenient)
        return leaf(value)

    return top_leaf
