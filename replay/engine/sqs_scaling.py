"""SQS poller scaling (B66, B68, B69) and the queue's per-minute gauges.

Pollers are concurrency slots: 5 at first, +300 a minute while a backlog remains, up to 1,250
(B68; before 2023-11-06 +60 a minute up to 1,000), capped by ``ScalingConfig.MaximumConcurrency``
(B69), scaled down by function errors unless ReportBatchItemFailures is on (B66). The target moves
once a minute, on the CloudWatch minute grid, where the queue's gauges are sampled too
(``queue_metrics``: messages visible and not visible, the age of the oldest message, the target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from replay.config import EsmConfig
from replay.engine.base import UNRESOLVED
from replay.engine.options import EngineOptions

MINUTE = 60_000


@dataclass(eq=False)
class Scaling:
    """B66, B68, B69: the ESM's concurrency target, evaluated once a minute."""

    target: int
    start: int
    floor: int
    cap: int
    rate: int
    rbif: bool  # ReportBatchItemFailures: errors do not scale polling down (B66)
    errors: int = 0

    @classmethod
    def of(cls, cfg: EsmConfig, options: EngineOptions) -> Scaling:
        """B68/B69 (and provisioned mode): where concurrency starts, its floor, cap and growth."""
        rbif = cfg.report_batch_item_failures
        if cfg.provisioned is not None:
            lo, hi = cfg.provisioned.minimum * 10, cfg.provisioned.maximum * 10
            return cls(target=lo, start=lo, floor=lo, cap=hi, rate=1000, rbif=rbif)
        legacy = options.sqs_scaling == "legacy"
        cap = 1000 if legacy else 1250
        if cfg.maximum_concurrency is not None:
            cap = min(cap, cfg.maximum_concurrency)
        start = min(5, cap)
        rate = 60 if legacy else 300
        return cls(target=start, start=start, floor=min(2, cap), cap=cap, rate=rate, rbif=rbif)

    def error(self) -> None:
        """B66: a function error slows polling down, unless ReportBatchItemFailures is on."""
        if not self.rbif:
            self.errors += 1

    def minute(self, *, backlog: bool, busy: int) -> None:
        """Move the target: down by the minute's errors (B66: errors win over a backlog), up by
        the growth rate while a backlog keeps every poller busy (B68), back to the start when
        the queue is idle."""
        if self.errors and not self.rbif:
            self.target = max(self.floor, self.target - self.errors)
        elif backlog and busy >= self.target:
            self.target = min(self.cap, self.target + self.rate)
        elif not backlog and busy < self.target:
            self.target = max(self.floor, min(self.target, self.start))
        self.errors = 0


class QueueGauges:
    """The queue's per-minute gauges, sampled at the end of each minute (``queue_metrics``).

    ``arrival``, ``visible_at`` and ``disp`` are the engine's per-message arrays (updated in place).
    """

    def __init__(self, arrival: np.ndarray, visible_at: np.ndarray, disp: np.ndarray) -> None:
        self.arrival, self.visible_at, self.disp = arrival, visible_at, disp
        self.n = len(arrival)
        self.by_arrival = np.argsort(arrival, kind="stable")
        self.oldest_pos = 0
        self.samples: list[tuple[int, int, int, int, int]] = []

    def sample(self, now: int, *, visible: int, not_visible: int, target: int) -> None:
        """The minute ending at ``now``: messages visible, in flight, oldest age, the target."""
        self.samples.append((now - MINUTE, visible, not_visible, self._oldest_age(now), target))

    def _oldest_age(self, now: int) -> int:
        order = self.by_arrival
        while self.oldest_pos < self.n and self.disp[order[self.oldest_pos]] != UNRESOLVED:
            self.oldest_pos += 1
        if self.oldest_pos >= self.n:
            return 0
        row = order[self.oldest_pos]
        return max(0, now - int(self.arrival[row])) if self.visible_at[row] <= now else 0

    def table(self) -> pa.Table:
        """The samples as the run's queue metrics table."""
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
