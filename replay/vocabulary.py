"""The words every part of esm-replay shares: source kinds, and the values of the run tables'
``disposition``, ``reason``, ``cause``, ``result`` and ``next`` columns.

The engine writes these values, the analysis layer and the TUI read them, docs/run-format.md
documents them. They are ``StrEnum`` members, so they compare equal to the strings stored in the
Parquet files (``Reason.RETENTION_EXPIRED == "RetentionExpired"``). The rule registry (which
ESM-SEMANTICS rule each value stands for) is :mod:`replay.rules`.
"""

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
    """How a captured record ended a replay: exactly one per record (records.parquet)."""

    PROCESSED = "processed"
    DISCARDED = "discarded"
    FILTERED = "filtered"
    DEAD_LETTERED = "dead-lettered"
    UNPROCESSED = "unprocessed"


class Reason(StrEnum):
    """Why a record got its disposition (records.parquet ``reason``; null for processed)."""

    RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
    RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
    RETENTION_EXPIRED = "RetentionExpired"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"
    MAXIMUM_PAYLOAD_SIZE_EXCEEDED = "MaximumPayloadSizeExceeded"  # Kafka's word for it
    FILTER_CRITERIA = "FilterCriteria"
    BEFORE_STARTING_POSITION = "BeforeStartingPosition"
    DISABLED = "Disabled"
    MAX_RECEIVE_COUNT = "maxReceiveCount"
    HORIZON_REACHED = "HorizonReached"


class Cause(StrEnum):
    """Why an invocation attempt happened (invocations.parquet ``cause``)."""

    NEW = "new"
    RETRY = "retry"
    BISECT = "bisect"
    PARTIAL_RETRY = "partial-retry"
    WINDOW_FINAL = "window-final"


class Result(StrEnum):
    """How an invocation attempt ended (invocations.parquet ``result``)."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    PARTIAL = "partial"
    INVALID_RESPONSE = "invalid-response"
    THROTTLED = "throttled"
    REJECTED = "rejected"
    IN_FLIGHT = "in-flight"


# Attempts that never reached the function: no duration, no cost, no delivery.
NOT_INVOKED: tuple[Result, ...] = (Result.THROTTLED, Result.REJECTED)
# Attempts that count as function errors in the Errors metric.
FUNCTION_ERRORS: tuple[Result, ...] = (Result.ERROR, Result.TIMEOUT)


class NextStep(StrEnum):
    """What the ESM did after an attempt (invocations.parquet ``next``)."""

    CHECKPOINT = "checkpoint"
    RETRY = "retry"
    BISECT = "bisect"
    PARTIAL_RETRY = "partial-retry"
    DISCARD = "discard"
    HORIZON = "horizon"
    DELETE = "delete"  # SQS: the batch succeeded and its messages were deleted
    PARTIAL_DELETE = "partial-delete"  # SQS: the messages not reported failed were deleted
    VISIBILITY_TIMEOUT = "visibility-timeout"  # SQS: messages return when the timeout ends
    RELEASE = "release"  # SQS: a throttled receive gave its messages back
