"""Lambda ESM event filtering (``FilterCriteria``): pattern validation, compilation and matching.

Lambda filters records with the EventBridge pattern language (the docs say "the same syntax as
EventBridge"), restricted to the operators the Lambda filtering page lists
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-syntax):
exact strings/numbers/``true``/``false``/``null``, ``""``, ``equals-ignore-case``, ``prefix``,
``suffix``, ``anything-but`` (a string, a number, or a list of either), ``numeric``, ``exists`` and
``$or``. Everything else EventBridge knows (``wildcard``, ``cidr``, ``anything-but`` with
``prefix``/``suffix``/``equals-ignore-case``/``wildcard``, ``prefix``/``suffix`` with
``equals-ignore-case``) is refused as AWS's "Invalid filter pattern definition." (UNCONFIRMED: the
Lambda page does not list them; the EventBridge operator table marks most of them "Pipes: No").

Matching semantics follow AWS's open-source engine (aws/event-ruler) where the docs are silent:

* AND across the fields of a pattern, OR within a field's value array, OR across the filters of
  one FilterCriteria (B54).
* An array in the record matches when any element matches; a nested pattern over an array of
  objects matches when one element matches the whole sub-pattern (event-ruler's array
  consistency).
* Operators only see leaf values (strings, numbers, booleans, ``null``); an object is never a leaf,
  so ``exists: false`` holds on a key whose value is an object (D09f) and ``exists: true`` does not.
* ``anything-but`` needs a present value; a missing field never matches it.
* Numbers: ``numeric`` only matches JSON numbers (never strings, D09g) within ±5e9; exact number
  values compare numerically (``[1]`` matches ``1.0``), as event-ruler does even though the docs
  claim string comparison (UNCONFIRMED).

The record a pattern sees — the *filter view* — depends on the source; see :func:`filter_view`.
A source's payload (Kinesis ``data``, SQS ``body``, Kafka ``value``) is stored in the view as one of
the ``*Payload`` types below, so the matcher can apply the per-source "format mismatch" rules
(B53, B72, Kafka's metadata-only rule) without knowing the source.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final

import numpy as np

from replay.vocabulary import SourceKind

INVALID_PATTERN_MESSAGE: Final = "Invalid filter pattern definition."
"""AWS's message for every rejected pattern (A06)."""

NUMERIC_LIMIT: Final = 5_000_000_000
"""event-ruler (and the EventBridge docs) limit numeric matching to -5e9..5e9 inclusive."""

_OPERATORS: Final = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
)
# EventBridge operators the Lambda docs do not list; named so the error detail can say "refused".
_REFUSED_OPERATORS: Final = frozenset({"wildcard", "cidr", "exact"})
# event-ruler refuses these words as field names inside "$or" branches.
_RESERVED_IN_OR: Final = _OPERATORS | _REFUSED_OPERATORS
_LOWER_BOUNDS: Final = frozenset({">", ">="})
MAX_DEPTH: Final = 100
"""esm-replay's own limit on pattern nesting (AWS documents none; matching recurses per level)."""
_UPPER_BOUNDS: Final = frozenset({"<", "<="})

Matcher = Callable[[Any], bool]
"""A compiled test of one value (a record, a sub-object or a field's value)."""


class FilterPatternError(ValueError):
    """A filter pattern AWS would reject; ``str()`` is AWS's message (A06).

    Attributes:
        detail: Why the pattern is invalid, for the user (AWS gives no detail).
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(INVALID_PATTERN_MESSAGE)
        self.detail = detail


class _Missing:
    """The value of a field that is absent from the record."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()
_EMPTY: Final[Mapping[str, Any]] = {}


# --------------------------------------------------------------------------- payload markers
class TextPayload(str):
    """A payload that is not a JSON document (plain text, or JSON that is only a scalar).

    Leaf operators match it as a string; a nested (JSON) pattern on it is a format mismatch.
    """

    shape: ClassVar[str] = "text"
    lenient: ClassVar[bool] = False
    """What a format mismatch yields: False drops the record (Kinesis B53, SQS B72)."""


