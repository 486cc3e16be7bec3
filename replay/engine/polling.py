"""The poll → batch → invoke loop of ordered mappings (streams and Kafka), above the retry machine.

A :class:`PollingEngine` runs the lanes of :mod:`replay.engine.retry`: it wakes a free lane, lets
the family read its next batch, and invokes the function model on it — unless the mapping is
disabled (B29), the function is throttled (B22) or the one record is over the payload limit
(B97, B84); the attempt's end goes to the retry machine. Readers keep their records as a
:class:`Track` (row indices and cumulative arrays), so a batch boundary is one ``searchsorted``.

What it asks of a family, besides the retry machine's hooks (* has a default):

=====================================  ===========================================================
``_build_lanes()``                     make ``self.lanes``; return those to wake at the start
``_read_next(lane, now)``              the lane is free: read a batch and ``_invoke`` it, or set a
                                       wake-up with ``_schedule_wake``
``_event(lane, batch)``                the event a handler receives
``_modelled_response(lane, rows, v)``  what a fault model returns (reported records, state)
``_read_response(rows, response)``     the family's response rule: ``(verdict, failed_items)``,
                                       or ``None`` for a success that needs no reading
``_oversize(lane, batch, now, bytes)``  one record over the invoke payload limit (B97, B84)
``_eligible_mask()`` *                 the records the mapping reads at all (StartingPosition, B30)
=====================================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from replay import events
from replay.config import StartingPosition
from replay.engine.base import PAYLOAD_LIMIT, EngineRun
from replay.engine.responses import ResponseVerdict, Verdict
from replay.engine.retry import Attempt, Batch, LaneT, Outcome, RetryEngine
from replay.function import FaultVerdict, InvokeResult
from replay.vocabulary import Cause, Disposition, NextStep, Reason, Result


@dataclass(eq=False, kw_only=True)
class Track:
    """Records in the order one reader reads them (a shard lane, a Kafka partition).

    Attributes:
        rows: capture row indices in read order.
        ready: running maximum of arrival: when each row is readable.
        cum_count, cum_size: records / bytes that pass the filters before each position (length
            ``len(rows) + 1``).
        cursor: the position of the next row to read.
    """

    rows: np.ndarray
    ready: np.ndarray
    cum_count: np.ndarray
    cum_size: np.ndarray
    cursor: int = 0


TrackT = TypeVar("TrackT", bound=Track)


class PollingEngine(RetryEngine[LaneT]):
    """Lanes that poll, batch and invoke in order (module docstring: the hooks)."""

    def _setup(self) -> None:
        """Batching window and payload limit, on top of the retry machine's state."""
        super()._setup()
        self.window_ms = self.config.batching_window_ms
        self.payload_limit = PAYLOAD_LIMIT - events.envelope_overhead(self.ctx)
        self.matched_size = np.where(self.matched, self.size, 0)

    # ------------------------------------------------------------------ what a family provides
    def _build_lanes(self) -> list[LaneT]:
        raise NotImplementedError

    def _read_next(self, lane: LaneT, now: int) -> None:
        raise NotImplementedError

    def _event(self, lane: LaneT, batch: Batch) -> dict[str, Any]:
        raise NotImplementedError

    def _modelled_response(
        self, lane: LaneT, rows: np.ndarray, verdict: FaultVerdict | None
    ) -> Any:
        raise NotImplementedError

    def _read_response(self, rows: np.ndarray, response: Any) -> tuple[ResponseVerdict, int] | None:
        raise NotImplementedError

    def _oversize(self, lane: LaneT, batch: Batch, now: int, nbytes: int) -> None:
        raise NotImplementedError

    def _eligible_mask(self) -> tuple[np.ndarray, str]:
        """Starting position relative to the replay start (DESIGN: time), and B30's startup gap."""
        cfg = self.config
        pos = cfg.starting_position or StartingPosition.TRIM_HORIZON
        if pos is StartingPosition.TRIM_HORIZON:
            return np.ones(self.n, dtype=bool), Reason.BEFORE_STARTING_POSITION
        if pos is StartingPosition.LATEST:
            cut = self.start_ms + self.options.startup_gap_ms
        else:
            cut = cfg.starting_position_timestamp_ms or self.start_ms
        return self.arrival >= cut, Reason.BEFORE_STARTING_POSITION

    # ------------------------------------------------------------------ set-up helpers
    def _eligible_rows(self) -> np.ndarray:
        """The eligible mask; records left out are resolved as unprocessed with its reason."""
        eligible, why = self._eligible_mask()
        if not eligible.all():
            self._resolve(np.flatnonzero(~eligible), Disposition.UNPROCESSED, why, self.start_ms)
        return eligible

    def _track(self, cls: type[TrackT], rows: np.ndarray, **fields: Any) -> TrackT:
        """A reader of ``rows`` in order (``cls``: a Track subclass, ``fields`` its own)."""
        arr = self.arrival[rows]
        return cls(
            rows=rows,
            ready=np.maximum.accumulate(arr) if len(arr) else arr,
            cum_count=np.concatenate(([0], np.cumsum(self.matched[rows], dtype=np.int64))),
            cum_size=np.concatenate(([0], np.cumsum(self.matched_size[rows]))),
            **fields,
        )

    # ------------------------------------------------------------------ run
    def run(self) -> EngineRun:
        """Simulate until every record has its disposition (or the horizon), then collect outputs."""
        if not self.config.enabled:
            self._resolve(
                np.arange(self.n), Disposition.UNPROCESSED, Reason.DISABLED, self.start_ms
            )
        else:
            for lane in self._build_lanes():
                lane.timers.append(self.sched.at(self.start_ms, self._wake, lane))
        end = self._simulate()
        for attempt in self.running.values():
            # cut off by --until: the attempt started (its records count a delivery) but never ended
            self._log(attempt, Result.IN_FLIGHT, NextStep.HORIZON, "")
        self._end_blocks_at_horizon(end)
        return self._collect(end, self._blocks())

    # ------------------------------------------------------------------ reading
    def _advance(self, lane: LaneT) -> None:
        """The lane is free at ``now`` with nothing pending: read the next batch, or go idle."""
        now = self.sched.now
        resume = self._paused_until(now)
        if resume is not None:  # B29: disabled; read on from the checkpoint when re-enabled
            lane.idle_since = resume
            self._schedule_wake(lane, resume)
            return
        self._end_block(lane, now)
        self._read_next(lane, now)

    def _trim(self, track: Track, now: int) -> None:
        """Records older than the source's retention are trimmed: lost without a failure record
        (B28; for Kafka the end of B79's blocking)."""
        cut = int(track.ready.searchsorted(now - self.retention_ms, side="right"))
        if cut > track.cursor:
            self._resolve(
                track.rows[track.cursor : cut], Disposition.DISCARDED, Reason.RETENTION_EXPIRED, now
            )
            track.cursor = cut

    def _fresh_batch(self, lane: LaneT, rows: np.ndarray, now: int) -> Batch:
        """Records just read: those the filters reject are consumed (B52; Kafka commits them, B80),
        those already too old are discarded unsent (B25, B26); the rest are a new batch."""
        keep = self.matched[rows]
        self._resolve(rows[~keep], Disposition.FILTERED, Reason.FILTER_CRITERIA, now)
        rows = self._drop_expired(lane, rows[keep], now, invokes=1)
        return self._new_batch(rows, Cause.NEW)

    # ------------------------------------------------------------------ invoking
    def _invoke(self, lane: LaneT, batch: Batch) -> None:
        if lane.block_start is not None and len(batch.rows):
            self._holding(lane, batch.rows)
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
            self._before_invocation_error(lane, batch, now, nbytes, Result.THROTTLED, "B22")
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
        attempt = Attempt(lane, batch, now, request_id, nbytes, outcome)
        self.running[batch.id] = attempt
        self.sched.at(end, self._complete, attempt)

    def _call(self, lane: LaneT, batch: Batch, request_id: str, nbytes: int) -> Outcome:
        """Run the function model on one batch; a timeout is a function error (B24)."""
        rows = batch.rows
        run = self._run_model(
            rows,
            nbytes,
            request_id,
            lambda: self._event(lane, batch),
            lambda verdict: self._modelled_response(lane, rows, verdict),
        )
        if run.timed_out:
            return Outcome(InvokeResult.TIMEOUT, run.duration_ms, "Unhandled", None, 0)
        if run.error:
            return Outcome(InvokeResult.ERROR, run.duration_ms, "Unhandled", None, 0)
        read = self._read_response(rows, run.response)
        if read is None:
            return Outcome(InvokeResult.OK, run.duration_ms, None, None, 0)
        verdict, failed_items = read
        if verdict.verdict is Verdict.SUCCESS:
            return Outcome(InvokeResult.OK, run.duration_ms, None, verdict, 0)
        if verdict.verdict is Verdict.PARTIAL:
            return Outcome(InvokeResult.PARTIAL, run.duration_ms, None, verdict, failed_items)
        return Outcome(InvokeResult.INVALID, run.duration_ms, None, verdict, 0)
