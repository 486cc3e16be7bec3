"""The rule registry: every behaviour rule of ESM-SEMANTICS.md that esm-replay knows, with its
title, what esm-replay does with it, the source families it concerns and where AWS says so.

The engine writes rule ids into invocations.parquet (``rule``), explain names them in a record's
causal chain, docs/semantics.md lists them with the same title and status (a test holds the two
together), and :data:`REASON_RULES` says which rule decides each record fate that no invocation
decided. Rule ids in code refer to this table; :func:`rule` refuses an id it does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from replay.vocabulary import Reason
from replay.vocabulary import SourceKind as K


class Status(StrEnum):
    """What esm-replay does with a rule (docs/semantics.md's status column)."""

    SIMULATED = "simulated"  # the engine behaves so
    VALIDATED = "validated"  # the configuration is checked so, with AWS's text
    CHOICE = "choice"  # AWS is ambiguous: a named, recorded choice (run.json ``choices``)
    NOT_SIMULATED = "not simulated"  # docs/semantics.md says why


@dataclass(frozen=True)
class Rule:
    """One rule: ``B23``, its short title, status, families and source."""

    id: str
    title: str
    status: Status
    families: frozenset[K]
    source: str


def _rule(rid: str, title: str, status: Status, families: tuple[K, ...], source: str) -> Rule:
    return Rule(rid, title, status, frozenset(families), source)


# One line a rule, as in docs/semantics.md's tables.
# fmt: off
RULES: Mapping[str, Rule] = {
    r.id: r
    for r in (
        _rule('A01', 'nonexistent source', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('A02', 'duplicate mapping', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('A03', 'SQS BatchSize > 10 with window 0 refused', Status.VALIDATED, (K.SQS,), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('A04', 'OnSuccess destination refused', Status.VALIDATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('A05', 'stream StartingPosition required and checked', Status.VALIDATED, (K.KINESIS, K.DYNAMODB), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('A06', 'invalid filter patterns refused', Status.VALIDATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'ESM-SEMANTICS.md 13.4 (recorded against AWS)'),
        _rule('B1', 'Kinesis defaults', Status.VALIDATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html'),
        _rule('B2', 'SQS defaults', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html'),
        _rule('B3', 'SQS BatchSize > 10 needs a window', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html (message text: LS obs)'),
        _rule('B4', 'FIFO BatchSize ≤ 10', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html'),
        _rule('B5', 'streams accept BatchSize > 10 with window 0', Status.VALIDATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html (OLD CLI example) ; LS obs'),
        _rule('B6', 'MaximumRecordAgeInSeconds 0–59 rejected', Status.VALIDATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html'),
        _rule('B7', 'MRA and PF ranges', Status.VALIDATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html'),
        _rule('B8', 'no DestinationConfig on SQS', Status.VALIDATED, (K.SQS,), 'UNCONFIRMED (docs; LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/test_lambda_api.snapshot.json'),
        _rule('B9', 'queue visibility timeout ≥ function timeout', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html'),
        _rule('B10', 'no AT_TIMESTAMP on DynamoDB', Status.VALIDATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html'),
        _rule('B11', 'Kafka window cannot return to 500 ms', Status.NOT_SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html'),
        _rule('B12', '2019–2020 era defaults (10,000 / 604,800)', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB), 'OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/with-kinesis.md, 2020-06)'),
        _rule('B13', 'Enabled=false state transitions', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'UNCONFIRMED (docs list states only; LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_sqs.snapshot.json ; https://docs.aws.amazon.com/lambda/latest/api/API_EventSourceMappingConfiguration.html'),
        _rule('B14', 'window gathers until it elapses', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html'),
        _rule('B15', 'BatchSize or 6 MB, whichever first', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html'),
        _rule('B16', 'next window after the invocation completes', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html'),
        _rule('B17', 'Kafka 500 ms window', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/msk-esm-parameters.html'),
        _rule('B18', 'SQS 20 s low-traffic wait', Status.CHOICE, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html'),
        _rule('B19', 'one shard per batch', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html'),
        _rule('B20', 'fewer records than BatchSize when 6 MB is reached', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html'),
        _rule('B21', 'retry until success or expiry, shard blocked', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html'),
        _rule('B22', 'throttles do not consume retries', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B23', 'N retries ⇒ N+1 invocations, RetryAttemptsExhausted', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html (count N+1: LS obs)'),
        _rule('B24', 'timeouts are function errors', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/invocation-retries.md) + https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B25', 'records already too old are discarded unsent', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'UNCONFIRMED (docs say only "discard records older than"; details LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_kinesis.snapshot.json'),
        _rule('B26', 'per-record expiry within a batch', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'UNCONFIRMED (LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_kinesis.snapshot.json'),
        _rule('B27', 'age limit while retrying', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html (condition name: LS obs)'),
        _rule('B28', 'retention bounds infinite retries', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html'),
        _rule('B29', 'disable and re-enable resumes', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/with-kinesis.md)'),
        _rule('B30', 'LATEST may miss records right after create', Status.CHOICE, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html'),
        _rule('B31', 'halves retried, split not counted', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B32', 'with RBIF, split at the reported record', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html'),
        _rule('B33', 'bisect whatever RBIF says, on an exception', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html'),
        _rule('B34', 'failure records may cover > 1 record', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html'),
        _rule('B35', 'retry budget of halves, recursion', Status.CHOICE, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B36', 'ignored without ReportBatchItemFailures', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html'),
        _rule('B37', 'checkpoint at the lowest reported sequence number', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html'),
        _rule('B38', 'success shapes', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html'),
        _rule('B39', 'invalid identifiers fail the batch, functionError null', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html (functionError null: LS obs)'),
        _rule('B40', 'identifier not in the batch', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'UNCONFIRMED (LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_kinesis.snapshot.json'),
        _rule('B41', 'retries of the failing record, batchSize 1', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'UNCONFIRMED (LS obs) https://github.com/localstack/localstack/blob/main/tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_kinesis.snapshot.json'),
        _rule('B42', 'an exception fails the whole batch', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B43', 'SQS/SNS get metadata only', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B44', 'S3 gets the payload', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B45', 'DDBStreamBatchInfo, second precision', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html'),
        _rule('B46', 'no destination: dropped silently', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html'),
        _rule('B47', 'SNS > 256 KB drops the payload', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/api/API_OnFailure.html'),
        _rule('B48', 'concurrency ≤ shards × PF', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html'),
        _rule('B49', 'per-key order with PF > 1', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html ; https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html'),
        _rule('B50', 'key-to-lane mapping', Status.CHOICE, (K.KINESIS, K.DYNAMODB), 'https://aws.amazon.com/blogs/compute/new-aws-lambda-scaling-controls-for-kinesis-and-dynamodb-event-sources/'),
        _rule('B51', 'EFO de-aggregation drops mismatched sub-records', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html'),
        _rule('B52', 'unmatched records skipped', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html'),
        _rule('B53', 'non-JSON data with a data pattern is dropped', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/invocation-eventfiltering.md, 2022)'),
        _rule('B54', 'OR across filters, AND across fields', Status.SIMULATED, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html'),
        _rule('B55', 'response without state fails', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html'),
        _rule('B56', 'final invocation, checkpoint, state dropped', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html'),
        _rule('B57', 'state > 1 MB ends the window early', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html'),
        _rule('B58', 'idle window closes after up to 2 minutes', Status.CHOICE, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html'),
        _rule('B59', 'shard end closes the window', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html'),
        _rule('B60', 'success deletes the batch', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html'),
        _rule('B61', 'a function error deletes nothing; messages return after the visibility timeout', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html'),
        _rule('B62', 'partial response deletes the others', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B63', 'invalid partial responses fail the batch', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B64', 'success shapes', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B65', 'maxReceiveCount ⇒ DLQ on the next receive', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html (counts: LS obs)'),
        _rule('B66', 'errors scale polling down unless RBIF', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B67', 'throttled invokes retried until the visibility timeout', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html (return-to-queue interpretation UNCONFIRMED)'),
        _rule('B68', '5 at start, +300/min, 1,250', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html ; https://aws.amazon.com/about-aws/whats-new/2023/11/aws-lambda-polling-scale-rate-sqs-event-source/'),
        _rule('B69', 'MaximumConcurrency caps', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html'),
        _rule('B70', 'ScalingConfig with ProvisionedPollerConfig', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html'),
        _rule('B71', 'unmatched messages deleted', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html'),
        _rule('B72', 'plain body vs JSON pattern', Status.SIMULATED, (K.SQS,), 'OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/invocation-eventfiltering.md, 2022)'),
        _rule('B73', 'duplicates without errors', Status.CHOICE, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html'),
        _rule('B74', 'a failing group is blocked, others continue', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html'),
        _rule('B75', 'concurrency ≤ active groups', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html'),
        _rule('B76', 'one group, BatchSize 1 ⇒ strictly serial', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html (LS obs confirms no parallel invocations)'),
        _rule('B77', 'partial responses break order', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html'),
        _rule('B78', 'no batching window', Status.VALIDATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html'),
        _rule('B79', 'on-demand retries until success or retention', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html'),
        _rule('B80', 'offsets committed for filtered records', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html ; https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html'),
        _rule('B81', '10 retries when infinite with a destination', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html'),
        _rule('B82', 'retry controls only in provisioned mode', Status.VALIDATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html ; https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html'),
        _rule('B83', 'partial responses retry only the reported records', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html'),
        _rule('B84', 'MaximumPayloadSizeExceeded', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html'),
        _rule('B85', 'kafka:// destination', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html'),
        _rule('B86', 'committed offsets win over StartingPosition', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-consumer-group-id.html'),
        _rule('B87', 'pollers ≤ partitions', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-scaling-modes.html'),
        _rule('B88', 'timeout above 14 minutes', Status.VALIDATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html'),
        _rule('B90', 'Kinesis record shape', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html'),
        _rule('B91', 'DynamoDB TTL delete userIdentity', Status.SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html'),
        _rule('B92', 'FIFO attributes', Status.SIMULATED, (K.SQS,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html'),
        _rule('B93', 'several partitions in one event', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html'),
        _rule('B94', 'MSK vs self-managed event fields', Status.SIMULATED, (K.KAFKA,), 'https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html'),
        _rule('B95', 'Kinesis read limits (5 calls/s, 2 MiB/s shared)', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html'),
        _rule('B96', 'DynamoDB GetRecords limits', Status.NOT_SIMULATED, (K.KINESIS, K.DYNAMODB), 'https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html ; https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html'),
        _rule('B97', 'a record over the 6 MB payload', Status.CHOICE, (K.KINESIS, K.DYNAMODB, K.SQS, K.KAFKA), 'https://docs.aws.amazon.com/streams/latest/dev/large-records.html'),
        _rule("B89", "Amazon MQ redelivery before the broker's DLQ", Status.NOT_SIMULATED, (), "OLD https://github.com/awsdocs/aws-lambda-developer-guide (doc_source/with-mq.md, 2022)"),
    )
}
# fmt: on


def rule(rid: str) -> Rule:
    """The rule ``rid``; KeyError names an id the registry does not hold (a typo in code)."""
    try:
        return RULES[rid]
    except KeyError:
        raise KeyError(f"{rid}: not a rule of ESM-SEMANTICS.md known to replay.rules") from None


# Fates decided outside any invocation, and the rule behind each; ``KIND_REASON_RULES`` where a
# family's rule differs (SQS retention has no rule id of its own).
REASON_RULES: Mapping[Reason, str] = {
    Reason.RETENTION_EXPIRED: "B28",
    Reason.FILTER_CRITERIA: "B52",
    Reason.PAYLOAD_TOO_LARGE: "B97",
    Reason.DISABLED: "B13",
    Reason.MAX_RECEIVE_COUNT: "B65",
}
KIND_REASON_RULES: Mapping[K, Mapping[Reason, str | None]] = {
    K.SQS: {Reason.RETENTION_EXPIRED: None, Reason.FILTER_CRITERIA: "B71"},
    K.KAFKA: {Reason.RETENTION_EXPIRED: "B79", Reason.FILTER_CRITERIA: "B80"},
}


def reason_rule(reason: str, kind: str) -> str | None:
    """The rule that decided a fate given without an invocation (``reason``), for a family."""
    by_kind = KIND_REASON_RULES.get(K(kind), {}) if kind in set(K) else {}
    if reason in by_kind:
        return by_kind[Reason(reason)]
    return REASON_RULES.get(Reason(reason)) if reason in set(Reason) else None
