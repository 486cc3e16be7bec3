"""Live capture of Kinesis Data Streams and DynamoDB Streams: every shard, in parallel, paced.

``capture_stream`` lists the shards (with their lineage: parents, hash-key ranges, closed or open),
reads each one in its own thread from the window's start (Kinesis: an ``AT_TIMESTAMP`` iterator;
DynamoDB Streams has none, so ``TRIM_HORIZON`` and records before the window are skipped) until the
first record after the window's end, the end of a closed shard, or the tip of an open one, and hands
the records to a :class:`~captures.writer.CaptureWriter`, which makes the capture resumable.

Reads stay within the documented per-shard limits, shared with production consumers: Kinesis 5
GetRecords calls/s and 2 MiB/s per shard; DynamoDB Streams 4 calls/s per shard (ESM-SEMANTICS 3,
4). A ``ProvisionedThroughputExceededException`` (or ``LimitExceededException``) backs off
exponentially and retries the same iterator; an expired iterator is renewed after the last record.

The two services differ only in a small adapter (:class:`~captures.stream_apis.KinesisApi`,
:class:`~captures.stream_apis.DynamoDbApi`, in :mod:`captures.stream_apis`, with the resolution of
a stream name or ARN): how shards are listed, how iterators are made, and how an API record becomes
a capture row. This module keeps the shard reader and the capture loop, and re-exports the
adapters' public names so that ``captures.streams`` stays the one place callers import from.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from captures.aws import NetworkError, aws_errors, error_code, is_network, is_throttle, user_error
from captures.common import ProgressFn, ShardProgress, StopFlag, Window, no_progress, seq_int
from captures.redact import Redactor
from captures.stream_apis import (
    DynamoDbApi,
    KinesisApi,
    Limits,
    Page,
    ShardMeta,
    StreamApi,
    StreamTarget,
    resolve_dynamodb,
    resolve_kinesis,
)
from captures.writer import DEFAULT_FLUSH_ROWS, CaptureComplete, CaptureWriter
from replay.errors import UserError
from replay.events import EventContext
from replay.formats.capture import Capture, Manifest, read_capture

__all__ = [
    "MAX_BACKOFF_S",
    "DynamoDbApi",
    "KinesisApi",
    "Limits",
    "Pacer",
    "Page",
    "ReadOutcome",
    "ShardMeta",
    "StreamApi",
    "StreamCaptureResult",
    "StreamTarget",
    "capture_stream",
    "read_shard",
    "resolve_dynamodb",
    "resolve_kinesis",
]

MAX_BACKOFF_S = 10.0
"""The longest wait, in seconds, between retries of a throttled GetRecords call."""


# --------------------------------------------------------------------------- the shard reader


class Pacer:
    """Keeps one shard's reads within calls/s and bytes/s; sleeps are interruptible."""

    def __init__(self, limits: Limits, stop: StopFlag) -> None:
        self.limits = limits
        self.stop = stop
        self.next_at = 0.0

    def wait(self) -> bool:
        """Sleep until the next call is allowed; True if a stop was requested meanwhile."""
        return self.stop.sleep(self.next_at - time.monotonic())

    def spent(self, called_at: float, nbytes: int) -> None:
        """Record a call made at ``called_at`` that returned ``nbytes``."""
        gap = 1.0 / self.limits.calls_per_second
        if self.limits.bytes_per_second:
            gap = max(gap, nbytes / self.limits.bytes_per_second)
        self.next_at = called_at + gap


@dataclass(frozen=True)
class ReadOutcome:
    """How one shard's read ended."""

    shard: str
    records: int
    reason: str


