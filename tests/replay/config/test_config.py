"""Tests for replay.config: input forms, defaults, every validation rule, overrides, round trip.

Rule ids (B*, A*) from ESM-SEMANTICS.md are in the test names or docstrings.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from replay.config import (
    EsmConfig,
    ProvisionedPollers,
    StartingPosition,
    check_function_fit,
    default_config,
    load_config,
    parse_config,
    source_kind_of_arn,
)
from replay.errors import ConfigError, UserError
from replay.vocabulary import SourceKind

K = SourceKind.KINESIS
D = SourceKind.DYNAMODB
S = SourceKind.SQS
F = SourceKind.KAFKA

ACCOUNT = "123456789012"
KIN_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders"
DDB_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders/stream/2024-05-01T00:00:00.000"
SQS_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
FIFO_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders.fifo"
MSK_ARN = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/prod/abcd-1234"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
SNS = f"arn:aws:sns:us-east-1:{ACCOUNT}:failures"
BUCKET = "arn:aws:s3:::failures-bucket"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"
UUID1 = "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"
UUID2 = "a1b2c3d4-5678-90ab-cdef-22222EXAMPLE"
PATTERN = '{"body": {"type": ["order"]}}'


def kinesis(**fields: Any) -> dict[str, Any]:
    return {
        "FunctionName": "handler",
        "EventSourceArn": KIN_ARN,
        "StartingPosition": "LATEST",
    } | fields


def ddb(**fields: Any) -> dict[str, Any]:
    return {
        "FunctionName": "handler",
        "EventSourceArn": DDB_ARN,
        "StartingPosition": "LATEST",
    } | fields


def sqs(**fields: Any) -> dict[str, Any]:
    return {"FunctionName": "handler", "EventSourceArn": SQS_ARN} | fields


def fifo(**fields: Any) -> dict[str, Any]:
    return {"FunctionName": "handler", "EventSourceArn": FIFO_ARN} | fields


def msk(**fields: Any) -> dict[str, Any]:
    base = {
        "FunctionName": "handler",
        "EventSourceArn": MSK_ARN,
        "Topics": ["orders"],
        "StartingPosition": "TRIM_HORIZON",
    }
    return base | fields


def smk(**fields: Any) -> dict[str, Any]:
    base = {
        "FunctionName": "handler",
        "Topics": ["orders"],
        "StartingPosition": "LATEST",
        "SelfManagedEventSource": {
            "Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b1.example.com:9092"]}
        },
    }
    return base | fields


PROVISIONED = {"ProvisionedPollerConfig": {"MinimumPollers": 1, "MaximumPollers": 4}}


def parse(obj: Any, kind: SourceKind, **kwargs: Any) -> EsmConfig:
    return parse_config(obj, kind=kind, **kwargs)[0]


def error(obj: Any, kind: SourceKind, **kwargs: Any) -> str:
    """The ConfigError text; every one must be a single line."""
    with pytest.raises(ConfigError) as caught:
        parse_config(obj, kind=kind, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert isinstance(caught.value, UserError)
    return message


def fail_text(field: str, exc: str, text: str, where: str = "config") -> str:
    return f"{where}: {field}: {exc}: {text}"


IPVE = "InvalidParameterValueException"
VE = "ValidationException"


# --------------------------------------------------------------------------------------------
# Input forms
# --------------------------------------------------------------------------------------------


def test_create_request_form() -> None:
    cfg = parse(kinesis(BatchSize=50), K)
    assert (cfg.function_name, cfg.event_source_arn, cfg.batch_size) == ("handler", KIN_ARN, 50)
    assert cfg.starting_position is StartingPosition.LATEST


def test_get_response_read_only_fields_are_ignored_and_uuid_kept() -> None:
    response = {
        "UUID": UUID1,
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "EventSourceArn": KIN_ARN,
        "FunctionArn": FN,
        "LastModified": "2024-05-01T12:00:00.000+0000",
        "LastProcessingResult": "PROBLEM: Function call failed",
        "State": "Enabled",
        "StateTransitionReason": "User action",
        "DestinationConfig": {"OnFailure": {}},
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "EventSourceMappingArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:event-source-mapping:{UUID1}",
        "FilterCriteriaError": {"ErrorCode": "x", "Message": "y"},
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    cfg = parse(response, K)
    assert cfg.uuid == UUID1
    assert cfg.function_name == FN  # from FunctionArn: a Get response has no FunctionName
    assert cfg.on_failure is None  # OnFailure {} = no destination
    assert cfg.enabled is True  # State is ignored


def test_list_event_source_mappings_single() -> None:
    cfg = parse({"EventSourceMappings": [sqs(UUID=UUID1)]}, S)
    assert cfg.uuid == UUID1


def test_list_event_source_mappings_pick_by_uuid() -> None:
    doc = {"EventSourceMappings": [sqs(UUID=UUID1, BatchSize=1), sqs(UUID=UUID2, BatchSize=2)]}
    assert parse(doc, S, uuid=UUID2).batch_size == 2


def test_list_event_source_mappings_several_without_choice_lists_uuids() -> None:
    doc = {"EventSourceMappings": [sqs(UUID=UUID1), sqs(UUID=UUID2)]}
    message = error(doc, S)
    assert "2 event source mappings" in message
    assert UUID1 in message and UUID2 in message


def test_list_event_source_mappings_unknown_uuid() -> None:
    message = error({"EventSourceMappings": [sqs(UUID=UUID1)]}, S, uuid=UUID2)
    assert UUID2 in message and UUID1 in message


def test_uuid_argument_must_match_a_single_document() -> None:
    assert "not " + UUID2 in error(sqs(UUID=UUID1), S, uuid=UUID2)
    assert parse(sqs(), S, uuid=UUID2).uuid == UUID2


def test_terraform_plain_objects() -> None:
    doc = {
        "function_name": "handler",
        "event_source_arn": KIN_ARN,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 500,
        "maximum_batching_window_in_seconds": 5,
        "parallelization_factor": 4,
        "maximum_retry_attempts": 3,
        "maximum_record_age_in_seconds": 3600,
        "bisect_batch_on_function_error": True,
        "tumbling_window_in_seconds": 60,
        "function_response_types": ["ReportBatchItemFailures"],
        "destination_config": {"on_failure": {"destination_arn": DLQ}},
        "filter_criteria": {"filter": [{"pattern": PATTERN}]},
        "tags": {"team": "orders"},
    }
    cfg = parse(doc, K)
    assert (cfg.batch_size, cfg.batching_window_ms, cfg.parallelization_factor) == (500, 5000, 4)
    assert (cfg.maximum_retry_attempts, cfg.maximum_record_age_s) == (3, 3600)
    assert cfg.bisect_on_error and cfg.report_batch_item_failures
    assert (cfg.tumbling_window_s, cfg.on_failure, cfg.filter_patterns) == (60, DLQ, (PATTERN,))
    assert cfg.passthrough == (("Tags", '{"team": "orders"}'),)


def test_terraform_list_wrapped_blocks() -> None:
    doc = {
        "function_name": "handler",
        "topics": ["orders"],
        "starting_position": "AT_TIMESTAMP",
        "starting_position_timestamp": "2024-05-01T12:00:00Z",
        "self_managed_event_source": [
            {"endpoints": {"KAFKA_BOOTSTRAP_SERVERS": "a.example.com:9092,b.example.com:9092"}}
        ],
        "self_managed_kafka_event_source_config": [{"consumer_group_id": "grp"}],
        "provisioned_poller_config": [{"minimum_pollers": 2, "maximum_pollers": 8}],
        "destination_config": [{"on_failure": [{"destination_arn": "kafka://orders-dlq"}]}],
        "filter_criteria": [{"filter": [{"pattern": '{"value": {"a": [1]}}'}]}],
        "metrics_config": [{"metrics": ["EventCount", "KafkaMetrics"]}],
        "source_access_configuration": [{"type": "SASL_SCRAM_512_AUTH", "uri": "arn:x"}],
        "scaling_config": [],
    }
    cfg = parse(doc, F)
    assert cfg.kafka_self_managed
    assert cfg.bootstrap_servers == ("a.example.com:9092", "b.example.com:9092")
    assert cfg.consumer_group_id == "grp"
    assert cfg.provisioned == ProvisionedPollers(2, 8)
    assert cfg.on_failure == "kafka://orders-dlq"
    assert cfg.starting_position_timestamp_ms == 1714564800000
    assert cfg.metrics == ("EventCount", "KafkaMetrics")
    assert cfg.maximum_concurrency is None


def test_terraform_msk_and_scaling_blocks() -> None:
    doc = {
        "event_source_arn": MSK_ARN,
        "function_name": "handler",
        "topics": ["orders"],
        "starting_position": "LATEST",
        "amazon_managed_kafka_event_source_config": [{"consumer_group_id": "g1"}],
    }
    cfg = parse(doc, F)
    assert not cfg.kafka_self_managed and cfg.consumer_group_id == "g1"
    sqs_doc = {
        "event_source_arn": SQS_ARN,
        "function_name": "h",
        "scaling_config": [{"maximum_concurrency": 7}],
    }
    assert parse(sqs_doc, S).maximum_concurrency == 7


def test_tf_json_document_with_one_resource() -> None:
    doc = {
        "resource": {
            "aws_sqs_queue": {"q": {"name": "orders"}},
            "aws_lambda_event_source_mapping": {
                "orders": {"event_source_arn": SQS_ARN, "function_name": "h", "batch_size": 5}
            },
        }
    }
    assert parse(doc, S).batch_size == 5


def test_tf_json_document_with_several_resources_needs_a_choice() -> None:
    esm = {"event_source_arn": SQS_ARN, "function_name": "h"}
    doc = {
        "resource": {"aws_lambda_event_source_mapping": {"a": esm, "b": esm | {"batch_size": 3}}}
    }
    assert "a, b" in error(doc, S)
    assert parse(doc, S, uuid="b").batch_size == 3


def test_tf_json_references_to_other_resources() -> None:
    """``${...}`` names of the function and source are unknown, not errors; settings are errors."""
    esm = {
        "event_source_arn": "${aws_sqs_queue.q.arn}",
        "function_name": "${aws_lambda_function.f.arn}",
    }
    cfg = parse({"resource": {"aws_lambda_event_source_mapping": {"x": esm}}}, S)
    assert cfg.function_name is None and cfg.event_source_arn is None
    message = error(esm | {"batch_size": "${var.batch}"}, S)
    assert message.startswith("config: BatchSize: ConfigError: unresolved Terraform expression")


def _tf_show_sqs_values() -> dict[str, Any]:
    """What ``terraform show -json`` writes for an SQS ESM: zeros wherever AWS returned nothing."""
    return {
        "amazon_managed_kafka_event_source_config": [],
        "arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:event-source-mapping:{UUID1}",
        "batch_size": 10,
        "bisect_batch_on_function_error": False,
        "destination_config": [],
        "document_db_event_source_config": [],
        "enabled": True,
        "event_source_arn": SQS_ARN,
        "filter_criteria": [],
        "function_arn": FN,
        "function_name": FN,
        "function_response_types": [],
        "id": UUID1,
        "kms_key_arn": "",
        "last_modified": "2024-05-01T12:00:00Z",
        "last_processing_result": "",
        "maximum_batching_window_in_seconds": 0,
        "maximum_record_age_in_seconds": 0,
        "maximum_retry_attempts": 0,
        "metrics_config": [],
        "parallelization_factor": 0,
        "provisioned_poller_config": [],
        "queues": [],
        "region": "us-east-1",
        "scaling_config": [],
        "self_managed_event_source": [],
        "self_managed_kafka_event_source_config": [],
        "source_access_configuration": [],
        "starting_position": "",
        "starting_position_timestamp": "",
        "state": "Enabled",
        "state_transition_reason": "USER_INITIATED",
        "tags": {},
        "tags_all": {},
        "topics": [],
        "tumbling_window_in_seconds": 0,
        "uuid": UUID1,
    }


def test_terraform_show_resource_object_zero_values_are_unset() -> None:
    resource = {
        "address": "aws_lambda_event_source_mapping.orders",
        "mode": "managed",
        "type": "aws_lambda_event_source_mapping",
        "name": "orders",
        "values": _tf_show_sqs_values(),
    }
    cfg = parse(resource, S)
    assert cfg == parse(sqs(FunctionName=FN, UUID=UUID1), S)


def test_terraform_show_full_document_walks_child_modules() -> None:
    values = _tf_show_sqs_values()
    doc = {
        "format_version": "1.0",
        "values": {
            "root_module": {
                "resources": [{"type": "aws_sqs_queue", "values": {}}],
                "child_modules": [
                    {
                        "resources": [
                            {
                                "address": "module.m.aws_lambda_event_source_mapping.x",
                                "type": "aws_lambda_event_source_mapping",
                                "values": values,
                            }
                        ]
                    }
                ],
            }
        },
    }
    assert parse(doc, S).uuid == UUID1


def test_terraform_show_document_pick_by_address_or_uuid() -> None:
    def resource(address: str, uuid: str, batch: int) -> dict[str, Any]:
        values = _tf_show_sqs_values() | {"uuid": uuid, "id": uuid, "batch_size": batch}
        return {"address": address, "type": "aws_lambda_event_source_mapping", "values": values}

    doc = {
        "values": {
            "root_module": {"resources": [resource("x.a", UUID1, 1), resource("x.b", UUID2, 2)]}
        }
    }
    assert f"{UUID1}, {UUID2}" in error(doc, S)
    assert parse(doc, S, uuid="x.b").batch_size == 2
    assert parse(doc, S, uuid=UUID1).batch_size == 1


def test_terraform_zero_retry_attempts_kept_for_streams() -> None:
    doc = {"event_source_arn": KIN_ARN, "function_name": "h", "starting_position": "LATEST"}
    assert parse(doc | {"maximum_retry_attempts": 0}, K).maximum_retry_attempts == 0
    assert parse(doc | {"enabled": False}, K).enabled is False


def test_terraform_block_given_twice() -> None:
    doc = {
        "event_source_arn": SQS_ARN,
        "scaling_config": [{"maximum_concurrency": 2}, {"maximum_concurrency": 3}],
    }
    assert "may appear only once" in error(doc, S)


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "esm.json"
    path.write_text(json.dumps(sqs(BatchSize=7)))
    cfg, source = load_config(path, kind=S)
    assert cfg.batch_size == 7 and source == {}


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"esm{suffix}"
    path.write_text(
        "FunctionName: handler\n"
        f"EventSourceArn: {KIN_ARN}\n"
        "StartingPosition: AT_TIMESTAMP\n"
        "StartingPositionTimestamp: 2024-05-01T12:00:00Z\n"  # YAML makes this a datetime
        "FilterCriteria:\n"
        "  Filters:\n"
        "    - Pattern: {data: {kind: [a]}}\n"  # a pattern written as an object
    )
    cfg = load_config(path, kind=K)[0]
    assert cfg.starting_position_timestamp_ms == 1714564800000
    assert json.loads(cfg.filter_patterns[0]) == {"data": {"kind": ["a"]}}


def test_parse_config_accepts_a_path_and_json_text(tmp_path: Path) -> None:
    path = tmp_path / "esm.json"
    path.write_text(json.dumps(sqs(BatchSize=3)))
    assert parse(path, S).batch_size == 3
    assert parse(str(path), S).batch_size == 3
    assert parse(json.dumps(sqs(BatchSize=4)), S).batch_size == 4


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"BatchSize": 1,}')
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON: .*line 1"):
        load_config(bad, kind=S)
    with pytest.raises(ConfigError, match=r"missing\.json: cannot read"):
        load_config(tmp_path / "missing.json", kind=S)
    yaml_bad = tmp_path / "bad.yaml"
    yaml_bad.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_config(yaml_bad, kind=S)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps(sqs(BatchSise=3)))
    with pytest.raises(ConfigError, match=rf"^{typo}: BatchSise: "):
        load_config(typo, kind=S)


def test_document_must_be_an_object() -> None:
    assert "expected a JSON object" in error(42, S)


# --------------------------------------------------------------------------------------------
# Defaults (B1, B2, 1.1, 3, 4, 7)
# --------------------------------------------------------------------------------------------


def test_b1_kinesis_defaults() -> None:
    cfg = parse(kinesis(), K)
    assert cfg.batch_size == 100
    assert cfg.batching_window_ms == 0
    assert cfg.parallelization_factor == 1
    assert cfg.maximum_retry_attempts == -1
    assert cfg.maximum_record_age_s == -1
    assert cfg.bisect_on_error is False
    assert cfg.tumbling_window_s == 0
    assert cfg.report_batch_item_failures is False
    assert cfg.enabled is True
    assert cfg.on_failure is None and cfg.filter_patterns == ()


def test_dynamodb_defaults_as_kinesis() -> None:
    """Section 4: DynamoDB defaults are Kinesis's."""
    cfg = parse(ddb(), D)
    assert (cfg.batch_size, cfg.batching_window_ms, cfg.maximum_retry_attempts) == (100, 0, -1)


