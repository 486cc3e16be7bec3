"""The Kinesis / DynamoDB Streams poller, simulated in virtual time.

One *lane* per shard — or per shard and key bucket when ParallelizationFactor > 1 (B48, B49) — reads
its records in order, gathers batches (BatchSize, window, 6 MB payload: B14–B16, B19, B20), invokes
the function model and applies the documented consequences: checkpoint on success; on failure,
retries that block the lane (B21), MaximumRetryAttempts (B23), MaximumRecordAgeInSeconds (B25–B27),
bisect (B31–B35), partial batch responses with the checkpoint rule and the retry-count reset
(B36–B42, K09, D06), throttles that consume no retries (B22), filtering (B52–B54), tumbling windows
(B55–B59) and on-failure records (B43–B47).

Records are never Python objects here: a lane is a slice of row indices into the capture's Arrow
table plus cumulative count/size arrays, so a batch boundary is one ``searchsorted``; only a real
handler, or an S3 on-failure payload, ever makes event dictionaries.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.config import StartingPosition
from replay.engine import destinations
from replay.engine.base import PAYLOAD_LIMIT, EngineBase, EngineRun, FunctionIdentity
from replay.engine.responses import ResponseVerdict, Verdict, judge_stream_response
from replay.function import FaultVerdict, InvokeResult
from replay.vocabulary import Disposition, SourceKind

STATE_LIMIT = 1024 * 1024  # tumbling-window state per shard (B57)
DEFAULT_RETENTION_H = 24.0


@dataclass(eq=False)
class Batch:
    """One unit of work on a lane: the rows it holds and how its attempts went."""

    id: int
    rows: np.ndarray
    cause: str
    parent: int | None = None
    failures: int = 0  # failed attempts that count toward MaximumRetryAttempts
    invokes: int = 0  # attempts that reached the function (approximateInvokeCount)
    attempts: int = 0  # every attempt, throttled ones included
    last_error: str | None = None
    final_window: bool = False
    terminated_early: bool = False


@dataclass(eq=False)
class Lane:
    """A sequential reader: one shard, or one key bucket of a shard when PF > 1."""

    index: int
    shard: str
    lane: int
    rows: np.ndarray  # capture row indices in read order
    ready: np.ndarray  # running max of arrival: when each row is readable
    arrival: np.ndarray  # own arrival (age, windows)
    cum_count: np.ndarray  # matched records before each position (len n+1)
    cum_size: np.ndarray  # matched bytes before each position (len n+1)
    cursor: int = 0
    pending: deque[Batch] = field(default_factory=deque)
    busy: bool = False
    token: int = 0
    idle_since: int = 0
    gather_open: int | None = None
    consecutive_failures: int = 0
    block_start: int | None = None
    blocks: list[tuple[int, int]] = field(default_factory=list)
    waiting_on: set[str] = field(default_factory=set)
    finished: bool = False
    win_start: int | None = None
    win_state: dict[str, Any] = field(default_factory=dict)
    win_terminate: bool = False


StreamRun = EngineRun  # the name the stream engine's result had first

FunctionIdentity = FunctionIdentity  # re-exported: run.py and tests read it from here


@dataclass(frozen=True)
class _Outcome:
    result: InvokeResult
    duration_ms: int
    function_error: str | None
    verdict: ResponseVerdict | None
    failed_items: int


@dataclass(frozen=True)
class _Attempt:
    """One invocation in flight: everything its completion and its log row need."""

    lane: Lane
    batch: Batch
    start: int
    request_id: str | None
    nbytes: int
    outcome: _Outcome | None = None


class StreamEngine(EngineBase):
    """Replays one capture of a Kinesis or DynamoDB stream under one ESM configuration."""

    def _setup(self) -> None:
        """Stream state: poll cadence, retention, age limit, windows and lanes (built in run)."""
        if not self.kind.is_stream and self.kind is not SourceKind.KAFKA:
            raise ValueError(f"StreamEngine replays Kinesis/DynamoDB captures, not {self.kind}")
        config = self.config
        default_poll = 1000 if self.kind is SourceKind.KINESIS else 250
        self.poll_ms = self.options.poll_interval_ms or default_poll
        retention_h = self.options.retention_hours or _retention_hours(self.settings)
        self.retention_ms = round(retention_h * 3_600_000)
        age = config.maximum_record_age_s
        self.max_age_ms = age * 1000 if age >= 0 else None
        self.window_ms = config.batching_window_ms
        self.tumbling_ms = config.tumbling_window_s * 1000
        self.payload_limit = PAYLOAD_LIMIT - events.envelope_overhead(self.ctx)
        self.running: dict[int, _Attempt] = {}  # attempts in flight, by batch id
        self.lanes: list[Lane] = []
        self.lanes_by_shard: dict[str, list[Lane]] = {}

    # ------------------------------------------------------------------ set-up
    def _eligible_mask(self) -> tuple[np.ndarray, str]:
        """Starting position relative to the replay start (DESIGN: time), and B30's startup gap."""
        cfg = self.config
        pos = cfg.starting_position or StartingPosition.TRIM_HORIZON
        if pos is StartingPosition.TRIM_HORIZON:
            return np.ones(self.n, dtype=bool), ""
        if pos is StartingPosition.LATEST:
            cut = self.start_ms + self.options.startup_gap_ms
        else:
            cut = cfg.starting_position_timestamp_ms or self.start_ms
        return self.arrival >= cut, "BeforeStartingPosition"

    def _lane_of(self, keys: pa.Array, k: int) -> np.ndarray:
        """B49/B50: records with the same key always share a lane (MD5 of the key, modulo PF)."""
        if k == 1:
            return np.zeros(len(keys), dtype=np.int64)
        uniq = pa.compute.unique(keys.fill_null(""))
        buckets = {
            key: int.from_bytes(hashlib.md5(key.encode("utf-8")).digest()[:8], "big") % k
            for key in uniq.to_pylist()
        }
        return np.array([buckets[v] for v in keys.fill_null("").to_pylist()], dtype=np.int64)

    def _build_lanes(self) -> None:
        eligible, why = self._eligible_mask()
        if not eligible.all():
            self._resolve(np.flatnonzero(~eligible), Disposition.UNPROCESSED, why, self.start_ms)
        shards = self.table.column("shard").to_numpy(zero_copy_only=False)
        keys = self.table.column("key").combine_chunks()
        pf = self.config.parallelization_factor
        lane_no = self._lane_of(keys, pf)
        matched_size = np.where(self.matched, self.size, 0)
        parents = {s.id: set(s.parents) for s in self.capture.manifest.shards}
        order = [s for s in dict.fromkeys(shards.tolist())]
        for shard in order:
            in_shard = np.flatnonzero((shards == shard) & eligible)
            for k in range(pf):
                rows = in_shard[lane_no[in_shard] == k]
                if not len(rows) and pf > 1:
                    continue
                arr = self.arrival[rows]
                lane = Lane(
                    index=len(self.lanes),
                    shard=shard,
                    lane=k,
                    rows=rows,
                    ready=np.maximum.accumulate(arr) if len(arr) else arr,
                    arrival=arr,
                    cum_count=np.concatenate(([0], np.cumsum(self.matched[rows], dtype=np.int64))),
                    cum_size=np.concatenate(([0], np.cumsum(matched_size[rows]))),
                    idle_since=self.start_ms,
                )
                if self.options.child_after_parent:
                    lane.waiting_on = {p for p in parents.get(shard, set()) if p in shards}
                self.lanes.append(lane)
                self.lanes_by_shard.setdefault(shard, []).append(lane)

    def _new_batch(self, rows: np.ndarray, cause: str, parent: int | None = None) -> Batch:
        self.next_batch += 1
        return Batch(id=self.next_batch, rows=rows, cause=cause, parent=parent)

    def _backoff(self, lane: Lane) -> int:
        sched = self.options.retry_backoff_ms
        i = min(max(lane.consecutive_failures, 1), len(sched)) - 1
        return sched[i]

    # ------------------------------------------------------------------ run
    def run(self) -> EngineRun:
        """Simulate until every record has its disposition (or the horizon), then collect outputs."""
        if not self.config.enabled:
            self._resolve(np.arange(self.n), Disposition.UNPROCESSED, "Disabled", self.start_ms)
        else:
            self._build_lanes()
            for lane in self.lanes:
                if not lane.waiting_on:
                    self.sched.at(self.start_ms, self._wake, lane, lane.token)
        end = self._simulate()
        for attempt in self.running.values():
            # cut off by --until: the attempt started (its records count a delivery) but never ended
            self._log(attempt, "in-flight", "horizon", "")
        for lane in self.lanes:
            if lane.block_start is not None:
                lane.blocks.append((lane.block_start, end))
                lane.block_start = None
        return self._collect(end, self._blocks())

    def _blocks(self) -> dict[str, list[tuple[int, int]]]:
        out: dict[str, list[tuple[int, int]]] = {}
        for lane in self.lanes:
            out.setdefault(lane.shard, []).extend(lane.blocks)
        return out

    # ------------------------------------------------------------------ lane loop
    def _wake(self, lane: Lane, token: int) -> None:
        if token != lane.token or lane.busy:
            return
        self._advance(lane)

    def _schedule_wake(self, lane: Lane, t: int) -> None:
        lane.token += 1
        self.sched.at(t, self._wake, lane, lane.token)

    def _tick(self, lane: Lane, a: int) -> int:
        """The first idle poll at or after ``a`` (2.1: ~1 GetRecords/s Kinesis, 4/s DynamoDB)."""
        base = lane.idle_since
        if a <= base:
            return base
        return base + -(-(a - base) // self.poll_ms) * self.poll_ms

    def _advance(self, lane: Lane) -> None:
        """The lane is free at ``now`` with nothing pending: read the next batch, or go idle."""
        now = self.sched.now
        resume = self._paused_until(now)
        if resume is not None:  # B29: disabled; read on from the checkpoint when re-enabled
            lane.idle_since = resume
            self._schedule_wake(lane, resume)
            return
        self._end_block(lane, now)
        while True:
            n = len(lane.rows)
            self._expire_retention(lane, now)
            if lane.win_start is not None and self._window_due(lane, now):
                self._invoke(lane, self._final_batch(lane))
                return
            if lane.cursor >= n:
                self._idle_at_end(lane, now)
                return
            visible = int(lane.ready.searchsorted(now, side="right"))
            if visible <= lane.cursor:
                lane.idle_since = now
                self._schedule_wake(lane, self._tick(lane, int(lane.ready[lane.cursor])))
                self._maybe_window_timer(lane, now)
                return
            batch = self._read_batch(lane, now, visible)
            if batch is None:
                return  # gathering: a flush is scheduled
            if len(batch.rows):
                self._invoke(lane, batch)
                return
            # everything read was filtered or expired: keep reading at the same instant

    def _expire_retention(self, lane: Lane, now: int) -> None:
        """Records older than the stream's retention are trimmed: lost without a failure record (B28)."""
        cut = int(lane.ready.searchsorted(now - self.retention_ms, side="right"))
        if cut > lane.cursor:
            self._resolve(
                lane.rows[lane.cursor : cut], Disposition.DISCARDED, "RetentionExpired", now
            )
            lane.cursor = cut

    def _batch_end(self, lane: Lane, start: int, visible: int) -> tuple[int, bool]:
        """Where a batch starting at ``start`` ends, and whether it is *full* (B15, B20).

        A batch is full at BatchSize matched records, at the 6 MB payload limit, or at a tumbling
        window boundary (B55–B59: a batch never spans windows). Running out of records (or of
        visible ones) is not full: a window keeps gathering until it elapses (B14).
        """
        n = len(lane.rows)
        c0, s0 = lane.cum_count[start], lane.cum_size[start]
        by_count = int(lane.cum_count.searchsorted(c0 + self.config.batch_size, side="left"))
        by_size = int(lane.cum_size.searchsorted(s0 + self.payload_limit, side="right")) - 1
        seen = min(visible, n)
        end = min(by_count, by_size, seen)
        # full: the BatchSize-th record is among those seen, or the next seen one would not fit
        full = by_count <= seen or by_size < seen
        if end <= start:
            # A single record larger than the payload limit (B97): send it alone; the invoke decides.
            first_matched = int(lane.cum_count.searchsorted(c0 + 1, side="left"))
            end, full = min(max(first_matched, start + 1), n), True
        if self.tumbling_ms:
            win = lane.arrival[start:end] // self.tumbling_ms
            change = np.flatnonzero(win != win[0])
            if len(change):
                end, full = start + int(change[0]), True
        return end, full

    def _read_batch(self, lane: Lane, now: int, visible: int) -> Batch | None:
        """B14–B16: gather until BatchSize, 6 MB or the window, whichever comes first.

        The window opens at the poll that first sees a record once the lane is free (so the next
        window starts only after the previous invocation completes, B16) and records keep arriving
        at the poll cadence while it is open.
        """
        start = lane.cursor
        if self.window_ms > 0:
            if lane.gather_open is None:
                lane.gather_open = now
                lane.idle_since = now
            opened = lane.gather_open
            full_end, full = self._batch_end(lane, start, len(lane.rows))
            flush_at = opened + self.window_ms
            if full:
                flush_at = min(flush_at, self._tick(lane, int(lane.ready[full_end - 1])))
            if flush_at > now:
                lane.token += 1
                self.sched.at(flush_at, self._flush, lane, lane.token)
                return None
            last_poll = opened + (now - opened) // self.poll_ms * self.poll_ms
            visible = max(int(lane.ready.searchsorted(last_poll, side="right")), start + 1)
            lane.gather_open = None
        end, _ = self._batch_end(lane, start, visible)
        lane.cursor = end
        rows = lane.rows[start:end]
        keep = self.matched[rows]
        self._resolve(rows[~keep], Disposition.FILTERED, "FilterCriteria", now)
        rows = self._drop_expired(lane, rows[keep], now, invokes=1)
        if self.tumbling_ms and len(rows) and lane.win_start is None:
            lane.win_start = int(self.arrival[rows[0]] // self.tumbling_ms * self.tumbling_ms)
            lane.win_state = {}
        return self._new_batch(rows, "new")

    def _flush(self, lane: Lane, token: int) -> None:
        if token != lane.token or lane.busy:
            return
        self._advance(lane)

    def _drop_expired(self, lane: Lane, rows: np.ndarray, now: int, *, invokes: int) -> np.ndarray:
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
        self._discard(lane, rows[old], now, "RecordAgeExceeded", invokes, response=None)
        return rows[~old]

    # ------------------------------------------------------------------ tumbling windows
    def _window_due(self, lane: Lane, now: int) -> bool:
        """B56/B58/B59: the open window closes once its end has passed and nothing of it is left."""
        assert lane.win_start is not None
        if lane.win_terminate:
            return True
        end = lane.win_start + self.tumbling_ms
        if lane.cursor >= len(lane.rows) and self._shard_closed(lane):
            return True
        if now < end:
            return False
        if lane.cursor >= len(lane.rows):
            return now >= end + self.options.tumbling_idle_close_ms
        nxt = int(lane.arrival[lane.cursor] // self.tumbling_ms * self.tumbling_ms)
        visible = lane.ready[lane.cursor] <= now
        return nxt != lane.win_start and (
            visible or now >= end + self.options.tumbling_idle_close_ms
        )

    def _shard_closed(self, lane: Lane) -> bool:
        for s in self.capture.manifest.shards:
            if s.id == lane.shard:
                return s.closed
        return False

    def _maybe_window_timer(self, lane: Lane, now: int) -> None:
        if lane.win_start is None:
            return
        close_at = lane.win_start + self.tumbling_ms + self.options.tumbling_idle_close_ms
        self.sched.at(max(close_at, now), self._wake, lane, lane.token)

    def _final_batch(self, lane: Lane) -> Batch:
        batch = self._new_batch(np.empty(0, dtype=np.int64), "window-final")
        batch.final_window = True
        batch.terminated_early = lane.win_terminate
        return batch

    def _idle_at_end(self, lane: Lane, now: int) -> None:
        if lane.win_start is not None:
            lane.idle_since = now
            self._maybe_window_timer(lane, now)
            return
        self._finish(lane)

    def _finish(self, lane: Lane) -> None:
        if lane.finished:
            return
        lane.finished = True
        if all(other.finished for other in self.lanes_by_shard[lane.shard]):
            for child in self.lanes:
                if lane.shard in child.waiting_on:
                    child.waiting_on.discard(lane.shard)
                    if not child.waiting_on:
                        child.idle_since = self.sched.now
                        self._schedule_wake(child, self.sched.now)

    # ------------------------------------------------------------------ invoking
    def _invoke(self, lane: Lane, batch: Batch) -> None:
        now = self.sched.now
        resume = self._paused_until(now)
        if resume is not None:  # B29: a retry or flush falling in a disabled span waits for it
            lane.busy = True
            self.sched.at(resume, self._invoke, lane, batch)
            return
        lane.busy = False
        if batch.attempts and len(batch.rows):
            batch.rows = self._recheck_rows(lane, batch, now)
            if not len(batch.rows):
                self._after_resolution(lane, now)
                return
        batch.attempts += 1
        nbytes = self._nbytes(batch.rows)
        oversize = nbytes > self.payload_limit and len(batch.rows) == 1
        if self._throttled(now):
            self._before_invocation_error(lane, batch, now, nbytes, "throttled", "B22")
            return
        if oversize:
            self._oversize(lane, batch, now, nbytes)
            return
        self.in_flight += 1
        lane.busy = True
        request_id = self._request_id()
        outcome = self._call(
            lane, batch, request_id, nbytes
        )  # before counting: faults see deliveries
        self._delivered(batch.rows, now)
        batch.invokes += 1
        end = now + outcome.duration_ms
        attempt = _Attempt(lane, batch, now, request_id, nbytes, outcome)
        self.running[batch.id] = attempt
        self.sched.at(end, self._complete, attempt)

    def _oversize(self, lane: Lane, batch: Batch, now: int, nbytes: int) -> None:
        """B97: one record over the 6 MB invoke payload — blocked like a throttle, or dropped."""
        if self.options.oversize_record == "discard":
            self._resolve(batch.rows, Disposition.DISCARDED, "PayloadTooLarge", now)
            self._after_resolution(lane, now)
            return
        self._before_invocation_error(lane, batch, now, nbytes, "rejected", "B97")

    def _recheck_rows(self, lane: Lane, batch: Batch, now: int) -> np.ndarray:
        """Before a retry: trimmed records are lost (B28), over-age ones discarded (B27)."""
        rows = batch.rows
        expired = self.arrival[rows] <= now - self.retention_ms
        if expired.any():
            self._resolve(rows[expired], Disposition.DISCARDED, "RetentionExpired", now)
            rows = rows[~expired]
        return self._drop_expired(lane, rows, now, invokes=max(batch.invokes, 1))

    def _before_invocation_error(
        self, lane: Lane, batch: Batch, now: int, nbytes: int, result: str, rule: str
    ) -> None:
        """B22: throttles and other before-invocation errors are retried without using retries."""
        self._start_block(lane, now)
        lane.consecutive_failures += 1
        wait = self._backoff(lane)
        self._log(_Attempt(lane, batch, now, None, nbytes), result, "retry", rule)
        self.sched.at(now + wait, self._invoke, lane, batch)
        lane.busy = True  # the lane waits for this batch; nothing else may start

    def _call(self, lane: Lane, batch: Batch, request_id: str, nbytes: int) -> _Outcome:
        """Run the function model on one batch and read its response with the stream rules."""
        rows = batch.rows
        run = self._run_model(
            rows,
            nbytes,
            request_id,
            lambda: self._event(lane, batch),
            lambda verdict: self._modelled_response(lane, rows, verdict),
        )
        if run.timed_out:
            return _Outcome(InvokeResult.TIMEOUT, run.duration_ms, "Unhandled", None, 0)
        if run.error:
            return _Outcome(InvokeResult.ERROR, run.duration_ms, "Unhandled", None, 0)
        return self._judge(rows, run.response, run.duration_ms)

    def _modelled_response(self, lane: Lane, rows: np.ndarray, verdict: FaultVerdict | None) -> Any:
        """The response a fault model returns: reported records, plus the state a window needs."""
        response: dict[str, Any] | None = None
        if verdict is not None and verdict.reported is not None:
            failures = [{"itemIdentifier": self._seq(rows[i])} for i in verdict.reported]
            response = {"batchItemFailures": failures}
        if self.tumbling_ms:
            response = dict(response or {}, state=lane.win_state)
        return response

    def _judge(self, rows: np.ndarray, response: Any, duration: int) -> _Outcome:
        if response is None and not self.tumbling_ms:
            # B36/B38: no response is success whatever FunctionResponseTypes says; the common case
            # of a fault model, so skip building sequence numbers.
            return _Outcome(InvokeResult.OK, duration, None, None, 0)
        seqs = [str(s) for s in self.seqs[rows]]
        judged = judge_stream_response(
            response,
            seqs,
            rbif=self.config.report_batch_item_failures,
            tumbling=bool(self.tumbling_ms),
        )
        if judged.verdict is Verdict.SUCCESS:
            return _Outcome(InvokeResult.OK, duration, None, judged, 0)
        if judged.verdict is Verdict.PARTIAL:
            failures = response.get("batchItemFailures") if isinstance(response, dict) else None
            return _Outcome(InvokeResult.PARTIAL, duration, None, judged, len(failures or []))
        return _Outcome(InvokeResult.INVALID, duration, None, judged, 0)

    def _event(self, lane: Lane, batch: Batch) -> dict[str, Any]:
        records = events.build_records(self.table, batch.rows, self.ctx) if len(batch.rows) else []
        window = None
        if self.tumbling_ms and lane.win_start is not None:
            window = events.WindowInfo(
                start_ms=lane.win_start,
                end_ms=lane.win_start + self.tumbling_ms,
                state=lane.win_state,
                shard_id=lane.shard,
                final=batch.final_window,
                terminated_early=batch.terminated_early,
            )
        return events.build_event(records, self.ctx, window)

    # ------------------------------------------------------------------ completion
    def _complete(self, att: _Attempt) -> None:
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

    def _advance_later(self, lane: Lane, now: int) -> None:
        """Pending work waits its backoff; fresh reads start at once (B16: next window after completion)."""
        if not lane.pending:
            lane.idle_since = now
            self._schedule_wake(lane, now)

    def _succeeded(self, att: _Attempt) -> None:
        """Checkpoint after the batch (B38); tumbling windows keep the returned state (B56, B57)."""
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None
        now = self.sched.now
        self._log(att, "ok", "checkpoint", "B38")
        self._resolve(batch.rows, Disposition.PROCESSED, "", now)
        lane.consecutive_failures = 0
        if self.tumbling_ms:
            if batch.final_window:
                lane.win_start, lane.win_state, lane.win_terminate = None, {}, False
            elif out.verdict is not None and out.verdict.state is not None:
                lane.win_state = dict(out.verdict.state)
                if len(json.dumps(lane.win_state).encode()) > STATE_LIMIT:
                    lane.win_terminate = True
        if lane.pending:
            self.sched.at(now, self._invoke_pending, lane)
            lane.busy = True

    def _invoke_pending(self, lane: Lane) -> None:
        lane.busy = False
        if lane.pending:
            self._invoke(lane, lane.pending.popleft())
        else:
            self._advance(lane)

    def _partial(self, att: _Attempt) -> None:
        """B37/B32: checkpoint before the lowest reported record; retry from it.

        The retry count restarts when the checkpoint advances (K09, D06): the shrunken batch gets a
        fresh 1 + MaximumRetryAttempts attempts; a report naming the first record counts as a retry.
        """
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None and out.verdict is not None
        now = self.sched.now
        done, rest = self._split_partial(batch, out.verdict)
        self._resolve(done, Disposition.PROCESSED, "", now)
        self._start_block(lane, att.start)
        if len(done):
            self._log(att, "partial", "partial-retry", "B37")
            lane.consecutive_failures = 1  # the checkpoint advanced: backoff starts over
            self._retry_later(lane, self._new_batch(rest, "partial-retry", batch.id))
            return
        batch.failures += 1
        batch.last_error = None
        if self._exhausted(batch):
            self._log(att, "partial", "discard", "B41")
            response = {"functionError": None}
            self._discard(
                lane, rest, now, "RetryAttemptsExhausted", batch.invokes, response=response
            )
            self._after_discard(lane)
            return
        self._log(att, "partial", "retry", "B37")
        lane.consecutive_failures += 1
        self._retry_later(lane, batch)

    def _split_partial(
        self, batch: Batch, verdict: ResponseVerdict
    ) -> tuple[np.ndarray, np.ndarray]:
        """B37: records before the lowest reported one are done; the rest are retried."""
        k = verdict.first_failed or 0
        return batch.rows[:k], batch.rows[k:]

    def _failed(self, att: _Attempt) -> None:
        """Whole-batch failure: bisect (B31, B33) or retry (B21, B23, B24) or discard (B23)."""
        lane, batch, out = att.lane, att.batch, att.outcome
        assert out is not None
        now = self.sched.now
        result = out.result.value
        self._start_block(lane, att.start)
        lane.consecutive_failures += 1
        is_function_error = out.result in (InvokeResult.ERROR, InvokeResult.TIMEOUT)
        can_bisect = is_function_error or self.options.bisect_on_invalid_response
        if self.config.bisect_on_error and can_bisect and len(batch.rows) > 1:
            self._log(att, result, "bisect", "B31")
            first, second = self._halves(batch)
            lane.consecutive_failures = 1  # each half is a new, smaller batch: backoff starts over
            lane.pending.appendleft(second)
            self._retry_later(lane, first)
            return
        batch.failures += 1
        batch.last_error = out.function_error
        if self._exhausted(batch):
            self._log(att, result, "discard", "B23")
            response = {"functionError": out.function_error}
            self._discard(
                lane, batch.rows, now, "RetryAttemptsExhausted", batch.invokes, response=response
            )
            if batch.final_window:
                lane.win_start, lane.win_state, lane.win_terminate = None, {}, False
            self._after_discard(lane)
            return
        self._log(att, result, "retry", "B21")
        self._retry_later(lane, batch)

    def _halves(self, batch: Batch) -> tuple[Batch, Batch]:
        """B31/B35: split in two; each half's retry budget is fresh or inherited (an option)."""
        mid = len(batch.rows) // 2
        inherit = self.options.bisect_half_budget == "inherit"
        halves = (
            self._new_batch(batch.rows[:mid], "bisect", batch.id),
            self._new_batch(batch.rows[mid:], "bisect", batch.id),
        )
        for half in halves:
            half.failures = batch.failures if inherit else 0
            half.invokes = batch.invokes if inherit else 0
        return halves

    def _exhausted(self, batch: Batch) -> bool:
        """B23: N retries means N + 1 attempts; −1 retries forever (until age or retention)."""
        mra = self.config.maximum_retry_attempts
        return mra >= 0 and batch.failures > mra

    def _retry_later(self, lane: Lane, batch: Batch) -> None:
        if batch.attempts:
            batch.cause = "retry"  # a fresh half or remainder keeps its cause for its first attempt
        lane.pending.appendleft(batch)
        lane.busy = True
        self.sched.at(self.sched.now + self._backoff(lane), self._invoke_pending, lane)

    def _after_discard(self, lane: Lane) -> None:
        """After a discard the checkpoint moves past the records and the shard continues (2.2).

        The backoff restarts with the checkpoint; a waiting bisect half is new work, sent at once.
        """
        lane.consecutive_failures = 0
        if lane.pending:
            lane.busy = True
            self.sched.at(self.sched.now, self._invoke_pending, lane)

    def _after_resolution(self, lane: Lane, now: int) -> None:
        """A retry found nothing left to send (all aged out or trimmed): the checkpoint moved on."""
        lane.consecutive_failures = 0
        if lane.pending:
            lane.busy = True
            self.sched.at(now, self._invoke_pending, lane)
        else:
            lane.idle_since = now
            self._schedule_wake(lane, now)

    # ------------------------------------------------------------------ blocking
    def _start_block(self, lane: Lane, t: int) -> None:
        if lane.block_start is None:
            lane.block_start = t

    def _end_block(self, lane: Lane, t: int) -> None:
        if lane.block_start is not None and not lane.pending:
            lane.blocks.append((lane.block_start, t))
            lane.block_start = None

    # ------------------------------------------------------------------ discards
    def _discard(
        self,
        lane: Lane,
        rows: np.ndarray,
        now: int,
        condition: str,
        invokes: int,
        *,
        response: dict[str, Any] | None,
    ) -> None:
        """Drop records; with an OnFailure destination, write its record (B43–B46).

        One record covers all ``rows``: a discarded batch of several records (a bisect half that
        exhausted its retries) is reported with batchSize > 1, as B34 warns.
        """
        if not len(rows):
            return
        self._resolve(rows, Disposition.DISCARDED, condition, now)
        dest = self.config.on_failure
        if not dest:
            return  # B46: silently dropped
        payload = None
        if destinations.destination_kind(dest) == "s3":
            payload = events.build_event(events.build_records(self.table, rows, self.ctx), self.ctx)
        record = destinations.stream_failure_record(
            self.kind,
            request_id=self._request_id(),
            function_arn=self.fn.arn,
            condition=condition,
            approximate_invoke_count=max(invokes, 1),
            response=response,
            timestamp_ms=now,
            shard_id=lane.shard,
            first_seq=self._seq(rows[0]),
            last_seq=self._seq(rows[-1]),
            first_arrival_ms=int(self.arrival[rows[0]]),
            last_arrival_ms=int(self.arrival[rows[-1]]),
            batch_size=len(rows),
            stream_arn=self.ctx.source_arn,
            payload=payload,
            payload_as_string=self.options.s3_payload == "string",
        )
        self.destinations.append(record)

    # ------------------------------------------------------------------ log
    def _log(self, att: _Attempt, result: str, nxt: str, rule: str) -> None:
        """One invocations.parquet row for an attempt that ended now (or at the horizon)."""
        lane, batch, start, end = att.lane, att.batch, att.start, self.sched.now
        out = att.outcome
        function_error = out.function_error if out is not None and result != "in-flight" else None
        failed = out.failed_items if out is not None and result == "partial" else 0
        request_id, nbytes = att.request_id, att.nbytes
        rows = batch.rows
        n = len(rows)
        self.log.add(
            batch=batch.id,
            parent_batch=batch.parent,
            shard=lane.shard,
            lane=lane.lane,
            start=start,
            end=end,
            records=n,
            bytes=nbytes,
            first_seq=self.seqs[rows[0]] if n else None,
            last_seq=self.seqs[rows[-1]] if n else None,
            attempt=batch.attempts,
            cause=batch.cause,
            result=result,
            failed_items=failed,
            function_error=function_error,
            request_id=request_id,
            iterator_age_ms=start - int(self.arrival[rows[-1]]) if n else None,
            next=nxt,
            rule=rule,
            record_rows=rows,
        )


def _retention_hours(settings: dict[str, Any]) -> float:
    for key in ("RetentionPeriodHours", "retention_hours"):
        if key in settings:
            return float(settings[key])
    return DEFAULT_RETENTION_H
