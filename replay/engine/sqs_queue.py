"""The SQS queue itself, as the ESM's pollers see it: its attributes and a standard queue's
receive order.

* :class:`QueueAttributes` reads the queue's settings (``VisibilityTimeout``,
  ``MessageRetentionPeriod``, ``RedrivePolicy``, ``DelaySeconds``, ``FifoQueue``), with SQS's
  defaults; the runner checks ``VisibilityTimeout`` against the function timeout (B9) with
  :func:`visibility_timeout_s` before any engine is built.
* :class:`StandardQueue` hands out a standard queue's receivable messages: fresh messages through a
  cursor over the capture in availability order, and only messages that come back (after a failure
  or a visibility timeout) through a heap, so a million messages cost little more than the
  invocations they make. A FIFO queue's order is :class:`replay.engine.sqs_fifo.FifoGroups`.

Per-message state is one ``int8`` per message (:data:`WAITING`, :data:`VISIBLE`, :data:`IN_FLIGHT`,
:data:`DONE`), owned by the engine and read here in place.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.engine.base import NO_TIME

DEFAULT_VISIBILITY_S = 30
DEFAULT_RETENTION_S = 345_600  # 4 days
WAITING, VISIBLE, IN_FLIGHT, DONE = 0, 1, 2, 3

Fits = Callable[[int, int, list[int]], bool]  # (row, bytes already taken, rows taken) -> fits
ReceiveOne = Callable[[int, int], bool]  # (row, now) -> the message was received into the batch


def visibility_timeout_s(settings: Mapping[str, Any]) -> int:
    """The queue's VisibilityTimeout in seconds (SQS's default: 30)."""
    return int(settings.get("VisibilityTimeout", DEFAULT_VISIBILITY_S))


@dataclass(frozen=True)
class QueueAttributes:
    """The queue settings that change what the ESM does."""

    fifo: bool
    visibility_ms: int
    retention_ms: int
    max_receive: int | None  # RedrivePolicy maxReceiveCount (None: no DLQ)
    dlq_arn: str | None
    delay_s: int  # the queue's DelaySeconds (a message's own timer wins where captured)

    @classmethod
    def of(cls, settings: Mapping[str, Any], *, fifo: bool = False) -> QueueAttributes:
        """The attributes in ``settings`` (a FIFO queue also when ``fifo``), SQS's defaults else."""
        redrive = _redrive(settings.get("RedrivePolicy"))
        return cls(
            fifo=fifo or _truthy(settings.get("FifoQueue")),
            visibility_ms=visibility_timeout_s(settings) * 1000,
            retention_ms=int(settings.get("MessageRetentionPeriod", DEFAULT_RETENTION_S)) * 1000,
            max_receive=redrive.get("maxReceiveCount"),
            dlq_arn=redrive.get("deadLetterTargetArn"),
            delay_s=int(settings.get("DelaySeconds", 0)),
        )


class StandardQueue:
    """A standard queue's receivable messages: fresh ones by availability, then those that came back.

    ``visible_at``, ``state`` and ``size`` are the engine's per-message arrays (the first two
    updated in place by it); ``fits`` and ``receive`` are its payload budget (B20) and its receive
    of one message (expiry, redrive, filters).
    """

    def __init__(self, visible_at: np.ndarray, state: np.ndarray, size: np.ndarray, *,
                 fits: Fits, receive: ReceiveOne) -> None:  # fmt: skip
        self.visible_at = visible_at
        self.state = state
        self.size = size
        self.n = len(visible_at)
        self.fits = fits
        self.receive = receive
        self.fresh = np.argsort(visible_at, kind="stable")
        self.fresh_at = visible_at[self.fresh]
        self.fresh_pos = 0
        self.back: list[tuple[int, int]] = []

    def _clean_back(self) -> None:
        while self.back:
            t, row = self.back[0]
            if self.state[row] == VISIBLE and self.visible_at[row] == t:
                return
            heapq.heappop(self.back)

    def next_visible(self) -> int | None:
        """When the next message becomes receivable (None: nothing left that could be)."""
        self._clean_back()
        times = []
        if self.fresh_pos < self.n:
            times.append(int(self.fresh_at[self.fresh_pos]))
        if self.back:
            times.append(self.back[0][0])
        return min(times) if times else None

    def take(self, now: int, limit: int, nbytes: int) -> tuple[list[int], int]:
        """ReceiveMessage: up to ``limit`` receivable messages within the payload budget."""
        taken: list[int] = []
        size = self.size
        while len(taken) < limit:
            self._clean_back()
            if self.back and self.back[0][0] <= now:
                row = self.back[0][1]
                if not self.fits(row, nbytes, taken):
                    break
                heapq.heappop(self.back)
            elif self.fresh_pos < self.n and self.fresh_at[self.fresh_pos] <= now:
                row = int(self.fresh[self.fresh_pos])
                if not self.fits(row, nbytes, taken):
                    break
                self.fresh_pos += 1
            else:
                break
            if self.receive(row, now):
                taken.append(row)
                nbytes += int(size[row])
        return taken, nbytes

    def returned(self, row: int, now: int) -> None:
        """Message ``row`` is visible again from ``now`` (its visibility timeout ended)."""
        heapq.heappush(self.back, (now, row))

    def fresh_visible(self, now: int) -> int:
        """Fresh (never received) messages receivable at ``now``."""
        return int(np.searchsorted(self.fresh_at, now, side="right")) - self.fresh_pos


def message_ids(table: pa.Table, fallback: np.ndarray) -> np.ndarray:
    """Each message's MessageId: the captured ``message_id``, else ``fallback`` (its ``seq``)."""
    if "message_id" not in table.column_names:
        return fallback
    col = table.column("message_id").to_numpy(zero_copy_only=False)
    return np.where(pd_isnull(col), fallback, col)


def message_delays_ms(table: pa.Table, queue_delay_s: int) -> np.ndarray:
    """Per-message DelaySeconds when captured, else the queue's DelaySeconds (a message timer)."""
    delay = np.full(table.num_rows, queue_delay_s * 1000, dtype=np.int64)
    if "delay_seconds" in table.column_names:
        col = table.column("delay_seconds")
        if col.null_count < len(col):
            values = col.fill_null(queue_delay_s).to_numpy().astype(np.int64)
            delay = values * 1000
    return delay


def delivery(message_ids: np.ndarray, receives: np.ndarray, first_receive: np.ndarray,
             rows: list[int] | np.ndarray, now: int) -> events.SqsDelivery:  # fmt: skip
    """What SQS tells a receiver of ``rows`` at ``now``: ApproximateReceiveCount,
    ApproximateFirstReceiveTimestamp and the receipt handles."""
    ids = [str(message_ids[r]) for r in rows]
    counts = [int(receives[r]) for r in rows]
    return events.SqsDelivery(
        receive_counts=counts,
        first_receive_ms=[
            int(first_receive[r]) if first_receive[r] != NO_TIME else now for r in rows
        ],
        receipt_handles=[events.receipt_handle(i, c) for i, c in zip(ids, counts, strict=True)],
    )


def pd_isnull(values: np.ndarray) -> np.ndarray:
    """None entries of an object array."""
    return np.array([v is None for v in values], dtype=bool)


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