def test_b2_sqs_defaults() -> None:
    cfg = parse(sqs(), S)
    assert (cfg.batch_size, cfg.batching_window_ms) == (10, 0)
    assert cfg.starting_position is None and cfg.maximum_concurrency is None
    assert cfg.provisioned is None and cfg.consumer_group_id is None


def test_b17_kafka_default_window_500ms_and_batch_100() -> None:
    cfg = parse(msk(), F)
    assert (cfg.batch_size, cfg.batching_window_ms) == (100, 500)


def test_b11_kafka_explicit_window_is_whole_seconds() -> None:
    """B11: once set, the window is whole seconds; 0 really means 0, not the 500 ms default."""
    assert parse(msk(MaximumBatchingWindowInSeconds=0), F).batching_window_ms == 0
    assert parse(msk(MaximumBatchingWindowInSeconds=2), F).batching_window_ms == 2000


def test_b13_enabled_false_is_kept() -> None:
    assert parse(sqs(Enabled=False), S).enabled is False


def test_kafka_consumer_group_id_defaults_to_uuid_or_a_stable_derived_id() -> None:
    assert parse(msk(UUID=UUID1), F).consumer_group_id == UUID1
    first, second = parse(msk(), F).consumer_group_id, parse(msk(), F).consumer_group_id
    assert first == second and first
    assert parse(msk(Topics=["other"]), F).consumer_group_id != first


