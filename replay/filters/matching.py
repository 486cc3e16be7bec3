"""Matching compiled patterns against records: one view, or a whole batch of event records at
once (B52, B54, B71, B80), and the configuration-time check of a pattern against its source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any

import numpy as np

from replay.filters.patterns import FilterSet, Pattern
from replay.filters.values import FilterPatternError
from replay.filters.views import PAYLOAD_KEYS, VIEW_BUILDERS
from replay.vocabulary import SourceKind


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
    build = VIEW_BUILDERS[kind]
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
