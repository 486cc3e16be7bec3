"""The virtual clock: a heap of (time, sequence, callback) with insertion-order tie-breaking.

This is the whole of the simulation's notion of time (SimPy's ``core.py`` idea, without processes):
callbacks run in time order, and callbacks scheduled for the same millisecond run in the order they
were scheduled, which is what makes every replay deterministic. There is no wall clock here.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

Callback = Callable[..., None]


class Scheduler:
    """A deterministic discrete-event loop over integer-millisecond virtual time."""

    __slots__ = ("_counter", "_heap", "events", "now")

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self.events = 0
        self._heap: list[tuple[int, int, Callback, tuple[Any, ...]]] = []
        self._counter = itertools.count()

    def at(self, time_ms: int, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` at ``time_ms`` (never earlier than now)."""
        heapq.heappush(self._heap, (max(time_ms, self.now), next(self._counter), callback, args))

    def run(
        self, until_ms: int | None = None, on_step: Callable[[int], None] | None = None
    ) -> None:
        """Run callbacks until the heap is empty or the next one is after ``until_ms``."""
        heap = self._heap
        while heap:
            time_ms = heap[0][0]
            if until_ms is not None and time_ms > until_ms:
                self.now = until_ms
                return
            _, _, callback, args = heapq.heappop(heap)
            self.now = time_ms
            self.events += 1
            callback(*args)
            if on_step is not None and not self.events & 0x3FF:
                on_step(self.now)

    def pending(self) -> int:
        """How many callbacks are scheduled."""
        return len(self._heap)
