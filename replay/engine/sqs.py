"""SQS standard and FIFO event source mappings, simulated in virtual time.

The queue is modelled the way SQS and Lambda's pollers see it:

* a message becomes visible at ``SentTimestamp + DelaySeconds``; a receive makes it invisible for
  the queue's ``VisibilityTimeout`` and counts toward ``maxReceiveCount`` (B65); success deletes it
  (B60), a failure leaves it to reappear when the visibility timeout ends (B61); a partial batch
  response deletes what was not reported (B62–B64); a receive of a message already received
  ``maxReceiveCount`` times moves it to the dead-letter queue instead (B65, S04);
* a delete with a stale receipt handle (the message was received again meanwhile, because a batch
  outlived its visibility timeout) does nothing, as SQS documents: the message is processed twice;
* pollers are concurrency slots whose number scales (B66, B68, B69: :mod:`replay.engine.sqs_scaling`);
  a throttled invoke is retried until the batch's visibility timeout ends, after which its
  messages return to the queue (B67);
* unmatched messages are deleted without an invocation (B71, B72);
* FIFO: a message group is never in two batches at once and is blocked while any of its messages is
  in flight or waiting out a visibility timeout (B74–B76: :mod:`replay.engine.sqs_fifo`); with a
  partial response, messages after a reported one are deleted, breaking the group's order (B77).

A receive takes messages in the queue's receive order (a standard queue's, or its FIFO groups':
:mod:`replay.engine.sqs_queue`, :mod:`replay.engine.sqs_fifo`). B9, the visibility timeout against
the function timeout, is checked by the runner before an engine is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from replay import events
from replay.engine import destinations
from replay.engine.base import NO_TIME, PAYLOAD_LIMIT, EngineBase, EngineRun
from replay.engine.responses import Verdict, judge_sqs_response
from replay.engine.scheduler import Handle
from replay.engine.sqs_fifo import FifoGroups
from replay.engine.sqs_queue import (
    DONE,
    IN_FLIGHT,
    VISIBLE,
    WAITING,
    QueueAttributes,
    StandardQueue,
    delivery,
    message_delays_ms,
    message_ids,
)
from replay.engine.sqs_scaling import MINUTE, QueueGauges, Scaling
from replay.function import FaultVerdict, InvokeResult
from replay.vocabulary import Cause, Disposition, NextStep, Reason, Result

RECEIVE_MAX = 10  # ReceiveMessage returns at most 10 messages (5)


@dataclass(eq=False)
class Receive:
    """One batch received by one poller, and the receipt numbers it holds."""

    id: int
    slot: int
    rows: np.ndarray
    at: int
    until: int  # when its visibility timeout ends
    receipts: np.ndarray  # receive count of each row at this receive (its receipt handle)
    attempts: int = 0
    nbytes: int = 0


@dataclass(frozen=True)
class _Outcome:
    result: InvokeResult
    duration_ms: int
    function_error: str | None
    failed: tuple[int, ...] = ()


class SqsEngine(EngineBase):
    """Replays one capture of an SQS queue (standard or FIFO) under one ESM configuration."""

    def _setup(self) -> None:
        """Queue state: the queue's settings, per-message state, FIFO groups and the pollers."""
        config = self.config
        fifo = config.fifo or self.capture.manifest.source.fifo
        self.attrs = attrs = QueueAttributes.of(self.settings, fifo=fifo)
        self.fifo = attrs.fifo
        self.batch_size = config.batch_size
        self.window_ms = 0 if self.fifo else config.batching_window_ms
        self.payload_limit = PAYLOAD_LIMIT - events.envelope_overhead(self.ctx)
        self.message_ids = message_ids(self.table, self.seqs)
        # per-message queue state
        self.visible_at = self.arrival + message_delays_ms(self.table, attrs.delay_s)
        self.state = np.full(self.n, WAITING, dtype=np.int8)
        self.receives = np.zeros(self.n, dtype=np.int32)
        self.first_receive = np.full(self.n, NO_TIME, dtype=np.int64)
        self.duplicated = np.zeros(self.n, dtype=bool)
        self.in_flight_msgs = 0
        self.visible_msgs = 0  # messages back in the queue after a visibility timeout
        # the receive order: FIFO groups, or a standard queue's cursor and heap
        self.groups: FifoGroups | None = None
        self.queue: FifoGroups | StandardQueue
        if self.fifo:
            self.groups = self.queue = FifoGroups(
                self.table.column("key"), self.visible_at, self.disp, self.state, self.size,
                fits=self._fits, receive=self._receive,
            )  # fmt: skip
        else:
            self.queue = StandardQueue(
                self.visible_at, self.state, self.size, fits=self._fits, receive=self._receive
            )
        self.scaling = Scaling.of(config, self.options)
        self.gauges = QueueGauges(self.arrival, self.visible_at, self.disp)
        self.busy: set[int] = set()
        self.gathering: Receive | None = None
        self.gather_tick: Handle | None = None
        self.dispatch_wanted: int | None = None
        self.next_receive = 0
        self.running: dict[int, Receive] = {}
        self.queue_name = str(self.table.column("shard")[0].as_py()) if self.n else ""

    # ------------------------------------------------------------------ run
    def run(self) -> EngineRun:
        """Simulate until every message is processed, filtered, dead-lettered or expired."""
        if not self.config.enabled:
            self._resolve(
                np.arange(self.n), Disposition.UNPROCESSED, Reason.DISABLED.value, self.start_ms
            )
        elif self.n:
            self._schedule_dispatch(self.start_ms)
            self.sched.at(self.start_ms - self.start_ms % MINUTE + MINUTE, self._minute)
        end = self._simulate()
        for receive in self.running.values():
            self._log(receive, receive.at, Result.IN_FLIGHT, None, 0, NextStep.HORIZON, "")
        blocks = self.groups.blocked_intervals(end) if self.groups is not None else {}
        return self._collect(end, blocks, queue_metrics=self.gauges.table())

    # ------------------------------------------------------------------ the queue
    def _fits(self, row: int, nbytes: int, taken: list[int]) -> bool:
        """B20: the batch stops short of 6 MB (a lone oversized message still goes, alone).

        ``nbytes`` counts what the batch already holds, over every receive of a window.
        """
        empty = not taken and nbytes == 0
        return empty or nbytes + int(self.size[row]) <= self.payload_limit

    def _receive(self, row: int, now: int) -> bool:
        """One receive of one message; False when it never reaches a batch (expired, DLQ, filter)."""
        if self.state[row] == VISIBLE:
            self.visible_msgs -= 1
            self.state[row] = WAITING
        if self.arrival[row] + self.attrs.retention_ms <= now:
            self._settle(row, Disposition.DISCARDED, Reason.RETENTION_EXPIRED, now)
            return False
        max_receive = self.attrs.max_receive
        if max_receive is not None and self.receives[row] >= max_receive:
            self._dead_letter(row, now)
            return False
        self.receives[row] += 1
        if self.first_receive[row] == NO_TIME:
            self.first_receive[row] = now
        if not self.matched[row]:
            self._settle(row, Disposition.FILTERED, Reason.FILTER_CRITERIA, now)  # B71: deleted
            return False
        self.state[row] = IN_FLIGHT
        self.in_flight_msgs += 1
        return True

    def _settle(self, row: int, disp: Disposition, reason: Reason | None, now: int) -> None:
        in_flight = self.state[row] == IN_FLIGHT
        if in_flight:
            self.in_flight_msgs -= 1
        elif self.state[row] == VISIBLE:
            self.visible_msgs -= 1
        self.state[row] = DONE
        if self.groups is not None:
            self.groups.settled(row, now, in_flight=in_flight)
        self._resolve(np.array([row]), disp, reason.value if reason else "", now)

    def _dead_letter(self, row: int, now: int) -> None:
        """B65: SQS moves a message received maxReceiveCount times to the DLQ on the next receive."""
        self._settle(row, Disposition.DEAD_LETTERED, Reason.MAX_RECEIVE_COUNT, now)
        self.destinations.append(self._dlq_line(row, now))

    def _dlq_line(self, row: int, now: int) -> dict[str, Any]:
        record = events.build_records(
            self.table, np.array([row]), self.ctx, sqs=self._delivery([row], now)
        )[0]
        return destinations.sqs_dead_letter_line(
            record, source_queue=self.ctx.source_arn, dead_letter_queue=self.attrs.dlq_arn or ""
        )

    # ------------------------------------------------------------------ pollers
    def _schedule_dispatch(self, t: int) -> None:
        """Want a dispatch at ``t`` (a wish for a later time gives way to this earlier one).

        Not a cancellation: the dispatch runs in the turn of the *first* entry still queued for
        the millisecond wanted, which may be one queued for it before an earlier wish superseded
        it. So when two wishes for the same millisecond straddle a completion queued between them,
        the dispatch runs before that completion, not after it — which decides the lanes
        (pollers) of invocations.parquet. Cancelling the superseded entry would run it after.
        """
        if self.dispatch_wanted is not None and self.dispatch_wanted <= t:
            return
        self.dispatch_wanted = t
        self.sched.at(t, self._dispatch, t)

    def _free_slot(self) -> int | None:
        if len(self.busy) >= self.scaling.target:
            return None
        slot = 0
        while slot in self.busy:
            slot += 1
        return slot

    def _dispatch(self, wanted: int) -> None:
        """Free pollers receive and invoke while messages are receivable."""
        if wanted != self.dispatch_wanted:
            return  # no dispatch is wanted at this entry's millisecond (any longer)
        self.dispatch_wanted = None
        now = self.sched.now
        resume = self._paused_until(now)
        if resume is not None:  # B29: a disabled mapping receives nothing; the queue keeps it all
            self._schedule_dispatch(resume)
            return
        while self.gathering is None:
            slot = self._free_slot()
            if slot is None:
                return
            limit = min(self.batch_size, RECEIVE_MAX) if not self.window_ms else self.batch_size
            taken, nbytes = self.queue.take(now, limit, 0)
            if not taken:
                nxt = self.queue.next_visible()
                if nxt is not None:
                    self._schedule_dispatch(nxt)
                return
            receive = self._new_receive(slot, taken, now, nbytes)
            if self.window_ms and len(taken) < self.batch_size and nbytes < self.payload_limit:
                self.gathering = receive
                self._gather_later(receive, now)
                return
            self._invoke(receive)

    def _new_receive(self, slot: int, rows: list[int], now: int, nbytes: int) -> Receive:
        self.next_receive += 1
        self.busy.add(slot)
        arr = np.array(rows, dtype=np.int64)
        until = now + self.attrs.visibility_ms
        receive = Receive(
            self.next_receive, slot, arr, now, until, self.receives[arr].copy(), nbytes=nbytes
        )
        self.sched.at(receive.until, self._visibility_timeout, receive)
        return receive

    # ------------------------------------------------------------------ batching window
    def _gather_due(self, receive: Receive) -> int:
        """The window's end; with the low-traffic option, a thin batch may wait longer (B18)."""
        end = receive.at + self.window_ms
        hold = self.options.sqs_low_traffic_wait_ms
        if hold and len(receive.rows) < RECEIVE_MAX:
            end = max(end, receive.at + hold)
        return end

    def _gather_later(self, receive: Receive, now: int) -> None:
        """B14/B18: a window keeps receiving until BatchSize, 6 MB or its end: its next look."""
        nxt = self.queue.next_visible()
        due = self._gather_due(receive)
        t = due if nxt is None else min(max(nxt, now + 1), due)
        self.gather_tick = self.sched.at(t, self._gather_tick, receive)

    def _stop_gathering(self) -> None:
        """The window closes: its pending look, if any, is withdrawn."""
        self.gathering = None
        if self.gather_tick is not None:
            self.gather_tick.cancel()
            self.gather_tick = None

    def _gather_tick(self, receive: Receive) -> None:
        self.gather_tick = None
        now = self.sched.now
        if self._paused_until(now) is not None:  # B29: disabled mid-window: stop gathering
            self._stop_gathering()
            self._release(receive.slot)
            return
        taken, nbytes = self.queue.take(now, self.batch_size - len(receive.rows), receive.nbytes)
        if taken:
            receive.rows = np.concatenate([receive.rows, np.array(taken, dtype=np.int64)])
            receive.receipts = self.receives[receive.rows].copy()
            receive.nbytes = nbytes
        nxt = self.queue.next_visible()
        stuck = nxt is not None and nxt <= now  # receivable messages that no longer fit: full
        full = len(receive.rows) >= self.batch_size or stuck
        if full or now >= self._gather_due(receive):
            self._stop_gathering()
            self._invoke(receive)
            self._schedule_dispatch(now)
            return
        self._gather_later(receive, now)

    # ------------------------------------------------------------------ invoking
    def _invoke(self, receive: Receive) -> None:
        now = self.sched.now
        if self._paused_until(now) is not None:  # B29: the poller stops with this receive in hand
            self._release(receive.slot)  # its messages reappear when their visibility timeout ends
            return
        receive.attempts += 1
        if receive.attempts > 1:  # a throttled retry: its visibility timeout may have run out
            rows = self._still_mine(receive)
            if not len(rows):
                self._release(receive.slot)
                return
            receive.rows, receive.receipts = rows, self.receives[rows].copy()
            receive.nbytes = self._nbytes_of(rows)
        rows = receive.rows
        if self._throttled(now):
            self._throttle(receive, now)
            return
        self.in_flight += 1
        request_id = self._request_id()
        outcome = self._call(receive, request_id)
        self._delivered(rows, now)
        self.running[receive.id] = receive
        self.sched.at(now + outcome.duration_ms, self._complete, receive, outcome, now, request_id)

    def _nbytes_of(self, rows: np.ndarray) -> int:
        return int(self.size[rows].sum())

    def _still_mine(self, receive: Receive) -> np.ndarray:
        """Rows of a receive that are still in flight under its receipt handles."""
        rows = receive.rows
        mine = (self.state[rows] == IN_FLIGHT) & (self.receives[rows] == receive.receipts)
        return rows[mine]

    def _throttle(self, receive: Receive, now: int) -> None:
        """B67: back off and retry the invoke until the batch's visibility timeout runs out."""
        wait = self.options.retry_backoff_ms[
            min(receive.attempts, len(self.options.retry_backoff_ms)) - 1
        ]
        give_up = now + wait >= receive.until
        nxt = NextStep.RELEASE if give_up else NextStep.RETRY
        self._log(receive, now, Result.THROTTLED, None, 0, nxt, "B67")
        if give_up:
            if self.groups is not None:
                self.groups.block(self._still_mine(receive), receive.at)
            self._release(receive.slot)  # the messages reappear when their visibility timeout ends
        else:
            self.sched.at(now + wait, self._invoke, receive)

    def _delivery(self, rows: list[int] | np.ndarray, now: int) -> events.SqsDelivery:
        return delivery(self.message_ids, self.receives, self.first_receive, rows, now)

    def _call(self, receive: Receive, request_id: str) -> _Outcome:
        rows = receive.rows
        run = self._run_model(
            rows,
            receive.nbytes,
            request_id,
            lambda: self._event(rows),
            lambda verdict: self._modelled_response(rows, verdict),
        )
        if run.timed_out:
            return _Outcome(InvokeResult.TIMEOUT, run.duration_ms, "Unhandled")
        if run.error:
            return _Outcome(InvokeResult.ERROR, run.duration_ms, "Unhandled")
        if run.response is None:
            return _Outcome(InvokeResult.OK, run.duration_ms, None)
        ids = [str(self.message_ids[r]) for r in rows]
        judged = judge_sqs_response(run.response, ids, rbif=self.config.report_batch_item_failures)
        if judged.verdict is Verdict.SUCCESS:
            return _Outcome(InvokeResult.OK, run.duration_ms, None)
        if judged.verdict is Verdict.PARTIAL:
            return _Outcome(InvokeResult.PARTIAL, run.duration_ms, None, tuple(judged.failed))
        return _Outcome(InvokeResult.INVALID, run.duration_ms, None)

    def _event(self, rows: np.ndarray) -> dict[str, Any]:
        records = events.build_records(
            self.table, rows, self.ctx, sqs=self._delivery(rows, self.sched.now)
        )
        return events.build_event(records, self.ctx)

    def _modelled_response(self, rows: np.ndarray, verdict: FaultVerdict | None) -> Any:
        if verdict is None or verdict.reported is None:
            return None
        return {
            "batchItemFailures": [
                {"itemIdentifier": str(self.message_ids[rows[i]])} for i in verdict.reported
            ]
        }

    # ------------------------------------------------------------------ completion
    def _complete(self, receive: Receive, out: _Outcome, start: int, request_id: str) -> None:
        now = self.sched.now
        self.in_flight -= 1
        self.running.pop(receive.id, None)
        rows = receive.rows
        if out.result is InvokeResult.OK:
            self._delete(receive, np.ones(len(rows), dtype=bool), now)
            self._log(receive, start, Result.OK, None, 0, NextStep.DELETE, "B60", request_id)
        elif out.result is InvokeResult.PARTIAL:
            keep = np.zeros(len(rows), dtype=bool)
            keep[list(out.failed)] = True
            self._delete(receive, ~keep, now)
            if self.groups is not None:
                self.groups.block(rows[keep], start)
            rule = "B77" if self.fifo else "B62"
            self._log(receive, start, Result.PARTIAL, None, len(out.failed),
                      NextStep.PARTIAL_DELETE, rule, request_id)  # fmt: skip
        else:
            self.scaling.error()  # B66: errors slow polling down, unless RBIF is on
            rule = "B63" if out.result is InvokeResult.INVALID else "B61"
            if self.groups is not None:
                self.groups.block(rows, start)
            self._log(receive, start, Result(out.result.value), out.function_error, 0,
                      NextStep.VISIBILITY_TIMEOUT, rule, request_id)  # fmt: skip
        self._release(receive.slot)

    def _delete(self, receive: Receive, which: np.ndarray, now: int) -> None:
        """Delete with this receive's receipt handles; a stale handle deletes nothing (SQS docs)."""
        for row, receipt, delete in zip(receive.rows, receive.receipts, which, strict=True):
            if not delete or self.receives[row] != receipt or self.state[row] == DONE:
                continue
            if not self.fifo and self._duplicate(row):
                continue  # B73: the delete does not take; the message comes back after its timeout
            self._settle(int(row), Disposition.PROCESSED, None, now)
            if self.groups is not None:
                self.groups.unlock(self.groups.group(row))

    def _duplicate(self, row: int) -> bool:
        rate = self.options.sqs_duplicate_rate
        if rate <= 0 or self.duplicated[row] or self.rng.random() >= rate:
            return False
        self.duplicated[row] = True
        return True

    def _visibility_timeout(self, receive: Receive) -> None:
        """The receive's messages still in flight become receivable again (B61, S02)."""
        now = self.sched.now
        returned = False
        for row, receipt in zip(receive.rows, receive.receipts, strict=True):
            if self.state[row] != IN_FLIGHT or self.receives[row] != receipt:
                continue
            returned = True
            self.state[row] = VISIBLE
            self.in_flight_msgs -= 1
            self.visible_msgs += 1
            self.visible_at[row] = now
            self.queue.returned(int(row), now)
        if returned:
            self._schedule_dispatch(now)

    def _release(self, slot: int) -> None:
        """A poller is free again: it receives at once if anything is receivable, else waits."""
        self.busy.discard(slot)
        nxt = self.queue.next_visible()
        if nxt is not None:
            self._schedule_dispatch(max(nxt, self.sched.now))

    # ------------------------------------------------------------------ scaling and gauges
    def _minute(self) -> None:
        """Once a minute: sample the queue's gauges and move the concurrency target (B66, B68)."""
        now = self.sched.now
        self.scaling.minute(backlog=self._visible_count(now) > 0, busy=len(self.busy))
        self.gauges.sample(
            now,
            visible=self._visible_count(now),
            not_visible=self.in_flight_msgs,
            target=self.scaling.target,
        )
        if self.resolved < self.n:
            self.sched.at(now + MINUTE, self._minute)
            self._schedule_dispatch(now)

    def _visible_count(self, now: int) -> int:
        return max(self.queue.fresh_visible(now), 0) + self.visible_msgs

    # ------------------------------------------------------------------ log
    def _log(self, receive: Receive, start: int, result: Result, function_error: str | None,
             failed: int, nxt: NextStep, rule: str, request_id: str | None = None) -> None:  # fmt: skip
        rows = receive.rows
        n = len(rows)
        redelivery = n and bool((receive.receipts > 1).any())
        self.log.add(
            batch=receive.id,
            parent_batch=None,
            shard=self.queue_name,
            lane=receive.slot,
            start=start,
            end=self.sched.now,
            records=n,
            bytes=receive.nbytes,
            first_seq=self.seqs[rows[0]] if n else None,
            last_seq=self.seqs[rows[-1]] if n else None,
            attempt=receive.attempts,
            cause=(Cause.RETRY if redelivery else Cause.NEW).value,
            result=result.value,
            failed_items=failed,
            function_error=function_error,
            request_id=request_id,
            iterator_age_ms=start - int(self.arrival[rows].min()) if n else None,
            next=nxt.value,
            rule=rule,
            record_rows=rows,
        )
