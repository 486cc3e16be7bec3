"""Vocabulary shared by the live capture agents: time windows, progress reports, stop signals.

Every agent (Kinesis, DynamoDB Streams, SQS, Kafka) reads a source for a time window, reports
progress per shard (or partition, or queue) through one callback type, and stops cleanly when the
user interrupts it, so the command line can draw one progress bar per shard without knowing which
source it is watching.

Also here: the ``K=V`` lists that capture options take (``--kafka-config``, ``--source-setting``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from replay.errors import UserError
from replay.timeutil import parse_time


@dataclass(frozen=True)
class Window:
    """A closed time range ``[start_ms, end_ms]`` of arrival times, epoch milliseconds (UTC)."""

    start_ms: int
    end_ms: int

    def contains(self, ms: int) -> bool:
        """Whether an arrival time falls inside the window."""
        return self.start_ms <= ms <= self.end_ms


def parse_window(start: str, end: str, *, now_ms: int | None = None) -> Window:
    """Parse ``--from``/``--to`` (ISO-8601 or epoch seconds; ``--to now``).

    ``now`` is resolved once, here, so a resumed capture covers the same range as the first run.

    Raises:
        UserError: a time is malformed, or the window ends before it starts.
    """
    clock = now_ms if now_ms is not None else int(time.time() * 1000)
    lo = clock if start.strip().lower() == "now" else parse_time(start, field="--from")
    hi = clock if end.strip().lower() == "now" else parse_time(end, field="--to")
    if hi < lo:
        raise UserError(f"--to ({end}) is before --from ({start}); the window would be empty")
    return Window(lo, hi)


@dataclass(frozen=True)
class ShardProgress:
    """One progress report: a shard's records so far and how far behind the tip it still is.

    Attributes:
        shard: shard id, ``<topic>-<partition>`` or the queue name.
        records: records captured from it so far (this run and earlier ones when resuming).
        lag_ms: how far behind the source's tip the reader is, when the source says (else None).
        done: the shard is finished (window end, end of a closed shard, or caught up).
    """

    shard: str
    records: int
    lag_ms: int | None = None
    done: bool = False


ProgressFn = Callable[[ShardProgress], None]


def no_progress(_: ShardProgress) -> None:
    """A progress callback that ignores every report."""


class StopFlag:
    """Set once by the thread that sees Ctrl-C (or a fatal error); every reader polls it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Ask every reader to stop at its next step."""
        self._event.set()

    @property
    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True (early) when a stop is requested."""
        if seconds <= 0:
            return self._event.is_set()
        return self._event.wait(seconds)


def seq_int(seq: str) -> int:
    """A sequence number or offset as an integer (any width: Kinesis uses 56 digits)."""
    return int(seq)