@pytest.mark.parametrize(
    ("doc", "kind", "expected"),
    [
        (sqs(ProvisionedPollerConfig={"MaximumPollers": 50}), S, ProvisionedPollers(2, 50)),
        (sqs(ProvisionedPollerConfig={"MinimumPollers": 5}), S, ProvisionedPollers(5, 200)),
        (msk(ProvisionedPollerConfig={"MaximumPollers": 3}), F, ProvisionedPollers(1, 3)),
        (
            msk(ProvisionedPollerConfig={"PollerGroupName": "g"}),
            F,
            ProvisionedPollers(1, 200, "g"),
        ),
        (msk(ProvisionedPollerConfig={}), F, None),
    ],
)
def test_provisioned_poller_defaults_when_given_partially(
    doc: dict[str, Any], kind: SourceKind, expected: ProvisionedPollers | None
) -> None:
    assert parse(doc, kind).provisioned == expected


@pytest.mark.parametrize(
    ("kind", "batch", "window_ms", "position"),
    [
        (K, 100, 0, "TRIM_HORIZON"),
        (D, 100, 0, "TRIM_HORIZON"),
        (S, 10, 0, None),
        (F, 100, 500, "TRIM_HORIZON"),
    ],
)
def test_default_config(kind: SourceKind, batch: int, window_ms: int, position: str | None) -> None:
    cfg = default_config(kind)
    assert (cfg.batch_size, cfg.batching_window_ms) == (batch, window_ms)
    assert cfg.starting_position == (StartingPosition(position) if position else None)
    assert default_config(kind) == cfg  # deterministic (Kafka group id included)


def test_default_config_starting_position_and_fifo() -> None:
    cfg = default_config(K, starting_position=StartingPosition.LATEST)
    assert cfg.starting_position is StartingPosition.LATEST
    assert default_config(S, fifo=True).fifo
    assert default_config(F, kafka_self_managed=True).kafka_self_managed
    with pytest.raises(ValueError):
        default_config(K, fifo=True)


# --------------------------------------------------------------------------------------------
# Shape validation: every range of the API (ValidationException format)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("BatchSize", 0, "Member must have value greater than or equal to 1"),
        ("BatchSize", 20000, "Member must have value less than or equal to 10000"),
        ("MaximumBatchingWindowInSeconds", 301, "Member must have value less than or equal to 300"),
        ("MaximumBatchingWindowInSeconds", -1, "Member must have value greater than or equal to 0"),
        ("ParallelizationFactor", 0, "Member must have value greater than or equal to 1"),
        ("ParallelizationFactor", 11, "Member must have value less than or equal to 10"),
        ("MaximumRetryAttempts", -2, "Member must have value greater than or equal to -1"),
        ("MaximumRetryAttempts", 10001, "Member must have value less than or equal to 10000"),
        ("MaximumRecordAgeInSeconds", -2, "Member must have value greater than or equal to -1"),
        (
            "MaximumRecordAgeInSeconds",
            604801,
            "Member must have value less than or equal to 604800",
        ),
        ("TumblingWindowInSeconds", 901, "Member must have value less than or equal to 900"),
        ("TumblingWindowInSeconds", -1, "Member must have value greater than or equal to 0"),
    ],
)
def test_b7_shape_ranges_are_refused_in_aws_format(field: str, value: int, constraint: str) -> None:
    """B7 (MRA, PF) and the other integer ranges of the API: AWS's ValidationException text."""
    camel = field[0].lower() + field[1:]
    expected = (
        f"1 validation error detected: Value '{value}' at '{camel}' "
        f"failed to satisfy constraint: {constraint}"
    )
    assert error(kinesis(**{field: value}), K) == fail_text(field, VE, expected)


def test_batch_size_range_message_matches_aws() -> None:
    assert error(sqs(BatchSize=20000, MaximumBatchingWindowInSeconds=1), S) == (
        "config: BatchSize: ValidationException: 1 validation error detected: Value '20000' at "
        "'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"
    )


@pytest.mark.parametrize("value", [-1, 0, 10000])
def test_b7_retry_attempts_in_range(value: int) -> None:
    assert parse(kinesis(MaximumRetryAttempts=value), K).maximum_retry_attempts == value


@pytest.mark.parametrize("value", [1, 10])
def test_b7_parallelization_factor_in_range(value: int) -> None:
    assert parse(kinesis(ParallelizationFactor=value), K).parallelization_factor == value


@pytest.mark.parametrize("value", [0, 1, 300])
def test_window_range_whole_seconds(value: int) -> None:
    assert (
        parse(kinesis(MaximumBatchingWindowInSeconds=value), K).batching_window_ms == value * 1000
    )


def test_window_is_integer_seconds() -> None:
    message = error(sqs(MaximumBatchingWindowInSeconds=0.5), S)
    assert message.startswith(
        "config: MaximumBatchingWindowInSeconds: ParamValidationError: Invalid type"
    )
    assert parse(msk(MaximumBatchingWindowInSeconds=0.5), F).batching_window_ms == 500


@pytest.mark.parametrize("value", [0, 900])
def test_tumbling_window_range(value: int) -> None:
    assert parse(ddb(TumblingWindowInSeconds=value), D).tumbling_window_s == value


