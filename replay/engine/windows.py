"""Tumbling windows of stream mappings (``TumblingWindowInSeconds``, B55–B59).

Window boundaries come from record arrival times; a batch never spans two windows. Every
invocation carries the window and the state the previous one returned; a response without
``state`` is a failure (B55, read by :func:`replay.engine.responses.judge_stream_response`). When
the window's end has passed, one more invocation with ``isFinalInvokeForWindow`` runs with the
accumulated state; its success drops the state and its failure halts the lane like any failing
batch (B56). State over 1 MB ends the window early (B57); with no new records the window is
closed ``EngineOptions.tumbling_idle_close_ms`` after its end (B58, two minutes); a shard that
ends closes its window (B59: children start fresh).

The stream engine keeps one :class:`Window` per lane and asks :class:`Windows` what to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from replay import events

STATE_LIMIT = 1024 * 1024  # tumbling-window state per shard (B57)


@dataclass(eq=False)
class Window:
    """The open window of one lane: its start (None when none is open), the state the function
    returned last, and whether that state's size ends the window early (B57)."""

    start: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    terminate: bool = False

    def reset(self) -> None:
        """The final invocation succeeded (or was discarded): no window is open (B56)."""
        self.start, self.state, self.terminate = None, {}, False


@dataclass(frozen=True)
class Windows:
    """The tumbling windows of one mapping: their length and B58's idle close."""

    size_ms: int
    idle_close_ms: int

    def boundary(self, arrival: np.ndarray) -> int | None:
        """Where the records ``arrival`` (their own arrival times, in read order) first cross into
        a later window: a batch ends there (B55–B59). None when they share one window."""
        win = arrival // self.size_ms
        change = np.flatnonzero(win != win[0])
        return int(change[0]) if len(change) else None

    def open(self, window: Window, first_arrival: int) -> None:
        """A batch's first record opens the window it falls in, with empty state."""
        if window.start is None:
            window.start = int(first_arrival // self.size_ms * self.size_ms)
            window.state = {}

    def due(
        self,
        window: Window,
        now: int,
        *,
        drained: bool,
        shard_closed: bool,
        next_arrival: int,
        next_visible: bool,
    ) -> bool:
        """B56/B58/B59: the open window closes once its end has passed and nothing of it is left.

        Args:
            drained: the lane has read all its records.
            shard_closed: its shard has ended (reshard), so no record will come.
            next_arrival: the next unread record's own arrival (when not drained).
            next_visible: that record is readable at ``now``.
        """
        assert window.start is not None
        if window.terminate:
            return True
        end = window.start + self.size_ms
        if drained and shard_closed:
            return True
        if now < end:
            return False
        if drained:
            return now >= end + self.idle_close_ms
        nxt = int(next_arrival // self.size_ms * self.size_ms)
        return nxt != window.start and (next_visible or now >= end + self.idle_close_ms)

    def close_at(self, window: Window, now: int) -> int:
        """When an idle lane must look again: B58's close of the open window."""
        assert window.start is not None
        return max(window.start + self.size_ms + self.idle_close_ms, now)

    def keep(self, window: Window, state: Mapping[str, Any] | None) -> None:
        """After a successful invocation of an open window: keep the state it returned, ending
        the window early when it is over 1 MB (B57)."""
        if state is None:
            return
        window.state = dict(state)
        if len(json.dumps(window.state).encode()) > STATE_LIMIT:
            window.terminate = True

    def info(
        self, window: Window, shard: str, *, final: bool, terminated_early: bool
    ) -> events.WindowInfo | None:
        """The event's window fields, None when no window is open."""
        if window.start is None:
            return None
        return events.WindowInfo(
            start_ms=window.start,
            end_ms=window.start + self.size_ms,
            state=window.state,
            shard_id=shard,
            final=final,
            terminated_early=terminated_early,
        )
