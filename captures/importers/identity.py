"""Who the records come from: each source kind resolves its identity (ARN, region, queue or
topic, shard ids, settings) from what the records state and what the command line gives, and
refuses any disagreement in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from captures.importers.fields import KAFKA_EVENT_SOURCES
from captures.importers.sink import Sink
from captures.importers.sqs import sqs_settings
from replay.errors import ImportFormatError
from replay.events import DEFAULT_INVOKE_IDENTITY_ARN, EventContext
from replay.formats.capture import SourceInfo
from replay.vocabulary import SourceKind

DEFAULT_KINESIS_SHARD = "shardId-000000000000"
"""Shard id given to ``aws kinesis get-records`` output, which names no shard (``--shard`` overrides)."""
DEFAULT_DYNAMODB_SHARD = "shardId-00000000000000000000-00000000"
"""Shard id given to DynamoDB records, which never name their shard (``--shard`` overrides)."""

KAFKA_SETTING_BOOTSTRAP_SERVERS = "BootstrapServers"
"""``manifest.source.settings`` key of a Kafka capture's bootstrap servers (the event's
``bootstrapServers``, comma-separated)."""
KAFKA_SETTING_SELF_MANAGED = "SelfManaged"
"""``manifest.source.settings`` key: true for self-managed Apache Kafka, false for Amazon MSK."""


@dataclass(frozen=True)
class Identity:
    """What the import learnt about the source: the manifest's source and function parts, the
    context that sizes the records, and each record's shard."""

    source: SourceInfo
    ctx: EventContext
    shards: list[str]
    function: dict[str, Any] = field(default_factory=dict)


_ARN_RESOURCES = {
    SourceKind.KINESIS: "stream",
    SourceKind.DYNAMODB: "table",
    SourceKind.KAFKA: "cluster",
}


def _arn_problem(arn: str, kind: SourceKind) -> str | None:
    """What is wrong with ``arn`` as the ARN of a ``kind`` source (None: nothing)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[3] or not parts[5]:
        return f"{arn!r} is not an ARN (arn:aws:{kind.value}:REGION:ACCOUNT:RESOURCE)"
    if parts[2] != kind.value:
        return f"{arn!r} is a {parts[2]} ARN but --source is {kind.value}"
    if kind is SourceKind.SQS:
        return f"{arn!r} does not name a queue (...:ACCOUNT:QUEUE)" if "/" in parts[5] else None
    resource = parts[5].split("/")
    expected = _ARN_RESOURCES[kind]
    if len(resource) < 2 or resource[0] != expected or not resource[1]:
        return f"{arn!r} does not name a {expected} ({expected}/NAME...)"
    return None


def _arn_parts(arn: str, kind: SourceKind, what: str) -> tuple[str, str]:
    """(region, name) of a source ARN: the Kinesis stream, the DynamoDB table, the SQS queue or
    the MSK cluster."""
    problem = _arn_problem(arn, kind)
    if problem is not None:
        raise ImportFormatError(f"{what}: {problem}")
    parts = arn.split(":", 5)
    name = parts[5] if kind is SourceKind.SQS else parts[5].split("/")[1]
    return parts[3], name


def is_placeholder_arn(arn: str, kind: SourceKind | None = None) -> bool:
    """A sample event's stand-in rather than a real ARN, as ``arn:aws:kinesis:EXAMPLE`` and
    ``arn:aws:iam::EXAMPLE`` in AWS SAM's and the Lambda console's sample events: an ``arn:``
    that holds ``EXAMPLE`` or has too few fields, and is not a well-formed ``kind`` ARN (with
    ``kind`` None, as for a role: of any service). A well-formed ARN is used as it is, and one of
    another service than ``kind`` is refused as such."""
    parts = arn.split(":", 5)
    if parts[0] != "arn" or (len(parts) == 6 and "EXAMPLE" not in arn):
        return False
    if kind is None:
        return len(parts) < 6 or not parts[4] or not parts[5]
    service = parts[2] if len(parts) > 2 else ""
    if service and service != kind.value and "EXAMPLE" not in service:
        return False
    return _arn_problem(arn, kind) is not None


SAMPLE_ACCOUNT = "123456789012"
"""The account of an ARN assumed for a sample event's placeholder (AWS's documentation account)."""
SAMPLE_REGION = "us-east-1"
"""The region of an assumed ARN when neither ``--region`` nor the records' ``awsRegion`` give one."""
_SAMPLE_RESOURCES = {
    SourceKind.KINESIS: "stream/sam-example",
    SourceKind.DYNAMODB: "table/sam-example/stream/1970-01-01T00:00:00.000",
    SourceKind.SQS: "sam-example",
    SourceKind.KAFKA: "cluster/sam-example/00000000-0000-0000-0000-000000000000-1",
}