class ObjectPayload(dict[str, Any]):
    """A payload that parsed as a JSON object; nested patterns descend into it."""

    shape: ClassVar[str] = "json"
    lenient: ClassVar[bool] = False


class ArrayPayload(list[Any]):
    """A payload that parsed as a JSON array; nested patterns match any object element."""

    shape: ClassVar[str] = "json"
    lenient: ClassVar[bool] = False


class BinaryPayload(bytes):
    """A payload that is not UTF-8 text (or not valid base64): no pattern on it can match."""

    shape: ClassVar[str] = "binary"
    lenient: ClassVar[bool] = False


# Kafka (kafka-filtering.html): on a format mismatch or a non-UTF-8 value "Lambda filters (on the
# other metadata properties only)", i.e. the value part of the pattern is ignored (B80 page).
class _KafkaText(TextPayload):
    lenient = True


class _KafkaObject(ObjectPayload):
    lenient = True


class _KafkaArray(ArrayPayload):
    lenient = True


class _KafkaBinary(BinaryPayload):
    lenient = True


_PAYLOAD_TYPES: Final = frozenset(
    {
        TextPayload,
        ObjectPayload,
        ArrayPayload,
        BinaryPayload,
        _KafkaText,
        _KafkaObject,
        _KafkaArray,
        _KafkaBinary,
    }
)


@dataclass(frozen=True)
class _PayloadTypes:
    """The marker types one source uses for its payload."""

    text: type[TextPayload]
    obj: type[ObjectPayload]
    arr: type[ArrayPayload]
    binary: type[BinaryPayload]


_STRICT: Final = _PayloadTypes(TextPayload, ObjectPayload, ArrayPayload, BinaryPayload)
_LENIENT: Final = _PayloadTypes(_KafkaText, _KafkaObject, _KafkaArray, _KafkaBinary)


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
def _reject_constant(name: str) -> Any:
    """``json`` hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every call: ``json.loads(..., parse_constant=...)`` builds a new one each time.
_JSON: Final = json.JSONDecoder(parse_constant=_reject_constant)
_JSON_WHITESPACE: Final = " \t\r\n"


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
        doc = _JSON.decode(text)
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
        if in_or and key in _RESERVED_IN_OR:
            raise FilterPatternError(f"{where}: operator name used as a field inside $or")
        if key == "$or":
            or_groups.append(_compile_or(spec, path, top=top, depth=depth + 1))
        elif isinstance(spec, dict):
            sub = _compile_object(spec, where, top=False, in_or=in_or, depth=depth + 1)
            fields.append((key, _nested_field(sub, top=top)))
        elif isinstance(spec, list):
            fields.append((key, _leaf_field(_compile_values(spec, where), top=top)))
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
        if type(value) in _PAYLOAD_TYPES and value.shape != "json":
            return bool(value.lenient)
        return nested(value)

    return top_nested


@dataclass(frozen=True)
class _Values:
    """The compiled value array of one field: a single leaf test plus the ``exists`` flags."""

    test: Matcher
    exists_true: bool
    exists_false: bool


def _leaf_field(values: _Values, *, top: bool) -> Matcher:
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
        if type(value) in _PAYLOAD_TYPES and value.shape != "text":
            return bool(value.lenient)
        return leaf(value)

    return top_leaf


# --------------------------------------------------------------------------- value tests
def _is_number(value: Any) -> bool:
    """A JSON number: ``int`` or ``float`` but never ``bool`` (true is not 1 in a pattern)."""
    kind = type(value)
    return kind is int or kind is float


def _numeric_ok(value: Any) -> bool:
    """Whether ``value`` is a JSON number event-ruler can compare (D09g: strings never are)."""
    kind = type(value)
    return (kind is int or kind is float) and -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT


def _compile_values(spec: list[Any], where: str) -> _Values:
    """Compile a field's value array (OR within the array)."""
    if not spec:
        raise FilterPatternError(f"{where}: empty arrays are not allowed")
    strings: set[str] = set()
    numbers: set[int | float] = set()
    booleans: set[bool] = set()
    null = False
    tests: list[Matcher] = []
    exists_true = exists_false = False
    for item in spec:
        if isinstance(item, bool):
            booleans.add(item)
        elif isinstance(item, str):
            strings.add(item)
        elif isinstance(item, int | float):
            numbers.add(item)
        elif item is None:
            null = True
        elif isinstance(item, dict):
            op, test = _compile_operator(item, where)
            if op == "exists":
                if item["exists"]:
                    exists_true = True
                else:
                    exists_false = True
            elif test is not None:
                tests.append(test)
        else:
            raise FilterPatternError(
                f"{where}: match values must be strings, numbers, "
                "true, false, null or operator objects"
            )
    return _Values(
        _combine(frozenset(strings), frozenset(numbers), frozenset(booleans), null, tuple(tests)),
        exists_true,
        exists_false,
    )


