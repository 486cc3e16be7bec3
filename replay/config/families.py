"""Source families, which parameters apply to each, and which family a configuration is for.

A capture's :class:`~replay.vocabulary.SourceKind` says Kinesis, DynamoDB, SQS or Kafka; the ESM's
rules need one distinction more, MSK against self-managed Apache Kafka, which the configuration
(its EventSourceArn, SelfManagedEventSource, ...) or the caller decides. ARNs are read here too:
an EventSourceArn that names another kind of source than the capture's is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from replay.config.check import _present
from replay.config.messages import _IPVE, _OWN, _Ctx, _fail
from replay.vocabulary import SourceKind


class _Family(StrEnum):
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"
    SQS = "sqs"
    MSK = "msk"
    SMK = "self-managed kafka"


_STREAMS = frozenset({_Family.KINESIS, _Family.DYNAMODB})
_KAFKA = frozenset({_Family.MSK, _Family.SMK})
# Which parameters apply to which families (API reference, 1.1); the others are refused.
_APPLIES: dict[str, frozenset[_Family]] = {
    "ParallelizationFactor": _STREAMS,
    "TumblingWindowInSeconds": _STREAMS,
    "StartingPosition": _STREAMS | _KAFKA,
    "StartingPositionTimestamp": _STREAMS | _KAFKA,
    "DestinationConfig": _STREAMS | _KAFKA,
    "MaximumRecordAgeInSeconds": _STREAMS | _KAFKA,
    "BisectBatchOnFunctionError": _STREAMS | _KAFKA,
    "MaximumRetryAttempts": _STREAMS | _KAFKA,
    "ScalingConfig": frozenset({_Family.SQS}),
    "ProvisionedPollerConfig": _KAFKA | {_Family.SQS},
    "Topics": _KAFKA,
    "Queues": frozenset(),  # Amazon MQ only: not a source esm-replay replays
    "SourceAccessConfigurations": _KAFKA,
    "SelfManagedEventSource": frozenset({_Family.SMK}),
    "AmazonManagedKafkaEventSourceConfig": frozenset({_Family.MSK}),
    "SelfManagedKafkaEventSourceConfig": frozenset({_Family.SMK}),
    "DocumentDBEventSourceConfig": frozenset(),  # DocumentDB only
    "LoggingConfig": _KAFKA,  # model: "(Amazon MSK, and self-managed Apache Kafka only)"
}
_KIND_NAMES = {
    SourceKind.KINESIS: "a Kinesis stream",
    SourceKind.DYNAMODB: "a DynamoDB stream",
    SourceKind.SQS: "an SQS queue",
    SourceKind.KAFKA: "a Kafka topic",
}
_KIND_FAMILIES = {
    SourceKind.KINESIS: _Family.KINESIS,
    SourceKind.DYNAMODB: _Family.DYNAMODB,
    SourceKind.SQS: _Family.SQS,
}
_SERVICE_KINDS = {
    "kinesis": SourceKind.KINESIS,
    "dynamodb": SourceKind.DYNAMODB,
    "sqs": SourceKind.SQS,
    "kafka": SourceKind.KAFKA,
}


def _family_of(kind: SourceKind, self_managed: bool) -> _Family:
    """The family of a source kind; ``self_managed`` chooses between the two Kafkas."""
    if kind is SourceKind.KAFKA:
        return _Family.SMK if self_managed else _Family.MSK
    return _KIND_FAMILIES[kind]


def _arn_parts(arn: str) -> list[str] | None:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def _arn_service(arn: str) -> str | None:
    parts = _arn_parts(arn)
    return parts[2] if parts else None


def source_kind_of_arn(arn: str) -> SourceKind | None:
    """The source kind an event source ARN names, or None (not an ARN, or not one of ours).

    Kinesis stream or EFO consumer, DynamoDB (table stream), SQS queue, MSK cluster (or its VPC
    connection), decided by the ARN's service.
    """
    service = _arn_service(arn)
    return _SERVICE_KINDS.get(service) if service else None


def _resolve_family(doc: Mapping[str, Any], ctx: _Ctx, kafka_self_managed: bool | None) -> _Family:
    """The source family, refusing an EventSourceArn that clearly names another kind of source."""
    arn = doc.get("EventSourceArn")
    if arn:
        _check_arn_kind(arn, ctx)
    if ctx.kind is not SourceKind.KAFKA:
        return _family_of(ctx.kind, False)
    return _kafka_family(doc, ctx, kafka_self_managed)


def _check_arn_kind(arn: str, ctx: _Ctx) -> None:
    service = _arn_service(arn)
    if service in ("mq", "rds"):
        what = "Amazon MQ" if service == "mq" else "Amazon DocumentDB"
        _fail(ctx, [("EventSourceArn",)], _OWN, f"{what} sources are not replayed by esm-replay")
    if service not in _SERVICE_KINDS:
        # LocalStack's text for this case; AWS's is UNCONFIRMED.
        _fail(ctx, [("EventSourceArn",)], _IPVE, "Unrecognized event source.")
    named = source_kind_of_arn(arn)
    if named is not None and named is not ctx.kind:
        _fail(
            ctx,
            [("EventSourceArn",)],
            _OWN,
            f"{arn} is {_KIND_NAMES[named]} but the capture holds {_KIND_NAMES[ctx.kind]}",
        )
    if named is SourceKind.SQS:
        arn_fifo = arn.endswith(".fifo")
        if arn_fifo != ctx.fifo:
            is_, holds = ("a FIFO", "a standard") if arn_fifo else ("a standard", "a FIFO")
            _fail(
                ctx,
                [("EventSourceArn",)],
                _OWN,
                f"{arn} is {is_} queue but the capture holds {holds} queue",
            )


def _kafka_family(doc: Mapping[str, Any], ctx: _Ctx, self_managed: bool | None) -> _Family:
    """MSK or self-managed Kafka, from the ARN / SelfManagedEventSource, else the caller's word."""
    arn = doc.get("EventSourceArn")
    if arn and _present(doc, "SelfManagedEventSource"):
        # UNCONFIRMED text: Terraform calls the two "ExactlyOneOf"; AWS's message is unrecorded.
        _fail(
            ctx,
            [("SelfManagedEventSource",), ("EventSourceArn",)],
            _IPVE,
            "Specify either EventSourceArn (Amazon MSK) or SelfManagedEventSource "
            "(self-managed Apache Kafka), not both.",
        )
    evidence: bool | None = None
    if arn:
        evidence = False
    elif _present(doc, "SelfManagedEventSource") or _present(
        doc, "SelfManagedKafkaEventSourceConfig"
    ):
        evidence = True
    elif _present(doc, "AmazonManagedKafkaEventSourceConfig"):
        evidence = False
    if evidence is not None and self_managed is not None and evidence != self_managed:
        said, holds = ("self-managed Apache Kafka", "Amazon MSK")
        if not evidence:
            said, holds = holds, said
        _fail(
            ctx,
            [("EventSourceArn",) if arn else ("SelfManagedEventSource",)],
            _OWN,
            f"the configuration is for {said} but the capture holds {holds}",
        )
    chosen = evidence if evidence is not None else bool(self_managed)
    return _Family.SMK if chosen else _Family.MSK