@pytest.mark.parametrize(
    ("kind", "doc", "field", "fragment"),
    [
        (
            S,
            sqs(ScalingConfig={"MaximumConcurrency": 1}),
            "ScalingConfig.MaximumConcurrency",
            "greater than or equal to 2",
        ),
        (
            S,
            sqs(ScalingConfig={"MaximumConcurrency": 1001}),
            "ScalingConfig.MaximumConcurrency",
            "less than or equal to 1000",
        ),
        (F, msk(Topics=[]), "Topics", "Member must have length greater than or equal to 1"),
        (F, msk(Topics=["ab", "cd"]), "Topics", "Member must have length less than or equal to 1"),
        (F, msk(Topics=["x" * 250]), "Topics", "length less than or equal to 249"),
        (
            F,
            msk(AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": ""}),
            "AmazonManagedKafkaEventSourceConfig.ConsumerGroupId",
            "length greater than or equal to 1",
        ),
        (
            F,
            msk(AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "g" * 201}),
            "AmazonManagedKafkaEventSourceConfig.ConsumerGroupId",
            "length less than or equal to 200",
        ),
        (
            S,
            sqs(FilterCriteria={"Filters": [{"Pattern": "x" * 4097}]}),
            "FilterCriteria.Filters[0].Pattern",
            "at 'filterCriteria.filters.1.member.pattern' failed to satisfy constraint: Member must have length less than or equal to 4096",
        ),
        (
            S,
            sqs(FunctionResponseTypes=["ReportBatchItemFailures", "ReportBatchItemFailures"]),
            "FunctionResponseTypes",
            "length less than or equal to 1",
        ),
        (
            F,
            msk(ProvisionedPollerConfig={"MinimumPollers": 201}),
            "ProvisionedPollerConfig.MinimumPollers",
            "less than or equal to 200",
        ),
        (
            F,
            msk(MetricsConfig={"Metrics": ["EventCount"] * 4}),
            "MetricsConfig.Metrics",
            "less than or equal to 3",
        ),
        (K, kinesis(EventSourceArn="not-an-arn"), "EventSourceArn", "regular expression pattern"),
        (K, kinesis(FunctionName="bad name!"), "FunctionName", "regular expression pattern"),
        (
            K,
            kinesis(DestinationConfig={"OnFailure": {"Destination": "queue"}}),
            "DestinationConfig.OnFailure.Destination",
            "regular expression pattern",
        ),
    ],
)
def test_shape_constraints(
    kind: SourceKind, doc: dict[str, Any], field: str, fragment: str
) -> None:
    message = error(doc, kind)
    assert message.startswith(f"config: {field}: {VE}: 1 validation error detected: ")
    assert fragment in message


def test_enum_in_a_list_is_reported_at_the_list() -> None:
    assert error(sqs(FunctionResponseTypes=["ReportBatchItemFailure"]), S) == fail_text(
        "FunctionResponseTypes",
        VE,
        "1 validation error detected: Value '[ReportBatchItemFailure]' at 'functionResponseTypes' "
        "failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum "
        "value set: [ReportBatchItemFailures]]",
    )


@pytest.mark.parametrize(
    ("doc", "field", "typ"),
    [
        (sqs(BatchSize="ten"), "BatchSize", "<class 'str'>"),
        (sqs(BatchSize=True), "BatchSize", "<class 'bool'>"),
        (sqs(Enabled="yes"), "Enabled", "<class 'str'>"),
        (sqs(ScalingConfig=5), "ScalingConfig", "<class 'int'>"),
        (
            sqs(FunctionResponseTypes="ReportBatchItemFailures"),
            "FunctionResponseTypes",
            "<class 'str'>",
        ),
    ],
)
def test_wrong_types_are_refused(doc: dict[str, Any], field: str, typ: str) -> None:
    message = error(doc, S)
    assert message.startswith(
        f"config: {field}: ParamValidationError: Invalid type for parameter {field}"
    )
    assert f"type: {typ}" in message


def test_bad_timestamp() -> None:
    message = error(
        kinesis(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp="yesterday"), K
    )
    assert message.startswith(
        "config: StartingPositionTimestamp: ParamValidationError: Invalid timestamp"
    )


def test_long_values_are_shortened_in_messages() -> None:
    message = error(sqs(FilterCriteria={"Filters": [{"Pattern": "x" * 5000}]}), S)
    assert len(message) < 400


# --------------------------------------------------------------------------------------------
# Every field of the current API is recognised; unknown fields name the closest one
# --------------------------------------------------------------------------------------------

REQUEST_FIELDS = {
    "AmazonManagedKafkaEventSourceConfig",
    "BatchSize",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "DocumentDBEventSourceConfig",
    "Enabled",
    "EventSourceArn",
    "FilterCriteria",
    "FunctionName",
    "FunctionResponseTypes",
    "KMSKeyArn",
    "LoggingConfig",
    "MaximumBatchingWindowInSeconds",
    "MaximumRecordAgeInSeconds",
    "MaximumRetryAttempts",
    "MetricsConfig",
    "ParallelizationFactor",
    "ProvisionedPollerConfig",
    "Queues",
    "ScalingConfig",
    "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig",
    "SourceAccessConfigurations",
    "StartingPosition",
    "StartingPositionTimestamp",
    "Tags",
    "Topics",
    "TumblingWindowInSeconds",
}


def test_every_request_field_is_recognised() -> None:
    from replay.config.shapes import _REQUEST

    assert _REQUEST.members is not None
    assert set(_REQUEST.members) == REQUEST_FIELDS


def _botocore_shapes() -> dict[str, Any]:
    botocore = pytest.importorskip("botocore")
    path = Path(botocore.__file__).parent / "data" / "lambda" / "2015-03-31" / "service-2.json.gz"
    if not path.exists():
        pytest.skip("botocore Lambda model not found")
    with gzip.open(path) as handle:
        shapes: dict[str, Any] = json.load(handle)["shapes"]
    return shapes


def _compare(ours: Any, theirs_name: str, shapes: dict[str, Any], path: str) -> None:
    theirs = shapes[theirs_name]
    for bound in ("min", "max"):
        if bound in theirs and theirs["type"] in ("integer", "string", "list", "map"):
            assert getattr(ours, bound) == theirs[bound], f"{path}: {bound}"
    if "enum" in theirs:
        assert set(ours.enum) == set(theirs["enum"]), path
    if theirs["type"] == "structure":
        assert set(ours.members) == set(theirs["members"]), path
        for name, member in theirs["members"].items():
            _compare(ours.members[name], member["shape"], shapes, f"{path}.{name}")
    elif theirs["type"] == "list":
        _compare(ours.item, theirs["member"]["shape"], shapes, f"{path}[]")
    elif theirs["type"] == "map":
        _compare(ours.key, theirs["key"]["shape"], shapes, f"{path}{{key}}")
        _compare(ours.item, theirs["value"]["shape"], shapes, f"{path}{{value}}")


def test_embedded_model_matches_installed_botocore() -> None:
    """The copy in replay/config.py (which may not import botocore) equals botocore's model:
    Create ∪ Update request members, every range, length and enum."""
    from replay.config.shapes import _REQUEST

    shapes = _botocore_shapes()
    create = shapes["CreateEventSourceMappingRequest"]["members"]
    update = shapes["UpdateEventSourceMappingRequest"]["members"]
    assert _REQUEST.members is not None
    assert set(_REQUEST.members) == (set(create) | set(update)) - {"UUID"}
    for name in _REQUEST.members:
        member = create.get(name) or update[name]
        _compare(_REQUEST.members[name], member["shape"], shapes, name)


def test_every_response_field_is_accepted() -> None:
    from replay.config.shapes import _REQUEST, _RESPONSE_ONLY

    shapes = _botocore_shapes()
    response = set(shapes["EventSourceMappingConfiguration"]["members"])
    assert _REQUEST.members is not None
    assert response <= set(_REQUEST.members) | _RESPONSE_ONLY


@pytest.mark.parametrize(
    ("doc", "kind", "expected"),
    [
        (
            sqs(BatchSise=5),
            S,
            'config: BatchSise: ParamValidationError: Unknown parameter in input: "BatchSise"; did you mean "BatchSize"?',
        ),
        (sqs(batchsize=5, BatchSize=5), S, '"batchsize"; did you mean "BatchSize"?'),
        (kinesis(MaxRetryAttempts=1), K, 'did you mean "MaximumRetryAttempts"?'),
        (
            sqs(ScalingConfig={"MaxConcurrency": 5}),
            S,
            'config: ScalingConfig.MaxConcurrency: ParamValidationError: Unknown parameter in input: "MaxConcurrency"; did you mean "MaximumConcurrency"?',
        ),
        (
            kinesis(DestinationConfig={"OnFailure": {"DestinationArn": DLQ}}),
            K,
            'DestinationConfig.OnFailure.DestinationArn: ParamValidationError: Unknown parameter in input: "DestinationArn"; did you mean "Destination"?',
        ),
        (
            sqs(FilterCriteria={"Filters": [{"pattern": PATTERN}]}),
            S,
            'FilterCriteria.Filters[0].pattern: ParamValidationError: Unknown parameter in input: "pattern"; did you mean "Pattern"?',
        ),
        (sqs(Zzz=1), S, '"Zzz", must be one of: AmazonManagedKafkaEventSourceConfig, BatchSize'),
    ],
)
def test_unknown_fields_name_the_closest_known_one(
    doc: dict[str, Any], kind: SourceKind, expected: str
) -> None:
    assert expected in error(doc, kind)