def read_shard(
    api: StreamApi,
    shard: ShardMeta,
    window: Window,
    writer: CaptureWriter,
    stop: StopFlag,
    progress: ProgressFn,
    *,
    page_limit: int,
    follow: bool,
) -> ReadOutcome:
    """Read one shard from the window's start (or after its checkpoint) to the window's end.

    Args:
        follow: keep polling an open shard at its tip until the window's end has passed
            (for ``--to`` in the future); otherwise the tip ends the read.
    """
    after = writer.state.last_seq.get(shard.id)
    if after is not None and shard.end_seq is not None and seq_int(after) >= seq_int(shard.end_seq):
        progress(ShardProgress(shard.id, writer.count(shard.id), 0, True))
        return ReadOutcome(shard.id, 0, "closed")
    pacer = Pacer(api.limits, stop)
    iterator = _renew(api, shard.id, window, after)
    captured, empty_pages, backoff = 0, 0, 0.5
    limit = min(page_limit, api.limits.page_limit)
    while True:
        if pacer.wait():
            return ReadOutcome(shard.id, captured, "stopped")
        called = time.monotonic()
        try:
            page = api.read(shard.id, iterator, limit)
        except Exception as exc:
            if is_throttle(exc):
                pacer.next_at = time.monotonic() + backoff * (0.5 + random.random())
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if error_code(exc) in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                iterator = _renew(
                    api, shard.id, window, writer.state.last_seq.get(shard.id) or after
                )
                continue
            raise
        backoff = 0.5
        pacer.spent(called, page.nbytes)
        keep, past_end = _in_window(page.arrivals, window)
        if keep:
            table = page.table.take(pa.array(keep, type=pa.int64()))
            writer.add(shard.id, table)
            captured += table.num_rows
            after = table.column("seq")[-1].as_py()
        progress(ShardProgress(shard.id, writer.count(shard.id), page.lag_ms))
        if past_end:
            return ReadOutcome(shard.id, captured, "window end")
        if page.next_iterator is None:
            return ReadOutcome(shard.id, captured, "closed")
        last_read = page.table.column("seq")[-1].as_py() if page.arrivals else None
        # moto never ends a closed shard's iterator; its ending sequence number does.
        if (
            shard.end_seq is not None
            and last_read is not None
            and seq_int(last_read) >= seq_int(shard.end_seq)
        ):
            return ReadOutcome(shard.id, captured, "closed")
        empty_pages = 0 if page.arrivals else empty_pages + 1
        if _at_tip(page, empty_pages):
            if not follow or time.time() * 1000 > window.end_ms:
                return ReadOutcome(shard.id, captured, "tip")
            if stop.sleep(1.0):
                return ReadOutcome(shard.id, captured, "stopped")
        iterator = page.next_iterator


def _renew(api: StreamApi, shard: str, window: Window, after: str | None) -> str:
    if after is not None:
        return api.iterator(shard, at_ms=None, after_seq=after)
    return api.iterator(
        shard, at_ms=window.start_ms if api.supports_timestamp else None, after_seq=None
    )


def _in_window(arrivals: tuple[int, ...], window: Window) -> tuple[list[int], bool]:
    """Indices of records inside the window, and whether a record past its end was seen."""
    keep: list[int] = []
    for i, ms in enumerate(arrivals):
        if ms > window.end_ms:
            return keep, True
        if ms >= window.start_ms:
            keep.append(i)
    return keep, False


def _at_tip(page: Page, empty_pages: int) -> bool:
    if page.arrivals:
        return False
    if page.lag_ms is not None:
        return page.lag_ms == 0
    # DynamoDB Streams says nothing about lag; a few empty pages in a row mean the tip.
    return empty_pages >= 3


# --------------------------------------------------------------------------- the capture


@dataclass(frozen=True)
class StreamCaptureResult:
    """What a stream capture did: the capture, and per-shard outcomes of this run."""

    capture: Capture
    outcomes: tuple[ReadOutcome, ...]