def _combine(
    strings: frozenset[str],
    numbers: frozenset[int | float],
    booleans: frozenset[bool],
    null: bool,
    tests: tuple[Matcher, ...],
) -> Matcher:
    """One leaf test from exact values and operator tests, with fast paths for common shapes."""
    if not (numbers or booleans or null):
        # Only strings: safe to test any leaf with ``in`` (1 is never "1", True is never "true").
        if not tests:
            return strings.__contains__
        if not strings and len(tests) == 1:
            return tests[0]

        def strings_or_tests(v: Any) -> bool:
            return v in strings or any(t(v) for t in tests)

        return strings_or_tests

    def exact_or_tests(v: Any) -> bool:
        # Type-split sets: in Python True == 1 == 1.0, in JSON matching true is never 1.
        if isinstance(v, str):
            if v in strings:
                return True
        elif v is None:
            if null:
                return True
        elif isinstance(v, bool):
            if v in booleans:
                return True
        elif (type(v) is int or type(v) is float) and v in numbers:
            # event-ruler also compiles a number as numericEquals: [1] matches 1.0 (UNCONFIRMED).
            return True
        return any(t(v) for t in tests)

    return exact_or_tests


def _compile_operator(item: Mapping[str, Any], where: str) -> tuple[str, Matcher | None]:
    """Compile one ``{"operator": operand}`` object; ``exists`` returns no test (flags only)."""
    if len(item) != 1:
        raise FilterPatternError(f"{where}: an operator object must have exactly one key")
    ((op, operand),) = item.items()
    if op in _REFUSED_OPERATORS:
        raise FilterPatternError(f"{where}: {op!r} is not supported by Lambda event filtering")
    if op not in _OPERATORS:
        raise FilterPatternError(f"{where}: unknown operator {op!r}")
    if op == "exists":
        if not isinstance(operand, bool):
            raise FilterPatternError(f"{where}: exists takes true or false")
        return op, None
    if op == "numeric":
        return op, _compile_numeric(operand, where)
    if op == "anything-but":
        return op, _compile_anything_but(operand, where)
    if not isinstance(operand, str):
        # EventBridge's {"prefix": {"equals-ignore-case": ...}} lands here: not in the Lambda docs.
        raise FilterPatternError(f"{where}: {op} takes a string")
    return op, _string_test(op, operand)


def _string_test(op: str, operand: str) -> Matcher:
    """``prefix``, ``suffix`` and ``equals-ignore-case``: string leaves only."""
    if op == "prefix":

        def prefix(v: Any) -> bool:
            return isinstance(v, str) and v.startswith(operand)

        return prefix
    if op == "suffix":

        def suffix(v: Any) -> bool:
            return isinstance(v, str) and v.endswith(operand)

        return suffix
    folded = operand.lower()

    def equals_ignore_case(v: Any) -> bool:
        return isinstance(v, str) and v.lower() == folded

    return equals_ignore_case


def _numeric_operand(value: Any, where: str) -> int | float:
    if not _is_number(value):
        raise FilterPatternError(f"{where}: numeric operands must be numbers")
    if not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
        raise FilterPatternError(f"{where}: numbers must lie within ±{NUMERIC_LIMIT:.0e}")
    number: int | float = value
    return number