def test_unknown_terraform_field_names_the_closest_terraform_name() -> None:
    doc = {"event_source_arn": SQS_ARN, "batch_sise": 5}
    assert error(doc, S) == (
        'config: batch_sise: ParamValidationError: Unknown parameter in input: "batch_sise"; '
        'did you mean "batch_size"?'
    )
    nested = {"event_source_arn": SQS_ARN, "scaling_config": [{"max_concurrency": 5}]}
    assert 'did you mean "maximum_concurrency"?' in error(nested, S)
    pascal_in_tf = {"event_source_arn": SQS_ARN, "function_name": "h", "BatchSize": 5}
    assert 'did you mean "batch_size"?' in error(pascal_in_tf, S)


# --------------------------------------------------------------------------------------------
# Rules (B3-B10, A03-A06, B70, B78, B81-B82, B85, B88) and per-source applicability
# --------------------------------------------------------------------------------------------

A03 = "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
UNSUPPORTED_DESTINATION = (
    "Unsupported DestinationConfig parameter for given event source mapping type."
)


def test_b3_sqs_batch_over_10_needs_window() -> None:
    """B3 / A03: SQS standard BatchSize 11 with window 0 is refused with AWS's text."""
    assert error(sqs(BatchSize=11), S) == fail_text("BatchSize", IPVE, A03)
    assert error(sqs(BatchSize=11, MaximumBatchingWindowInSeconds=0), S) == fail_text(
        "BatchSize", IPVE, A03
    )
    assert parse(sqs(BatchSize=10000, MaximumBatchingWindowInSeconds=1), S).batch_size == 10000


def test_b4_fifo_batch_size_max_10() -> None:
    assert parse(fifo(BatchSize=10), S, fifo=True).batch_size == 10
    assert error(fifo(BatchSize=11), S, fifo=True) == fail_text(
        "BatchSize", IPVE, "Maximum batch size must be between 1 and 10 inclusive"
    )


@pytest.mark.parametrize(
    ("kind", "doc"),
    [
        (K, kinesis(BatchSize=500)),
        (D, ddb(BatchSize=500)),
        (F, msk(BatchSize=500, MaximumBatchingWindowInSeconds=0)),
    ],
)
def test_b5_streams_accept_large_batch_without_window(
    kind: SourceKind, doc: dict[str, Any]
) -> None:
    """B5: the >10 ⇒ window ≥ 1 rule is not enforced outside SQS."""
    assert parse(doc, kind).batch_size == 500


@pytest.mark.parametrize("age", [0, 1, 30, 59])
def test_b6_record_age_0_to_59_refused(age: int) -> None:
    assert error(kinesis(MaximumRecordAgeInSeconds=age), K) == fail_text(
        "MaximumRecordAgeInSeconds",
        IPVE,
        "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)",
    )


@pytest.mark.parametrize("age", [-1, 60, 604800])
def test_b6_record_age_accepted(age: int) -> None:
    assert parse(kinesis(MaximumRecordAgeInSeconds=age), K).maximum_record_age_s == age


def test_b8_sqs_destination_config_refused() -> None:
    doc = sqs(DestinationConfig={"OnFailure": {"Destination": DLQ}})
    assert error(doc, S) == fail_text("DestinationConfig", IPVE, UNSUPPORTED_DESTINATION)


def test_b8_empty_destination_on_sqs_is_no_destination() -> None:
    """AWS: an empty string removes a destination; an empty OnFailure is what Get returns."""
    assert parse(sqs(DestinationConfig={"OnFailure": {"Destination": ""}}), S).on_failure is None
    assert parse(sqs(DestinationConfig={"OnFailure": {}}), S).on_failure is None


@pytest.mark.parametrize(("kind", "doc"), [(K, kinesis()), (D, ddb()), (S, sqs()), (F, msk())])
def test_a04_on_success_refused(kind: SourceKind, doc: dict[str, Any]) -> None:
    doc = doc | {"DestinationConfig": {"OnSuccess": {"Destination": DLQ}}}
    assert error(doc, kind) == fail_text(
        "DestinationConfig.OnSuccess", IPVE, UNSUPPORTED_DESTINATION
    )


def test_a05_streams_need_a_starting_position() -> None:
    text = (
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
        "constraint: Member must not be null."
    )
    for kind, doc in ((K, kinesis()), (D, ddb()), (F, msk())):
        del doc["StartingPosition"]
        assert error(doc, kind) == fail_text("StartingPosition", IPVE, text)


def test_a05_invalid_starting_position_value() -> None:
    assert error(kinesis(StartingPosition="EARLIEST"), K) == fail_text(
        "StartingPosition",
        VE,
        "1 validation error detected: Value 'EARLIEST' at 'startingPosition' failed to satisfy "
        "constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
    )


def test_b10_a05_dynamodb_at_timestamp_refused() -> None:
    doc = ddb(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1714564800)
    assert error(doc, D) == fail_text(
        "StartingPosition", IPVE, f"Unsupported starting position for arn type: {DDB_ARN}"
    )


@pytest.mark.parametrize(("kind", "doc"), [(K, kinesis()), (F, msk())])
def test_at_timestamp_needs_a_timestamp(kind: SourceKind, doc: dict[str, Any]) -> None:
    doc = doc | {"StartingPosition": "AT_TIMESTAMP"}
    assert "StartingPositionTimestamp is required" in error(doc, kind)
    cfg = parse(doc | {"StartingPositionTimestamp": 1714564800.5}, kind)
    assert cfg.starting_position_timestamp_ms == 1714564800500


def test_timestamp_without_at_timestamp_refused() -> None:
    message = error(kinesis(StartingPositionTimestamp=1714564800), K)
    assert message.startswith(f"config: StartingPositionTimestamp: {IPVE}: ")


def test_sqs_starting_position_refused() -> None:
    assert error(sqs(StartingPosition="LATEST"), S) == fail_text(
        "StartingPosition", IPVE, "StartingPosition is not valid for SQS event sources."
    )


@pytest.mark.parametrize(
    ("field", "value", "kinds"),
    [
        ("ParallelizationFactor", 2, (S, F)),
        ("TumblingWindowInSeconds", 60, (S, F)),
        ("MaximumRetryAttempts", 1, (S,)),
        ("MaximumRecordAgeInSeconds", 60, (S,)),
        ("BisectBatchOnFunctionError", True, (S,)),
        ("ScalingConfig", {"MaximumConcurrency": 5}, (K, D, F)),
        ("ProvisionedPollerConfig", {"MinimumPollers": 2}, (K, D)),
        ("Topics", ["tt"], (K, S)),
        ("Queues", ["q"], (K, S, F)),
        (
            "SelfManagedEventSource",
            {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["a.b:9092"]}},
            (K, S),
        ),
        ("AmazonManagedKafkaEventSourceConfig", {"ConsumerGroupId": "g"}, (K, S)),
        ("DocumentDBEventSourceConfig", {"DatabaseName": "db"}, (K, D, S, F)),
        ("LoggingConfig", {"SystemLogLevel": "INFO"}, (K, S)),
        ("SourceAccessConfigurations", [{"Type": "BASIC_AUTH", "URI": "arn:x"}], (K, S)),
    ],
)
def test_parameters_unsupported_for_the_source_type(
    field: str, value: Any, kinds: tuple[SourceKind, ...]
) -> None:
    """B8's sentence, generalised to every parameter a source type does not take."""
    docs = {K: kinesis(), D: ddb(), S: sqs(), F: msk()}
    for kind in kinds:
        assert error(docs[kind] | {field: value}, kind) == fail_text(
            field, IPVE, f"Unsupported {field} parameter for given event source mapping type."
        )