def sample_arn(kind: SourceKind, region: str, *, fifo: bool = False) -> str:
    """The well-formed ARN assumed for a placeholder, e.g.
    ``arn:aws:kinesis:us-east-1:123456789012:stream/sam-example``."""
    resource = _SAMPLE_RESOURCES[kind] + (".fifo" if fifo else "")
    return f"arn:aws:{kind.value}:{region}:{SAMPLE_ACCOUNT}:{resource}"


def _resolve_arn(
    sink: Sink,
    arn: str | None,
    kind: SourceKind,
    region: str | None,
    notes: list[str],
    *,
    field_name: str = "eventSourceARN",
    fifo: bool = False,
) -> str:
    """The source ARN: ``arn`` (``--arn``, or the queue attributes' ``QueueArn``) or the one the
    records state (they must agree). A placeholder the records state (:func:`is_placeholder_arn`)
    gives way to ``arn``, else to :func:`sample_arn` in ``region``, the records' ``awsRegion`` or
    :data:`SAMPLE_REGION`, with a note either way."""
    seen = sink.arns
    if len(seen) > 1:
        (a, wa), (b, wb) = list(seen.items())[:2]
        raise ImportFormatError(
            f"conflicting {field_name} values: {a!r} ({wa}) and {b!r} ({wb}); "
            "import one source at a time"
        )
    stated = next(iter(seen), None)
    if stated is not None and is_placeholder_arn(stated, kind):
        placeholder = f"{field_name} {stated!r} ({seen[stated]}) is a placeholder"
        if arn is not None:
            notes.append(f"{placeholder}: replaced by {arn}")
            return arn
        at = region or next(iter(sink.regions), SAMPLE_REGION)
        assumed = sample_arn(kind, at, fifo=fifo or stated.endswith(".fifo"))
        notes.append(f"{placeholder}: assumed {assumed} (give the real one with --arn ARN)")
        return assumed
    if arn is not None:
        if seen and arn not in seen:
            ((found, where),) = seen.items()
            raise ImportFormatError(
                f"--arn {arn!r} conflicts with {field_name} {found!r} ({where})"
            )
        return arn
    if not seen:
        raise ImportFormatError(
            f"the input carries no {field_name}; give the source with --arn ARN"
        )
    return next(iter(seen))


def _resolve_region(arn_region: str, region: str | None) -> str:
    """The ARN's region; ``--region``, when given, must be the same."""
    if region is not None and region != arn_region:
        raise ImportFormatError(
            f"--region {region!r} conflicts with the ARN's region {arn_region!r}"
        )
    return arn_region


def _resolve_role(sink: Sink, notes: list[str]) -> str | None:
    """The function's execution role, as Kinesis events state it in ``invokeIdentityArn``.

    Kept in ``manifest.function.Role`` so rebuilt events (and sizes) carry it; a role that changed
    during the capture keeps the first one, with a note. A placeholder (``arn:aws:iam::EXAMPLE``)
    is not kept: rebuilt events carry the replay's default role, with a note.
    """
    roles = [r for r in sink.roles if not is_placeholder_arn(r)]
    placeholders = [r for r in sink.roles if is_placeholder_arn(r)]
    if placeholders and not roles:
        first = placeholders[0]
        notes.append(
            f"invokeIdentityArn {first!r} ({sink.roles[first]}) is a placeholder: rebuilt events "
            f"carry {DEFAULT_INVOKE_IDENTITY_ARN} (store the function's real role with "
            "esm-replay capture esm --into CAPTURE)"
        )
    if not roles:
        return None
    if len(roles) > 1:
        notes.append(
            f"records name {len(roles)} different invokeIdentityArn values; kept {roles[0]}"
        )
    return roles[0]