def _compile_anything_but(operand: Any, where: str) -> Matcher:
    """``anything-but``: a string, a number, or a non-empty list of only strings or only numbers.

    It matches any present leaf not in the set — including leaves of another type, so
    ``anything-but: "101"`` matches the string "42" and the number 101 (D09g).
    """
    items = operand if isinstance(operand, list) else [operand]
    if isinstance(operand, dict):
        raise FilterPatternError(
            f"{where}: anything-but with prefix/suffix/equals-ignore-case/wildcard is not "
            "supported by Lambda event filtering"
        )
    if not items:
        raise FilterPatternError(f"{where}: anything-but needs at least one value")
    if all(isinstance(i, str) for i in items):
        excluded_strings = frozenset(items)

        def anything_but_string(v: Any) -> bool:
            return not (isinstance(v, str) and v in excluded_strings)

        return anything_but_string
    if all(_is_number(i) for i in items):
        excluded_numbers = frozenset(_numeric_operand(i, where) for i in items)

        def anything_but_number(v: Any) -> bool:
            return not (_numeric_ok(v) and v in excluded_numbers)

        return anything_but_number
    raise FilterPatternError(
        f"{where}: anything-but values must be all strings or all numbers (no null/true/false)"
    )


def _compile_numeric(operand: Any, where: str) -> Matcher:
    """``numeric``: ``["=", n]``, ``[">"|">=", n]``, ``["<"|"<=", n]`` or ``[">"|">=", a, "<"|"<=", b]``.

    The grammar is event-ruler's: a two-bound range starts with its lower bound, and needs
    ``a < b``. Operands must be numbers within ±5e9.
    """
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise FilterPatternError(f"{where}: numeric takes [op, n] or [op, n, op, n]")
    op1, n1 = operand[0], operand[1]
    if not isinstance(op1, str) or op1 not in ({"="} | _LOWER_BOUNDS | _UPPER_BOUNDS):
        raise FilterPatternError(f"{where}: unknown numeric operator {op1!r}")
    low = _numeric_operand(n1, where)
    if len(operand) == 2:
        return _numeric_single(op1, low)
    op2 = operand[2]
    if op1 not in _LOWER_BOUNDS or not isinstance(op2, str) or op2 not in _UPPER_BOUNDS:
        raise FilterPatternError(f"{where}: a numeric range is [>|>=, low, <|<=, high]")
    high = _numeric_operand(operand[3], where)
    if not low < high:
        raise FilterPatternError(f"{where}: a numeric range needs low < high")
    return _numeric_range(op1 == ">=", low, op2 == "<=", high)


def _numeric_single(op: str, bound: int | float) -> Matcher:
    """One-bound numeric tests (S12e, S12f, D09i)."""
    if op == "=":

        def eq(v: Any) -> bool:
            return _numeric_ok(v) and v == bound

        return eq
    if op == ">":

        def gt(v: Any) -> bool:
            return _numeric_ok(v) and v > bound

        return gt
    if op == ">=":

        def ge(v: Any) -> bool:
            return _numeric_ok(v) and v >= bound

        return ge
    if op == "<":

        def lt(v: Any) -> bool:
            return _numeric_ok(v) and v < bound

        return lt

    def le(v: Any) -> bool:
        return _numeric_ok(v) and v <= bound

    return le


def _numeric_range(
    low_closed: bool, low: int | float, high_closed: bool, high: int | float
) -> Matcher:
    """Two-bound numeric test (S12g: ``[">=", 100, "<", 200]``)."""

    def in_range(v: Any) -> bool:
        if not _numeric_ok(v):
            return False
        above = v >= low if low_closed else v > low
        below = v <= high if high_closed else v < high
        return above and below

    return in_range


# --------------------------------------------------------------------------- matching
def pattern_matches(pattern: Pattern, view: Mapping[str, Any]) -> bool:
    """Whether one pattern matches a filter view (AND across its fields, B54).

    Args:
        pattern: A compiled pattern.
        view: A filter view built by :func:`filter_view`.

    Returns:
        True when the pattern matches.
    """
    return pattern.matcher(view)


