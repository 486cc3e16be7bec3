"""Amazon MSK and self-managed Apache Kafka event source mappings, simulated in virtual time.

Kafka's ESM reads each partition in offset order, but a *consumer* (poller) owns several partitions
and one invocation may carry records of several of them (B93). So a lane here is a consumer: it
gathers a batch across its partitions (BatchSize, the 500 ms default window, 6 MB: B17), and a
failing batch blocks every partition in it. From there the consequences are those of the shared
machine in :mod:`replay.engine.retry`, with Kafka's own rules:

* on-demand mode: the whole batch is retried until it succeeds or its records leave the topic's
  retention (B79) — MaximumRetryAttempts and friends are provisioned-only (B82, validated);
* provisioned mode: MaximumRetryAttempts, MaximumRecordAgeInSeconds, bisect and partial batch
  responses with ``{partition, offset}`` identifiers that retry only the reported records (B83);
  infinite retries with an on-failure destination are capped at 10 (B81); on-failure records carry
  ``KafkaBatchInfo`` (7), a ``kafka://`` destination receives each failed record (B85);
* a record over the payload limit is discarded with condition MaximumPayloadSizeExceeded (B84);
* offsets are committed for filtered records too (B80); a consumer group with committed offsets
  starts from them instead of StartingPosition (B86);
* consumers: on-demand starts with one and adds one when the offset lag grows, taking effect a few
  minutes later; provisioned runs MinimumPollers and scales toward MaximumPollers; never more than
  the partition count (B87). Partitions move between consumers only at batch boundaries.

Blocked time is counted per partition, for the intervals a consumer was blocked while holding it;
a partition still blocked when the simulation is cut off (``--until``) is not counted for that
last interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.engine import destinations
from replay.engine.base import UNRESOLVED, EngineRun
from replay.engine.polling import PollingEngine, Track
from replay.engine.responses import ResponseVerdict, judge_kafka_response
from replay.engine.retry import Batch, Discard, Lane
from replay.function import FaultVerdict
from replay.vocabulary import Reason, SourceKind

MINUTE = 60_000
DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000  # Kafka's log.retention.hours default (168)
CAPPED_RETRIES = 10  # B81
INVOKES_PER_PROVISIONED_POLLER = 5  # 7: "each poller ~5 MB/s or 5 concurrent invokes"
BEFORE_COMMITTED_OFFSET = "BeforeCommittedOffset"  # B86's reason (not a vocabulary Reason yet)


@dataclass(eq=False, kw_only=True)
class Partition(Track):
    """One topic-partition: its records in offset order and how far they have been read."""

    index: int
    name: str
    committed: int = 0
    owner: int | None = None  # the consumer currently reading it (until its batch resolves)


@dataclass(eq=False, kw_only=True)
class Consumer(Lane):
    """A poller's invoker: a sequential lane over the partitions assigned to it."""

    partitions: list[int] = field(default_factory=list)
    block_parts: set[str] = field(default_factory=set)
    assignment: int = -1  # the assignment version its partitions come from