def stream_identity(
    sink: Sink,
    kind: SourceKind,
    arn: str | None,
    shard: str | None,
    region: str | None,
    notes: list[str],
) -> Identity:
    """Kinesis and DynamoDB: the stream ARN from the records or ``--arn``; shard ids from the
    records or ``--shard``; the Kinesis execution role from ``invokeIdentityArn``."""
    source_arn = _resolve_arn(sink, arn, kind, region, notes)
    arn_region, name = _arn_parts(source_arn, kind, "--arn" if arn else "eventSourceARN")
    src_region = _resolve_region(arn_region, region)
    if sink.computed_size_bytes:
        notes.append(
            f"dynamodb.SizeBytes was missing in {len(sink.computed_size_bytes)} records and was "
            f"computed (first: {sink.computed_size_bytes[0]})"
        )
    shards = _shard_ids(sink, kind, shard, notes)
    role = _resolve_role(sink, notes)
    ctx = EventContext(kind, source_arn, src_region)
    if role is not None:
        ctx = EventContext(kind, source_arn, src_region, invoke_identity_arn=role)
    source = SourceInfo(kind=kind, arn=source_arn, region=src_region, name=name)
    return Identity(source, ctx, shards, {"Role": role} if role is not None else {})


def sqs_identity(
    sink: Sink, arn: str | None, region: str | None, given: Mapping[str, Any], notes: list[str]
) -> Identity:
    """SQS: the queue from ``eventSourceARN``, ``--arn`` or the queue attributes' ``QueueArn``;
    FIFO from the ``.fifo`` name (``FifoQueue`` must agree), and then ``seq`` is the
    SequenceNumber; every record's shard is the queue name."""
    settings, queue_arn = sqs_settings(given)
    if queue_arn is not None:
        if arn is not None and arn != queue_arn:
            raise ImportFormatError(f"--arn {arn!r} conflicts with QueueArn {queue_arn!r}")
        arn = queue_arn
    wants_fifo = settings.get("FifoQueue") is True
    source_arn = _resolve_arn(sink, arn, SourceKind.SQS, region, notes, fifo=wants_fifo)
    arn_region, queue = _arn_parts(source_arn, SourceKind.SQS, "--arn" if arn else "eventSourceARN")
    src_region = _resolve_region(arn_region, region)
    fifo = queue.endswith(".fifo")
    if settings.get("FifoQueue", fifo) != fifo:
        ends = "ends" if fifo else "does not end"
        raise ImportFormatError(
            f"--source-setting FifoQueue: is {settings['FifoQueue']} but queue {queue!r} {ends} "
            "with .fifo, as every FIFO queue's name does"
        )
    if fifo:
        if sink.no_sequence_number:
            raise ImportFormatError(
                f"{sink.no_sequence_number[0]}: SequenceNumber is missing, and {queue} is a FIFO queue"
            )
        sink.seq[:] = sink.extra["sequence_number"]
    source = SourceInfo(
        kind=SourceKind.SQS,
        arn=source_arn,
        region=src_region,
        name=queue,
        fifo=fifo,
        settings=settings,
    )
    ctx = EventContext(SourceKind.SQS, source_arn, src_region)
    return Identity(source, ctx, [queue] * len(sink.seq))


def _one_value(seen: Mapping[str, str], what: str) -> str | None:
    """The single value the input states for ``what``; two different ones are refused."""
    if len(seen) > 1:
        (a, wa), (b, wb) = list(seen.items())[:2]
        raise ImportFormatError(f"conflicting {what} values: {a!r} ({wa}) and {b!r} ({wb})")
    return next(iter(seen), None)


