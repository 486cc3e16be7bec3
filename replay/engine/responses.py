"""How the ESM reads a function's response: success, partial failure or complete failure.

The rules differ by source family; each function here is one family's contract, written from the
documented success/failure conditions and the responses recorded against AWS (K10, K11, D07, D08,
S05–S08). The three families share one reading of the response's *shape* (:func:`_reported_items`);
they differ in what an ``itemIdentifier`` is and in what a partial failure means:

* streams: a sequence number; the checkpoint is the lowest one reported (B37);
* SQS: a message id; exactly the reported messages stay in the queue (B62);
* Kafka: ``{"partition": "<topic>-<p>", "offset": n}``; exactly the reported records are retried (B83).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
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
    """A verdict, the failed positions and the reason for a failure.

    Attributes:
        verdict: success, partial or complete failure.
        first_failed: the lowest failed position (the stream checkpoint), ``None`` unless partial.
        reason: why the response is a complete failure.
        state: the tumbling-window state returned (streams).
        failed: SQS and Kafka: every reported position, ascending (empty unless partial).
    """

    verdict: Verdict
    first_failed: int | None = None
    reason: str = ""
    state: Mapping[str, Any] | None = None
    failed: tuple[int, ...] = ()


def _reported_items(response: Any) -> list[Any] | ResponseVerdict:
    """The ``batchItemFailures`` items of a response, or the verdict when its shape decides it.

    ``None``, ``""``, ``[]``, ``{}``, ``{"batchItemFailures": null|[]}`` are success (B38, B64, K11,
    D08, S08). A response that is not an object, or whose ``batchItemFailures`` is not a list, is a
    complete failure (UNCONFIRMED: the most plausible reading of "cannot be deserialised"; B63 says
    so for invalid JSON).
    """
    if response is None or response == "" or response == [] or response == {}:
        return ResponseVerdict(Verdict.SUCCESS)
    if not isinstance(response, Mapping):
        return ResponseVerdict(
            Verdict.FAILURE, reason=f"response is a {type(response).__name__}, not an object"
        )
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return ResponseVerdict(Verdict.SUCCESS)
    if not isinstance(failures, list):
        return ResponseVerdict(Verdict.FAILURE, reason="batchItemFailures is not a list")
    return failures


def _positions(
    failures: list[Any],
    index: Mapping[Hashable, list[int]],
    identify: Callable[[Any], Hashable | None],
    rules: tuple[str, str],
) -> tuple[int, ...] | ResponseVerdict:
    """Batch positions of the reported items; a complete failure at the first bad identifier.

    Args:
        failures: the ``batchItemFailures`` items.
        index: identifier -> positions holding it.
        identify: the identifier of one ``itemIdentifier`` value, ``None`` when malformed.
        rules: the rule ids of a malformed identifier and of one absent from the batch, for the
            reason.
    """
    found: set[int] = set()
    for item in failures:
        raw = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        ident = identify(raw)
        if ident is None:
            return ResponseVerdict(
                Verdict.FAILURE, reason=f"invalid itemIdentifier in {item!r} ({rules[0]})"
            )
        positions = index.get(ident)
        if positions is None:
            return ResponseVerdict(
                Verdict.FAILURE, reason=f"itemIdentifier {raw!r} is not in the batch ({rules[1]})"
            )
        found.update(positions)
    return tuple(sorted(found))


def _partial(failed: tuple[int, ...], state: Mapping[str, Any] | None = None) -> ResponseVerdict:
    return ResponseVerdict(Verdict.PARTIAL, first_failed=failed[0], state=state, failed=failed)


def _index(identifiers: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    index: dict[Hashable, list[int]] = {}
    for i, ident in enumerate(identifiers):
        index.setdefault(ident, []).append(i)
    return index


def _non_empty_string(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


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
    items = _reported_items(response)
    if isinstance(items, ResponseVerdict):
        return ResponseVerdict(items.verdict, reason=items.reason, state=state)
    failed = _positions(items, _index(seqs), _non_empty_string, ("B39", "B40"))
    if isinstance(failed, ResponseVerdict):
        return ResponseVerdict(failed.verdict, reason=failed.reason, state=state)
    # Streams checkpoint before the lowest reported record; `failed` is not used by their engine.
    return ResponseVerdict(Verdict.PARTIAL, first_failed=failed[0], state=state)


def judge_sqs_response(response: Any, message_ids: Sequence[str], *, rbif: bool) -> ResponseVerdict:
    """Read an SQS handler response (B60–B64, S05–S08).

    * Without ReportBatchItemFailures any response is success: Lambda deletes the batch (B60).
    * With it: ``None``, ``""``, ``[]``, ``{}``, ``{"batchItemFailures": null|[]}`` are success
      (B64, S08). An ``itemIdentifier`` that is ``""``, null, under a wrong key (S07), or a message
      id not in the batch, makes the whole batch fail (B63). Otherwise the verdict is partial and
      ``failed`` holds the positions of every reported message (B62, S05): those stay in the queue
      and come back after the visibility timeout; the others are deleted — for FIFO too, even when
      that breaks the group's order (B77).

    Args:
        response: what the handler returned.
        message_ids: the batch's message ids, in event order. A message id that appears twice
            (an at-least-once duplicate, B73) fails at every position holding it.
        rbif: ``FunctionResponseTypes`` holds ``ReportBatchItemFailures``.
    """
    if not rbif:
        return ResponseVerdict(Verdict.SUCCESS)
    items = _reported_items(response)
    if isinstance(items, ResponseVerdict):
        return items
    failed = _positions(items, _index(message_ids), _non_empty_string, ("B63", "B63"))
    return failed if isinstance(failed, ResponseVerdict) else _partial(failed)


def _kafka_identifier(raw: Any) -> tuple[str, int] | None:
    """``{"partition": "<topic>-<p>", "offset": n}`` as a (partition, offset) pair.

    The offset may be a JSON integer or a string of decimal digits (UNCONFIRMED: the docs show a
    number; a Java deserializer would coerce a numeric string too).
    """
    if not isinstance(raw, Mapping):
        return None
    partition, offset = raw.get("partition"), raw.get("offset")
    if not isinstance(partition, str) or not partition:
        return None
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        offset = int(offset)
    if isinstance(offset, bool) or not isinstance(offset, int):
        return None
    return partition, offset


def judge_kafka_response(
    response: Any, items: Sequence[tuple[str, int]], *, rbif: bool
) -> ResponseVerdict:
    """Read a Kafka handler response (7, B83; kafka-retry-configurations.html).

    * Without ReportBatchItemFailures any response is success (and the ESM commits the offsets).
    * With it: the success shapes are those of the other sources ("empty valid JSON or null").
      ``itemIdentifier`` is ``{"partition": "<topic>-<partition>", "offset": <n>}``; one that is
      malformed, or names a partition/offset absent from the event, makes the whole batch fail.
    * Otherwise the verdict is partial, ``failed`` holds the reported positions and
      ``first_failed`` the lowest of them. The docs say Lambda then "retries only the failed
      records", so that is what ``failed`` means: a record of the same partition at a later offset
      that was not reported counts as processed, not retried — unlike a stream checkpoint.
      UNCONFIRMED: how Lambda commits the partition's offset meanwhile (it cannot commit past the
      first failed offset without losing it on a restart); the simulator keeps the retried records
      and treats the others as done.

    Args:
        response: what the handler returned.
        items: the batch's records as ``("<topic>-<partition>", offset)``, in event order.
        rbif: ``FunctionResponseTypes`` holds ``ReportBatchItemFailures`` (provisioned mode).
    """
    if not rbif:
        return ResponseVerdict(Verdict.SUCCESS)
    reported = _reported_items(response)
    if isinstance(reported, ResponseVerdict):
        return reported
    failed = _positions(reported, _index(items), _kafka_identifier, ("B83", "B83"))
    return failed if isinstance(failed, ResponseVerdict) else _partial(failed)
