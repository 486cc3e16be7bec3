"""The checkpoint/retry machine that stream (Kinesis, DynamoDB) and Kafka mappings share.

Both families read records in order through *lanes* (a shard or ParallelizationFactor lane; a Kafka
consumer) and, once an attempt ends, apply the same consequences, written once here:

* success: checkpoint after the batch (B38; for Kafka the commit of its offsets);
* a partial batch response: the family splits the batch into done and retried records (streams at
  the lowest reported record, B37/B32; Kafka exactly the reported ones, B83), the retry count
  restarting when the checkpoint advances (K09, D06) and exhaustion discarding (B41);
* a function error or invalid response: bisect (B31, B33, B35), else retry the whole batch while
  the lane blocks (B21, B24; Kafka's B79), until MaximumRetryAttempts is used up (B23);
* a throttle or other error before invocation: retried without using retries (B22);
* before a retry, records past the source's retention are lost (B28) and records past
  MaximumRecordAgeInSeconds discarded (B25–B27); a discard writes the on-failure destination
  record (B43–B47, B34);
* the time a lane spends blocked by a failing batch is kept as intervals (the run's ``blocks``).

Waits between retries follow ``EngineOptions.retry_backoff_ms`` (2.2: undocumented). A lane's
wake-ups are scheduler :class:`~replay.engine.scheduler.Handle` s kept in ``Lane.timers``: setting a
new wake-up (:meth:`RetryEngine._schedule_wake`) cancels every one set since the previous, so a
stale wake-up or a flush superseded by a new window never runs; a wake-up that finds the lane busy
(an invocation in flight, a retry waiting its backoff) does nothing.

What the machine asks of a family (methods of a :class:`RetryEngine` subclass; * has a default):

=====================================  ===========================================================
``_invoke(lane, batch)``               start an attempt (:mod:`replay.engine.polling` does)
``_advance(lane)``                     the lane is free: read on (:mod:`replay.engine.polling`)
``_retention_ms()``                    how long the source keeps a record (B28, B79)
``_split_partial(batch, verdict)``     a partial response's (done rows, retried rows)
``_failure_records(lane, discard)``    the on-failure destination records of a :class:`Discard`
``_retry_limit()`` *                   the effective MaximumRetryAttempts (Kafka's cap, B81)
``_settled(lane, batch, outcome)`` *   after a checkpoint (tumbling-window state, B56)
``_abandoned(lane, batch)`` *          after a batch was discarded (a window's final batch)
``_holding(lane, rows)`` *             a blocked lane holds these rows (Kafka: their partitions)
``_blocked(lane, start, end)`` *       record one closed blocking interval of a lane
``_blocks()`` *                        blocked intervals by shard / partition, for the run
``_log_shard(lane, rows)`` *           the ``shard`` column of an attempt
=====================================  ===========================================================
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from replay.engine.base import EngineBase
from replay.engine.responses import ResponseVerdict
from replay.engine.scheduler import Handle
from replay.function import InvokeResult
from replay.vocabulary import Cause, Disposition, NextStep, Reason, Result

_FUNCTION_ERRORS = (InvokeResult.ERROR, InvokeResult.TIMEOUT)


@dataclass(eq=False)
class Batch:
    """One unit of work on a lane: the rows it holds and how its attempts went.

    Attributes:
        id: the batch number (``batch`` in invocations.parquet); ``parent`` is the batch it was
            split from (bisect, partial retry).
        rows: capture row indices, in event order.
        cause: why its next attempt happens (new, retry, bisect, partial-retry, window-final).
        failures: failed attempts that count toward MaximumRetryAttempts.
        invokes: attempts that reached the function (``approximateInvokeCount``).
        attempts: every attempt, throttled ones included.
        last_error: the function error of its last failed attempt.
        final_window, terminated_early: streams' tumbling windows — the window's final invocation
            (B56), ended early by its state's size (B57).
    """

    id: int
    rows: np.ndarray
    cause: Cause
    parent: int | None = None
    failures: int = 0
    invokes: int = 0
    attempts: int = 0
    last_error: str | None = None
    final_window: bool = False
    terminated_early: bool = False


@dataclass(eq=False, kw_only=True)
class Lane:
    """A sequential invoker: at most one batch in flight, and the retry state around it.

    Attributes:
        index: position in ``engine.lanes``; ``shard`` and ``lane`` name it in the log.
        pending: batches waiting to be (re)tried, next first (a bisect's second half, a retry).
        busy: an invocation is in flight or a retry waits its backoff; wake-ups do nothing.
        timers: the wake-ups set since the last :meth:`RetryEngine._schedule_wake` (cancelled by
            the next one).
        idle_since: when the lane last went idle (the poll cadence counts from it).
        gather_open: when the batching window being gathered opened (B14), or None.
        consecutive_failures: failed attempts in a row (the backoff step).
        block_start: when the lane's current blocking began, or None; ``blocks`` the closed ones.
    """

    index: int
    shard: str
    lane: int
    pending: deque[Batch] = field(default_factory=deque)
    busy: bool = False
    timers: list[Handle] = field(default_factory=list)
    idle_since: int = 0
    gather_open: int | None = None
    consecutive_failures: int = 0
    block_start: int | None = None
    blocks: list[tuple[int, int]] = field(default_factory=list)


LaneT = TypeVar("LaneT", bound=Lane)


@dataclass(frozen=True)
class Outcome:
    """How an attempt that reached the function ended, as the family's response rules read it.

    Attributes:
        result: ok, error, timeout, partial or invalid-response.
        duration_ms: virtual time the invocation took.
        function_error: ``"Unhandled"`` for an exception or a timeout, else None.
        verdict: the reading of the response (None for errors and unread successes).
        failed_items: how many items a partial response reported.
    """

    result: InvokeResult
    duration_ms: int
    function_error: str | None
    verdict: ResponseVerdict | None
    failed_items: int


@dataclass(frozen=True)
class Attempt(Generic[LaneT]):
    """One invocation attempt: everything its completion and its log row need (``outcome`` is
    None for an attempt that never reached the function)."""

    lane: LaneT
    batch: Batch
    start: int
    request_id: str | None
    nbytes: int
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Discard:
    """Records leaving for the on-failure destination.

    Attributes:
        rows: the records (one failure record may cover several, B34).
        time: when (the record's ``timestamp``).
        condition: RetryAttemptsExhausted, RecordAgeExceeded, MaximumPayloadSizeExceeded.
        invokes: ``approximateInvokeCount`` (at least 1).
        response: the last invocation's ``{"functionError": ...}``, None when never sent.
    """

    rows: np.ndarray
    time: int
    condition: Reason
    invokes: int
    response: dict[str, Any] | None


class RetryEngine(EngineBase, Generic[LaneT]):
    """The shared machine of ordered, checkpointing mappings (module docstring: the hooks)."""

    lanes: list[LaneT]

    def _setup(self) -> None:
        """Age limit and retention; the lanes are the family's."""
        age = self.config.maximum_record_age_s
        self.max_age_ms = age * 1000 if age >= 0 else None
        self.retention_ms = self._retention_ms()
        self.running: dict[int, Attempt[LaneT]] = {}  # attempts in flight, by batch id
        self.lanes = []

    # ------------------------------------------------------------------ what a family provides
    def _invoke(self, lane: LaneT, batch: Batch) -> None:
        raise NotImplementedError

    def _advance(self, lane: LaneT) -> None:
        raise NotImplementedError

    def _retention_ms(self) -> int:
        raise NotImplementedError

    def _split_partial(
        self, batch: Batch, verdict: ResponseVerdict
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _failure_records(self, lane: LaneT, discard: Discard) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _retry_limit(self) -> int:
        """MaximumRetryAttempts: −1 retries forever (until age or retention)."""
        return self.config.maximum_retry_attempts

    def _settled(self, lane: LaneT, batch: Batch, outcome: Outcome) -> None:
        """After a batch's checkpoint (nothing by default)."""

    def _abandoned(self, lane: LaneT, batch: Batch) -> None:
        """After a batch exhausted its retries and was discarded (nothing by default)."""

    def _holding(self, lane: LaneT, rows: np.ndarray) -> None:
        """A blocked lane holds ``rows`` (nothing by default: a lane blocks its own shard)."""

    def _blocked(self, lane: LaneT, start: int, end: int) -> None:
        """One closed blocking interval of ``lane``."""
        lane.blocks.append((start, end))

    def _blocks(self) -> dict[str, list[tuple[int, int]]]:
        """Blocked intervals by shard: the lanes of a shard together."""
        out: dict[str, list[tuple[int, int]]] = {}
        for lane in self.lanes:
            out.setdefault(lane.shard, []).extend(lane.blocks)
        return out

    def _log_shard(self, lane: LaneT, rows: np.ndarray) -> str:
        """The ``shard`` of an attempt in invocations.parquet."""
        return lane.shard

    # ------------------------------------------------------------------ lanes and batches
    def _new_batch(self, rows: np.ndarray, cause: Cause, parent: int | None = None) -> Batch:
        self.next_batch += 1
        return Batch(id=self.next_batch, rows=rows, cause=cause, parent=parent)

    def _backoff(self, lane: LaneT) -> int:
        sched = self.options.retry_backoff_ms
        i = min(max(lane.consecutive_failures, 1), len(sched)) - 1
        return sched[i]

    def _wake(self, lane: LaneT) -> None:
        """A wake-up or a window's flush: read on, unless an attempt or a retry holds the lane."""
        if lane.busy:
            return
        self._advance(lane)

    def _schedule_wake(self, lane: LaneT, t: int) -> None:
        """Wake the lane at ``t`` instead: every wake-up set for it before is cancelled."""
        for handle in lane.timers:
            handle.cancel()
        lane.timers = [self.sched.at(t, self._wake, lane)]

    def _invoke_pending(self, lane: LaneT) -> None:
        lane.busy = False
        if lane.pending:
            self._invoke(lane, lane.pending.popleft())
        else:
            self._advance(lane)

    # ------------------------------------------------------------------ before an attempt
    def _drop_expired(self, lane: LaneT, rows: np.ndarray, now: int, *, invokes: int) -> np.ndarray:
        """B25/B26/B27: records older than MaximumRecordAgeInSeconds are discarded, never sent.

        They leave in one failure record with condition RecordAgeExceeded and no responseContext;
        approximateInvokeCount is 1 for records never sent (K13, K14) and the attempts so far for a
        batch that aged out while retrying (K12).
        """
        if self.max_age_ms is None or not len(rows):
            return rows
        old = self.arrival[rows] < now - self.max_age_ms
        if not old.any():
            return rows
        self._discard(lane, rows[old], now, Reason.RECORD_AGE_EXCEEDED, invokes, response=None)
        return rows[~old]

    def _recheck_rows(self, lane: LaneT, batch: Batch, now: int) -> np.ndarray:
        """Before a retry: trimmed records are lost (B28), over-age ones discarded (B27)."""
        rows = batch.rows
        expired = self.arrival[rows] <= now - self.retention_ms
        if expired.any():
            self._resolve(rows[expired], Disposition.DISCARDED, Reason.RETENTION_EXPIRED, now)
            rows = rows[~expired]
        return self._drop_expired(lane, rows, now, invokes=max(batch.invokes, 1))

    def _before_invocation_error(
        self, lane: LaneT, batch: Batch, now: int, nbytes: int, result: Result, rule: str
    ) -> None:
        """B22: throttles and other before-invocation errors are retried without using retries."""
        self._start_block(lane, now)
        lane.consecutive_failures += 1
        wait = self._backoff(lane)
        self._log(Attempt(lane, batch, now, None, nbytes), result, NextStep.RETRY, rule)
        self.sched.at(now + wait, self._invoke, lane, batch)
        lane.busy = True  # the lane waits for this batch; nothing else may start

    # ------------------------------------------------------------------ after an attempt
    def _complete(self, att: Attempt[LaneT]) -> None:
        lane = att.lane
        self.in_flight -= 1
        self.running.pop(att.batch.id, None)
        lane.busy = False
        assert att.outcome is not None
        result = att.outcome.result
        if result is InvokeResult.OK:
            self._succeeded(att)
        elif result is InvokeResult.PARTIAL:
            self._partial(att)
        else:
            self._failed(att)
        if not lane.busy:
            self._advance_later(lane, self.sched.now)

    def _advance_later(self, lane: LaneT, now: int) -> None:
        """Pending work waits its backoff; fresh reads start at once (B16: next window after completion)."""
        if not lane.pending:
            lane.idle_since = now
            self._schedule_wake(lane, now)

    def _succeeded(self, att: Attempt[LaneT]) -> None:
        """Checkpoint after the batch (B38)."""
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None
        now = self.sched.now
        self._log(att, Result.OK, NextStep.CHECKPOINT, "B38")
        self._resolve(batch.rows, Disposition.PROCESSED, "", now)
        lane.consecutive_failures = 0
        self._settled(lane, batch, out)
        if lane.pending:
            self.sched.at(now, self._invoke_pending, lane)
            lane.busy = True

    def _partial(self, att: Attempt[LaneT]) -> None:
        """B37/B32 (streams), B83 (Kafka): the done records are checkpointed; the rest retried.

        The retry count restarts when the checkpoint advances (K09, D06): the shrunken batch gets a
        fresh 1 + MaximumRetryAttempts attempts; a report sparing no record counts as a retry.
        """
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None and out.verdict is not None
        self._holding(lane, batch.rows)
        now = self.sched.now
        done, rest = self._split_partial(batch, out.verdict)
        self._resolve(done, Disposition.PROCESSED, "", now)
        self._start_block(lane, att.start)
        if len(done):
            self._log(att, Result.PARTIAL, NextStep.PARTIAL_RETRY, "B37")
            lane.consecutive_failures = 1  # the checkpoint advanced: backoff starts over
            self._retry_later(lane, self._new_batch(rest, Cause.PARTIAL_RETRY, batch.id))
            return
        batch.failures += 1
        batch.last_error = None
        if self._exhausted(batch):
            self._give_up(att, Result.PARTIAL, rest, None, "B41")
            return
        self._log(att, Result.PARTIAL, NextStep.RETRY, "B37")
        lane.consecutive_failures += 1
        self._retry_later(lane, batch)

    def _failed(self, att: Attempt[LaneT]) -> None:
        """Whole-batch failure: bisect (B31, B33) or retry (B21, B24) or discard (B23)."""
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None
        self._holding(lane, batch.rows)
        result = Result(out.result.value)
        self._start_block(lane, att.start)
        lane.consecutive_failures += 1
        can_bisect = out.result in _FUNCTION_ERRORS or self.options.bisect_on_invalid_response
        if self.config.bisect_on_error and can_bisect and len(batch.rows) > 1:
            self._log(att, result, NextStep.BISECT, "B31")
            first, second = self._halves(batch)
            lane.consecutive_failures = 1  # each half is a new, smaller batch: backoff starts over
            lane.pending.appendleft(second)
            self._retry_later(lane, first)
            return
        batch.failures += 1
        batch.last_error = out.function_error
        if self._exhausted(batch):
            self._give_up(att, result, batch.rows, out.function_error, "B23")
            return
        self._log(att, result, NextStep.RETRY, "B21")
        self._retry_later(lane, batch)

    def _give_up(
        self,
        att: Attempt[LaneT],
        result: Result,
        rows: np.ndarray,
        function_error: str | None,
        rule: str,
    ) -> None:
        """Retries exhausted: discard ``rows`` with condition RetryAttemptsExhausted; the failure
        record's ``functionError`` is the last one (null for an invalid partial response, B39)."""
        lane, batch = att.lane, att.batch
        self._log(att, result, NextStep.DISCARD, rule)
        response = {"functionError": function_error}
        now = self.sched.now
        condition = Reason.RETRY_ATTEMPTS_EXHAUSTED
        self._discard(lane, rows, now, condition, batch.invokes, response=response)
        self._abandoned(lane, batch)
        self._after_discard(lane)

    def _halves(self, batch: Batch) -> tuple[Batch, Batch]:
        """B31/B35: split in two; each half's retry budget is fresh or inherited (an option)."""
        mid = len(batch.rows) // 2
        inherit = self.options.bisect_half_budget == "inherit"
        halves = (
            self._new_batch(batch.rows[:mid], Cause.BISECT, batch.id),
            self._new_batch(batch.rows[mid:], Cause.BISECT, batch.id),
        )
        for half in halves:
            half.failures = batch.failures if inherit else 0
            half.invokes = batch.invokes if inherit else 0
        return halves

    def _exhausted(self, batch: Batch) -> bool:
        """B23: N retries means N + 1 attempts; −1 retries forever (until age or retention)."""
        mra = self._retry_limit()
        return mra >= 0 and batch.failures > mra

    def _retry_later(self, lane: LaneT, batch: Batch) -> None:
        if batch.attempts:
            batch.cause = (
                Cause.RETRY
            )  # a fresh half or remainder keeps its cause for its first attempt
        lane.pending.appendleft(batch)
        lane.busy = True
        self.sched.at(self.sched.now + self._backoff(lane), self._invoke_pending, lane)

    def _after_discard(self, lane: LaneT) -> None:
        """After a discard the checkpoint moves past the records and the shard continues (2.2).

        The backoff restarts with the checkpoint; a waiting bisect half is new work, sent at once.
        """
        lane.consecutive_failures = 0
        if lane.pending:
            lane.busy = True
            self.sched.at(self.sched.now, self._invoke_pending, lane)

    def _after_resolution(self, lane: LaneT, now: int) -> None:
        """A retry found nothing left to send (all aged out or trimmed): the checkpoint moved on."""
        lane.consecutive_failures = 0
        if lane.pending:
            lane.busy = True
            self.sched.at(now, self._invoke_pending, lane)
        else:
            lane.idle_since = now
            self._schedule_wake(lane, now)

    # ------------------------------------------------------------------ blocking
    def _start_block(self, lane: LaneT, t: int) -> None:
        if lane.block_start is None:
            lane.block_start = t

    def _end_block(self, lane: LaneT, t: int) -> None:
        if lane.block_start is not None and not lane.pending:
            self._blocked(lane, lane.block_start, t)
            lane.block_start = None

    def _end_blocks_at_horizon(self, end: int) -> None:
        """Lanes still blocked when the simulation stops: their ``blocks`` end there."""
        for lane in self.lanes:
            if lane.block_start is not None:
                lane.blocks.append((lane.block_start, end))
                lane.block_start = None

    # ------------------------------------------------------------------ discards
    def _discard(
        self,
        lane: LaneT,
        rows: np.ndarray,
        now: int,
        condition: Reason,
        invokes: int,
        *,
        response: dict[str, Any] | None,
    ) -> None:
        """Drop records; with an OnFailure destination, write the family's records (B43–B46)."""
        if not len(rows):
            return
        self._resolve(rows, Disposition.DISCARDED, condition, now)
        if not self.config.on_failure:
            return  # B46: silently dropped
        discard = Discard(rows, now, condition, max(invokes, 1), response)
        self.destinations.extend(self._failure_records(lane, discard))

    # ------------------------------------------------------------------ log
    def _log(self, att: Attempt[LaneT], result: Result, nxt: NextStep, rule: str) -> None:
        """One invocations.parquet row for an attempt that ended now (or at the horizon)."""
        lane, batch, start, end = att.lane, att.batch, att.start, self.sched.now
        out = att.outcome
        function_error = (
            out.function_error if out is not None and result is not Result.IN_FLIGHT else None
        )
        failed = out.failed_items if out is not None and result is Result.PARTIAL else 0
        rows = batch.rows
        n = len(rows)
        self.log.add(
            batch=batch.id,
            parent_batch=batch.parent,
            shard=self._log_shard(lane, rows),
            lane=lane.lane,
            start=start,
            end=end,
            records=n,
            bytes=att.nbytes,
            first_seq=self.seqs[rows[0]] if n else None,
            last_seq=self.seqs[rows[-1]] if n else None,
            attempt=batch.attempts,
            cause=batch.cause.value,
            result=result.value,
            failed_items=failed,
            function_error=function_error,
            request_id=att.request_id,
            iterator_age_ms=start - int(self.arrival[rows[-1]]) if n else None,
            next=nxt.value,
            rule=rule,
            record_rows=rows,
        )
