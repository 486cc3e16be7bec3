"""Value tests: a field's value array (exact values and operators) compiled into one leaf test.

The operators are those the Lambda filtering page lists (``prefix``, ``suffix``,
``equals-ignore-case``, ``anything-but``, ``numeric``, ``exists``); every refusal raises
:class:`FilterPatternError`, AWS's one message for a bad pattern (A06).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

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
RESERVED_IN_OR: Final = _OPERATORS | _REFUSED_OPERATORS
_LOWER_BOUNDS: Final = frozenset({">", ">="})
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


@dataclass(frozen=True)
class Values:
    """The compiled value array of one field: a single leaf test plus the ``exists`` flags."""

    test: Matcher
    exists_true: bool
    exists_false: bool


# --------------------------------------------------------------------------- value tests
def _is_number(value: Any) -> bool:
    """A JSON number: ``int`` or ``float`` but never ``bool`` (true is not 1 in a pattern)."""
    kind = type(value)
    return kind is int or kind is float


def _numeric_ok(value: Any) -> bool:
    """Whether ``value`` is a JSON number event-ruler can compare (D09g: strings never are)."""
    kind = type(value)
    return (kind is int or kind is float) and -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT


def compile_values(spec: list[Any], where: str) -> Values:
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
    return Values(
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
