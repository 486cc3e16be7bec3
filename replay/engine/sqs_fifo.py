"""FIFO message groups: group locking (B74–B77) and the blocked intervals of stalled groups.

A message group is never in two batches at once and is blocked while any of its messages is in
flight or waiting out a visibility timeout (B74–B76); with a partial response, messages after a
reported one are deleted, breaking the group's order (B77, in the engine's delete).

:class:`FifoGroups` is a FIFO queue's receive order (a standard queue's is
:class:`replay.engine.sqs_queue.StandardQueue`): each group's messages in send order, the position
of its first unresolved message, how many of its messages are in flight, and a heap of the groups
that are receivable (unlocked, head visible).
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa

from replay.engine.base import NO_TIME, UNRESOLVED
from replay.engine.sqs_queue import WAITING, Fits, ReceiveOne


class FifoGroups:
    """The message groups of a FIFO queue and which of them may be received from.

    ``visible_at``, ``disp``, ``state`` and ``size`` are the engine's per-message arrays, updated in
    place by it; ``fits`` and ``receive`` are its payload budget (B20) and its receive of one
    message (expiry, redrive, filters).
    """

    def __init__(self, keys: pa.ChunkedArray, visible_at: np.ndarray, disp: np.ndarray,
                 state: np.ndarray, size: np.ndarray, *, fits: Fits,
                 receive: ReceiveOne) -> None:  # fmt: skip
        self.visible_at, self.disp, self.state, self.size = visible_at, disp, state, size
        self.fits = fits
        self.receive = receive
        encoded = keys.fill_null("").combine_chunks().dictionary_encode()
        codes = encoded.indices.to_numpy().astype(np.int64)
        order = np.argsort(codes, kind="stable")  # rows of each group, in capture (send) order
        bounds = np.searchsorted(codes[order], np.arange(len(encoded.dictionary) + 1))
        self.rows = [order[bounds[g] : bounds[g + 1]] for g in range(len(bounds) - 1)]
        self.of = codes  # the group of each message
        self.names = encoded.dictionary.to_pylist()
        n_groups = len(self.rows)
        # S05/B75: a group stalls behind a failed message until it is processed, dead-lettered or
        # expired; these are the intervals compare and explain --shard GROUP report
        self.blocked_since = np.full(n_groups, NO_TIME, dtype=np.int64)
        self.blocks: dict[int, list[tuple[int, int]]] = {}
        self.head_pos = np.zeros(n_groups, dtype=np.int64)
        self.inflight = np.zeros(n_groups, dtype=np.int64)
        self.ready: list[tuple[int, int, int]] = [
            (int(visible_at[rows[0]]), int(rows[0]), g) for g, rows in enumerate(self.rows) if len(rows)
        ]  # fmt: skip
        heapq.heapify(self.ready)

    # ------------------------------------------------------------------ receivable groups
    def _clean(self) -> None:
        while self.ready:
            t, row, g = self.ready[0]
            if self._ready_entry(g, row, t):
                return
            heapq.heappop(self.ready)

    def _ready_entry(self, g: int, row: int, t: int) -> bool:
        head = self.head(g)
        return (
            head is not None and head == row and not self.inflight[g] and self.visible_at[row] == t
        )

    def head(self, g: int) -> int | None:
        """The first unresolved message of group ``g`` (advancing past resolved ones)."""
        rows = self.rows[g]
        i = int(self.head_pos[g])
        while i < len(rows) and self.disp[rows[i]] != UNRESOLVED:
            i += 1
        self.head_pos[g] = i
        return int(rows[i]) if i < len(rows) else None

    def next_visible(self) -> int | None:
        """When the next message becomes receivable (None: nothing left that could be)."""
        self._clean()
        return self.ready[0][0] if self.ready else None

    def take(self, now: int, limit: int, nbytes: int) -> tuple[list[int], int]:
        """B74: messages of as many groups as fit, each group's in order, each group locked.

        A locked group cannot be in a second batch, so concurrency never exceeds the number of
        groups with receivable messages (B75, B76).
        """
        taken: list[int] = []
        later: list[tuple[int, int, int]] = []
        while len(taken) < limit:
            self._clean()
            if not self.ready or self.ready[0][0] > now:
                break
            _, _, g = heapq.heappop(self.ready)
            got, full = self._take_group(g, now, limit - len(taken), nbytes, taken)
            nbytes += sum(int(self.size[r]) for r in taken[len(taken) - got :])
            if not got:
                head = self.head(g)
                if head is not None:
                    later.append((int(self.visible_at[head]), head, g))
            if full:
                break
        for entry in later:
            heapq.heappush(self.ready, entry)
        return taken, nbytes

    def _take_group(
        self, g: int, now: int, room: int, nbytes: int, taken: list[int]
    ) -> tuple[int, bool]:
        """Consecutive receivable messages of one (unlocked) group, from its head, in order."""
        rows = self.rows[g]
        self.head(g)
        i = int(self.head_pos[g])
        got = 0
        while got < room and i < len(rows):
            row = int(rows[i])
            if self.disp[row] != UNRESOLVED:
                i += 1
                continue
            if self.visible_at[row] > now:
                break
            if not self.fits(row, nbytes, taken):
                return got, True
            if self.receive(row, now):
                taken.append(row)
                nbytes += int(self.size[row])
                self.inflight[g] += 1
                got += 1
            i += 1
        return got, got >= room

    def fresh_visible(self, now: int) -> int:
        """Messages never received (or given back by a throttled receive) receivable at ``now``."""
        return int(((self.state == WAITING) & (self.visible_at <= now)).sum())

    # ------------------------------------------------------------------ locking
    def group(self, row: int) -> int:
        """The message group of message ``row``."""
        return int(self.of[row])

    def settled(self, row: int, now: int, *, in_flight: bool) -> None:
        """Message ``row`` is resolved (deleted, dead-lettered, expired, filtered): it leaves the
        flight if it was in it, and a group stalled behind it moves again."""
        g = int(self.of[row])
        if in_flight:
            self.inflight[g] -= 1
        self.unblock(g, now)

    def returned(self, row: int, now: int) -> None:
        """Message ``row`` is visible again (its visibility timeout ended): it leaves the flight."""
        g = int(self.of[row])
        self.inflight[g] -= 1
        self.unlock(g)

    def unlock(self, g: int) -> None:
        """B74: a FIFO group is receivable again once none of its messages is in flight."""
        if self.inflight[g]:
            return
        head = self.head(g)
        if head is not None:
            heapq.heappush(self.ready, (int(self.visible_at[head]), head, g))

    # ------------------------------------------------------------------ blocked intervals
    def block(self, rows: np.ndarray, now: int) -> None:
        """B75: the groups of messages that failed and will come back stall behind them, from the
        start of the failed attempt (``now``)."""
        if not len(rows):
            return
        for g in np.unique(self.of[rows]):
            if self.blocked_since[g] == NO_TIME:
                self.blocked_since[g] = now

    def unblock(self, g: int, now: int) -> None:
        """The message group ``g`` waited on has left: the group moves again."""
        since = int(self.blocked_since[g])
        if since != NO_TIME:
            if now > since:
                self.blocks.setdefault(g, []).append((since, now))
            self.blocked_since[g] = NO_TIME

    def blocked_intervals(self, end: int) -> dict[str, list[tuple[int, int]]]:
        """Blocked intervals per message group (keyed by MessageGroupId); still open: to ``end``."""
        for g in np.flatnonzero(self.blocked_since != NO_TIME):
            self.unblock(int(g), end)
        return {self.names[g]: v for g, v in sorted(self.blocks.items())}
