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

The two services differ only in a small adapter (:class:`KinesisApi`, :class:`DynamoDbApi`): how
shards are listed, how iterators are made, and how an API record becomes a capture row.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from captures.aws import (
    Arn,
    AwsOptions,
    NetworkError,
    aws_errors,
    error_code,
    is_network,
    is_throttle,
    user_error,
)
from captures.common import ProgressFn, ShardProgress, StopFlag, Window, no_progress, seq_int
from captures.redact import Redactor
from captures.writer import DEFAULT_FLUSH_ROWS, CaptureComplete, CaptureWriter
from replay.errors import UserError
from replay.events import EventContext
from replay.formats.capture import Capture, Manifest, ShardInfo, SourceInfo, read_capture
from replay.vocabulary import SourceKind

MAX_BACKOFF_S = 10.0


@dataclass(frozen=True)
class ShardMeta:
    """A shard as listed, with its lineage."""

    id: str
    parents: tuple[str, ...] = ()
    hash_key_range: tuple[str, str] | None = None
    start_seq: str | None = None
    end_seq: str | None = None

    @property
    def closed(self) -> bool:
        """A closed shard (split or merged away) has an ending sequence number."""
        return self.end_seq is not None

    def info(self) -> ShardInfo:
        """The manifest's lineage entry for this shard."""
        return ShardInfo(
            id=self.id, parents=self.parents, hash_key_range=self.hash_key_range, closed=self.closed
        )


@dataclass(frozen=True)
class Page:
    """One GetRecords response, already turned into capture columns."""

    table: pa.Table
    arrivals: tuple[int, ...]
    next_iterator: str | None
    lag_ms: int | None
    nbytes: int


@dataclass(frozen=True)
class Limits:
    """Per-shard read limits: calls per second, bytes per second (None: no byte limit), page size."""

    calls_per_second: float
    bytes_per_second: float | None
    page_limit: int


class StreamApi(Protocol):
    """What the shard reader needs from one stream service."""

    kind: SourceKind
    limits: Limits
    supports_timestamp: bool

    def shards(self) -> list[ShardMeta]: ...

    def iterator(self, shard: str, *, at_ms: int | None, after_seq: str | None) -> str: ...

    def read(self, shard: str, iterator: str, limit: int) -> Page: ...


@dataclass(frozen=True)
class StreamTarget:
    """The resolved source: identity for the manifest plus the service adapter."""

    source: SourceInfo
    api: StreamApi


# --------------------------------------------------------------------------- Kinesis