def check_pattern_for_source(kind: SourceKind, pattern: Pattern) -> None:
    """Refuse a plain (non-object) pattern on a stream's data key at configuration time.

    The 2022 Lambda docs ("Properly filtering Kinesis and DynamoDB messages") say a non-JSON
    filter pattern for ``data``/``dynamodb`` makes ESM creation or update fail; SQS and Kafka
    accept plain-string patterns on ``body``/``value``. The error text AWS uses is UNCONFIRMED.

    Args:
        kind: The ESM's source kind.
        pattern: A compiled pattern.

    Raises:
        FilterPatternError: If a stream pattern gives its data key as a value array.
    """
    key = {SourceKind.KINESIS: "data", SourceKind.DYNAMODB: "dynamodb"}.get(kind)
    if key is not None and key in pattern.top_leaf_keys:
        raise FilterPatternError(f"{key}: a {kind.value} data pattern must be a JSON object")


# --------------------------------------------------------------------------- filter views
def _classify_text(text: str, types: _PayloadTypes) -> Any:
    """A payload as text: parsed when it is a JSON object or array, else kept as text.

    A body such as ``42`` or ``"x"`` is valid JSON but carries no fields; it is treated as a
    plain string so that string operators still work on it (UNCONFIRMED).
    """
    stripped = text.lstrip(_JSON_WHITESPACE)
    head = stripped[:1]
    if head != "{" and head != "[":
        # Cheap pre-check: most plain payloads never reach the (costly) failing decode.
        return types.text(text)
    try:
        # raw_decode skips decode()'s two whitespace regex passes; trailing text is checked here.
        parsed, end = _JSON.raw_decode(stripped)
    except (ValueError, RecursionError):
        return types.text(text)
    if end != len(stripped) and stripped[end:].strip(_JSON_WHITESPACE):
        return types.text(text)
    if isinstance(parsed, dict):
        return types.obj(parsed)
    if isinstance(parsed, list):
        return types.arr(parsed)
    return types.text(text)


def _decode_base64_payload(raw: Any, types: _PayloadTypes) -> Any:
    """Kinesis ``data`` / Kafka ``value``: base64 → UTF-8 → JSON (B52, B80)."""
    if raw is None:
        return None
    if isinstance(raw, bytes | bytearray):
        blob = bytes(raw)
    else:
        try:
            blob = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError, TypeError):
            return types.binary(b"")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return types.binary(blob)
    return _classify_text(text, types)


def _kinesis_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """Kinesis (B52, B53, K16): the envelope and the ``kinesis`` fields flattened, ``data`` decoded.

    Patterns address ``data`` and ``partitionKey`` at the top level (the Lambda docs' examples),
    so the ``kinesis`` object is flattened into the envelope. The docs say Kinesis ESMs "only
    support filtering on the data key"; we let patterns on the other fields (``partitionKey``,
    ``sequenceNumber``, ``eventSource``…) evaluate against their values as the 2022 docs'
    ``partitionKey`` example shows (UNCONFIRMED for envelope fields), and a key that is in neither
    is simply missing. A record already flat (no ``kinesis`` object) is used as is.
    """
    inner = record.get("kinesis")
    if isinstance(inner, Mapping):
        view = {**record, **inner}
        # A "kinesis" key inside the kinesis object would win the merge; we drop the envelope's.
        if "kinesis" not in inner:
            del view["kinesis"]
    else:
        view = dict(record)
    if decode and "data" in view:
        view["data"] = _decode_base64_payload(view["data"], _STRICT)
    return view


def _dynamodb_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """DynamoDB (D09): the full record — ``eventName``, ``eventSource`` (D09c), typed ``dynamodb``.

    ``ApproximateCreationDateTime`` is numeric at filter time (D09i); a capture holding a
    ``datetime`` there is converted to epoch seconds, rounded down like the event's value.
    """
    view = dict(record)
    stream = view.get("dynamodb")
    if isinstance(stream, Mapping):
        created = stream.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            view["dynamodb"] = {**stream, "ApproximateCreationDateTime": int(created.timestamp())}
    return view


