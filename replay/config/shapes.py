"""The botocore ``CreateEventSourceMapping`` request shape, as data, and its Terraform spelling.

The field set, shapes and ranges are those of the botocore Lambda service model (``lambda
2015-03-31``, botocore 1.44.5): ``CreateEventSourceMappingRequest`` merged with
``UpdateEventSourceMappingRequest``, plus the read-only members of
``EventSourceMappingConfiguration``. The model is copied here as data because the ``replay`` core
never depends on botocore (tests/test_import_hygiene.py); tests/replay/config/test_config.py compares the
copy with the installed botocore's model.

Terraform's ``aws_lambda_event_source_mapping`` spells the same members in snake_case
(:func:`_snake`); the few names that differ, and the Terraform attributes that are not settings,
are listed here too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class _Shape:
    """One botocore shape: enough of it to validate types, ranges, enums and patterns."""

    type: str
    members: dict[str, _Shape] | None = None
    item: _Shape | None = None
    key: _Shape | None = None
    min: int | None = None
    max: int | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None


def _int(lo: int, hi: int) -> _Shape:
    return _Shape("integer", min=lo, max=hi)


def _str(
    lo: int | None = None,
    hi: int | None = None,
    pattern: str | None = None,
    enum: Sequence[str] = (),
) -> _Shape:
    return _Shape("string", min=lo, max=hi, pattern=pattern, enum=tuple(enum))


def _enum(*values: str) -> _Shape:
    return _Shape("string", enum=values)


def _list(item: _Shape, lo: int | None = None, hi: int | None = None) -> _Shape:
    return _Shape("list", item=item, min=lo, max=hi)


def _map(key: _Shape, value: _Shape, lo: int | None = None, hi: int | None = None) -> _Shape:
    return _Shape("map", key=key, item=value, min=lo, max=hi)


def _struct(**members: _Shape) -> _Shape:
    return _Shape("structure", members=dict(members))


_BOOL = _Shape("boolean")
_TIMESTAMP = _Shape("timestamp")
_ANY = _Shape("any")
_ARN_RE = (
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?"
    r":(\d{12})?:(.*)"
)
_ARN = _str(0, 10000, _ARN_RE)
_URI = _str(1, 200, r"[ a-zA-Z0-9-\/*:_+=.@-]*")
_DESTINATION = _str(0, 350, r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|" + _ARN_RE)
_SCHEMA_REGISTRY = _struct(
    SchemaRegistryURI=_str(1, 10000, r"[a-zA-Z0-9-\/*:_+=.@-]*"),
    EventRecordFormat=_enum("JSON", "SOURCE"),
    AccessConfigs=_list(
        _struct(
            Type=_enum(
                "BASIC_AUTH",
                "CLIENT_CERTIFICATE_TLS_AUTH",
                "SERVER_ROOT_CA_CERTIFICATE",
                "OAUTHBEARER_AUTH",
            ),
            URI=_ARN,
        )
    ),
    SchemaValidationConfigs=_list(_struct(Attribute=_enum("KEY", "VALUE"))),
)
_SOURCE_ACCESS_TYPES = (
    "BASIC_AUTH",
    "VPC_SUBNET",
    "VPC_SECURITY_GROUP",
    "SASL_SCRAM_512_AUTH",
    "SASL_SCRAM_256_AUTH",
    "VIRTUAL_HOST",
    "CLIENT_CERTIFICATE_TLS_AUTH",
    "SERVER_ROOT_CA_CERTIFICATE",
    "OAUTHBEARER_AUTH",
    "OAUTHBEARER_SCOPE",
    "OAUTHBEARER_AUDIENCE",
    "OAUTHBEARER_LOGICAL_CLUSTER",
    "OAUTHBEARER_IDENTITY_POOL",
    "IAM_AUTH",
    "IAM_OAUTHBEARER_AUTH",
)
_ENDPOINT_RE = (
    r"(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*"
    r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):[0-9]{1,5}"
)

# CreateEventSourceMappingRequest ∪ UpdateEventSourceMappingRequest (minus UUID, which is read-only
# here). Tag keys/values carry a \p{L} pattern Python's re cannot express: only lengths are checked.
_REQUEST = _struct(
    FunctionName=_str(
        1,
        256,
        r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
        r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
    ),
    EventSourceArn=_ARN,
    Enabled=_BOOL,
    BatchSize=_int(1, 10000),
    FilterCriteria=_struct(Filters=_list(_struct(Pattern=_str(0, 4096)))),
    KMSKeyArn=_str(0, 10000, r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"),
    MetricsConfig=_struct(Metrics=_list(_enum("EventCount", "ErrorCount", "KafkaMetrics"), 0, 3)),
    LoggingConfig=_struct(SystemLogLevel=_enum("DEBUG", "INFO", "WARN")),
    ScalingConfig=_struct(MaximumConcurrency=_int(2, 1000)),
    MaximumBatchingWindowInSeconds=_int(0, 300),
    ParallelizationFactor=_int(1, 10),  # B7, with MaximumRetryAttempts below
    # Enum order as AWS prints it in the A05 ValidationException, not the model's order.
    StartingPosition=_enum("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON"),
    StartingPositionTimestamp=_TIMESTAMP,
    DestinationConfig=_struct(
        OnSuccess=_struct(Destination=_DESTINATION), OnFailure=_struct(Destination=_DESTINATION)
    ),
    MaximumRecordAgeInSeconds=_int(-1, 604800),
    BisectBatchOnFunctionError=_BOOL,
    MaximumRetryAttempts=_int(-1, 10000),
    Tags=_map(_str(1, 128), _str(0, 256)),
    TumblingWindowInSeconds=_int(0, 900),
    Topics=_list(_str(1, 249, r"[^.]([a-zA-Z0-9\-_.]+)"), 1, 1),
    Queues=_list(_str(1, 1000), 1, 1),
    SourceAccessConfigurations=_list(_struct(Type=_enum(*_SOURCE_ACCESS_TYPES), URI=_URI), 0, 23),
    SelfManagedEventSource=_struct(
        Endpoints=_map(
            _enum("KAFKA_BOOTSTRAP_SERVERS"), _list(_str(1, 300, _ENDPOINT_RE), 1, 10), 1, 2
        )
    ),
    FunctionResponseTypes=_list(_enum("ReportBatchItemFailures"), 0, 1),
    AmazonManagedKafkaEventSourceConfig=_struct(
        ConsumerGroupId=_URI, SchemaRegistryConfig=_SCHEMA_REGISTRY
    ),
    SelfManagedKafkaEventSourceConfig=_struct(
        ConsumerGroupId=_URI,
        SchemaRegistryConfig=_SCHEMA_REGISTRY,
        ConsumptionMode=_enum("Stream", "Queue"),
    ),
    DocumentDBEventSourceConfig=_struct(
        DatabaseName=_str(1, 63, r"[^ /\.$\x22]*"),
        CollectionName=_str(1, 57, r"(^(?!(system\x2e)))(^[_a-zA-Z0-9])([^$]*)"),
        FullDocument=_enum("UpdateLookup", "Default"),
    ),
    ProvisionedPollerConfig=_struct(
        MinimumPollers=_int(1, 200),
        MaximumPollers=_int(1, 10000),
        PollerGroupName=_str(0, 128, r"[a-zA-Z0-9-_]*"),
    ),
)

# Read-only members of EventSourceMappingConfiguration (GetEventSourceMapping), plus boto3's
# ResponseMetadata: accepted and ignored, except UUID (kept) and FunctionArn (the function's name).
_RESPONSE_ONLY = frozenset(
    {
        "UUID",
        "FunctionArn",
        "LastModified",
        "LastProcessingResult",
        "State",
        "StateTransitionReason",
        "EventSourceMappingArn",
        "FilterCriteriaError",
        "ResponseMetadata",
    }
)

# Terraform names that differ from snake_case(PascalCase name).
_TF_ALIASES = {
    "Filters": "filter",
    "SourceAccessConfigurations": "source_access_configuration",
    "AccessConfigs": "access_config",
    "SchemaValidationConfigs": "schema_validation_config",
    "Destination": "destination_arn",
}
# Terraform attributes and meta-arguments that are not ESM settings.
_TF_IGNORED = frozenset(
    {
        "arn",
        "function_arn",
        "id",
        "last_modified",
        "last_processing_result",
        "state",
        "state_transition_reason",
        "uuid",
        "tags_all",
        "region",
        "use_resource_timeout_for_propagation",
        "timeouts",
        "provider",
        "depends_on",
        "lifecycle",
        "count",
        "for_each",
    }
)
_TF_RESOURCE = "aws_lambda_event_source_mapping"


def _snake(name: str) -> str:
    """Terraform's argument name for an API member name (KMSKeyArn → kms_key_arn)."""
    if name in _TF_ALIASES:
        return _TF_ALIASES[name]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _split(text: str) -> list[str]:
    """A list member written as one comma-separated text (Terraform endpoints, ``--set``)."""
    return [part.strip() for part in text.split(",") if part.strip()]
