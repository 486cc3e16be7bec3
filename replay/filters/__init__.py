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
the ``*Payload`` types of :mod:`.views`, so the matcher can apply the per-source "format mismatch" rules
(B53, B72, Kafka's metadata-only rule) without knowing the source.

Modules: :mod:`.patterns` (parsing and compiling patterns, field matchers), :mod:`.values` (value
tests and operators), :mod:`.views` (payload markers and per-source filter views) and
:mod:`.matching` (matching records, the per-source configuration check).
"""

from replay.filters.matching import check_pattern_for_source, match_records, pattern_matches
from replay.filters.patterns import MAX_DEPTH, FilterSet, Pattern, parse_pattern
from replay.filters.values import (
    INVALID_PATTERN_MESSAGE,
    NUMERIC_LIMIT,
    FilterPatternError,
    Matcher,
)
from replay.filters.views import (
    PAYLOAD_KEYS,
    ArrayPayload,
    BinaryPayload,
    ObjectPayload,
    TextPayload,
    filter_view,
)

__all__ = [
    "INVALID_PATTERN_MESSAGE",
    "MAX_DEPTH",
    "NUMERIC_LIMIT",
    "PAYLOAD_KEYS",
    "ArrayPayload",
    "BinaryPayload",
    "FilterPatternError",
    "FilterSet",
    "Matcher",
    "ObjectPayload",
    "Pattern",
    "TextPayload",
    "check_pattern_for_source",
    "filter_view",
    "match_records",
    "parse_pattern",
    "pattern_matches",
]
