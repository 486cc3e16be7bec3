"""The two stream services a live capture reads: Kinesis Data Streams and DynamoDB Streams.

They differ only in a small adapter (:class:`KinesisApi`, :class:`DynamoDbApi`) that the shard
reader of :mod:`captures.streams` drives through :class:`StreamApi`: how shards are listed (with
their lineage: parents, hash-key ranges, closed or open), how iterators are made (Kinesis has
``AT_TIMESTAMP``; DynamoDB Streams only ``TRIM_HORIZON``), and how an API record becomes a capture
row. :func:`resolve_kinesis` and :func:`resolve_dynamodb` find the stream and its settings.

Per-shard read limits, shared with production consumers: Kinesis 5 GetRecords calls/s and
2 MiB/s per shard; DynamoDB Streams 4 calls/s per shard (ESM-SEMANTICS 3, 4).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from captures.aws import Arn, AwsOptions, aws_errors, named_arn
from captures.common import Window
from captures.importers.dynamodb import parse_dynamodb_record
from captures.importers.sink import Sink, build_table
from replay.errors import UserError
from replay.formats.capture import ShardInfo, SourceInfo
from replay.vocabulary import SourceKind


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
    refusal = "not a Kinesis stream ARN (arn:aws:kinesis:...:stream/NAME)"
    arn, aws = named_arn(aws, stream, "kinesis", refusal, resource_prefix="stream/")
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
        resp = self.client.get_records(ShardIterator=iterator, Limit=limit)
        records = resp.get("Records", [])
        sink = Sink()
        for i, rec in enumerate(records):
            # The importer's parser turns an API record into the columns a Lambda event is rebuilt
            # from (epoch-second times, base64 binaries, Lambda's userIdentity spelling).
            parse_dynamodb_record(_jsonable(rec), f"{shard} record {i}", sink)
        table = build_table(sink, SourceKind.DYNAMODB, [shard] * len(records))
        nbytes = sum(len(d) for d in sink.data)
        return Page(table, tuple(sink.arrival), resp.get("NextShardIterator"), None, nbytes)


def resolve_dynamodb(
    aws: AwsOptions, table_or_stream: str, *, page_limit: int
) -> tuple[StreamTarget, AwsOptions]:
    """Find the table's latest stream (or the stream ARN given) and its settings."""
    arn, aws = named_arn(aws, table_or_stream, "dynamodb", "not a DynamoDB table or stream ARN")
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
    """Epoch milliseconds of a datetime boto3 returned."""
    return round(value.timestamp() * 1000)
