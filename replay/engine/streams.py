"""The Kinesis / DynamoDB Streams poller, simulated in virtual time.

One *lane* per shard — or per shard and key bucket when ParallelizationFactor > 1 (B48, B49, the
bucket by :func:`replay.lanes.lane_of`, B50) — reads its records in order, gathers batches
(BatchSize, window, 6 MB payload: B14–B16, B19, B20), invokes the function model and hands the
outcome to the shared machine of :mod:`replay.engine.retry`: checkpoint on success; on failure,
retries that block the lane (B21), MaximumRetryAttempts (B23), MaximumRecordAgeInSeconds
(B25–B27), bisect (B31–B35), partial batch responses with the checkpoint rule and the retry-count
reset (B36–B42, K09, D06), throttles that consume no retries (B22) and on-failure records
(B43–B47). What is the streams' own: shards and their lanes, the poll cadence and iterator age,
filtering (B52–B54), the checkpoint at the lowest reported record (B37), tumbling windows
(B55–B59, :mod:`replay.engine.windows`), parent shards before children (2.1) and the
Kinesis/DynamoDB failure record.

Records are never Python objects here: a lane is a slice of row indices into the capture's Arrow
table plus cumulative count/size arrays, so a batch boundary is one ``searchsorted``; only a real
handler, or an S3 on-failure payload, ever makes event dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay import events
from replay.engine import destinations
from replay.engine.base import EngineRun, FunctionIdentity
from replay.engine.polling import PollingEngine, Track
from replay.engine.responses import ResponseVerdict, Verdict, judge_stream_response
from replay.engine.retry import Batch, Discard, Lane, Outcome
from replay.engine.windows import Window, Windows
from replay.function import FaultVerdict
from replay.lanes import lane_of
from replay.vocabulary import Cause, Disposition, Reason, Result, SourceKind

DEFAULT_RETENTION_H = 24.0

StreamRun = EngineRun  # the name the stream engine's result had first

__all__ = ["FunctionIdentity", "StreamEngine", "StreamLane", "StreamRun"]


@dataclass(eq=False, kw_only=True)
class StreamLane(Lane, Track):
    """A sequential reader: one shard, or one key bucket of a shard when PF > 1.

    Attributes:
        arrival: each row's own arrival (record age, window boundaries).
        waiting_on: parent shards still being read (2.1: children wait for them).
        finished: everything read and no window open.
        window: the open tumbling window (B55–B59).
    """

    arrival: np.ndarray
    waiting_on: set[str] = field(default_factory=set)
    finished: bool = False
    window: Window = field(default_factory=Window)


class StreamEngine(PollingEngine[StreamLane]):
    """Replays one capture of a Kinesis or DynamoDB stream under one ESM configuration."""

    def _setup(self) -> None:
        """Stream state: poll cadence, retention, age limit and windows (lanes are built in run)."""
        if not self.kind.is_stream:
            raise ValueError(f"StreamEngine replays Kinesis/DynamoDB captures, not {self.kind}")
        super()._setup()
        default_poll = 1000 if self.kind is SourceKind.KINESIS else 250
        self.poll_ms = self.options.poll_interval_ms or default_poll
        tumbling_ms = self.config.tumbling_window_s * 1000
        self.windows = (
            Windows(tumbling_ms, self.options.tumbling_idle_close_ms) if tumbling_ms else None
        )
        self.lanes_by_shard: dict[str, list[StreamLane]] = {}
        self.closed: dict[str, bool] = {}
        for s in self.capture.manifest.shards:
            self.closed.setdefault(s.id, s.closed)

    def _retention_ms(self) -> int:
        retention_h = self.options.retention_hours or _retention_hours(self.settings)
        return round(retention_h * 3_600_000)

    # ------------------------------------------------------------------ set-up
    def _lane_of(self, keys: pa.Array, k: int) -> np.ndarray:
        """B49/B50: records with the same key always share a lane (:func:`replay.lanes.lane_of`,
        applied once per distinct key)."""
        filled = keys.fill_null("")
        distinct = pc.unique(filled)
        by_key = lane_of(distinct.to_pylist(), k)
        return by_key[pc.index_in(filled, value_set=distinct).to_numpy()]

    def _build_lanes(self) -> list[StreamLane]:
        """Lanes by shard in capture order, then by key bucket; returns those not waiting for a
        parent shard."""
        eligible = self._eligible_rows()
        shards = self.table.column("shard").to_numpy(zero_copy_only=False)
        keys = self.table.column("key").combine_chunks()
        pf = self.config.parallelization_factor
        lane_no = self._lane_of(keys, pf)
        parents = {s.id: set(s.parents) for s in self.capture.manifest.shards}
        for shard in dict.fromkeys(shards.tolist()):
            in_shard = np.flatnonzero((shards == shard) & eligible)
            for k in range(pf):
                rows = in_shard[lane_no[in_shard] == k]
                if not len(rows) and pf > 1:
                    continue
                lane = self._track(
                    StreamLane,
                    rows,
                    index=len(self.lanes),
                    shard=shard,
                    lane=k,
                    arrival=self.arrival[rows],
                    idle_since=self.start_ms,
                )
                if self.options.child_after_parent:
                    lane.waiting_on = {p for p in parents.get(shard, set()) if p in shards}
                self.lanes.append(lane)
                self.lanes_by_shard.setdefault(shard, []).append(lane)
        return [lane for lane in self.lanes if not lane.waiting_on]

    # ------------------------------------------------------------------ the lane loop
    def _tick(self, lane: StreamLane, a: int) -> int:
        """The first idle poll at or after ``a`` (2.1: ~1 GetRecords/s Kinesis, 4/s DynamoDB)."""
        base = lane.idle_since
        if a <= base:
            return base
        return base + -(-(a - base) // self.poll_ms) * self.poll_ms

    def _read_next(self, lane: StreamLane, now: int) -> None:
        """Read the next batch, close a window that is due, or go idle until a record is readable."""
        while True:
            n = len(lane.rows)
            self._trim(lane, now)
            if lane.window.start is not None and self._window_due(lane, now):
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

    def _batch_end(self, lane: StreamLane, start: int, visible: int) -> tuple[int, bool]:
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
        if self.windows is not None:
            cut = self.windows.boundary(lane.arrival[start:end])
            if cut is not None:
                end, full = start + cut, True
        return end, full

    def _read_batch(self, lane: StreamLane, now: int, visible: int) -> Batch | None:
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
                self._schedule_wake(lane, flush_at)  # the flush
                return None
            last_poll = opened + (now - opened) // self.poll_ms * self.poll_ms
            visible = max(int(lane.ready.searchsorted(last_poll, side="right")), start + 1)
            lane.gather_open = None
        end, _ = self._batch_end(lane, start, visible)
        lane.cursor = end
        batch = self._fresh_batch(lane, lane.rows[start:end], now)
        if self.windows is not None and len(batch.rows):
            self.windows.open(lane.window, int(self.arrival[batch.rows[0]]))
        return batch

    # ------------------------------------------------------------------ tumbling windows
    def _window_due(self, lane: StreamLane, now: int) -> bool:
        """B56/B58/B59: the open window closes once its end has passed and nothing of it is left."""
        assert self.windows is not None
        drained = lane.cursor >= len(lane.rows)
        return self.windows.due(
            lane.window,
            now,
            drained=drained,
            shard_closed=drained and self.closed.get(lane.shard, False),
            next_arrival=0 if drained else int(lane.arrival[lane.cursor]),
            next_visible=not drained and bool(lane.ready[lane.cursor] <= now),
        )

    def _maybe_window_timer(self, lane: StreamLane, now: int) -> None:
        """B58: an idle lane with an open window looks again when the window must close (a timer
        beside its wake-up: the next ``_schedule_wake`` cancels both)."""
        if self.windows is None or lane.window.start is None:
            return
        close_at = self.windows.close_at(lane.window, now)
        lane.timers.append(self.sched.at(close_at, self._wake, lane))

    def _final_batch(self, lane: StreamLane) -> Batch:
        batch = self._new_batch(np.empty(0, dtype=np.int64), Cause.WINDOW_FINAL)
        batch.final_window = True
        batch.terminated_early = lane.window.terminate
        return batch

    def _settled(self, lane: StreamLane, batch: Batch, outcome: Outcome) -> None:
        """B56/B57: a final invocation's success drops the window; another keeps the returned state."""
        if self.windows is None:
            return
        if batch.final_window:
            lane.window.reset()
        elif outcome.verdict is not None:
            self.windows.keep(lane.window, outcome.verdict.state)

    def _abandoned(self, lane: StreamLane, batch: Batch) -> None:
        """A final invocation that exhausted its retries closes the window all the same."""
        if batch.final_window:
            lane.window.reset()

    def _idle_at_end(self, lane: StreamLane, now: int) -> None:
        if lane.window.start is not None:
            lane.idle_since = now
            self._maybe_window_timer(lane, now)
            return
        self._finish(lane)

    def _finish(self, lane: StreamLane) -> None:
        """A lane read to its end; once a shard's lanes all are, its children start (2.1)."""
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

    # ------------------------------------------------------------------ the function
    def _oversize(self, lane: StreamLane, batch: Batch, now: int, nbytes: int) -> None:
        """B97: one record over the 6 MB invoke payload — blocked like a throttle, or dropped."""
        if self.options.oversize_record == "discard":
            self._resolve(batch.rows, Disposition.DISCARDED, Reason.PAYLOAD_TOO_LARGE, now)
            self._after_resolution(lane, now)
            return
        self._before_invocation_error(lane, batch, now, nbytes, Result.REJECTED, "B97")

    def _modelled_response(
        self, lane: StreamLane, rows: np.ndarray, verdict: FaultVerdict | None
    ) -> Any:
        """The response a fault model returns: reported records, plus the state a window needs."""
        response: dict[str, Any] | None = None
        if verdict is not None and verdict.reported is not None:
            failures = [{"itemIdentifier": self._seq(rows[i])} for i in verdict.reported]
            response = {"batchItemFailures": failures}
        if self.windows is not None:
            response = dict(response or {}, state=lane.window.state)
        return response

    def _read_response(self, rows: np.ndarray, response: Any) -> tuple[ResponseVerdict, int] | None:
        """2.5 (B36–B42) and B55, by :func:`judge_stream_response`."""
        if response is None and self.windows is None:
            # B36/B38: no response is success whatever FunctionResponseTypes says; the common case
            # of a fault model, so skip building sequence numbers.
            return None
        seqs = [str(s) for s in self.seqs[rows]]
        judged = judge_stream_response(
            response,
            seqs,
            rbif=self.config.report_batch_item_failures,
            tumbling=self.windows is not None,
        )
        failed_items = 0
        if judged.verdict is Verdict.PARTIAL:
            failures = response.get("batchItemFailures") if isinstance(response, dict) else None
            failed_items = len(failures or [])
        return judged, failed_items

    def _event(self, lane: StreamLane, batch: Batch) -> dict[str, Any]:
        records = events.build_records(self.table, batch.rows, self.ctx) if len(batch.rows) else []
        window = None
        if self.windows is not None:
            window = self.windows.info(
                lane.window,
                lane.shard,
                final=batch.final_window,
                terminated_early=batch.terminated_early,
            )
        return events.build_event(records, self.ctx, window)

    def _split_partial(
        self, batch: Batch, verdict: ResponseVerdict
    ) -> tuple[np.ndarray, np.ndarray]:
        """B37: records before the lowest reported one are done; the rest are retried."""
        k = verdict.first_failed or 0
        return batch.rows[:k], batch.rows[k:]

    # ------------------------------------------------------------------ discards
    def _failure_records(self, lane: StreamLane, discard: Discard) -> list[dict[str, Any]]:
        """One record covers all ``rows`` (B43–B45; B47 on publishing): a discarded batch of
        several records (a bisect half that exhausted its retries) is reported with batchSize > 1,
        as B34 warns."""
        rows = discard.rows
        payload = None
        if destinations.destination_kind(self.config.on_failure) == "s3":
            payload = events.build_event(events.build_records(self.table, rows, self.ctx), self.ctx)
        record = destinations.stream_failure_record(
            self.kind,
            request_id=self._request_id(),
            function_arn=self.fn.arn,
            condition=discard.condition,
            approximate_invoke_count=discard.invokes,
            response=discard.response,
            timestamp_ms=discard.time,
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
        return [record]


def _retention_hours(settings: dict[str, Any]) -> float:
    for key in ("RetentionPeriodHours", "retention_hours"):
        if key in settings:
            return float(settings[key])
    return DEFAULT_RETENTION_H
