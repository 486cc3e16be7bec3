"""The virtual clock: a heap of (time, priority, sequence, callback) — SimPy's ``core.py`` idea,
without processes.

Callbacks run in time order; at the same millisecond a lower ``priority`` runs first, and equal
priorities run in the order they were scheduled (the tie-break counter), which is what makes every
replay deterministic. There is no wall clock here.

``at()`` returns a :class:`Handle`; ``handle.cancel()`` withdraws a callback that has not run (a
lane's stale wake-up, a flush superseded by a new window). A cancelled entry still leaves the heap
in its turn and counts in :attr:`Scheduler.events`, so that figure (in run.json) does not depend on
whether an engine cancelled a timer or let it find nothing to do. ``peek()`` and ``step()`` let
tests and the TUI single-step a replay.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

Callback = Callable[..., None]
DEFAULT_PRIORITY = 0


class Handle:
    """A scheduled callback; cancel it to withdraw it before it runs."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """The callback will not run (cancelling one that already ran does nothing)."""
        self.cancelled = True


_Entry = tuple[int, int, int, Handle, Callback, tuple[Any, ...]]


class Scheduler:
    """A deterministic discrete-event loop over integer-millisecond virtual time."""

    __slots__ = ("_counter", "_heap", "events", "now")

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self.events = 0
        self._heap: list[_Entry] = []
        self._counter = itertools.count()

    def at(
        self, time_ms: int, callback: Callback, *args: Any, priority: int = DEFAULT_PRIORITY
    ) -> Handle:
        """Run ``callback(*args)`` at ``time_ms`` (never earlier than now)."""
        handle = Handle()
        entry = (max(time_ms, self.now), priority, next(self._counter), handle, callback, args)
        heapq.heappush(self._heap, entry)
        return handle

    def peek(self) -> int | None:
        """The time of the next entry (cancelled or not), or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Take the next entry off the heap and run it unless cancelled; False when empty."""
        if not self._heap:
            return False
        time_ms, _, _, handle, callback, args = heapq.heappop(self._heap)
        self.now = time_ms
        self.events += 1
        if not handle.cancelled:
            callback(*args)
        return True

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
            _, _, _, handle, callback, args = heapq.heappop(heap)
            self.now = time_ms
            self.events += 1
            if not handle.cancelled:
                callback(*args)
            if on_step is not None and not self.events & 0x3FF:
                on_step(self.now)

    def pending(self) -> int:
        """How many entries are scheduled (cancelled ones included until their turn)."""
        return len(self._heap)