class KinesisApi:
    """Kinesis Data Streams: ListShards, GetShardIterator (AT_TIMESTAMP), GetRecords."""

    kind = SourceKind.KINESIS
    supports_timestamp = True

    def __init__(self, client: Any, name: str, page_limit: int, window: Window) -> None:
        self.client = client
        # Calls name the stream rather than its ARN: both are valid on AWS; moto knows only names.
        self.name = name
        self.window = window
        self.limits = Limits(5.0, 2 * 1024 * 1024, min(page_limit, 10_000))

    def shards(self) -> list[ShardMeta]:
        out: list[ShardMeta] = []
        # FROM_TIMESTAMP: closed shards that ended at or after the window's start, and open ones.
        start = dt.datetime.fromtimestamp(self.window.start_ms / 1000, tz=dt.UTC)
        kwargs: dict[str, Any] = {
            "StreamName": self.name,
            "ShardFilter": {"Type": "FROM_TIMESTAMP", "Timestamp": start},
        }
        while True:
            resp = self.client.list_shards(**kwargs)
            for s in resp.get("Shards", []):
                parents = tuple(
                    p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p
                )
                hkr = s.get("HashKeyRange") or {}
                rng = s.get("SequenceNumberRange") or {}
                out.append(
                    ShardMeta(
                        s["ShardId"],
                        parents,
                        (hkr["StartingHashKey"], hkr["EndingHashKey"]) if hkr else None,
                        rng.get("StartingSequenceNumber"),
                        rng.get("EndingSequenceNumber"),
                    )
                )
            token = resp.get("NextToken")
            if not token:
                return out
            kwargs = {"NextToken": token}

    def iterator(self, shard: str, *, at_ms: int | None, after_seq: str | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.name, "ShardId": shard}
        if after_seq is not None:
            kwargs.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after_seq
            )
        elif at_ms is not None:
            kwargs.update(
                ShardIteratorType="AT_TIMESTAMP",
                Timestamp=dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC),
            )
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def read(self, shard: str, iterator: str, limit: int) -> Page:
        resp = self.client.get_records(ShardIterator=iterator, Limit=limit)
        records = resp.get("Records", [])
        seqs = [r["SequenceNumber"] for r in records]
        arrivals = [_ms(r["ApproximateArrivalTimestamp"]) for r in records]
        keys = [r["PartitionKey"] for r in records]
        data = [r["Data"] for r in records]
        table = pa.table(
            {
                "shard": pa.array([shard] * len(records), type=pa.string()),
                "seq": pa.array(seqs, type=pa.string()),
                "arrival": pa.array(arrivals, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
                "key": pa.array(keys, type=pa.string()),
                "data": pa.array(data, type=pa.binary()),
            }
        )
        nbytes = sum(len(d) for d in data) + sum(len(k) for k in keys)
        lag = resp.get("MillisBehindLatest")
        return Page(table, tuple(arrivals), resp.get("NextShardIterator"), lag, nbytes)


def resolve_kinesis(
    aws: AwsOptions, stream: str, *, page_limit: int, window: Window
) -> tuple[StreamTarget, AwsOptions]:
    """Find the stream (name or ARN) and its settings; the ARN's region wins over none given."""
    arn = Arn.parse(stream)
    if arn is not None:
        if arn.service != "kinesis" or not arn.resource.startswith("stream/"):
            raise UserError(f"{stream}: not a Kinesis stream ARN (arn:aws:kinesis:...:stream/NAME)")
        aws = aws.with_region(arn.region)
    client = aws.client("kinesis")
    with aws_errors(f"kinesis stream {stream}"):
        kwargs = {"StreamARN": stream} if arn else {"StreamName": stream}
        summary = client.describe_stream_summary(**kwargs)["StreamDescriptionSummary"]
    settings = {
        "RetentionPeriodHours": summary.get("RetentionPeriodHours"),
        "StreamMode": (summary.get("StreamModeDetails") or {}).get("StreamMode"),
        "OpenShardCount": summary.get("OpenShardCount"),
        "EncryptionType": summary.get("EncryptionType"),
    }
    stream_arn = summary["StreamARN"]
    source = SourceInfo(
        kind=SourceKind.KINESIS,
        arn=stream_arn,
        region=Arn.parse(stream_arn).region if Arn.parse(stream_arn) else aws.region,  # type: ignore[union-attr]
        name=summary["StreamName"],
        settings={k: v for k, v in settings.items() if v is not None},
    )
    return StreamTarget(source, KinesisApi(client, summary["StreamName"], page_limit, window)), aws


# --------------------------------------------------------------------------- DynamoDB Streams


class DynamoDbApi:
    """DynamoDB Streams: DescribeStream (shards), GetShardIterator, GetRecords."""

    kind = SourceKind.DYNAMODB
    supports_timestamp = False

    def __init__(self, client: Any, arn: str, page_limit: int) -> None:
        self.client = client
        self.arn = arn
        self.limits = Limits(4.0, None, min(page_limit, 1000))

    def shards(self) -> list[ShardMeta]:
        out: list[ShardMeta] = []
        kwargs: dict[str, Any] = {"StreamArn": self.arn}
        while True:
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            for s in desc.get("Shards", []):
                rng = s.get("SequenceNumberRange") or {}
                parent = s.get("ParentShardId")
                out.append(
                    ShardMeta(
                        s["ShardId"],
                        (parent,) if parent else (),
                        None,
                        rng.get("StartingSequenceNumber"),
                        rng.get("EndingSequenceNumber"),
                    )
                )
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return out
            kwargs = {"StreamArn": self.arn, "ExclusiveStartShardId": last}

    def iterator(self, shard: str, *, at_ms: int | None, after_seq: str | None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard}
        if after_seq is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after_seq)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def read(self, shard: str, iterator: str, limit: int) -> Page:
        from captures.importers import _parse_dynamodb, _Sink, _table

        resp = self.client.get_records(ShardIterator=iterator, Limit=limit)
        records = resp.get("Records", [])
        sink = _Sink()
        for i, rec in enumerate(records):
            # The importer's parser turns an API record into the columns a Lambda event is rebuilt
            # from (epoch-second times, base64 binaries, Lambda's userIdentity spelling).
            _parse_dynamodb(_jsonable(rec), f"{shard} record {i}", sink)
        table = _table(sink, SourceKind.DYNAMODB, [shard] * len(records))
        nbytes = sum(len(d) for d in sink.data)
        return Page(table, tuple(sink.arrival), resp.get("NextShardIterator"), None, nbytes)


def resolve_dynamodb(
    aws: AwsOptions, table_or_stream: str, *, page_limit: int
) -> tuple[StreamTarget, AwsOptions]:
    """Find the table's latest stream (or the stream ARN given) and its settings."""
    arn = Arn.parse(table_or_stream)
    if arn is not None:
        if arn.service != "dynamodb":
            raise UserError(f"{table_or_stream}: not a DynamoDB table or stream ARN")
        aws = aws.with_region(arn.region)
    streams = aws.client("dynamodbstreams")
    stream_arn = table_or_stream if arn is not None and "/stream/" in arn.resource else None
    if stream_arn is None:
        table = arn.resource.split("/")[1] if arn is not None else table_or_stream
        with aws_errors(f"dynamodb table {table}"):
            desc = aws.client("dynamodb").describe_table(TableName=table)["Table"]
        stream_arn = desc.get("LatestStreamArn")
        if not stream_arn:
            raise UserError(f"dynamodb table {table}: has no stream (enable DynamoDB Streams)")
    with aws_errors(f"dynamodb stream {stream_arn}"):
        desc = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    parsed = Arn.parse(stream_arn)
    source = SourceInfo(
        kind=SourceKind.DYNAMODB,
        arn=stream_arn,
        region=parsed.region if parsed else aws.region,
        name=desc.get("TableName"),
        settings={
            k: v
            for k, v in {
                "StreamViewType": desc.get("StreamViewType"),
                "StreamLabel": desc.get("StreamLabel"),
                "StreamStatus": desc.get("StreamStatus"),
            }.items()
            if v is not None
        },
    )
    return StreamTarget(source, DynamoDbApi(streams, stream_arn, page_limit)), aws


def _jsonable(value: Any) -> Any:
    """An API response value as JSON: datetimes as epoch seconds, binaries as base64."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        return _ms(value) / 1000
    return value


def _ms(value: dt.datetime) -> int:
    return round(value.timestamp() * 1000)


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
