"""SQS standard and FIFO event source mappings, simulated in virtual time.

The queue is modelled the way SQS and Lambda's pollers see it:

* a message becomes visible at ``SentTimestamp + DelaySeconds``; a receive makes it invisible for
  the queue's ``VisibilityTimeout`` and counts toward ``maxReceiveCount`` (B65); success deletes it
  (B60), a failure leaves it to reappear when the visibility timeout ends (B61); a partial batch
  response deletes what was not reported (B62–B64); a receive of a message already received
  ``maxReceiveCount`` times moves it to the dead-letter queue instead (B65, S04);
* a delete with a stale receipt handle (the message was received again meanwhile, because a batch
  outlived its visibility timeout) does nothing, as SQS documents: the message is processed twice;
* pollers are concurrency slots: 5 at first, +300 a minute while a backlog remains, up to 1,250
  (B68), capped by ``ScalingConfig.MaximumConcurrency`` (B69), scaled down by function errors unless
  ReportBatchItemFailures is on (B66); a throttled invoke is retried until the batch's visibility
  timeout ends, after which its messages return to the queue (B67);
* unmatched messages are deleted without an invocation (B71, B72);
* FIFO: a message group is never in two batches at once and is blocked while any of its messages is
  in flight or waiting out a visibility timeout (B74–B76); with a partial response, messages after a
  reported one are deleted, breaking the group's order (B77).

Fresh messages are read through a cursor over the capture in availability order; only messages
that come back (after a failure or a visibility timeout) pass through a heap, so a million messages
cost little more than the invocations they make.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.config import check_function_fit
from replay.engine import destinations
from replay.engine.base import NO_TIME, PAYLOAD_LIMIT, UNRESOLVED, EngineBase, EngineRun
from replay.engine.responses import Verdict, judge_sqs_response
from replay.function import FaultVerdict, InvokeResult
from replay.vocabulary import Disposition

MINUTE = 60_000
RECEIVE_MAX = 10  # ReceiveMessage returns at most 10 messages (5)
DEFAULT_VISIBILITY_S = 30
DEFAULT_RETENTION_S = 345_600  # 4 days
WAITING, VISIBLE, IN_FLIGHT, DONE = 0, 1, 2, 3


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


@dataclass(eq=False)
class _Scaling:
    """B66, B68, B69: the ESM's concurrency target, evaluated once a minute."""

    target: int
    start: int
    floor: int
    cap: int
    rate: int
    errors: int = 0
    history: list[tuple[int, int]] = field(default_factory=list)