def _sqs_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """SQS (S12, B71, B72): the record with ``body`` parsed when it is a JSON object or array."""
    view = dict(record)
    body = view.get("body")
    if decode and isinstance(body, str):
        view["body"] = _classify_text(body, _STRICT)
    return view


def _kafka_view(record: Mapping[str, Any], decode: bool) -> dict[str, Any]:
    """Kafka (B80): one element of ``records["<topic>-<partition>"]`` with ``value`` decoded.

    On a format mismatch (JSON pattern vs plain value or the reverse) or a non-UTF-8 value, the
    Kafka filtering page says Lambda "filters on the other metadata properties only": the value
    part of the pattern is ignored rather than dropping the record (UNCONFIRMED, docs only).
    """
    view = dict(record)
    if decode and "value" in view:
        view["value"] = _decode_base64_payload(view["value"], _LENIENT)
    return view


_VIEW_BUILDERS: Final[dict[SourceKind, Callable[[Mapping[str, Any], bool], dict[str, Any]]]] = {
    SourceKind.KINESIS: _kinesis_view,
    SourceKind.DYNAMODB: _dynamodb_view,
    SourceKind.SQS: _sqs_view,
    SourceKind.KAFKA: _kafka_view,
}

PAYLOAD_KEYS: Final[dict[SourceKind, str]] = {
    SourceKind.KINESIS: "data",
    SourceKind.DYNAMODB: "dynamodb",
    SourceKind.SQS: "body",
    SourceKind.KAFKA: "value",
}
"""The data key of each source (Lambda docs, "Using filters with different AWS services")."""


def filter_view(kind: SourceKind, record: Mapping[str, Any]) -> dict[str, Any]:
    """Build what a pattern is matched against from one event record (AWS's event shape).

    The record itself is not modified (K16: the function still receives the original base64).
    The payload key holds a :class:`ObjectPayload`/:class:`ArrayPayload` (parsed JSON, usable as
    a dict/list), a :class:`TextPayload` (a str) or a :class:`BinaryPayload` (bytes).

    Args:
        kind: The source kind.
        record: One event record: ``Records[i]`` for Kinesis/DynamoDB/SQS, one element of
            ``records["<topic>-<partition>"]`` for Kafka.

    Returns:
        A new dict; see the per-source rules in ``_kinesis_view``, ``_dynamodb_view``,
        ``_sqs_view`` and ``_kafka_view``.
    """
    return _VIEW_BUILDERS[kind](record, True)


def match_records(
    kind: SourceKind, filters: FilterSet, records: Iterable[Mapping[str, Any]]
) -> np.ndarray:
    """Evaluate a FilterCriteria over many records (B52, B54, B71, B80).

    What happens to records that do not match is the caller's business: streams skip them and
    advance (not sent to the failure destination), SQS deletes them, Kafka commits their offsets.

    Args:
        kind: The source kind.
        filters: The ESM's compiled FilterCriteria.
        records: Event records, as for :func:`filter_view`.

    Returns:
        A bool array with one entry per record, True where the record passes.
    """
    if not filters.patterns:
        count = len(records) if isinstance(records, Sized) else sum(1 for _ in records)
        return np.ones(count, dtype=bool)
    build = _VIEW_BUILDERS[kind]
    # Decoding the payload is the expensive part; metadata-only patterns never look at it.
    decode = PAYLOAD_KEYS[kind] in filters.top_keys
    matchers = tuple(p.matcher for p in filters.patterns)
    if len(matchers) == 1:
        only = matchers[0]
        results: Iterable[bool] = (only(build(r, decode)) for r in records)
    else:
        results = (_any_match(matchers, build(r, decode)) for r in records)
    return np.fromiter(results, dtype=bool)


def _any_match(
    matchers: tuple[Callable[[Mapping[str, Any]], bool], ...], view: Mapping[str, Any]
) -> bool:
    # An explicit loop: no generator object per record on the hot path.
    for matcher in matchers:  # noqa: SIM110
        if matcher(view):
            return True
    return False
