"""Vocabulary shared by every part of the core: source kinds and record dispositions."""

from __future__ import annotations

from enum import StrEnum


class SourceKind(StrEnum):
    """The family of event source an ESM reads; decides defaults, rules and event shapes."""

    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"
    SQS = "sqs"
    KAFKA = "kafka"

    @property
    def is_stream(self) -> bool:
        """Kinesis and DynamoDB Streams share the shard/checkpoint model."""
        return self in (SourceKind.KINESIS, SourceKind.DYNAMODB)


class Disposition(StrEnum):
    """How a captured record ended a replay: exactly one per record."""

    PROCESSED = "processed"
    DISCARDED = "discarded"
    FILTERED = "filtered"
    DEAD_LETTERED = "dead-lettered"
    UNPROCESSED = "unprocessed"
