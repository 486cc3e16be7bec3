"""The exact events an event source mapping sends to a function, rebuilt from capture rows.

A capture stores records column-wise (see docs/capture-format.md); the engine keeps them in Arrow
and only asks for Python dicts when a handler actually needs an event. This package is that bridge:

- :func:`build_records` turns capture rows into event records, field for field and in the key
  order AWS uses (B90 for Kinesis, B91 and section 4 of ESM-SEMANTICS.md for DynamoDB, S01/S03/B92
  for SQS, B93 for Kafka). SQS records also depend on the delivery (:class:`SqsDelivery`).
- :func:`build_event` wraps records in the ``{"Records": [...]}`` envelope, plus the tumbling-window
  extras (section 2.7) when a window is given; Kafka records go into the ``records`` map keyed by
  ``"<topic>-<partition>"`` (B93, B94).
- :func:`receipt_handle` makes the deterministic receipt handle of one SQS receive (S02).
- :func:`event_json` is the one serialisation used for payload sizes and S3 on-failure payloads.
- :func:`record_sizes` computes, without building events, how many bytes each record adds to an
  invocation payload (vectorised), so batch limits are array arithmetic.
- :func:`dynamodb_size_bytes` recomputes a DynamoDB stream record's ``SizeBytes`` (the "Derived fact"
  after case D01).

The size identity every caller may rely on, for any non-empty list of rows ``r``::

    len(event_json(build_event(build_records(t, r, ctx), ctx))) == envelope_overhead(ctx) + sum(sizes[r])

For Kafka the envelope depends on the partitions the batch holds:
``envelope_overhead(ctx, partitions=<the distinct "<topic>-<partition>" of r>)``. For SQS the sizes
are those of a first receive (see :func:`record_sizes`).

Modules: :mod:`.envelope` (source identity, serialisation, the event envelope), :mod:`.records`
(the :func:`build_records` entry point), :mod:`.streams` (Kinesis and DynamoDB records),
:mod:`.sqs` (SQS records, receipt handles, attribute order), :mod:`.kafka` (Kafka records),
:mod:`.sizes` (per-record payload sizes) and :mod:`.sizebytes` (DynamoDB ``SizeBytes``).
"""

from replay.events.envelope import (
    DEFAULT_INVOKE_IDENTITY_ARN,
    EVENT_OVERHEAD,
    KAFKA_MSK_EVENT_SOURCE,
    KAFKA_SELF_MANAGED_EVENT_SOURCE,
    EventContext,
    WindowInfo,
    build_event,
    envelope_overhead,
    event_json,
)
from replay.events.kafka import DEFAULT_KAFKA_TIMESTAMP_TYPE
from replay.events.records import build_records
from replay.events.sizebytes import dynamodb_size_bytes
from replay.events.sizes import record_sizes
from replay.events.sqs import (
    RECEIPT_HANDLE_LENGTH,
    SQS_EVENT_SOURCE,
    SQS_TYPED_ATTRIBUTES,
    SqsDelivery,
    order_message_attributes,
    order_sqs_attributes,
    receipt_handle,
)
from replay.events.streams import (
    DEFAULT_DYNAMODB_EVENT_VERSION,
    DYNAMODB_EVENT_SOURCE,
    KINESIS_EVENT_NAME,
    KINESIS_EVENT_SOURCE,
    KINESIS_EVENT_VERSION,
    KINESIS_SCHEMA_VERSION,
)

__all__ = [
    "DEFAULT_DYNAMODB_EVENT_VERSION",
    "DEFAULT_INVOKE_IDENTITY_ARN",
    "DEFAULT_KAFKA_TIMESTAMP_TYPE",
    "DYNAMODB_EVENT_SOURCE",
    "EVENT_OVERHEAD",
    "KAFKA_MSK_EVENT_SOURCE",
    "KAFKA_SELF_MANAGED_EVENT_SOURCE",
    "KINESIS_EVENT_NAME",
    "KINESIS_EVENT_SOURCE",
    "KINESIS_EVENT_VERSION",
    "KINESIS_SCHEMA_VERSION",
    "RECEIPT_HANDLE_LENGTH",
    "SQS_EVENT_SOURCE",
    "SQS_TYPED_ATTRIBUTES",
    "EventContext",
    "SqsDelivery",
    "WindowInfo",
    "build_event",
    "build_records",
    "dynamodb_size_bytes",
    "envelope_overhead",
    "event_json",
    "order_message_attributes",
    "order_sqs_attributes",
    "receipt_handle",
    "record_sizes",
]