class SqsEngine(EngineBase):
    """Replays one capture of an SQS queue (standard or FIFO) under one ESM configuration."""

    def _setup(self) -> None:
        """Queue state: the queue's settings, per-message state, FIFO groups and the pollers."""
        config, capture = self.config, self.capture
        s = self.settings
        self.fifo = config.fifo or capture.manifest.source.fifo or _truthy(s.get("FifoQueue"))
        visibility_s = int(s.get("VisibilityTimeout", DEFAULT_VISIBILITY_S))
        check_function_fit(  # B9: AWS refuses a mapping whose function outlives the visibility timeout
            config, function_timeout_s=self.fn.timeout_ms / 1000, visibility_timeout_s=visibility_s
        )
        self.vt_ms = visibility_s * 1000
        self.retention_ms = int(s.get("MessageRetentionPeriod", DEFAULT_RETENTION_S)) * 1000
        redrive = _redrive(s.get("RedrivePolicy"))
        self.max_receive: int | None = redrive.get("maxReceiveCount")
        self.dlq_arn: str | None = redrive.get("deadLetterTargetArn")
        self.batch_size = config.batch_size
        self.window_ms = 0 if self.fifo else config.batching_window_ms
        self.payload_limit = PAYLOAD_LIMIT - events.envelope_overhead(self.ctx)
        self.message_ids = self._column("message_id", self.seqs)
        # per-message queue state
        delay = self._delays(int(s.get("DelaySeconds", 0)))
        self.visible_at = self.arrival + delay
        self.state = np.full(self.n, WAITING, dtype=np.int8)
        self.receives = np.zeros(self.n, dtype=np.int32)
        self.first_receive = np.full(self.n, NO_TIME, dtype=np.int64)
        self.duplicated = np.zeros(self.n, dtype=bool)
        self.in_flight_msgs = 0
        self.visible_msgs = 0  # messages back in the queue after a visibility timeout
        # standard: fresh messages by availability, then a heap of the ones that came back
        self.fresh = np.argsort(self.visible_at, kind="stable")
        self.fresh_at = self.visible_at[self.fresh]
        self.fresh_pos = 0
        self.back: list[tuple[int, int]] = []
        self.by_arrival = np.argsort(self.arrival, kind="stable")
        self.oldest_pos = 0
        # FIFO: per-group message lists, heads and an availability heap
        if self.fifo:
            self._build_groups()
        self.scaling = self._scaling()
        self.busy: set[int] = set()
        self.gathering: Receive | None = None
        self.gather_deadline = 0
        self.dispatch_pending: int | None = None
        self.next_receive = 0
        self.running: dict[int, Receive] = {}
        self.samples: list[tuple[int, int, int, int, int]] = []
        self.queue_name = str(self.table.column("shard")[0].as_py()) if self.n else ""

    # ------------------------------------------------------------------ set-up
    def _column(self, name: str, fallback: np.ndarray) -> np.ndarray:
        if name not in self.table.column_names:
            return fallback
        col = self.table.column(name).to_numpy(zero_copy_only=False)
        return np.where(pd_isnull(col), fallback, col)

    def _delays(self, queue_delay_s: int) -> np.ndarray:
        """Per-message DelaySeconds when captured, else the queue's DelaySeconds (a message timer)."""
        delay = np.full(self.n, queue_delay_s * 1000, dtype=np.int64)
        if "delay_seconds" in self.table.column_names:
            col = self.table.column("delay_seconds")
            if col.null_count < len(col):
                values = col.fill_null(queue_delay_s).to_numpy().astype(np.int64)
                delay = values * 1000
        return delay

    def _build_groups(self) -> None:
        keys = self.table.column("key").fill_null("").combine_chunks()
        encoded = keys.dictionary_encode()
        codes = encoded.indices.to_numpy().astype(np.int64)
        order = np.argsort(codes, kind="stable")  # rows of each group, in capture (send) order
        bounds = np.searchsorted(codes[order], np.arange(len(encoded.dictionary) + 1))
        self.group_rows = [order[bounds[g] : bounds[g + 1]] for g in range(len(bounds) - 1)]
        self.group_of = codes
        self.group_names = encoded.dictionary.to_pylist()
        n_groups = len(self.group_rows)
        # S05/B75: a group stalls behind a failed message until it is processed, dead-lettered or
        # expired; these are the intervals compare and explain --shard GROUP report
        self.group_blocked_since = np.full(n_groups, NO_TIME, dtype=np.int64)
        self.group_blocks: dict[int, list[tuple[int, int]]] = {}
        self.group_head = np.zeros(n_groups, dtype=np.int64)
        self.group_inflight = np.zeros(n_groups, dtype=np.int64)
        self.groups: list[tuple[int, int, int]] = [
            (int(self.visible_at[rows[0]]), int(rows[0]), g)
            for g, rows in enumerate(self.group_rows)
            if len(rows)
        ]
        heapq.heapify(self.groups)

    def _scaling(self) -> _Scaling:
        """B68/B69 (and provisioned mode): where concurrency starts, its floor, cap and growth."""
        cfg = self.config
        if cfg.provisioned is not None:
            lo, hi = cfg.provisioned.minimum * 10, cfg.provisioned.maximum * 10
            return _Scaling(target=lo, start=lo, floor=lo, cap=hi, rate=1000)
        legacy = self.options.sqs_scaling == "legacy"
        cap = 1000 if legacy else 1250
        if cfg.maximum_concurrency is not None:
            cap = min(cap, cfg.maximum_concurrency)
        start = min(5, cap)
        return _Scaling(
            target=start, start=start, floor=min(2, cap), cap=cap, rate=60 if legacy else 300
        )

    # ------------------------------------------------------------------ run
    def run(self) -> EngineRun:
        """Simulate until every message is processed, filtered, dead-lettered or expired."""
        if not self.config.enabled:
            self._resolve(np.arange(self.n), Disposition.UNPROCESSED, "Disabled", self.start_ms)
        elif self.n:
            self._schedule_dispatch(self.start_ms)
            self.sched.at(self.start_ms - self.start_ms % MINUTE + MINUTE, self._minute)
        end = self._simulate()
        for receive in self.running.values():
            self._log(receive, receive.at, "in-flight", None, 0, "horizon", "")
        return self._collect(end, self._fifo_blocks(end), queue_metrics=self._samples_table())

    def _fifo_blocks(self, end: int) -> dict[str, list[tuple[int, int]]]:
        """Blocked intervals per FIFO message group (keyed by MessageGroupId); still open: to ``end``."""
        if not self.fifo:
            return {}
        for g in np.flatnonzero(self.group_blocked_since != NO_TIME):
            self._unblock_group(int(g), end)
        return {self.group_names[g]: v for g, v in sorted(self.group_blocks.items())}

    def _block_groups(self, rows: np.ndarray, now: int) -> None:
        """B75: the groups of messages that failed and will come back stall behind them, from the
        start of the failed attempt (``now``)."""
        if not self.fifo or not len(rows):
            return
        for g in np.unique(self.group_of[rows]):
            if self.group_blocked_since[g] == NO_TIME:
                self.group_blocked_since[g] = now

    def _unblock_group(self, g: int, now: int) -> None:
        since = int(self.group_blocked_since[g])
        if since != NO_TIME:
            if now > since:
                self.group_blocks.setdefault(g, []).append((since, now))
            self.group_blocked_since[g] = NO_TIME

    # ------------------------------------------------------------------ the queue
    def _clean_back(self) -> None:
        while self.back:
            t, row = self.back[0]
            if self.state[row] == VISIBLE and self.visible_at[row] == t:
                return
            heapq.heappop(self.back)

    def _clean_groups(self) -> None:
        while self.groups:
            t, row, g = self.groups[0]
            if self._group_ready_entry(g, row, t):
                return
            heapq.heappop(self.groups)

    def _group_ready_entry(self, g: int, row: int, t: int) -> bool:
        head = self._head(g)
        return (
            head is not None
            and head == row
            and not self.group_inflight[g]
            and self.visible_at[row] == t
        )

    def _head(self, g: int) -> int | None:
        """The first unresolved message of group ``g`` (advancing past resolved ones)."""
        rows = self.group_rows[g]
        i = int(self.group_head[g])
        while i < len(rows) and self.disp[rows[i]] != UNRESOLVED:
            i += 1
        self.group_head[g] = i
        return int(rows[i]) if i < len(rows) else None

    def _next_visible(self) -> int | None:
        """When the next message becomes receivable (None: nothing left that could be)."""
        if self.fifo:
            self._clean_groups()
            return self.groups[0][0] if self.groups else None
        self._clean_back()
        times = []
        if self.fresh_pos < self.n:
            times.append(int(self.fresh_at[self.fresh_pos]))
        if self.back:
            times.append(self.back[0][0])
        return min(times) if times else None

    def _take(self, now: int, limit: int, nbytes: int) -> tuple[list[int], int]:
        """ReceiveMessage: up to ``limit`` receivable messages within the payload budget."""
        return (
            self._take_fifo(now, limit, nbytes)
            if self.fifo
            else self._take_standard(now, limit, nbytes)
        )

    def _take_standard(self, now: int, limit: int, nbytes: int) -> tuple[list[int], int]:
        taken: list[int] = []
        while len(taken) < limit:
            self._clean_back()
            if self.back and self.back[0][0] <= now:
                row = self.back[0][1]
                if not self._fits(row, nbytes, taken):
                    break
                heapq.heappop(self.back)
            elif self.fresh_pos < self.n and self.fresh_at[self.fresh_pos] <= now:
                row = int(self.fresh[self.fresh_pos])
                if not self._fits(row, nbytes, taken):
                    break
                self.fresh_pos += 1
            else:
                break
            if self._receive(row, now):
                taken.append(row)
                nbytes += int(self.size[row])
        return taken, nbytes

    def _take_fifo(self, now: int, limit: int, nbytes: int) -> tuple[list[int], int]:
        """B74: messages of as many groups as fit, each group's in order, each group locked.

        A locked group cannot be in a second batch, so concurrency never exceeds the number of
        groups with receivable messages (B75, B76).
        """
        taken: list[int] = []
        later: list[tuple[int, int, int]] = []
        while len(taken) < limit:
            self._clean_groups()
            if not self.groups or self.groups[0][0] > now:
                break
            _, _, g = heapq.heappop(self.groups)
            got, full = self._take_group(g, now, limit - len(taken), nbytes, taken)
            nbytes += sum(int(self.size[r]) for r in taken[len(taken) - got :])
            if not got:
                head = self._head(g)
                if head is not None:
                    later.append((int(self.visible_at[head]), head, g))
            if full:
                break
        for entry in later:
            heapq.heappush(self.groups, entry)
        return taken, nbytes

    def _take_group(
        self, g: int, now: int, room: int, nbytes: int, taken: list[int]
    ) -> tuple[int, bool]:
        """Consecutive receivable messages of one (unlocked) group, from its head, in order."""
        rows = self.group_rows[g]
        self._head(g)
        i = int(self.group_head[g])
        got = 0
        while got < room and i < len(rows):
            row = int(rows[i])
            if self.disp[row] != UNRESOLVED:
                i += 1
                continue
            if self.visible_at[row] > now:
                break
            if not self._fits(row, nbytes, taken):
                return got, True
            if self._receive(row, now):
                taken.append(row)
                nbytes += int(self.size[row])
                self.group_inflight[g] += 1
                got += 1
            i += 1
        return got, got >= room

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
        if self.arrival[row] + self.retention_ms <= now:
            self._settle(row, Disposition.DISCARDED, "RetentionExpired", now)
            return False
        if self.max_receive is not None and self.receives[row] >= self.max_receive:
            self._dead_letter(row, now)
            return False
        self.receives[row] += 1
        if self.first_receive[row] == NO_TIME:
            self.first_receive[row] = now
        if not self.matched[row]:
            self._settle(row, Disposition.FILTERED, "FilterCriteria", now)  # B71: deleted
            return False
        self.state[row] = IN_FLIGHT
        self.in_flight_msgs += 1
        return True

    def _settle(self, row: int, disp: Disposition, reason: str, now: int) -> None:
        if self.state[row] == IN_FLIGHT:
            self.in_flight_msgs -= 1
            if self.fifo:
                self.group_inflight[self.group_of[row]] -= 1
        elif self.state[row] == VISIBLE:
            self.visible_msgs -= 1
        self.state[row] = DONE
        if self.fifo:  # the message a stalled group waited on has left: the group moves again
            self._unblock_group(int(self.group_of[row]), now)
        self._resolve(np.array([row]), disp, reason, now)

    def _dead_letter(self, row: int, now: int) -> None:
        """B65: SQS moves a message received maxReceiveCount times to the DLQ on the next receive."""
        self._settle(row, Disposition.DEAD_LETTERED, "maxReceiveCount", now)
        self.destinations.append(self._dlq_line(row, now))

    def _dlq_line(self, row: int, now: int) -> dict[str, Any]:
        record = events.build_records(
            self.table, np.array([row]), self.ctx, sqs=self._delivery([row], now)
        )[0]
        return destinations.sqs_dead_letter_line(
            record, source_queue=self.ctx.source_arn, dead_letter_queue=self.dlq_arn or ""
        )

    # ------------------------------------------------------------------ pollers
    def _schedule_dispatch(self, t: int) -> None:
        if self.dispatch_pending is not None and self.dispatch_pending <= t:
            return
        self.dispatch_pending = t
        self.sched.at(t, self._dispatch, t)

    def _free_slot(self) -> int | None:
        if len(self.busy) >= self.scaling.target:
            return None
        slot = 0
        while slot in self.busy:
            slot += 1
        return slot

    def _dispatch(self, token: int) -> None:
        """Free pollers receive and invoke while messages are receivable."""
        if token != self.dispatch_pending:
            return
        self.dispatch_pending = None
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
            taken, nbytes = self._take(now, limit, 0)
            if not taken:
                nxt = self._next_visible()
                if nxt is not None:
                    self._schedule_dispatch(nxt)
                return
            receive = self._new_receive(slot, taken, now, nbytes)
            if self.window_ms and len(taken) < self.batch_size and nbytes < self.payload_limit:
                self._gather(receive, now)
                return
            self._invoke(receive)

    def _new_receive(self, slot: int, rows: list[int], now: int, nbytes: int) -> Receive:
        self.next_receive += 1
        self.busy.add(slot)
        arr = np.array(rows, dtype=np.int64)
        receive = Receive(
            self.next_receive,
            slot,
            arr,
            now,
            now + self.vt_ms,
            self.receives[arr].copy(),
            nbytes=nbytes,
        )
        self.sched.at(receive.until, self._visibility_timeout, receive)
        return receive

    def _gather(self, receive: Receive, now: int) -> None:
        """B14/B18: a window keeps receiving until BatchSize, 6 MB or its end."""
        self.gathering = receive
        self._gather_later(receive, now)

    def _gather_due(self, receive: Receive) -> int:
        """The window's end; with the low-traffic option, a thin batch may wait longer (B18)."""
        end = receive.at + self.window_ms
        hold = self.options.sqs_low_traffic_wait_ms
        if hold and len(receive.rows) < RECEIVE_MAX:
            end = max(end, receive.at + hold)
        return end

    def _gather_later(self, receive: Receive, now: int) -> None:
        nxt = self._next_visible()
        due = self._gather_due(receive)
        t = due if nxt is None else min(max(nxt, now + 1), due)
        self.sched.at(t, self._gather_tick, receive)

    def _gather_tick(self, receive: Receive) -> None:
        if self.gathering is not receive:
            return
        now = self.sched.now
        if self._paused_until(now) is not None:  # B29: disabled mid-window: stop gathering
            self.gathering = None
            self._release(receive.slot)
            return
        taken, nbytes = self._take(now, self.batch_size - len(receive.rows), receive.nbytes)
        if taken:
            receive.rows = np.concatenate([receive.rows, np.array(taken, dtype=np.int64)])
            receive.receipts = self.receives[receive.rows].copy()
            receive.nbytes = nbytes
        nxt = self._next_visible()
        stuck = nxt is not None and nxt <= now  # receivable messages that no longer fit: full
        full = len(receive.rows) >= self.batch_size or stuck
        if full or now >= self._gather_due(receive):
            self.gathering = None
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
        self._log(receive, now, "throttled", None, 0, "release" if give_up else "retry", "B67")
        if give_up:
            self._block_groups(self._still_mine(receive), receive.at)
            self._release(receive.slot)  # the messages reappear when their visibility timeout ends
        else:
            self.sched.at(now + wait, self._invoke, receive)

    def _delivery(self, rows: list[int] | np.ndarray, now: int) -> Any:
        ids = [str(self.message_ids[r]) for r in rows]
        counts = [int(self.receives[r]) for r in rows]
        return events.SqsDelivery(
            receive_counts=counts,
            first_receive_ms=[
                int(self.first_receive[r]) if self.first_receive[r] != NO_TIME else now
                for r in rows
            ],
            receipt_handles=[events.receipt_handle(i, c) for i, c in zip(ids, counts, strict=True)],
        )

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
            self._log(receive, start, "ok", None, 0, "delete", "B60", request_id)
        elif out.result is InvokeResult.PARTIAL:
            keep = np.zeros(len(rows), dtype=bool)
            keep[list(out.failed)] = True
            self._delete(receive, ~keep, now)
            self._block_groups(rows[keep], start)
            rule = "B77" if self.fifo else "B62"
            self._log(
                receive, start, "partial", None, len(out.failed), "partial-delete", rule, request_id
            )
        else:
            if not self.config.report_batch_item_failures:
                self.scaling.errors += 1  # B66: errors slow polling down, unless RBIF is on
            rule = "B63" if out.result is InvokeResult.INVALID else "B61"
            self._block_groups(rows, start)
            self._log(
                receive,
                start,
                out.result.value,
                out.function_error,
                0,
                "visibility-timeout",
                rule,
                request_id,
            )
        self._release(receive.slot)

    def _delete(self, receive: Receive, which: np.ndarray, now: int) -> None:
        """Delete with this receive's receipt handles; a stale handle deletes nothing (SQS docs)."""
        for row, receipt, delete in zip(receive.rows, receive.receipts, which, strict=True):
            if not delete or self.receives[row] != receipt or self.state[row] == DONE:
                continue
            if not self.fifo and self._duplicate(row):
                continue  # B73: the delete does not take; the message comes back after its timeout
            group = self.group_of[row] if self.fifo else -1
            self._settle(int(row), Disposition.PROCESSED, "", now)
            if group >= 0:
                self._maybe_unlock(int(group))

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
            if self.fifo:
                g = int(self.group_of[row])
                self.group_inflight[g] -= 1
                self._maybe_unlock(g)
            else:
                heapq.heappush(self.back, (now, int(row)))
        if returned:
            self._schedule_dispatch(now)

    def _maybe_unlock(self, g: int) -> None:
        """B74: a FIFO group is receivable again once none of its messages is in flight."""
        if self.group_inflight[g]:
            return
        head = self._head(g)
        if head is not None:
            heapq.heappush(self.groups, (int(self.visible_at[head]), head, g))

    def _release(self, slot: int) -> None:
        """A poller is free again: it receives at once if anything is receivable, else waits."""
        self.busy.discard(slot)
        nxt = self._next_visible()
        if nxt is not None:
            self._schedule_dispatch(max(nxt, self.sched.now))

    # ------------------------------------------------------------------ scaling and gauges
    def _minute(self) -> None:
        """Once a minute: sample the queue's gauges and move the concurrency target (B66, B68)."""
        now = self.sched.now
        sc = self.scaling
        backlog = self._visible_count(now) > 0
        if sc.errors and not self.config.report_batch_item_failures:
            sc.target = max(sc.floor, sc.target - sc.errors)  # B66: errors win over a backlog
        elif backlog and len(self.busy) >= sc.target:
            sc.target = min(sc.cap, sc.target + sc.rate)
        elif not backlog and len(self.busy) < sc.target:
            sc.target = max(sc.floor, min(sc.target, sc.start))
        sc.errors = 0
        self.samples.append(
            (
                now - MINUTE,
                self._visible_count(now),
                self.in_flight_msgs,
                self._oldest_age(now),
                sc.target,
            )
        )
        if self.resolved < self.n:
            self.sched.at(now + MINUTE, self._minute)
            self._schedule_dispatch(now)

    def _visible_count(self, now: int) -> int:
        fresh = int(np.searchsorted(self.fresh_at, now, side="right")) - self.fresh_pos
        if self.fifo:
            fresh = int(((self.state == WAITING) & (self.visible_at <= now)).sum())
        return max(fresh, 0) + self.visible_msgs

    def _oldest_age(self, now: int) -> int:
        order = self.by_arrival
        while self.oldest_pos < self.n and self.disp[order[self.oldest_pos]] != UNRESOLVED:
            self.oldest_pos += 1
        if self.oldest_pos >= self.n:
            return 0
        row = order[self.oldest_pos]
        return max(0, now - int(self.arrival[row])) if self.visible_at[row] <= now else 0

    def _samples_table(self) -> pa.Table:
        cols = list(zip(*self.samples, strict=True)) if self.samples else [()] * 5
        return pa.table(
            {
                "minute": pa.array(cols[0], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
                "messages_visible": pa.array(cols[1], pa.int64()),
                "messages_not_visible": pa.array(cols[2], pa.int64()),
                "age_of_oldest_message_ms": pa.array(cols[3], pa.int64()),
                "concurrency_target": pa.array(cols[4], pa.int64()),
            }
        )

    # ------------------------------------------------------------------ log
    def _log(self, receive: Receive, start: int, result: str, function_error: str | None, failed: int,
             nxt: str, rule: str, request_id: str | None = None) -> None:  # fmt: skip
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
            cause="retry" if redelivery else "new",
            result=result,
            failed_items=failed,
            function_error=function_error,
            request_id=request_id,
            iterator_age_ms=start - int(self.arrival[rows].min()) if n else None,
            next=nxt,
            rule=rule,
            record_rows=rows,
        )


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _redrive(value: Any) -> dict[str, Any]:
    """The queue's RedrivePolicy, as an object (AWS returns it as a JSON string)."""
    if not value:
        return {}
    policy = json.loads(value) if isinstance(value, str) else dict(value)
    if "maxReceiveCount" in policy:
        policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
    return policy


def pd_isnull(values: np.ndarray) -> np.ndarray:
    """None entries of an object array."""
    return np.array([v is None for v in values], dtype=bool)
