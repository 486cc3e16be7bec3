"""How the ESM reads a function's response: success, partial failure or complete failure.

The rules differ by source family; each function here is one family's contract, written from the
documented success/failure conditions and the responses recorded against AWS (K10, K11, D07, D08).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The ESM's reading of one response."""

    SUCCESS = "success"
    PARTIAL = "partial"
    FAILURE = "failure"


@dataclass(frozen=True)
class ResponseVerdict:
    """A verdict, the first failed position (stream checkpoint) and the reason for a failure."""

    verdict: Verdict
    first_failed: int | None = None
    reason: str = ""
    state: Mapping[str, Any] | None = None


def judge_stream_response(
    response: Any, seqs: Sequence[str], *, rbif: bool, tumbling: bool = False
) -> ResponseVerdict:
    """Read a Kinesis/DynamoDB handler response (2.5, B36–B42, B55).

    * Tumbling windows (B55): the response must be an object with a ``state`` key, otherwise the
      invocation counts as failed.
    * Without ReportBatchItemFailures (B36) any response is success.
    * With it: ``None``, ``""``, ``[]``, ``{}``, ``{"batchItemFailures": null|[]}`` are success
      (B38, K11, D08); an ``itemIdentifier`` that is empty, null, under a wrong key, or not a
      sequence number of the batch makes the whole batch fail (B39, B40, K10, D07); otherwise the
      checkpoint is the lowest reported sequence number (B37). Any other shape (a non-empty list,
      a number, a non-empty string) is read as a complete failure — UNCONFIRMED, the most plausible
      reading of "cannot be deserialised".
    """
    state: Mapping[str, Any] | None = None
    if tumbling:
        if not isinstance(response, Mapping) or "state" not in response:
            return ResponseVerdict(Verdict.FAILURE, reason="response has no state (B55)")
        raw_state = response.get("state")
        state = raw_state if isinstance(raw_state, Mapping) else {}
    if not rbif:
        return ResponseVerdict(Verdict.SUCCESS, state=state)
    if response is None or response == "" or response == [] or response == {}:
        return ResponseVerdict(Verdict.SUCCESS, state=state)
    if not isinstance(response, Mapping):
        return ResponseVerdict(
            Verdict.FAILURE, reason=f"response is a {type(response).__name__}, not an object"
        )
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return ResponseVerdict(Verdict.SUCCESS, state=state)
    if not isinstance(failures, list):
        return ResponseVerdict(Verdict.FAILURE, reason="batchItemFailures is not a list")
    index = {seq: i for i, seq in enumerate(seqs)}
    first: int | None = None
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(ident, str) or not ident:
            return ResponseVerdict(
                Verdict.FAILURE, reason=f"invalid itemIdentifier in {item!r} (B39)"
            )
        pos = index.get(ident)
        if pos is None:
            return ResponseVerdict(
                Verdict.FAILURE, reason=f"itemIdentifier {ident!r} is not in the batch (B40)"
            )
        first = pos if first is None else min(first, pos)
    return ResponseVerdict(Verdict.PARTIAL, first_failed=first, state=state)
