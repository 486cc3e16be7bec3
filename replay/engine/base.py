"""What every source family's simulated poller shares.

The stream, SQS and Kafka engines differ in how they read, batch and retry; they share everything
around that: the capture's per-record arrays (arrival, size, sequence), the one-disposition-per-
record bookkeeping, the invocation log (invocations.parquet), the function's identity and context,
running the function model on a batch (faults, then the handler), seeded request ids, and the
records table. Engines subclass :class:`EngineBase`; the scheduler drives them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from replay import events
from replay.config import EsmConfig
from replay.engine.log import InvocationLog
from replay.engine.options import EngineOptions
from replay.engine.scheduler import Scheduler
from replay.formats.capture import Capture
from replay.formats.runfiles import RECORDS
from replay.function import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    FaultVerdict,
    FunctionModel,
    LambdaContext,
    compile_faults,
    judge_faults,
    marshal,
    resolve_handler,
    throttled_at,
)
from replay.vocabulary import Disposition, Reason, SourceKind

PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous invoke request payload (1.2, 9)
NO_TIME = -1
NEVER = np.iinfo(np.int64).max  # first_delivered before any delivery: min() keeps the first
UNRESOLVED = -1
DISPOSITIONS = [d.value for d in Disposition]
DISPOSITION_CODE = {d: i for i, d in enumerate(Disposition)}
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FunctionIdentity:
    """Names that appear in events, contexts and failure records."""

    name: str
    arn: str
    timeout_ms: int
    memory_mb: int
    reserved_concurrency: int | None


@dataclass(frozen=True)
class EngineRun:
    """What one replay produced, before it is written to disk."""

    invocations: pa.Table
    records: pa.Table
    destinations: tuple[dict[str, Any], ...]
    blocks: dict[str, tuple[tuple[int, int], ...]]
    start_ms: int
    end_ms: int
    events: int
    queue_metrics: pa.Table | None = None  # per-minute source gauges (SQS queue depth, Kafka lag)


@dataclass(frozen=True)
class ModelRun:
    """The function model's answer for one batch, before the source's response rules read it."""

    duration_ms: int
    timed_out: bool
    error: str | None
    response: Any
    faults: FaultVerdict | None


class EngineBase:
    """Per-record state and the shared machinery of one replay (subclassed per source family)."""

    def __init__(
        self,
        capture: Capture,
        config: EsmConfig,
        model: FunctionModel,
        *,
        seed: int = 0,
        options: EngineOptions | None = None,
        start_ms: int | None = None,
        until_ms: int | None = None,
        progress: Progress | None = None,
        settings: Mapping[str, Any] | None = None,
        disabled: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.capture = capture
        # the source's own settings (queue attributes, retention...), with Source.X overrides
        self.settings = dict(capture.manifest.source.settings if settings is None else settings)
        self.kind = capture.kind
        self.config = config
        self.model = model
        self.options = options or EngineOptions()
        self.rng = random.Random(seed)
        self.progress = progress
        self.table = capture.records
        n = self.table.num_rows
        self.n = n
        man = capture.manifest
        self.arrival = self.table.column("arrival").cast(pa.int64()).to_numpy()
        self.start_ms = mapping_start_ms(capture, start_ms, self.arrival)
        self.until_ms = until_ms
        self.sched = Scheduler(self.start_ms)
        source = man.source
        self.ctx = events.EventContext(
            kind=self.kind,
            source_arn=source.arn or config.event_source_arn or default_arn(self.kind, source.name),
            region=source.region or region_of(source.arn) or "us-east-1",
            invoke_identity_arn=man.function.get("Role") or events.DEFAULT_INVOKE_IDENTITY_ARN,
            **self._context_extras(),
        )
        self.fn = function_identity(capture, config, model)
        self.size = self.table.column("size").to_numpy().astype(np.int64)
        self.cum_size_all = np.concatenate(([0], np.cumsum(self.size)))
        self.seq_col = self.table.column("seq").combine_chunks()
        self.seqs = self.seq_col.to_numpy(zero_copy_only=False)  # str per row: cheap scalar access
        self.disp = np.full(n, UNRESOLVED, dtype=np.int8)
        self.reason = np.full(n, -1, dtype=np.int16)
        self.reasons: list[str] = []
        self.deliveries = np.zeros(n, dtype=np.int32)
        self.first_delivered = np.full(n, NEVER, dtype=np.int64)
        self.done = np.full(n, NO_TIME, dtype=np.int64)
        self.resolved = 0
        self.log = InvocationLog()
        self.destinations: list[dict[str, Any]] = []
        self.in_flight = 0
        self.next_batch = 0
        self.fault_masks = compile_faults(model, self.table)
        self.needs_seen = any(f.times is not None for f in model.faults)
        self.handler = resolve_handler(model.handler) if model.handler else None
        self.matched = self._filter_mask()
        self.disabled = tuple(sorted((int(a), int(b)) for a, b in disabled if b > a))
        self._setup()

    def _setup(self) -> None:
        """The source family's own state, once the shared state above exists (subclasses)."""

    def _paused_until(self, now: int) -> int | None:
        """B29: the end of the disabled span covering ``now`` (None when the mapping is enabled).

        While disabled the mapping reads nothing and starts no invocation; one in flight finishes.
        Re-enabled, it resumes from its checkpoint (streams, Kafka) or the queue (SQS), not from
        the starting position.
        """
        for start, end in self.disabled:
            if start <= now < end:
                return end
        return None

    def run(self) -> EngineRun:
        """Simulate the whole capture (each source family's engine implements it)."""
        raise NotImplementedError

    def _context_extras(self) -> dict[str, Any]:
        """Source-specific EventContext fields (Kafka's bootstrap servers, ...)."""
        return {}

    # ------------------------------------------------------------------ filters
    def _filter_mask(self) -> np.ndarray:
        """B52–B54, B71, B80: evaluate FilterCriteria once per record, in chunks of event records."""
        if not self.config.filter_patterns:
            return np.ones(self.n, dtype=bool)
        from replay.filters import match_records

        filters = self.config.filter_set  # parsed once, when the configuration was validated
        mask = np.empty(self.n, dtype=bool)
        step = 50_000
        for lo in range(0, self.n, step):
            rows = np.arange(lo, min(lo + step, self.n))
            recs = events.build_records(self.table, rows, self.ctx)
            mask[lo : lo + len(rows)] = match_records(self.kind, filters, recs)
        return mask

    # ------------------------------------------------------------------ dispositions
    def _reason_code(self, reason: str) -> int:
        reason = str(reason)  # a Reason member is kept as its plain value (records.parquet)
        if reason not in self.reasons:
            self.reasons.append(reason)
        return self.reasons.index(reason)

    def _resolve(self, rows: np.ndarray, disp: Disposition, reason: str, t: int) -> None:
        """Give ``rows`` their one final disposition (rows already resolved are left alone).

        ``reason`` is a :class:`~replay.vocabulary.Reason` (or ``""`` for none, as for processed
        records)."""
        n = len(rows)
        if not n:
            return
        code = DISPOSITION_CODE[disp]
        why = self._reason_code(reason) if reason else -1
        lo, hi = _span(rows)
        if hi - lo == n and (self.disp[lo:hi] == UNRESOLVED).all():
            # a contiguous run of unresolved rows: the common case, done with slices
            self.disp[lo:hi], self.reason[lo:hi], self.done[lo:hi] = code, why, t
            self.resolved += n
            return
        rows = rows[self.disp[rows] == UNRESOLVED]
        self.disp[rows], self.reason[rows], self.done[rows] = code, why, t
        self.resolved += len(rows)

    def _delivered(self, rows: np.ndarray, now: int) -> None:
        """Count one delivery of ``rows`` at ``now`` (slices when the rows are contiguous)."""
        n = len(rows)
        if not n:
            return
        lo, hi = _span(rows)
        if hi - lo == n:
            self.deliveries[lo:hi] += 1
            first = self.first_delivered[lo:hi]
            np.minimum(first, now, out=first)
        else:
            self.deliveries[rows] += 1
            np.minimum.at(self.first_delivered, rows, now)

    def _nbytes(self, rows: np.ndarray) -> int:
        n = len(rows)
        if not n:
            return 0
        lo, hi = _span(rows)
        if hi - lo == n:
            return int(self.cum_size_all[hi] - self.cum_size_all[lo])
        return int(self.size[rows].sum())

    def _seq(self, row: int) -> str:
        return str(self.seqs[row])

    def _request_id(self) -> str:
        """A version-4 UUID drawn from the seeded generator (deterministic per seed)."""
        h = f"{self.rng.getrandbits(128) & _UUID4_MASK | _UUID4_BITS:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # ------------------------------------------------------------------ the function
    def _throttled(self, now: int) -> bool:
        """B22/B67: a throttle period of the model, or the function's reserved concurrency is full."""
        reserved = self.fn.reserved_concurrency
        if reserved is not None and self.in_flight >= reserved:
            return True
        return bool(self.model.throttles) and throttled_at(self.model, now)

    def _run_model(
        self,
        rows: np.ndarray,
        nbytes: int,
        request_id: str,
        event: Callable[[], dict[str, Any]],
        modelled_response: Callable[[FaultVerdict | None], Any],
    ) -> ModelRun:
        """Faults decide first, then the handler (if any) is called with the exact event.

        A handler exception is a function error; a duration beyond the timeout is a timeout (B24).
        """
        verdict = None
        if self.fault_masks:
            seen = self.deliveries[rows] + 1 if self.needs_seen else rows
            verdict = judge_faults(
                self.model, self.fault_masks, rows, seen, self.rng, now_ms=self.sched.now
            )
        extra = round(verdict.extra_ms) if verdict else 0
        duration = self.model.duration.of(len(rows), nbytes) + extra
        error = verdict.error if verdict else None
        if self.handler is not None:
            try:
                response = self.handler(event(), self._context(request_id))
                marshal(response)
            except KeyboardInterrupt:  # the user's Ctrl-C, not the function's doing
                raise
            except BaseException:
                # Any exception is a function error (B42), and so is what Lambda's runtime makes
                # of a handler that exits (sys.exit: Runtime.ExitError) or returns what JSON
                # cannot hold (Runtime.MarshalError): X-Amz-Function-Error is Unhandled.
                error = error or "Unhandled"
                response = None
        else:
            response = modelled_response(verdict)
        timed_out = (verdict is not None and verdict.timeout) or duration > self.fn.timeout_ms
        if timed_out:
            duration = self.fn.timeout_ms
        return ModelRun(duration, timed_out, error, response, verdict)

    def _context(self, request_id: str) -> LambdaContext:
        fn = self.fn
        return LambdaContext(
            function_name=fn.name,
            function_version="$LATEST",
            invoked_function_arn=fn.arn,
            memory_limit_in_mb=fn.memory_mb,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{fn.name}",
            log_stream_name="esm-replay",
            timeout_ms=fn.timeout_ms,
        )

    # ------------------------------------------------------------------ outputs
    def _simulate(self) -> int:
        """Run the scheduler to the end (or the horizon); returns the end time."""
        progress = self.progress
        on_step = None
        if progress is not None:

            def on_step(_now: int) -> None:
                progress(self.resolved, self.n)

        self.sched.run(self.until_ms, on_step)
        return self.sched.now

    def _collect(
        self, end: int, blocks: dict[str, list[tuple[int, int]]], **extra: Any
    ) -> EngineRun:
        """Unresolved records become ``unprocessed`` and the outputs are assembled."""
        left = np.flatnonzero(self.disp == UNRESOLVED)
        self._resolve(left, Disposition.UNPROCESSED, Reason.HORIZON_REACHED, end)
        if self.progress:
            self.progress(self.resolved, self.n)
        return EngineRun(
            invocations=self.log.table(),
            records=self._records_table(),
            destinations=tuple(self.destinations),
            blocks={s: tuple(union(v)) for s, v in blocks.items()},
            start_ms=self.start_ms,
            end_ms=end,
            events=self.sched.events,
            **extra,
        )

    def _records_table(self) -> pa.Table:
        reasons = np.array([*self.reasons, None], dtype=object)
        first = np.where(self.first_delivered == NEVER, NO_TIME, self.first_delivered)
        done = self.done
        processed = self.disp == DISPOSITION_CODE[Disposition.PROCESSED]
        latency = np.where(processed, done - self.arrival, NO_TIME)
        columns: dict[str, Any] = {
            "shard": self.table.column("shard"),
            "seq": self.table.column("seq"),
            "pos": self.table.column("pos"),
            "disposition": np.array(DISPOSITIONS, dtype=object)[self.disp],
            "reason": reasons[self.reason],
            "deliveries": self.deliveries,
            "first_delivered": _nullable(first),
            "done": _nullable(done),
            "latency_ms": _nullable(latency),
        }
        return _table(RECORDS, columns)