def test_tumbling_window_and_parallelization_for_streams() -> None:
    cfg = parse(ddb(TumblingWindowInSeconds=120, ParallelizationFactor=10), D)
    assert (cfg.tumbling_window_s, cfg.parallelization_factor) == (120, 10)


def test_function_response_types() -> None:
    for kind, doc in ((K, kinesis()), (D, ddb()), (S, sqs())):
        assert parse(
            doc | {"FunctionResponseTypes": ["ReportBatchItemFailures"]}, kind
        ).report_batch_item_failures
    assert not parse(sqs(FunctionResponseTypes=[]), S).report_batch_item_failures


def test_b78_fifo_window_refused() -> None:
    """B78 (UNCONFIRMED: rejected or ignored): rejected, with the text AWS gave via CloudFormation,
    and before the batch-size check."""
    expected = fail_text(
        "MaximumBatchingWindowInSeconds", IPVE, "Batching window is not supported for FIFO queues"
    )
    assert error(fifo(MaximumBatchingWindowInSeconds=5), S, fifo=True) == expected
    assert error(fifo(MaximumBatchingWindowInSeconds=5, BatchSize=100), S, fifo=True) == expected
    assert parse(fifo(MaximumBatchingWindowInSeconds=0), S, fifo=True).batching_window_ms == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"MaximumRetryAttempts": 3}, "MaximumRetryAttempts"),
        ({"MaximumRecordAgeInSeconds": 3600}, "MaximumRecordAgeInSeconds"),
        ({"BisectBatchOnFunctionError": True}, "BisectBatchOnFunctionError"),
        ({"FunctionResponseTypes": ["ReportBatchItemFailures"]}, "FunctionResponseTypes"),
    ],
)
def test_b82_kafka_retry_controls_need_provisioned_mode(fields: dict[str, Any], field: str) -> None:
    message = error(msk(**fields), F)
    assert message == fail_text(
        field,
        IPVE,
        f"{field} is supported for Kafka event source mappings only in provisioned mode (set ProvisionedPollerConfig).",
    )
    cfg = parse(msk(**fields, **PROVISIONED), F)
    assert cfg.provisioned == ProvisionedPollers(1, 4)


def test_b82_kafka_on_demand_accepts_the_on_demand_values() -> None:
    """A Get response of an on-demand Kafka ESM may spell out −1 / false: that is not refused."""
    doc = msk(
        MaximumRetryAttempts=-1,
        MaximumRecordAgeInSeconds=-1,
        BisectBatchOnFunctionError=False,
        FunctionResponseTypes=[],
    )
    assert parse(doc, F).maximum_retry_attempts == -1


def test_b82_kafka_topic_destination_needs_provisioned_mode() -> None:
    doc = msk(DestinationConfig={"OnFailure": {"Destination": "kafka://orders-dlq"}})
    message = error(doc, F)
    assert message.startswith(
        f"config: DestinationConfig.OnFailure.Destination: {IPVE}: A Kafka topic"
    )
    assert parse(doc | PROVISIONED, F).on_failure == "kafka://orders-dlq"


def test_b81_kafka_infinite_retries_with_destination_is_accepted() -> None:
    """B81 (cap at 10 retries) is the engine's business: the config keeps −1."""
    doc = msk(
        MaximumRetryAttempts=-1,
        DestinationConfig={"OnFailure": {"Destination": DLQ}},
        **PROVISIONED,
    )
    cfg = parse(doc, F)
    assert (cfg.maximum_retry_attempts, cfg.on_failure) == (-1, DLQ)


def test_kafka_on_demand_accepts_sqs_sns_s3_destinations() -> None:
    for destination in (DLQ, SNS, BUCKET):
        assert (
            parse(msk(DestinationConfig={"OnFailure": {"Destination": destination}}), F).on_failure
            == destination
        )


def test_b85_kafka_destination_must_not_be_a_source_topic() -> None:
    doc = msk(DestinationConfig={"OnFailure": {"Destination": "kafka://orders"}}, **PROVISIONED)
    assert "must not be a source topic" in error(doc, F)


@pytest.mark.parametrize(
    ("destination", "kind"),
    [
        (DLQ, "sqs"),
        (SNS, "sns"),
        (BUCKET, "s3"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq.fifo", "sqs"),
    ],
)
def test_stream_destinations(destination: str, kind: str) -> None:
    cfg = parse(kinesis(DestinationConfig={"OnFailure": {"Destination": destination}}), K)
    assert (cfg.on_failure, cfg.destination_kind) == (destination, kind)


def test_destination_kind_kafka_and_none() -> None:
    cfg = parse(
        msk(DestinationConfig={"OnFailure": {"Destination": "kafka://dlq"}}, **PROVISIONED), F
    )
    assert cfg.destination_kind == "kafka"
    assert parse(kinesis(), K).destination_kind is None


def test_destination_must_be_sqs_sns_or_s3() -> None:
    doc = kinesis(DestinationConfig={"OnFailure": {"Destination": FN}})
    message = error(doc, K)
    assert message.startswith(
        f"config: DestinationConfig.OnFailure.Destination: {IPVE}: Invalid destination"
    )
    assert "kafka://" not in message
    assert "kafka://" in error(msk(DestinationConfig={"OnFailure": {"Destination": FN}}), F)


def test_kafka_scheme_destination_is_for_kafka_only() -> None:
    doc = kinesis(DestinationConfig={"OnFailure": {"Destination": "kafka://dlq"}})
    assert "kafka:// destinations are for Kafka" in error(doc, K)


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "   ",
        "order",
        '"order"',
        "{not json",
        '{"eventSource": "aws:sqs"}',
        '{"eventSource": []}',
        None,
    ],
)
def test_a06_invalid_filter_patterns(pattern: Any) -> None:
    message = error(sqs(FilterCriteria={"Filters": [{"Pattern": pattern}]}), S)
    assert message.startswith(
        f"config: FilterCriteria.Filters[0].Pattern: {IPVE}: Invalid filter pattern definition."
    )


def test_a06_empty_filters_accepted_and_valid_pattern_kept() -> None:
    assert parse(sqs(FilterCriteria={"Filters": []}), S).filter_patterns == ()
    assert parse(sqs(FilterCriteria={"Filters": [{"Pattern": PATTERN}]}), S).filter_patterns == (
        PATTERN,
    )


def test_filters_quota_default_5_raisable_to_10() -> None:
    six = sqs(FilterCriteria={"Filters": [{"Pattern": PATTERN}] * 6})
    assert "6 filters exceed the limit of 5" in error(six, S)
    assert len(parse(six, S, max_filters=10).filter_patterns) == 6
    assert parse(sqs(FilterCriteria={"Filters": [{"Pattern": PATTERN}] * 5}), S).filter_patterns
    with pytest.raises(ValueError):
        parse_config(sqs(), kind=S, max_filters=11)


def test_scaling_config_sqs_only_range() -> None:
    assert parse(sqs(ScalingConfig={"MaximumConcurrency": 2}), S).maximum_concurrency == 2
    assert (
        parse(fifo(ScalingConfig={"MaximumConcurrency": 1000}), S, fifo=True).maximum_concurrency
        == 1000
    )
    assert parse(sqs(ScalingConfig={}), S).maximum_concurrency is None


def test_b70_scaling_config_and_provisioned_mode_exclusive() -> None:
    doc = sqs(
        ScalingConfig={"MaximumConcurrency": 5}, ProvisionedPollerConfig={"MinimumPollers": 2}
    )
    message = error(doc, S)
    assert message.startswith(
        f"config: ScalingConfig: {IPVE}: ScalingConfig (MaximumConcurrency) and ProvisionedPollerConfig cannot be used together"
    )