def capture_stream(
    target: StreamTarget,
    window: Window,
    out: str,
    *,
    created_by: str,
    resume: bool = False,
    overwrite: bool = False,
    redactor: Redactor | None = None,
    parallel: int = 8,
    page_limit: int = 10_000,
    flush_rows: int = DEFAULT_FLUSH_ROWS,
    follow: bool = True,
    progress: ProgressFn = no_progress,
    endpoint_url: str | None = None,
    on_shards: Callable[[list[ShardMeta]], None] | None = None,
) -> StreamCaptureResult:
    """Capture every shard of a Kinesis or DynamoDB stream for ``window`` into ``out``.

    Raises:
        UserError: an AWS failure (one line); on interruption (Ctrl-C) or a network error the
            records read so far are checkpointed first and the message says to ``--resume``.
    """
    api = target.api
    with aws_errors(f"{api.kind.value} {target.source.name}: listing shards"):
        shards = api.shards()
    if on_shards is not None:
        on_shards(shards)
    manifest = Manifest(
        source=target.source,
        shards=tuple(s.info() for s in shards),
        window_start_ms=window.start_ms,
        window_end_ms=window.end_ms,
        redaction=redactor.describe() if redactor else None,
        created_by=created_by,
    )
    ctx = EventContext(api.kind, target.source.arn or "", target.source.region or "")
    try:
        writer = CaptureWriter.open(
            out,
            manifest,
            ctx,
            resume=resume,
            overwrite=overwrite,
            redactor=redactor,
            flush_rows=flush_rows,
            endpoint_url=endpoint_url,
        )
    except CaptureComplete:
        return StreamCaptureResult(read_capture(out), ())
    # A resumed capture keeps the window it started with.
    window = Window(
        writer.manifest.window_start_ms or window.start_ms,
        writer.manifest.window_end_ms or window.end_ms,
    )
    stop = StopFlag()
    outcomes = _read_all(api, shards, window, writer, stop, progress, parallel, page_limit, follow)
    updates: dict[str, Any] = {}
    if redactor is not None:
        updates["redaction"] = redactor.describe()
    capture = writer.finish(**updates)
    return StreamCaptureResult(capture, outcomes)


def _read_all(
    api: StreamApi,
    shards: list[ShardMeta],
    window: Window,
    writer: CaptureWriter,
    stop: StopFlag,
    progress: ProgressFn,
    parallel: int,
    page_limit: int,
    follow: bool,
) -> tuple[ReadOutcome, ...]:
    if not shards:
        return ()
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(shards))))
    futures = [
        pool.submit(
            _guarded, read_shard, api, s, window, writer, stop, progress, page_limit, follow
        )
        for s in shards
    ]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            stop.set()
            wait(futures)
            exc = failed[0].exception()
            assert exc is not None
            _give_up(writer, exc, api)
        outcomes = tuple(f.result() for f in futures)
        for o in outcomes:
            progress(ShardProgress(o.shard, writer.count(o.shard), None, True))
        return outcomes
    except KeyboardInterrupt:
        stop.set()
        wait(futures)
        writer.checkpoint()
        raise UserError(
            f"interrupted; records read so far are saved in {writer.uri}; "
            "run the same command with --resume to continue"
        ) from None
    finally:
        pool.shutdown(wait=True)


def _guarded(
    fn: Callable[..., ReadOutcome],
    api: StreamApi,
    shard: ShardMeta,
    window: Window,
    writer: CaptureWriter,
    stop: StopFlag,
    progress: ProgressFn,
    page_limit: int,
    follow: bool,
) -> ReadOutcome:
    return fn(api, shard, window, writer, stop, progress, page_limit=page_limit, follow=follow)


def _give_up(writer: CaptureWriter, exc: BaseException, api: StreamApi) -> None:
    """Checkpoint, then raise a user error for an AWS failure (or re-raise a bug)."""
    writer.checkpoint()
    mapped = user_error(exc, f"{api.kind.value} GetRecords")
    if mapped is None:
        raise exc
    if isinstance(mapped, NetworkError) or is_network(exc):
        raise NetworkError(
            f"{mapped}; records read so far are saved in {writer.uri}; "
            "run the same command with --resume to continue"
        ) from None
    raise mapped from None