def _nullable(values: np.ndarray) -> pa.Array:
    """int64 values with NO_TIME as null."""
    return pa.array(values, pa.int64(), mask=values == NO_TIME)


def _table(schema: pa.Schema, columns: dict[str, Any]) -> pa.Table:
    """A run table from its schema: each column cast to the schema's type, in its order."""
    arrays = [
        columns[f.name].cast(f.type)
        if isinstance(columns[f.name], pa.Array | pa.ChunkedArray)
        else pa.array(columns[f.name], f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _span(rows: np.ndarray) -> tuple[int, int]:
    """[min, max + 1] of distinct row indices: its length equals ``len(rows)`` exactly when the rows
    are one contiguous run, in whatever order (an SQS batch need not be sorted)."""
    return int(rows.min()), int(rows.max()) + 1


def union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping [start, end] intervals (blocked time of a shard's lanes)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def mapping_start_ms(capture: Capture, start_ms: int | None, arrival: np.ndarray) -> int:
    """When the simulated mapping starts: ``--start``, else the capture window's start, else its
    first arrival (DESIGN: the ESM is already running when the capture begins)."""
    if start_ms is not None:
        return start_ms
    first = int(arrival.min()) if len(arrival) else 0
    return capture.manifest.window_start_ms or first


def arrivals_ms(capture: Capture) -> np.ndarray:
    """The capture's arrival times as epoch ms."""
    return np.asarray(capture.records.column("arrival").cast(pa.int64()).to_numpy())


def region_of(arn: str | None) -> str | None:
    """The region field of an ARN."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None


def account_of(arn: str | None) -> str | None:
    """The account field of an ARN."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def default_arn(kind: SourceKind, name: str | None) -> str:
    """A plausible source ARN when the capture does not know its own."""
    base = "arn:aws:{}:us-east-1:123456789012:"
    if kind is SourceKind.DYNAMODB:
        return base.format("dynamodb") + f"table/{name or 'table'}/stream/1970-01-01T00:00:00.000"
    if kind is SourceKind.SQS:
        return base.format("sqs") + (name or "queue")
    if kind is SourceKind.KAFKA:
        return (
            base.format("kafka")
            + f"cluster/{name or 'cluster'}/00000000-0000-0000-0000-000000000000-1"
        )
    return base.format("kinesis") + f"stream/{name or 'stream'}"


def function_identity(
    capture: Capture, config: EsmConfig, model: FunctionModel
) -> FunctionIdentity:
    """The function's name, ARN and limits: model first, then the captured configuration."""
    captured = capture.manifest.function
    source_arn = capture.manifest.source.arn
    region = region_of(source_arn) or capture.manifest.source.region or "us-east-1"
    account = account_of(source_arn) or "123456789012"
    name = (
        model.name or captured.get("FunctionName") or config.function_name or "esm-replay-function"
    )
    if name.startswith("arn:"):
        arn = name
        name = name.split(":")[6] if len(name.split(":")) > 6 else name
    else:
        arn = captured.get("FunctionArn") or f"arn:aws:lambda:{region}:{account}:function:{name}"
    timeout_s = model.timeout_s or captured.get("Timeout") or DEFAULT_TIMEOUT_S
    memory = model.memory_mb or captured.get("MemorySize") or DEFAULT_MEMORY_MB
    reserved = model.reserved_concurrency
    if reserved is None:
        reserved = captured.get("ReservedConcurrentExecutions")
    return FunctionIdentity(name, arn, round(float(timeout_s) * 1000), int(memory), reserved)