def kafka_identity(
    sink: Sink,
    arn: str | None,
    region: str | None,
    bootstrap_servers: str | None,
    notes: list[str],
) -> Identity:
    """Kafka (B94): Amazon MSK when the events say ``aws:kafka`` or a cluster ARN is given
    (``--arn``, ``eventSourceArn``); self-managed when they say ``SelfManagedKafka``, or when
    nothing names a cluster. One topic per capture, as an ESM reads one topic."""
    if len(sink.topics) > 1:
        (a, wa), (b, wb) = list(sink.topics.items())[:2]
        raise ImportFormatError(
            f"records of topics {a!r} ({wa}) and {b!r} ({wb}): an ESM reads one topic; "
            "import one topic at a time"
        )
    topic = next(iter(sink.topics))
    kinds = {KAFKA_EVENT_SOURCES[s]: w for s, w in sink.event_sources.items()}
    if len(kinds) > 1:
        raise ImportFormatError(
            f"conflicting eventSource values: Amazon MSK ({kinds[False]}) and self-managed Kafka "
            f"({kinds[True]})"
        )
    self_managed = kinds.get(True) is not None or (not kinds and arn is None and not sink.arns)
    source_arn: str | None = None
    src_region = region
    if self_managed:
        if arn is not None:
            raise ImportFormatError(
                f"--arn {arn!r}: the events come from self-managed Kafka ({kinds[True]}), which "
                "has no source ARN"
            )
        if not kinds:
            notes.append(
                "nothing names an MSK cluster: imported as self-managed Apache Kafka "
                "(give --arn CLUSTER_ARN for Amazon MSK)"
            )
    else:
        source_arn = _resolve_arn(
            sink, arn, SourceKind.KAFKA, region, notes, field_name="eventSourceArn"
        )
        what = "--arn" if arn else "eventSourceArn"
        src_region = _resolve_region(_arn_parts(source_arn, SourceKind.KAFKA, what)[0], region)
    servers = _kafka_bootstrap_servers(sink, bootstrap_servers, notes)
    settings: dict[str, Any] = {KAFKA_SETTING_SELF_MANAGED: self_managed}
    if servers is not None:
        settings[KAFKA_SETTING_BOOTSTRAP_SERVERS] = servers
    source = SourceInfo(
        kind=SourceKind.KAFKA, arn=source_arn, region=src_region, name=topic, settings=settings
    )
    ctx = EventContext(
        SourceKind.KAFKA,
        source_arn or "",
        src_region or "",
        bootstrap_servers=servers,
        kafka_self_managed=self_managed,
    )
    return Identity(source, ctx, [s for s in sink.shard if s is not None])


def _kafka_bootstrap_servers(sink: Sink, given: str | None, notes: list[str]) -> str | None:
    """``--bootstrap-servers`` or the events' ``bootstrapServers`` (they must agree); None with a
    note when neither says."""
    stated = _one_value(sink.bootstrap_servers, "bootstrapServers")
    if given is not None and stated is not None and given != stated:
        raise ImportFormatError(
            f"--bootstrap-servers {given!r} conflicts with bootstrapServers {stated!r} "
            f"({sink.bootstrap_servers[stated]})"
        )
    servers = given if given is not None else stated
    if servers is None:
        notes.append(
            "the bootstrap servers are unknown: rebuilt events carry no bootstrapServers "
            "(give --bootstrap-servers HOST:PORT,...)"
        )
    return servers


def _shard_ids(sink: Sink, kind: SourceKind, shard: str | None, notes: list[str]) -> list[str]:
    """Each stream record's shard: its own, else ``--shard``, else the default (with a note)."""
    missing = sum(1 for s in sink.shard if s is None)
    if shard is not None and missing < len(sink.shard):
        notes.append(f"--shard {shard} applies only to records without a shard id of their own")
    if not missing:
        return [s for s in sink.shard if s is not None]
    if shard is None:
        shard = DEFAULT_DYNAMODB_SHARD if kind is SourceKind.DYNAMODB else DEFAULT_KINESIS_SHARD
        why = (
            "DynamoDB stream records do not name their shard"
            if kind is SourceKind.DYNAMODB
            else "aws kinesis get-records output does not name its shard"
        )
        notes.append(f"{why}: {missing} records were put in shard {shard} (name it with --shard)")
    return [s if s is not None else shard for s in sink.shard]