class KafkaEngine(PollingEngine[Consumer]):
    """Replays one capture of a Kafka topic under one ESM configuration."""

    def _setup(self) -> None:
        """Topic state: partitions, consumers and OffsetLag samples."""
        if self.kind is not SourceKind.KAFKA:
            raise ValueError(f"KafkaEngine replays Kafka captures, not {self.kind}")
        super()._setup()
        config = self.config
        self.provisioned = config.provisioned is not None
        self.partitions: list[Partition] = []
        self.consumers_target = 1
        self.scale_delay_ms = 3 * MINUTE if not self.provisioned else MINUTE
        self.last_lag = 0
        self.part_blocks: dict[str, list[tuple[int, int]]] = {}
        self.lag_samples: list[tuple[int, str, int]] = []
        self.assignment = 0  # bumped whenever the consumer count changes
        has_offsets = (
            "offset" in self.table.column_names and not self.table.column("offset").null_count
        )
        self.offsets = self.table.column("offset").to_numpy() if has_offsets else None
        self.shard_names = self.table.column("shard").to_numpy(zero_copy_only=False)

    def _retention_ms(self) -> int:
        return _retention_ms(self.settings, self.options.retention_hours)

    def _context_extras(self) -> dict[str, Any]:
        """B94: MSK events carry the cluster ARN, self-managed ones only the bootstrap servers."""
        servers = ",".join(
            self.config.bootstrap_servers
        ) or self.capture.manifest.source.settings.get("BootstrapServers")
        return {
            "bootstrap_servers": servers or "b-1.kafka.internal:9092,b-2.kafka.internal:9092",
            "kafka_self_managed": self.config.kafka_self_managed
            or str(self.capture.manifest.source.settings.get("SelfManaged", "")).lower() == "true",
        }

    # ------------------------------------------------------------------ set-up
    def _eligible_mask(self) -> tuple[np.ndarray, str]:
        """B86: committed offsets of an existing consumer group win over StartingPosition."""
        committed = self.settings.get("CommittedOffsets")
        if not committed or self.offsets is None:
            return super()._eligible_mask()
        start = np.array([int(committed.get(s, 0)) for s in self.shard_names], dtype=np.int64)
        return self.offsets >= start, BEFORE_COMMITTED_OFFSET

    def _build_lanes(self) -> list[Consumer]:
        """Partitions in capture order, the initial consumers, and the once-a-minute lag check."""
        eligible = self._eligible_rows()
        shards = self.shard_names
        for name in dict.fromkeys(shards.tolist()):
            rows = np.flatnonzero((shards == name) & eligible)
            self.partitions.append(
                self._track(Partition, rows, index=len(self.partitions), name=str(name))
            )
        self.consumers_target = self._initial_consumers()
        for _ in range(self.consumers_target):
            self._add_consumer()
        self.sched.at(self.start_ms - self.start_ms % MINUTE + MINUTE, self._minute)
        return list(self.lanes)

    def _initial_consumers(self) -> int:
        """On-demand starts with one consumer; provisioned with MinimumPollers' invokers (B87)."""
        if self.config.provisioned is not None:
            wanted = self.config.provisioned.minimum * INVOKES_PER_PROVISIONED_POLLER
            return max(1, min(wanted, len(self.partitions)))
        return 1

    def _max_consumers(self) -> int:
        if self.config.provisioned is not None:
            wanted = self.config.provisioned.maximum * INVOKES_PER_PROVISIONED_POLLER
            return max(1, min(wanted, len(self.partitions)))
        return max(1, len(self.partitions))

    def _add_consumer(self) -> Consumer:
        index = len(self.lanes)
        consumer = Consumer(index=index, shard="", lane=index, idle_since=self.sched.now)
        self.lanes.append(consumer)
        return consumer

    # ------------------------------------------------------------------ assignment and scaling
    def _desired_owner(self, p: int) -> int:
        return p % self.consumers_target

    def _adopt(self, consumer: Consumer) -> None:
        """At a batch boundary: take the partitions now assigned to this consumer, free the others."""
        if consumer.assignment == self.assignment and consumer.partitions:
            return  # nothing moved since it last adopted
        consumer.assignment = self.assignment
        for part in self.partitions:
            if part.owner == consumer.index:
                part.owner = None
                owner = self._desired_owner(part.index)
                if owner != consumer.index and owner < len(self.lanes):
                    other = self.lanes[owner]
                    other.assignment = -1  # it must adopt the partition it is handed
                    if not other.busy and not other.pending:
                        self._schedule_wake(other, self.sched.now)  # hand the partition over
        consumer.partitions = []
        if consumer.index >= self.consumers_target:
            return
        for part in self.partitions:
            if self._desired_owner(part.index) == consumer.index and part.owner is None:
                consumer.partitions.append(part.index)

    def _minute(self) -> None:
        """Once a minute: offset lag decides whether to add (or drop) a consumer (7, B87)."""
        now = self.sched.now
        for part in self.partitions:
            arrived = int(part.ready.searchsorted(now, side="right"))
            self.lag_samples.append((now - MINUTE, part.name, arrived - self._committed(part)))
        lag = self._lag(now)
        if lag > 0 and lag >= self.last_lag and self.consumers_target < self._max_consumers():
            self.sched.at(now + self.scale_delay_ms, self._resize, self.consumers_target + 1)
        elif lag == 0 and self.consumers_target > self._initial_consumers():
            self.sched.at(now + self.scale_delay_ms, self._resize, self.consumers_target - 1)
        self.last_lag = lag
        if self.resolved < self.n:
            self.sched.at(now + MINUTE, self._minute)

    def _committed(self, part: Partition) -> int:
        """Records of the partition before its committed offset: the resolved prefix (7: offsets
        are committed once a batch is done, so a blocked record holds back everything after it)."""
        rows, i = part.rows, part.committed
        while i < len(rows) and self.disp[rows[i]] != UNRESOLVED:
            i += 1
        part.committed = i
        return i

    def _lag(self, now: int) -> int:
        """Records arrived but not yet read, over all partitions (the OffsetLag the ESM watches)."""
        return sum(int(p.ready.searchsorted(now, side="right")) - p.cursor for p in self.partitions)

    def _resize(self, target: int) -> None:
        target = max(1, min(target, self._max_consumers()))
        if target == self.consumers_target:
            return
        self.consumers_target = target
        self.assignment += 1
        while len(self.lanes) < target:
            self._schedule_wake(self._add_consumer(), self.sched.now)
        for lane in self.lanes:
            if not lane.busy and not lane.pending:
                self._schedule_wake(lane, self.sched.now)

    # ------------------------------------------------------------------ reading
    def _read_next(self, lane: Consumer, now: int) -> None:
        """The consumer is free: rebalance, then read the next batch across its partitions.

        While the mapping is disabled (B29) it polls nothing; re-enabled, it reads on from the
        committed offsets."""
        self._adopt(lane)
        if not lane.partitions:
            return
        for p in lane.partitions:
            self._trim(self.partitions[p], now)  # past retention: B79's end of blocking
        nxt = self._next_ready(lane)
        if nxt is None:
            return  # everything read; a rebalance may hand it partitions later
        if nxt > now:
            lane.idle_since = now
            self._schedule_wake(lane, nxt)
            return
        batch = self._read(lane, now)
        if batch is not None and len(batch.rows):
            self._invoke(lane, batch)
        elif batch is not None:
            self._schedule_wake(lane, now)  # all filtered or too old: read on

    def _next_ready(self, lane: Consumer) -> int | None:
        times = [int(self.partitions[p].ready[self.partitions[p].cursor]) for p in lane.partitions
                 if self.partitions[p].cursor < len(self.partitions[p].rows)]  # fmt: skip
        return min(times) if times else None

    def _candidates(self, lane: Consumer, until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per partition, the next records up to BatchSize matched ones, merged by readable time."""
        rows: list[np.ndarray] = []
        ready: list[np.ndarray] = []
        part_of: list[tuple[int, int]] = []
        for p in lane.partitions:
            part = self.partitions[p]
            if part.cursor >= len(part.rows) or part.ready[part.cursor] > until:
                continue  # nothing readable in this partition yet
            c0 = part.cum_count[part.cursor]
            end = int(part.cum_count.searchsorted(c0 + self.config.batch_size, side="left"))
            end = min(end, int(part.ready.searchsorted(until, side="right")), len(part.rows))
            end = max(end, part.cursor)  # nothing readable yet in this partition
            rows.append(part.rows[part.cursor : end])
            ready.append(part.ready[part.cursor : end])
            part_of.append((p, end - part.cursor))
        if not rows:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        if len(rows) == 1:
            r, t = rows[0], ready[0]
            return r, t, np.full(len(r), part_of[0][0], dtype=np.int64)  # one partition: in order
        r, t = np.concatenate(rows), np.concatenate(ready)
        owner = np.repeat([p for p, _ in part_of], [k for _, k in part_of])
        order = np.lexsort(
            (r, t)
        )  # by readable time, then capture order: keeps per-partition order
        return r[order], t[order], owner[order]

    def _cut(self, rows: np.ndarray) -> int:
        """How many merged candidates fit: BatchSize matched records and the payload limit."""
        if len(rows) <= self.config.batch_size and int(self.size[rows].sum()) <= self.payload_limit:
            return len(rows)  # everything fits: the common case, without cumulative sums
        matched = self.matched[rows]
        count = np.cumsum(matched)
        size = np.cumsum(np.where(matched, self.size[rows], 0))
        limit = len(rows)
        over_count = np.flatnonzero(count > self.config.batch_size)
        if len(over_count):
            limit = min(limit, int(over_count[0]))
        over_size = np.flatnonzero(size > self.payload_limit)
        if len(over_size):
            limit = min(
                limit, max(int(over_size[0]), 1)
            )  # a lone oversized record still goes (B84)
        return limit

    def _read(self, lane: Consumer, now: int) -> Batch | None:
        """B17: gather for the window (500 ms by default) unless BatchSize or 6 MB comes first."""
        if self.window_ms > 0:
            if lane.gather_open is None:
                lane.gather_open = now
            deadline = lane.gather_open + self.window_ms
            rows, ready, _ = self._candidates(lane, deadline)
            k = self._cut(rows)
            full = k < len(rows) or (k and self.matched[rows[:k]].sum() >= self.config.batch_size)
            flush_at = int(ready[k - 1]) if full and k else deadline
            flush_at = max(flush_at, now)
            if flush_at > now:
                self._schedule_wake(lane, flush_at)  # the flush
                return None
            lane.gather_open = None
        rows, _, owner = self._candidates(lane, now)
        k = self._cut(rows)
        rows, owner = rows[:k], owner[:k]
        for p in np.unique(owner):
            part = self.partitions[int(p)]
            part.cursor += int((owner == p).sum())
            part.owner = lane.index
        return self._fresh_batch(lane, rows, now)  # filtered records are committed too (B80)

    # ------------------------------------------------------------------ the function
    def _event(self, lane: Consumer, batch: Batch) -> dict[str, Any]:
        return self._event_of(batch.rows)

    def _event_of(self, rows: np.ndarray) -> dict[str, Any]:
        """The Kafka event holding ``rows`` (B93, B94)."""
        return events.build_event(events.build_records(self.table, rows, self.ctx), self.ctx)

    def _items(self, rows: np.ndarray) -> list[tuple[str, int]]:
        offsets = self.offsets if self.offsets is not None else self.seqs.astype(np.int64)
        return [(str(self.shard_names[r]), int(offsets[r])) for r in rows]

    def _modelled_response(
        self, lane: Consumer, rows: np.ndarray, verdict: FaultVerdict | None
    ) -> Any:
        if verdict is None or verdict.reported is None:
            return None
        items = self._items(rows[verdict.reported])
        return {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": p, "offset": o}} for p, o in items
            ]
        }

    def _read_response(self, rows: np.ndarray, response: Any) -> tuple[ResponseVerdict, int] | None:
        """B83, by :func:`judge_kafka_response`; no response is success."""
        if response is None:
            return None
        judged = judge_kafka_response(
            response, self._items(rows), rbif=self.config.report_batch_item_failures
        )
        return judged, len(judged.failed)

    def _split_partial(
        self, batch: Batch, verdict: ResponseVerdict
    ) -> tuple[np.ndarray, np.ndarray]:
        """B83: only the reported records are retried; the others are done."""
        failed = np.zeros(len(batch.rows), dtype=bool)
        failed[list(verdict.failed)] = True
        return batch.rows[~failed], batch.rows[failed]

    def _retry_limit(self) -> int:
        """B81: infinite retries with an on-failure destination stop after 10 (provisioned mode)."""
        mra = self.config.maximum_retry_attempts
        if mra < 0 and self.provisioned and self.config.on_failure:
            return CAPPED_RETRIES
        return mra

    def _oversize(self, lane: Consumer, batch: Batch, now: int, nbytes: int) -> None:
        """B84: a record over the payload limit is discarded as MaximumPayloadSizeExceeded, its
        failure record with ``responseContext`` null (it was never sent)."""
        self._discard(lane, batch.rows, now, Reason.MAXIMUM_PAYLOAD_SIZE_EXCEEDED, 1, response=None)
        self._after_resolution(lane, now)

    # ------------------------------------------------------------------ discards and blocking
    def _failure_records(self, lane: Consumer, discard: Discard) -> list[dict[str, Any]]:
        """The destination receives KafkaBatchInfo (7, B84), or each record for ``kafka://`` (B85)."""
        kind = destinations.destination_kind(self.config.on_failure)
        rows = discard.rows
        items = self._items(rows)
        common: dict[str, Any] = {
            "function_arn": self.fn.arn,
            "approximate_invoke_count": discard.invokes,
            "response": discard.response,
            "timestamp_ms": discard.time,
            "event_source_arn": None if self.ctx.kafka_self_managed else self.ctx.source_arn,
            "bootstrap_servers": self.ctx.bootstrap_servers,
        }
        if kind == "kafka":
            return [
                destinations.kafka_topic_failure_record(
                    request_id=self._request_id(),
                    batch_size=1,
                    payload_size=int(self.size[row]),
                    offset=offset,
                    record_timestamp_ms=int(self.arrival[row]),
                    payload=self._event_of(np.array([row])),
                    **common,
                )
                for row, (_, offset) in zip(rows, items, strict=True)
            ]
        payload = self._event_of(rows) if kind == "s3" else None
        info = destinations.kafka_records_info(
            [p for p, _ in items], [o for _, o in items], [int(self.arrival[r]) for r in rows]
        )
        record = destinations.kafka_failure_record(
            request_id=self._request_id(),
            condition=discard.condition,
            batch_size=len(rows),
            payload_size=self._nbytes(rows),
            records_info=info,
            payload=payload,
            payload_as_string=self.options.s3_payload == "string",
            **common,
        )
        return [record]

    def _holding(self, lane: Consumer, rows: np.ndarray) -> None:
        """A consumer's blocked time counts for every partition its failing batches held."""
        lane.block_parts.update(self._partition_names(rows))

    def _blocked(self, lane: Consumer, start: int, end: int) -> None:
        for name in lane.block_parts:
            self.part_blocks.setdefault(name, []).append((start, end))
        lane.block_parts.clear()

    def _partition_names(self, rows: np.ndarray) -> set[str]:
        return {str(s) for s in self.shard_names[rows]}

    def _blocks(self) -> dict[str, list[tuple[int, int]]]:
        return dict(self.part_blocks)

    def _log_shard(self, lane: Consumer, rows: np.ndarray) -> str:
        """The ``shard`` of a Kafka attempt lists the batch's partitions, joined by ``+``."""
        return "+".join(sorted(self._partition_names(rows))) if len(rows) else ""

    def _collect(
        self, end: int, blocks: dict[str, list[tuple[int, int]]], **extra: Any
    ) -> EngineRun:
        """OffsetLag per partition and minute (records arrived but not yet read) joins the metrics."""
        cols = list(zip(*self.lag_samples, strict=True)) if self.lag_samples else [(), (), ()]
        lag = pa.table(
            {
                "minute": pa.array(cols[0], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
                "shard": pa.array(cols[1], pa.string()),
                "offset_lag": pa.array(cols[2], pa.int64()),
            }
        )
        return super()._collect(end, blocks, queue_metrics=lag, **extra)


def _retention_ms(settings: Mapping[str, Any], hours: float | None) -> int:
    if hours is not None:
        return round(hours * 3_600_000)
    for key in ("retention.ms", "RetentionMs"):
        if key in settings and int(settings[key]) > 0:
            return int(settings[key])
    if "retention.hours" in settings:
        return int(float(settings["retention.hours"]) * 3_600_000)
    return DEFAULT_RETENTION_MS