@pytest.mark.parametrize(
    ("doc", "kind", "fragment"),
    [
        (
            sqs(ProvisionedPollerConfig={"MinimumPollers": 1}),
            S,
            "MinimumPollers must be between 2 and 200 for Amazon SQS",
        ),
        (
            sqs(ProvisionedPollerConfig={"MaximumPollers": 1}),
            S,
            "MaximumPollers must be between 2 and 10000 for Amazon SQS",
        ),
        (
            msk(ProvisionedPollerConfig={"MaximumPollers": 2001}),
            F,
            "MaximumPollers must be between 1 and 2000 for Kafka",
        ),
        (
            msk(ProvisionedPollerConfig={"MinimumPollers": 10, "MaximumPollers": 5}),
            F,
            "MinimumPollers (10) must not be greater than MaximumPollers (5)",
        ),
        (
            sqs(ProvisionedPollerConfig={"PollerGroupName": "g"}),
            S,
            "Unsupported PollerGroupName parameter",
        ),
    ],
)
def test_provisioned_poller_ranges_per_source(
    doc: dict[str, Any], kind: SourceKind, fragment: str
) -> None:
    message = error(doc, kind)
    assert f": {IPVE}: " in message and fragment in message


def test_sqs_provisioned_maximum_up_to_10000() -> None:
    cfg = parse(sqs(ProvisionedPollerConfig={"MinimumPollers": 2, "MaximumPollers": 10000}), S)
    assert cfg.provisioned == ProvisionedPollers(2, 10000)


def test_kafka_topics_are_identity_and_optional() -> None:
    """Like FunctionName and EventSourceArn, Topics names the source: the capture knows it."""
    doc = msk()
    del doc["Topics"]
    assert parse(doc, F).topics == ()


def test_metrics_error_count_and_kafka_metrics_are_kafka_only() -> None:
    assert "Unsupported metric ErrorCount" in error(
        sqs(MetricsConfig={"Metrics": ["ErrorCount"]}), S
    )
    assert parse(sqs(MetricsConfig={"Metrics": ["EventCount"]}), S).metrics == ("EventCount",)
    assert parse(msk(MetricsConfig={"Metrics": ["ErrorCount", "KafkaMetrics"]}), F).metrics == (
        "ErrorCount",
        "KafkaMetrics",
    )


def test_logging_config_for_kafka_is_kept() -> None:
    cfg = parse(msk(LoggingConfig={"SystemLogLevel": "WARN"}), F)
    assert ("LoggingConfig", '{"SystemLogLevel": "WARN"}') in cfg.passthrough


def test_kafka_queue_consumption_mode_not_simulated() -> None:
    doc = smk(SelfManagedKafkaEventSourceConfig={"ConsumptionMode": "Queue"})
    assert error(doc, F).startswith(
        "config: SelfManagedKafkaEventSourceConfig.ConsumptionMode: ConfigError:"
    )
    assert parse(
        smk(SelfManagedKafkaEventSourceConfig={"ConsumptionMode": "Stream"}), F
    ).kafka_self_managed


# --------------------------------------------------------------------------------------------
# Source kind: ARN checks, FIFO, MSK vs self-managed
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "kind", "holds"),
    [
        (SQS_ARN, K, "an SQS queue but the capture holds a Kinesis stream"),
        (KIN_ARN, S, "a Kinesis stream but the capture holds an SQS queue"),
        (DDB_ARN, K, "a DynamoDB stream but the capture holds a Kinesis stream"),
        (MSK_ARN, D, "a Kafka topic but the capture holds a DynamoDB stream"),
    ],
)
def test_event_source_arn_of_another_kind_is_refused(
    arn: str, kind: SourceKind, holds: str
) -> None:
    message = error({"EventSourceArn": arn, "StartingPosition": "LATEST"}, kind)
    assert message == fail_text("EventSourceArn", "ConfigError", f"{arn} is {holds}")


def test_kinesis_consumer_arn_is_kinesis() -> None:
    consumer = f"{KIN_ARN}/consumer/efo:1714564800"
    assert parse(kinesis(EventSourceArn=consumer), K).event_source_arn == consumer
    assert source_kind_of_arn(consumer) is K


def test_fifo_flag_must_match_the_queue() -> None:
    assert "is a FIFO queue but the capture holds a standard queue" in error(fifo(), S)
    assert "is a standard queue but the capture holds a FIFO queue" in error(sqs(), S, fifo=True)
    with pytest.raises(ValueError):
        parse_config(kinesis(), kind=K, fifo=True)


def test_mq_documentdb_and_unknown_sources_refused() -> None:
    mq = f"arn:aws:mq:us-east-1:{ACCOUNT}:broker:b:b-1"
    assert "Amazon MQ sources are not replayed" in error(sqs(EventSourceArn=mq), S)
    rds = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:docdb"
    assert "Amazon DocumentDB sources are not replayed" in error(sqs(EventSourceArn=rds), S)
    assert error(sqs(EventSourceArn=BUCKET), S) == fail_text(
        "EventSourceArn", IPVE, "Unrecognized event source."
    )


def test_kafka_msk_or_self_managed_is_inferred() -> None:
    assert not parse(msk(), F).kafka_self_managed
    cfg = parse(smk(), F)
    assert cfg.kafka_self_managed and cfg.bootstrap_servers == ("b1.example.com:9092",)
    no_hint = {"Topics": ["tt"], "StartingPosition": "LATEST"}
    assert not parse(no_hint, F).kafka_self_managed
    assert parse(no_hint, F, kafka_self_managed=True).kafka_self_managed


def test_kafka_arn_and_self_managed_source_conflict() -> None:
    doc = msk(SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["a.b:9092"]}})
    assert "not both" in error(doc, F)


def test_kafka_self_managed_flag_must_match() -> None:
    assert "configuration is for Amazon MSK but the capture holds self-managed" in error(
        msk(), F, kafka_self_managed=True
    )
    assert "for self-managed Apache Kafka but the capture holds Amazon MSK" in error(
        smk(), F, kafka_self_managed=False
    )


def test_msk_config_block_on_self_managed_refused() -> None:
    doc = smk(AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "g"})
    assert "Unsupported AmazonManagedKafkaEventSourceConfig parameter" in error(doc, F)


def test_bootstrap_server_format() -> None:
    doc = smk(SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["no-port"]}})
    assert "regular expression pattern" in error(doc, F)


# --------------------------------------------------------------------------------------------
# --set overrides
# --------------------------------------------------------------------------------------------


def test_overrides_pascal_snake_and_nested() -> None:
    cfg, source = parse_config(
        kinesis(),
        kind=K,
        overrides=[
            "BatchSize=500",
            "maximum_retry_attempts=3",
            "DestinationConfig.OnFailure.Destination=" + DLQ,
            "bisect_batch_on_function_error=true",
            "FunctionResponseTypes=ReportBatchItemFailures",
        ],
    )
    assert (cfg.batch_size, cfg.maximum_retry_attempts, cfg.on_failure) == (500, 3, DLQ)
    assert cfg.bisect_on_error and cfg.report_batch_item_failures
    assert source == {}


def test_overrides_terraform_names_for_nested_fields() -> None:
    cfg = parse(kinesis(), K, overrides=[f"destination_config.on_failure.destination_arn={SNS}"])
    assert cfg.on_failure == SNS
    assert (
        parse(sqs(), S, overrides=["scaling_config.maximum_concurrency=5"]).maximum_concurrency == 5
    )


def test_override_values_are_json_when_they_parse() -> None:
    cfg = parse(
        kinesis(),
        K,
        overrides=['FunctionResponseTypes=["ReportBatchItemFailures"]', "Enabled=false"],
    )
    assert cfg.report_batch_item_failures and cfg.enabled is False
    cfg = parse(sqs(), S, overrides=['ScalingConfig={"MaximumConcurrency": 9}'])
    assert cfg.maximum_concurrency == 9


def test_override_empty_value_removes_a_destination() -> None:
    doc = kinesis(DestinationConfig={"OnFailure": {"Destination": DLQ}})
    assert parse(doc, K, overrides=["DestinationConfig.OnFailure.Destination="]).on_failure is None
    assert parse(kinesis(BatchSize=5), K, overrides=["BatchSize="]).batch_size == 100


def test_override_filters_as_bare_patterns() -> None:
    cfg = parse(sqs(), S, overrides=[f"FilterCriteria.Filters=[{PATTERN}]"])
    assert json.loads(cfg.filter_patterns[0]) == json.loads(PATTERN)
    cfg = parse(sqs(), S, overrides=[f"FilterCriteria.Filters={json.dumps([PATTERN])}"])
    assert cfg.filter_patterns == (PATTERN,)


def test_override_tags_map_key_and_topics_text() -> None:
    cfg = parse(msk(), F, overrides=["Tags.team=orders", "Topics=payments"])
    assert cfg.topics == ("payments",)
    assert ("Tags", '{"team": "orders"}') in cfg.passthrough


def test_source_overrides_are_returned_separately() -> None:
    _, source = parse_config(
        sqs(),
        kind=S,
        overrides=[
            "Source.VisibilityTimeout=30",
            "source.RedrivePolicy.maxReceiveCount=3",
            "Source.Name=orders",
            "Source.Gone=",
        ],
    )
    assert source == {
        "VisibilityTimeout": 30,
        "RedrivePolicy": {"maxReceiveCount": 3},
        "Name": "orders",
        "Gone": None,
    }


def test_override_bad_key_names_closest_field_with_where_set() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(sqs(), kind=S, overrides=["BatchSise=5"])
    assert str(caught.value) == (
        '--set: BatchSise: ParamValidationError: Unknown parameter in input: "BatchSise"; '
        'did you mean "BatchSize"?'
    )
    with pytest.raises(
        ConfigError, match=r'^--set: ScalingConfig\.MaxConcurrency: .*"MaximumConcurrency"'
    ):
        parse_config(sqs(), kind=S, overrides=["ScalingConfig.MaxConcurrency=5"])


def test_override_errors_are_attributed_to_set() -> None:
    assert error(sqs(), S, overrides=["BatchSize=11"]) == fail_text(
        "BatchSize", IPVE, A03, where="--set"
    )
    assert error(sqs(), S, overrides=["BatchSize=0"]).startswith(
        "--set: BatchSize: ValidationException"
    )
    message = error(sqs(), S, overrides=['ScalingConfig={"Max": 5}'])
    assert message.startswith("--set: ScalingConfig.Max: ParamValidationError")
    assert error(sqs(BatchSize=0), S, overrides=["Enabled=true"]).startswith("config: BatchSize")


def test_malformed_overrides() -> None:
    assert "expected Key=Value" in error(sqs(), S, overrides=["BatchSize"])
    assert "expected Key=Value" in error(sqs(), S, overrides=["=5"])
    assert "expected Source.<Setting>=Value" in error(sqs(), S, overrides=["Source=5"])
    assert "give its whole value as JSON" in error(
        sqs(), S, overrides=["FilterCriteria.Filters.0.Pattern=x"]
    )


def test_overrides_apply_before_defaults_and_validation() -> None:
    """An override can make an invalid document valid (applied first, then validated)."""
    assert (
        parse(sqs(BatchSize=11), S, overrides=["MaximumBatchingWindowInSeconds=1"]).batch_size == 11
    )


# --------------------------------------------------------------------------------------------
# to_aws and the round trip
# --------------------------------------------------------------------------------------------

ROUND_TRIP = [
    (K, False, kinesis()),
    (
        K,
        False,
        kinesis(
            UUID=UUID1,
            FunctionName=FN,
            StartingPosition="AT_TIMESTAMP",
            StartingPositionTimestamp="2024-05-01T12:00:00.123Z",
            BatchSize=500,
            MaximumBatchingWindowInSeconds=3,
            ParallelizationFactor=4,
            MaximumRetryAttempts=2,
            MaximumRecordAgeInSeconds=600,
            BisectBatchOnFunctionError=True,
            TumblingWindowInSeconds=30,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            DestinationConfig={"OnFailure": {"Destination": BUCKET}},
            FilterCriteria={"Filters": [{"Pattern": PATTERN}, {"Pattern": '{"data": {"a": [1]}}'}]},
            MetricsConfig={"Metrics": ["EventCount"]},
            Tags={"team": "orders"},
            KMSKeyArn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
            Enabled=False,
        ),
    ),
    (D, False, ddb(DestinationConfig={"OnFailure": {"Destination": SNS}})),
    (S, False, sqs()),
    (
        S,
        False,
        sqs(
            BatchSize=100,
            MaximumBatchingWindowInSeconds=5,
            ScalingConfig={"MaximumConcurrency": 20},
        ),
    ),
    (S, False, sqs(ProvisionedPollerConfig={"MaximumPollers": 20})),
    (S, True, fifo(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])),
    (F, False, msk()),
    (F, False, msk(MaximumBatchingWindowInSeconds=0)),
    (
        F,
        False,
        msk(
            ProvisionedPollerConfig={
                "MinimumPollers": 2,
                "MaximumPollers": 10,
                "PollerGroupName": "grp",
            },
            MaximumRetryAttempts=5,
            DestinationConfig={"OnFailure": {"Destination": "kafka://orders-dlq"}},
            AmazonManagedKafkaEventSourceConfig={
                "ConsumerGroupId": "cg",
                "SchemaRegistryConfig": {
                    "SchemaRegistryURI": "https://registry",
                    "EventRecordFormat": "JSON",
                },
            },
            LoggingConfig={"SystemLogLevel": "INFO"},
        ),
    ),
    (
        F,
        False,
        smk(
            SourceAccessConfigurations=[
                {"Type": "SASL_SCRAM_512_AUTH", "URI": "arn:aws:secretsmanager:x"}
            ],
            SelfManagedKafkaEventSourceConfig={"ConsumptionMode": "Stream"},
        ),
    ),
]


@pytest.mark.parametrize(("kind", "is_fifo", "doc"), ROUND_TRIP)
def test_to_aws_round_trip(kind: SourceKind, is_fifo: bool, doc: dict[str, Any]) -> None:
    cfg = parse(doc, kind, fifo=is_fifo)
    aws = cfg.to_aws()
    assert json.loads(json.dumps(aws)) == aws  # plain JSON, for run.json
    assert parse(aws, kind, fifo=is_fifo) == cfg


def test_to_aws_fills_defaults_in_a_stable_order() -> None:
    aws = parse(kinesis(), K).to_aws()
    assert list(aws) == [
        "FunctionName",
        "EventSourceArn",
        "Enabled",
        "StartingPosition",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "ParallelizationFactor",
        "DestinationConfig",
        "MaximumRecordAgeInSeconds",
        "BisectBatchOnFunctionError",
        "MaximumRetryAttempts",
        "TumblingWindowInSeconds",
        "FunctionResponseTypes",
    ]
    assert aws["DestinationConfig"] == {"OnFailure": {}}
    assert parse(msk(), F).to_aws()["MaximumBatchingWindowInSeconds"] == 0.5
    assert "ParallelizationFactor" not in parse(sqs(), S).to_aws()


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [(K, {}), (D, {}), (S, {}), (S, {"fifo": True}), (F, {}), (F, {"kafka_self_managed": True})],
)
def test_default_config_round_trips(kind: SourceKind, kwargs: dict[str, Any]) -> None:
    cfg = default_config(kind, **kwargs)
    assert parse(cfg.to_aws(), kind, fifo=kwargs.get("fifo", False)) == cfg


# --------------------------------------------------------------------------------------------
# Function fit: B9, B88
# --------------------------------------------------------------------------------------------


def test_b9_queue_visibility_timeout_below_function_timeout() -> None:
    cfg = parse(sqs(), S)
    with pytest.raises(ConfigError) as caught:
        check_function_fit(cfg, function_timeout_s=60, visibility_timeout_s=30)
    assert str(caught.value) == (
        "function: Timeout: InvalidParameterValueException: Queue visibility timeout: 30 seconds "
        "is less than Function timeout: 60 seconds"
    )
    check_function_fit(cfg, function_timeout_s=30, visibility_timeout_s=30)
    check_function_fit(cfg, function_timeout_s=None, visibility_timeout_s=30)


def test_b88_kafka_function_timeout_at_most_14_minutes() -> None:
    cfg = parse(msk(), F)
    check_function_fit(cfg, function_timeout_s=840)
    with pytest.raises(ConfigError, match="14 minutes"):
        check_function_fit(cfg, function_timeout_s=900, where="fn.yaml")
    check_function_fit(parse(kinesis(), K), function_timeout_s=900)
