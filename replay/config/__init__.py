"""ESM configuration: read, default and validate an event source mapping's settings.

An ESM configuration arrives in one of the shapes AWS users already have on disk:

* a ``CreateEventSourceMapping`` request, a ``GetEventSourceMapping`` response or the output of
  ``aws lambda list-event-source-mappings`` (PascalCase, the Lambda API's own JSON);
* Terraform's ``aws_lambda_event_source_mapping`` arguments (snake_case), as plain objects or in the
  list-wrapped block form of ``*.tf.json`` and ``terraform show -json``;
* a JSON or YAML file holding any of those.

:func:`parse_config` turns it into an :class:`EsmConfig`: omitted fields take the documented defaults
*for the source being replayed* (B1, B2, ESM-SEMANTICS 1.1), and a value AWS would refuse is refused
here with AWS's own error text where it is recorded (13.4 A03-A06, B3-B10, B70, B78, B82, B85, B88).
An unknown field is refused naming the closest known one, so a typo never silently becomes a default.

The field set, shapes and ranges are those of the botocore Lambda service model (``lambda
2015-03-31``, botocore 1.44.5): ``CreateEventSourceMappingRequest`` merged with
``UpdateEventSourceMappingRequest``, plus the read-only members of
``EventSourceMappingConfiguration``. The model is copied below as data: the ``replay`` core never
depends on botocore (tests/test_import_hygiene.py).

Every error is a :class:`~replay.errors.ConfigError` whose text is one line:
``<where>: <FieldName>: <exception name>: <text>``, where ``where`` is the file name (or ``--set``
when the offending value came from an override).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import uuid as _uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

from replay.errors import ConfigError, UserError
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import SourceKind

__all__ = [
    "DEFAULT_MAX_FILTERS",
    "EsmConfig",
    "ProvisionedPollers",
    "StartingPosition",
    "check_function_fit",
    "default_config",
    "load_config",
    "parse_config",
    "source_kind_of_arn",
]

# Exception names used in messages. AWS's own where AWS would refuse the value; ``ConfigError``
# where the refusal is esm-replay's (the value is legal for AWS but cannot be replayed here).
_IPVE = "InvalidParameterValueException"
_VALIDATION = "ValidationException"
_PARAM = "ParamValidationError"
_OWN = "ConfigError"

DEFAULT_MAX_FILTERS = 5
"""Filters per ESM (1.1: default quota 5, raisable to 10 on request)."""

_HARD_MAX_FILTERS = 10
_KAFKA_DEFAULT_WINDOW_MS = 500
_MAX_KAFKA_FUNCTION_TIMEOUT_S = 840
_GROUP_ID_NAMESPACE = _uuid.UUID("6f1c5c3e-3f0e-4b8a-9a57-0d1f3c1e5a11")


class StartingPosition(StrEnum):
    """Where a stream or Kafka ESM starts reading (``StartingPosition``)."""

    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"
    AT_TIMESTAMP = "AT_TIMESTAMP"


@dataclass(frozen=True)
class ProvisionedPollers:
    """Provisioned mode (``ProvisionedPollerConfig``) with its defaults filled in."""

    minimum: int
    maximum: int
    group_name: str | None = None


@dataclass(frozen=True)
class EsmConfig:
    """One event source mapping's settings, resolved for one source, defaults filled in.

    Fields that do not apply to the source keep a neutral value (``parallelization_factor`` 1,
    retries −1...) so the engine never needs ``None`` checks for them.
    """

    kind: SourceKind
    fifo: bool
    kafka_self_managed: bool
    function_name: str | None
    event_source_arn: str | None
    uuid: str | None
    enabled: bool
    batch_size: int
    batching_window_ms: int
    """``MaximumBatchingWindowInSeconds`` in ms; the Kafka default is 500 (B17)."""
    parallelization_factor: int
    starting_position: StartingPosition | None
    starting_position_timestamp_ms: int | None
    maximum_retry_attempts: int
    maximum_record_age_s: int
    bisect_on_error: bool
    on_failure: str | None
    """On-failure destination: an SQS / SNS / S3 ARN or ``kafka://topic``."""
    report_batch_item_failures: bool
    tumbling_window_s: int
    filter_patterns: tuple[str, ...]
    maximum_concurrency: int | None
    provisioned: ProvisionedPollers | None
    topics: tuple[str, ...]
    queues: tuple[str, ...]
    consumer_group_id: str | None
    bootstrap_servers: tuple[str, ...]
    metrics: tuple[str, ...]
    passthrough: tuple[tuple[str, str], ...] = ()
    """Accepted fields the simulation does not use (Tags, KMSKeyArn, SourceAccessConfigurations,
    LoggingConfig, schema registry): (dotted PascalCase path, canonical JSON), kept for ``to_aws``."""

    @property
    def destination_kind(self) -> str | None:
        """The on-failure destination's service: "sqs", "sns", "s3", "kafka" or None."""
        if not self.on_failure:
            return None
        if self.on_failure.startswith("kafka://"):
            return "kafka"
        service = _arn_service(self.on_failure)
        return service if service in ("sqs", "sns", "s3") else None

    def to_aws(self) -> dict[str, Any]:
        """The configuration as AWS JSON (GetEventSourceMapping-like), defaults filled in.

        Keys come in a fixed order so ``run.json`` is byte-stable; ``parse_config`` of the result
        gives back an equal :class:`EsmConfig`.
        """
        return _to_aws(self)


# ---------------------------------------------------------------------------------------------
# The botocore model, as data
# ---------------------------------------------------------------------------------------------


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

# ---------------------------------------------------------------------------------------------
# Source families and which parameters apply to each (API reference, 1.1)
# ---------------------------------------------------------------------------------------------


class _Family(StrEnum):
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"
    SQS = "sqs"
    MSK = "msk"
    SMK = "self-managed kafka"


_STREAMS = frozenset({_Family.KINESIS, _Family.DYNAMODB})
_KAFKA = frozenset({_Family.MSK, _Family.SMK})
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

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

_Path = tuple[str | int, ...]


@dataclass
class _Ctx:
    """What a check needs to phrase its error: the file, the source, and which paths --set set."""

    where: str
    kind: SourceKind
    fifo: bool
    max_filters: int = DEFAULT_MAX_FILTERS
    overridden: set[_Path] = field(default_factory=set)

    def where_for(self, paths: Sequence[_Path]) -> str:
        """``--set`` when an override set (part of) one of ``paths``, else the file name."""
        for path in paths:
            for done in self.overridden:
                n = min(len(path), len(done))
                if n and path[:n] == done[:n]:
                    return "--set"
        return self.where


def _dotted(path: _Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "-"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show(value: Any, limit: int = 100) -> str:
    """A value as it appears in a one-line message (long values cut, newlines folded)."""
    if isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail(ctx: _Ctx, paths: Sequence[_Path], exc: str, text: str) -> NoReturn:
    """Raise the one-line ConfigError ``<where>: <FieldName>: <exc>: <text>``."""
    where = ctx.where_for(paths)
    raise ConfigError(f"{where}: {_dotted(paths[0])}: {exc}: {_one_line(text)}")


def _camel_path(path: _Path) -> str:
    """AWS's member path in a ValidationException: ``filterCriteria.filters.1.member.pattern``."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"{part + 1}.member")
        else:
            parts.append(part[:1].lower() + part[1:])
    return ".".join(parts)


def _validation_text(path: _Path, value: Any, constraint: str) -> str:
    shown = "null" if value is None else f"'{_show(value)}'"
    return (
        f"1 validation error detected: Value {shown} at '{_camel_path(path)}' "
        f"failed to satisfy constraint: {constraint}"
    )


def _norm(name: str) -> str:
    return re.sub(r"[_\-\s]", "", name).lower()


def _closest(key: str, names: Iterable[str]) -> str | None:
    """The known name a typo most likely meant, comparing case- and underscore-blind."""
    by_norm = {_norm(n): n for n in names}
    wanted = _norm(key)
    if wanted in by_norm:
        return by_norm[wanted]
    match = difflib.get_close_matches(wanted, list(by_norm), n=1, cutoff=0.6)
    return by_norm[match[0]] if match else None


def _unknown(ctx: _Ctx, path: _Path, key: str, names: Iterable[str]) -> NoReturn:
    """An unknown field: never a silent default. Names the closest known field."""
    known = sorted(names)
    guess = _closest(key, known)
    hint = f'; did you mean "{guess}"?' if guess else f", must be one of: {', '.join(known)}"
    _fail(ctx, [(*path, key)], _PARAM, f'Unknown parameter in input: "{key}"{hint}')


# ---------------------------------------------------------------------------------------------
# Shape validation (types, ranges, enums, patterns) — the ValidationException layer
# ---------------------------------------------------------------------------------------------

_PY_TYPES = {
    "structure": "<class 'dict'>",
    "list": "<class 'list'>, <class 'tuple'>",
    "map": "<class 'dict'>",
    "integer": "<class 'int'>",
    "boolean": "<class 'bool'>",
    "string": "<class 'str'>",
    "timestamp": "<class 'datetime.datetime'>, timestamp-string",
}


def _type_error(ctx: _Ctx, path: _Path, value: Any, shape: _Shape) -> NoReturn:
    _fail(
        ctx,
        [path],
        _PARAM,
        f"Invalid type for parameter {_dotted(path)}, value: {_show(value)}, "
        f"type: {type(value)}, valid types: {_PY_TYPES[shape.type]}",
    )


def _scalar_violation(value: Any, shape: _Shape) -> str | None:
    """The constraint a (type-correct) scalar breaks, in AWS's words, or None."""
    size = len(value) if isinstance(value, str | list | tuple | dict) else value
    noun = "length" if shape.type != "integer" else "value"
    if shape.enum and value not in shape.enum:
        return f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
    if shape.max is not None and size > shape.max:
        return f"Member must have {noun} less than or equal to {shape.max}"
    if shape.min is not None and size < shape.min:
        return f"Member must have {noun} greater than or equal to {shape.min}"
    if (
        shape.pattern is not None
        and isinstance(value, str)
        and not re.fullmatch(shape.pattern, value)
    ):
        return f"Member must satisfy regular expression pattern: {shape.pattern}"
    return None


def _check(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    """Validate ``value`` against ``shape``; return a clean copy (nulls dropped, times in ms)."""
    if shape.type == "structure":
        return _check_struct(value, shape, path, ctx)
    if shape.type == "list":
        return _check_list(value, shape, path, ctx)
    if shape.type == "map":
        return _check_map(value, shape, path, ctx)
    if shape.type == "timestamp":
        return _check_timestamp(value, path, ctx)
    if shape.type == "any":
        return value
    _check_scalar_type(value, shape, path, ctx)
    violation = _scalar_violation(value, shape)
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, value, violation))
    return value


def _check_scalar_type(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> None:
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
    }[shape.type]
    if not ok:
        _type_error(ctx, path, value, shape)


def _check_struct(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        _type_error(ctx, path, value, shape)
    assert shape.members is not None
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = shape.members.get(key) if isinstance(key, str) else None
        if member is None:
            _unknown(ctx, path, str(key), shape.members)
        if item is None:
            continue
        if key == "Pattern" and isinstance(item, dict | list):
            # A pattern written as a YAML/JSON object instead of a JSON string: same meaning.
            item = json.dumps(item)
        if path == () and key == "MaximumBatchingWindowInSeconds" and _is_kafka_default(item, ctx):
            out[key] = item
            continue
        out[key] = _check(item, member, (*path, key), ctx)
    return out


def _is_kafka_default(value: Any, ctx: _Ctx) -> bool:
    """0.5 s is how :meth:`EsmConfig.to_aws` writes the Kafka default window (B11, B17)."""
    return ctx.kind is SourceKind.KAFKA and isinstance(value, float) and value == 0.5


def _check_list(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> list[Any]:
    if not isinstance(value, list | tuple):
        _type_error(ctx, path, value, shape)
    assert shape.item is not None
    item_shape = shape.item
    out: list[Any] = []
    for index, item in enumerate(value):
        if item_shape.type in ("structure", "list", "map", "timestamp"):
            out.append(_check(item, item_shape, (*path, index), ctx))
            continue
        _check_scalar_type(item, item_shape, (*path, index), ctx)
        violation = _scalar_violation(item, item_shape)
        if violation:
            # AWS reports a bad member at the list, wrapping the member's constraint.
            text = f"Member must satisfy constraint: [{violation}]"
            _fail(ctx, [path], _VALIDATION, _validation_text(path, list(value), text))
        out.append(item)
    violation = _scalar_violation(out, _Shape("list", min=shape.min, max=shape.max))
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, list(value), violation))
    return out


def _check_map(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        _type_error(ctx, path, value, shape)
    assert shape.key is not None and shape.item is not None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            _type_error(ctx, (*path, str(key)), key, shape.key)
        violation = _scalar_violation(key, shape.key)
        if violation:
            _fail(ctx, [path], _VALIDATION, _validation_text(path, key, violation))
        if item is not None:
            out[key] = _check(item, shape.item, (*path, key), ctx)
    violation = _scalar_violation(out, _Shape("map", min=shape.min, max=shape.max))
    if violation:
        _fail(ctx, [path], _VALIDATION, _validation_text(path, list(out), violation))
    return out


def _check_timestamp(value: Any, path: _Path, ctx: _Ctx) -> int:
    """A timestamp as epoch ms: epoch seconds (API JSON), ISO-8601/RFC3339 text, or datetime."""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        _type_error(ctx, path, value, _TIMESTAMP)
    try:
        return parse_time(value, field=_dotted(path))
    except UserError:
        _fail(
            ctx,
            [path],
            _PARAM,
            f"Invalid timestamp value for parameter {_dotted(path)}: {_show(value)}; "
            "use ISO-8601 / RFC3339 (2024-05-01T12:00:00Z) or epoch seconds",
        )


# ---------------------------------------------------------------------------------------------
# Input forms: files, list-event-source-mappings, tf.json, terraform show -json
# ---------------------------------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str], where: str) -> Any:
    """Parse a JSON file, or YAML when the name ends in .yaml/.yml."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{where}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    if str(path).lower().endswith((".yaml", ".yml")):
        return _parse_yaml(text, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{where}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None


def _parse_yaml(text: str, where: str) -> Any:
    import yaml  # only YAML inputs need it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {_one_line(str(problem))}{at}") from None


def _esm_id(doc: Mapping[str, Any]) -> str | None:
    value = doc.get("UUID") or doc.get("uuid") or doc.get("id")
    return str(value) if value else None


def _pick(candidates: list[tuple[str, Any]], uuid: str | None, where: str, what: str) -> Any:
    """One ESM out of several: the only one, or the one whose UUID (or Terraform name) is ``uuid``."""
    if uuid is not None:
        for name, doc in candidates:
            aliases: set[str | None] = {name}
            if isinstance(doc, Mapping):
                aliases |= {_esm_id(doc), _esm_id(doc.get("values") or {}), doc.get("address")}
            if uuid in aliases:
                return doc
        found = ", ".join(name for name, _ in candidates) or "none"
        raise ConfigError(
            f"{where}: {what}: {_OWN}: no event source mapping {uuid!r}; found: {found}"
        )
    if len(candidates) == 1:
        return candidates[0][1]
    if not candidates:
        raise ConfigError(f"{where}: {what}: {_OWN}: no event source mapping in this document")
    names = ", ".join(name for name, _ in candidates)
    raise ConfigError(
        f"{where}: {what}: {_OWN}: {len(candidates)} event source mappings; "
        f"choose one by UUID: {names}"
    )


def _tf_resources(module: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """ESM resources in a ``terraform show -json`` module, child modules included."""
    found: list[tuple[str, Any]] = []
    for resource in module.get("resources") or []:
        if isinstance(resource, Mapping) and resource.get("type") == _TF_RESOURCE:
            values = resource.get("values") or {}
            found.append((_esm_id(values) or str(resource.get("address")), resource))
    for child in module.get("child_modules") or []:
        if isinstance(child, Mapping):
            found.extend(_tf_resources(child))
    return found


def _tf_json_resources(resource: Any) -> list[tuple[str, Any]]:
    """ESM resources in a tf.json ``resource`` block (an object, or a list of objects)."""
    blocks = resource if isinstance(resource, list) else [resource]
    found: list[tuple[str, Any]] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        for name, body in (block.get(_TF_RESOURCE) or {}).items():
            bodies = body if isinstance(body, list) else [body]
            found.extend((name, item) for item in bodies)
    return found


def _unwrap(doc: Any, uuid: str | None, where: str) -> Any:
    """Reduce any accepted container to the one ESM object it holds."""
    if isinstance(doc, list):
        return _unwrap(
            _pick([(_esm_id(d) or f"#{i}", d) for i, d in enumerate(doc)], uuid, where, "-"),
            None,
            where,
        )
    if not isinstance(doc, Mapping):
        raise ConfigError(
            f"{where}: expected a JSON object (an ESM configuration), got {type(doc).__name__}"
        )
    if isinstance(doc.get("EventSourceMappings"), list):
        items = doc["EventSourceMappings"]
        named = [(_esm_id(d) or f"#{i}", d) for i, d in enumerate(items) if isinstance(d, Mapping)]
        return _pick(named, uuid, where, "EventSourceMappings")
    if "resource" in doc:
        return _pick(_tf_json_resources(doc["resource"]), uuid, where, "resource")
    values = doc.get("values")
    if isinstance(values, Mapping) and "root_module" in values:
        picked = _pick(_tf_resources(values["root_module"]), uuid, where, "values")
        return picked.get("values") or {}
    if isinstance(values, Mapping) and ("address" in doc or doc.get("type") == _TF_RESOURCE):
        return values
    return doc


def _is_terraform(doc: Mapping[str, Any]) -> bool:
    """Terraform names are snake_case; the API's are PascalCase. The majority decides."""
    lower = sum(1 for k in doc if isinstance(k, str) and k[:1].islower())
    return lower > len(doc) - lower


# ---------------------------------------------------------------------------------------------
# Terraform → API JSON
# ---------------------------------------------------------------------------------------------

_ABSENT = object()


def _snake(name: str) -> str:
    """Terraform's argument name for an API member name (KMSKeyArn → kms_key_arn)."""
    if name in _TF_ALIASES:
        return _TF_ALIASES[name]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _from_terraform(doc: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """Convert Terraform arguments (plain or list-wrapped blocks) to API JSON.

    Terraform treats an argument's zero value (0, false, "", empty block) as unset — the provider
    sends only what ``GetOk`` sees — and ``terraform show -json`` writes zeros for everything the API
    did not return. So zeros become "absent", except ``enabled`` and ``maximum_retry_attempts`` (sent
    with ``GetOkExists``), the latter only where it applies (streams, provisioned Kafka).
    """
    provisioned = bool(_tf_block(doc.get("provisioned_poller_config")))
    keep_mra_zero = ctx.kind.is_stream or (ctx.kind is SourceKind.KAFKA and provisioned)
    out = _tf_struct(doc, _REQUEST, (), ctx, top=True)
    if (
        type(doc.get("maximum_retry_attempts")) is int
        and doc["maximum_retry_attempts"] == 0
        and keep_mra_zero
    ):
        out["MaximumRetryAttempts"] = 0
    if doc.get("enabled") is False:
        out["Enabled"] = False
    return out


def _tf_block(value: Any) -> Any:
    """A Terraform block's body: the object itself, or the single item of its list form."""
    if isinstance(value, list):
        if not value:
            return None
        return value[0] if len(value) == 1 else value
    return value


def _tf_struct(
    doc: Mapping[str, Any], shape: _Shape, path: _Path, ctx: _Ctx, *, top: bool = False
) -> dict[str, Any]:
    assert shape.members is not None
    by_tf = {_snake(name): name for name in shape.members}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if top and key in _TF_IGNORED:
            continue
        member = by_tf.get(key) if isinstance(key, str) else None
        if member is None:
            names = set(by_tf) | (_TF_IGNORED if top else set())
            _unknown(ctx, path, str(key), names)
        converted = _tf_value(value, shape.members[member], (*path, member), ctx)
        if converted is not _ABSENT:
            out[member] = converted
    return out


def _tf_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    """One Terraform value in API form, or ``_ABSENT`` for Terraform's "unset"."""
    if value is None or value == "" or value is False or (value == 0 and shape.type == "integer"):
        return _ABSENT
    if isinstance(value, str) and "${" in value:
        if path in (("FunctionName",), ("EventSourceArn",)):
            return _ABSENT  # a reference to another resource: unknown here, and not needed
        _fail(
            ctx,
            [path],
            _OWN,
            f"unresolved Terraform expression {_show(value)}; "
            "use `terraform show -json` output or give the value with --set",
        )
    if shape.type == "structure":
        return _tf_struct_value(value, shape, path, ctx)
    if shape.type == "list":
        return _tf_list_value(value, shape, path, ctx)
    if shape.type == "map" and path[-1:] == ("Endpoints",) and isinstance(value, Mapping):
        # endpoints = { KAFKA_BOOTSTRAP_SERVERS = "a:9092,b:9092" }
        return {k: _split(v) if isinstance(v, str) else v for k, v in value.items()}
    if isinstance(value, Mapping | list) and not value:
        return _ABSENT
    return value


def _tf_struct_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    if isinstance(value, list) and len(value) > 1:
        _fail(ctx, [path], _OWN, f"a {_snake(str(path[-1]))} block may appear only once")
    body = _tf_block(value)
    if body is None:
        return _ABSENT
    if not isinstance(body, Mapping):
        _type_error(ctx, path, value, shape)
    out = _tf_struct(body, shape, path, ctx)
    return out if out else _ABSENT


def _tf_list_value(value: Any, shape: _Shape, path: _Path, ctx: _Ctx) -> Any:
    if not isinstance(value, list | tuple):
        return value  # let the shape check report the type
    assert shape.item is not None
    if shape.item.type != "structure":
        return list(value) if value else _ABSENT
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            _type_error(ctx, (*path, index), item, shape.item)
        items.append(_tf_struct(item, shape.item, (*path, index), ctx))
    return items if items else _ABSENT


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# ---------------------------------------------------------------------------------------------
# --set overrides
# ---------------------------------------------------------------------------------------------

_DELETE = object()


def _parse_value(raw: str) -> Any:
    """JSON when it parses (numbers, true/false, lists, objects), else the text; "" deletes."""
    if raw == "":
        return _DELETE
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _resolve_key(key: str, ctx: _Ctx) -> tuple[_Path, _Shape]:
    """Map ``A.B.C`` (PascalCase or snake_case segments) to the API path and its shape."""
    shape = _REQUEST
    path: _Path = ()
    for segment in key.split("."):
        if shape.type == "map":
            assert shape.item is not None
            path, shape = (*path, segment), shape.item
            continue
        if shape.type != "structure":
            _fail(
                ctx,
                [(key,)],
                _OWN,
                f"{_dotted(path)} is a {shape.type}; give its whole value as JSON instead",
            )
        assert shape.members is not None
        member = _match_member(segment, shape.members)
        if member is None:
            _unknown(ctx, path, segment, shape.members)
        path, shape = (*path, member), shape.members[member]
    return path, shape


def _match_member(segment: str, members: Mapping[str, _Shape]) -> str | None:
    if segment in members:
        return segment
    wanted = _norm(segment)
    for name in members:
        if wanted in (_norm(name), _norm(_snake(name))):
            return name
    return None


def _coerce_override(value: Any, shape: _Shape, path: _Path) -> Any:
    """Conveniences of the command line: ``Topics=orders``, ``FilterCriteria.Filters=["{...}"]``.

    A filter given as a bare pattern (text or object) is wrapped as ``{"Pattern": ...}``; a list
    field given as text is split on commas.
    """
    if path == ("FilterCriteria", "Filters"):
        items = value if isinstance(value, list) else [value]
        return [
            item if isinstance(item, Mapping) and set(item) == {"Pattern"} else {"Pattern": item}
            for item in items
        ]
    if shape.type == "list" and isinstance(value, str):
        return _split(value)
    return value


def _apply_overrides(
    doc: dict[str, Any], overrides: Sequence[str], ctx: _Ctx
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply ``Key=Value`` overrides to API JSON; collect ``Source.*`` ones separately."""
    source: dict[str, Any] = {}
    set_ctx = _Ctx("--set", ctx.kind, ctx.fifo, ctx.max_filters)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set: {_show(item)}: {_OWN}: expected Key=Value")
        value = _parse_value(raw)
        if key.split(".", 1)[0].lower() == "source":
            _put_source(source, key.split(".")[1:], value, item)
            continue
        path, shape = _resolve_key(key, set_ctx)
        if value is not _DELETE:
            value = _coerce_override(value, shape, path)
        _put(doc, [str(p) for p in path], value)
        ctx.overridden.add(path)
    return doc, source


def _put(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if value is _DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _put_source(source: dict[str, Any], path: list[str], value: Any, item: str) -> None:
    """``Source.VisibilityTimeout=30`` → ``{"VisibilityTimeout": 30}``; empty value → None."""
    if not path or not all(path):
        raise ConfigError(f"--set: {_show(item)}: {_OWN}: expected Source.<Setting>=Value")
    node = source
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = None if value is _DELETE else value


# ---------------------------------------------------------------------------------------------
# Semantic rules (InvalidParameterValueException layer)
# ---------------------------------------------------------------------------------------------


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


_SERVICE_KINDS = {
    "kinesis": SourceKind.KINESIS,
    "dynamodb": SourceKind.DYNAMODB,
    "sqs": SourceKind.SQS,
    "kafka": SourceKind.KAFKA,
}


def _present(doc: Mapping[str, Any], name: str) -> bool:
    return name in doc and not _is_empty(doc[name])


def _is_empty(value: Any) -> bool:
    """Unset in AWS's sense: null, "", [], {} or an object holding only such values."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, Mapping) and all(_is_empty(v) for v in value.values())


def _prune(doc: dict[str, Any], shape: _Shape = _REQUEST) -> dict[str, Any]:
    """Drop unset members of objects (AWS: an empty string removes a destination).

    Only structures are pruned: list items and map entries (a tag with an empty value) are data.
    """
    assert shape.members is not None
    out: dict[str, Any] = {}
    for key, value in doc.items():
        member = shape.members.get(key)
        if isinstance(value, dict) and member is not None and member.type == "structure":
            value = _prune(value, member)
        if not _is_empty(value):
            out[key] = value
    return out


def _resolve_family(doc: Mapping[str, Any], ctx: _Ctx, kafka_self_managed: bool | None) -> _Family:
    """The source family, refusing an EventSourceArn that clearly names another kind of source."""
    arn = doc.get("EventSourceArn")
    if arn:
        _check_arn_kind(arn, ctx)
    if ctx.kind is SourceKind.KINESIS:
        return _Family.KINESIS
    if ctx.kind is SourceKind.DYNAMODB:
        return _Family.DYNAMODB
    if ctx.kind is SourceKind.SQS:
        return _Family.SQS
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


def _check_on_success(doc: Mapping[str, Any], ctx: _Ctx) -> None:
    """A04: ``DestinationConfig.OnSuccess`` is refused for every ESM."""
    if _present(doc.get("DestinationConfig", {}), "OnSuccess"):
        _fail(
            ctx,
            [("DestinationConfig", "OnSuccess")],
            _IPVE,
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        )


def _check_consumption_mode(doc: Mapping[str, Any], ctx: _Ctx) -> None:
    """Kafka share groups (ConsumptionMode Queue, 2026 model) are not simulated."""
    mode = doc.get("SelfManagedKafkaEventSourceConfig", {}).get("ConsumptionMode")
    if mode == "Queue":
        _fail(
            ctx,
            [("SelfManagedKafkaEventSourceConfig", "ConsumptionMode")],
            _OWN,
            "ConsumptionMode Queue (Kafka share groups) is not simulated by esm-replay; "
            "use Stream (the default)",
        )


def _check_applicability(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """A parameter the source type does not support (B8/A04 text, generalised).

    AWS's text is recorded for DestinationConfig on SQS (B8, A04) and has been seen for
    ParallelizationFactor (2019) and MaximumBatchingWindowInSeconds on MSK (2021); the same
    sentence is used for every other parameter (UNCONFIRMED per parameter). StartingPosition on SQS
    has its own recorded text.
    """
    for name, families in _APPLIES.items():
        if family in families or not _present(doc, name):
            continue
        if family is _Family.SQS and name == "StartingPosition":
            # Text observed from AWS (InvalidParameterValueException, 2018).
            _fail(ctx, [(name,)], _IPVE, "StartingPosition is not valid for SQS event sources.")
        _fail(
            ctx,
            [(name,)],
            _IPVE,
            f"Unsupported {name} parameter for given event source mapping type.",
        )


def _check_starting_position(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """A05 and B10: StartingPosition is required for streams and Kafka; no AT_TIMESTAMP on DDB."""
    if family is _Family.SQS:
        return
    position = doc.get("StartingPosition")
    if position is None:
        # A05 text (streams); the same is assumed for Kafka, where it is required too (UNCONFIRMED).
        _fail(
            ctx,
            [("StartingPosition",)],
            _IPVE,
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null.",
        )
    if position == StartingPosition.AT_TIMESTAMP and family is _Family.DYNAMODB:
        arn = doc.get("EventSourceArn") or "(no EventSourceArn)"
        _fail(
            ctx,
            [("StartingPosition",)],
            _IPVE,
            f"Unsupported starting position for arn type: {arn}",
        )
    has_time = "StartingPositionTimestamp" in doc
    if position == StartingPosition.AT_TIMESTAMP and not has_time:
        # UNCONFIRMED text. "Not in the future" is a runtime matter, left to the replay.
        _fail(
            ctx,
            [("StartingPositionTimestamp",), ("StartingPosition",)],
            _IPVE,
            "StartingPositionTimestamp is required when StartingPosition is AT_TIMESTAMP.",
        )
    if has_time and position != StartingPosition.AT_TIMESTAMP:
        _fail(
            ctx,
            [("StartingPositionTimestamp",), ("StartingPosition",)],
            _IPVE,
            "StartingPositionTimestamp is valid only with StartingPosition AT_TIMESTAMP.",
        )


def _check_batching(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """B78 (FIFO window), B4 (FIFO batch ≤ 10), B3/A03 (SQS standard >10 needs a window), B5."""
    if family is not _Family.SQS:
        return  # B5: the >10 ⇒ window ≥ 1 rule is documented for streams but not enforced there
    batch = doc.get("BatchSize", 10)
    window = doc.get("MaximumBatchingWindowInSeconds", 0)
    if ctx.fifo:
        if window > 0:
            # B78, UNCONFIRMED in the docs ("not supported"); rejected, as AWS was seen to do via
            # CloudFormation in 2024 ("Batching window is not supported for FIFO queues"), and
            # before the batch-size check, as in that observation.
            _fail(
                ctx,
                [("MaximumBatchingWindowInSeconds",)],
                _IPVE,
                "Batching window is not supported for FIFO queues",
            )
        if batch > 10:
            # B4. AWS's text for SQS when its maximum was 10 (2018); assumed for FIFO (UNCONFIRMED).
            _fail(
                ctx,
                [("BatchSize",)],
                _IPVE,
                "Maximum batch size must be between 1 and 10 inclusive",
            )
        return
    if batch > 10 and window == 0:
        _fail(
            ctx,
            [("BatchSize",), ("MaximumBatchingWindowInSeconds",)],
            _IPVE,
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10",
        )


def _check_record_age(doc: Mapping[str, Any], ctx: _Ctx) -> None:
    """B6: 0–59 lie inside the shape's range (−1…604,800) but are refused."""
    age = doc.get("MaximumRecordAgeInSeconds")
    if age is not None and 0 <= age < 60:
        # Text AWS returned to the Terraform provider's maintainers (2021).
        _fail(
            ctx,
            [("MaximumRecordAgeInSeconds",)],
            _IPVE,
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 "
            "(inclusive)",
        )


def _check_pollers(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """B70 and the per-source provisioned-mode ranges (SQS min 2, max 2–10,000; Kafka max 2,000)."""
    pollers = doc.get("ProvisionedPollerConfig")
    if not pollers:
        return
    if _present(doc, "ScalingConfig"):
        # B70: documented as mutually exclusive; AWS's error text is UNCONFIRMED.
        _fail(
            ctx,
            [("ScalingConfig",), ("ProvisionedPollerConfig",)],
            _IPVE,
            "ScalingConfig (MaximumConcurrency) and ProvisionedPollerConfig cannot be used "
            "together; MaximumConcurrency applies to on-demand mode only.",
        )
    sqs = family is _Family.SQS
    low, high = (2, 10000) if sqs else (1, 2000)
    minimum = pollers.get("MinimumPollers", 2 if sqs else 1)
    maximum = pollers.get("MaximumPollers", 200)
    where = "Amazon SQS" if sqs else "Kafka"
    for name, value in (("MinimumPollers", minimum), ("MaximumPollers", maximum)):
        top = 200 if name == "MinimumPollers" else high
        if not low <= value <= top:
            # UNCONFIRMED text; ranges from the model's documentation.
            _fail(
                ctx,
                [("ProvisionedPollerConfig", name)],
                _IPVE,
                f"{name} must be between {low} and {top} for {where} event source mappings.",
            )
    if minimum > maximum:
        _fail(
            ctx,
            [
                ("ProvisionedPollerConfig", "MinimumPollers"),
                ("ProvisionedPollerConfig", "MaximumPollers"),
            ],
            _IPVE,
            f"MinimumPollers ({minimum}) must not be greater than MaximumPollers ({maximum}).",
        )
    if sqs and pollers.get("PollerGroupName"):
        _fail(
            ctx,
            [("ProvisionedPollerConfig", "PollerGroupName")],
            _IPVE,
            "Unsupported PollerGroupName parameter for given event source mapping type.",
        )


def _check_kafka_provisioned_only(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """B82: Kafka retry controls, bisect, partial batch responses and kafka:// destinations exist
    only in provisioned mode. Values equal to the on-demand behaviour (−1, false) are accepted, as a
    GetEventSourceMapping response may carry them. AWS's error text is UNCONFIRMED.
    """
    if family not in _KAFKA or doc.get("ProvisionedPollerConfig"):
        return
    checks = (
        ("MaximumRetryAttempts", doc.get("MaximumRetryAttempts", -1) != -1),
        ("MaximumRecordAgeInSeconds", doc.get("MaximumRecordAgeInSeconds", -1) != -1),
        ("BisectBatchOnFunctionError", doc.get("BisectBatchOnFunctionError", False)),
        ("FunctionResponseTypes", bool(doc.get("FunctionResponseTypes"))),
    )
    for name, offending in checks:
        if offending:
            _fail(
                ctx,
                [(name,)],
                _IPVE,
                f"{name} is supported for Kafka event source mappings only in provisioned mode "
                "(set ProvisionedPollerConfig).",
            )
    destination = _destination(doc)
    if destination and destination.startswith("kafka://"):
        _fail(
            ctx,
            [("DestinationConfig", "OnFailure", "Destination")],
            _IPVE,
            "A Kafka topic on-failure destination (kafka://) is supported only in provisioned "
            "mode (set ProvisionedPollerConfig).",
        )


def _destination(doc: Mapping[str, Any]) -> str | None:
    value = doc.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return value or None


def _check_destination(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """OnFailure must be an SQS / SNS / S3 ARN, or ``kafka://topic`` for Kafka (B85).

    AWS's texts are UNCONFIRMED.
    """
    destination = _destination(doc)
    if destination is None:
        return
    path: _Path = ("DestinationConfig", "OnFailure", "Destination")
    if destination.startswith("kafka://"):
        if family not in _KAFKA:
            _fail(
                ctx,
                [path],
                _IPVE,
                f"Unsupported destination {destination}: kafka:// destinations are for Kafka event source mappings only.",
            )
        topic = destination[len("kafka://") :]
        if topic in doc.get("Topics", ()):
            # B85: the destination topic must not be one of the source topics.
            _fail(
                ctx,
                [path],
                _IPVE,
                f"The on-failure destination topic {topic} must not be a source topic of the "
                "event source mapping.",
            )
        return
    if _arn_service(destination) not in ("sqs", "sns", "s3"):
        allowed = "an Amazon SQS queue, Amazon SNS topic or Amazon S3 bucket ARN"
        if family in _KAFKA:
            allowed += ", or kafka://<topic>"
        _fail(ctx, [path], _IPVE, f"Invalid destination {destination}: must be {allowed}.")


def _check_filters(doc: Mapping[str, Any], ctx: _Ctx) -> None:
    """A06: each pattern must parse as a filter rule; at most ``max_filters`` filters (1.1).

    ``{"Filters": []}`` is accepted (A06).
    """
    filters = doc.get("FilterCriteria", {}).get("Filters", [])
    if len(filters) > ctx.max_filters:
        # UNCONFIRMED text: the quota is documented, AWS's message is not recorded.
        _fail(
            ctx,
            [("FilterCriteria", "Filters")],
            _IPVE,
            f"{len(filters)} filters exceed the limit of {ctx.max_filters} per event source "
            f"mapping (a quota; it can be raised to {_HARD_MAX_FILTERS}).",
        )
    for index, item in enumerate(filters):
        problem = _pattern_problem(item.get("Pattern"))
        if problem is not None:
            detail = f" ({problem})" if problem else ""
            _fail(
                ctx,
                [("FilterCriteria", "Filters", index, "Pattern")],
                _IPVE,
                f"Invalid filter pattern definition.{detail}",
            )


def _pattern_problem(pattern: Any) -> str | None:
    """None when ``replay.filters`` accepts the pattern, else why not ("" when it does not say).

    ``replay.filters`` is imported here, late, because it is written alongside this module.
    """
    if not isinstance(pattern, str) or not pattern.strip():
        return "a filter needs a non-empty Pattern string"
    from replay.filters import parse_pattern

    try:
        parse_pattern(pattern)
    except ValueError as error:  # FilterPatternError is a ValueError
        return _one_line(str(getattr(error, "detail", "") or ""))
    return None


def _check_metrics(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """ErrorCount and KafkaMetrics are Kafka metrics (model documentation). Text UNCONFIRMED."""
    for metric in doc.get("MetricsConfig", {}).get("Metrics", []):
        if metric != "EventCount" and family not in _KAFKA:
            _fail(
                ctx,
                [("MetricsConfig", "Metrics")],
                _IPVE,
                f"Unsupported metric {metric} for given event source mapping type.",
            )


def _check_rules(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> None:
    """Every cross-field and per-source rule, in the order AWS is most likely to apply them."""
    _check_on_success(doc, ctx)
    _check_consumption_mode(doc, ctx)
    _check_applicability(doc, ctx, family)
    _check_starting_position(doc, ctx, family)
    _check_batching(doc, ctx, family)
    _check_record_age(doc, ctx)
    _check_pollers(doc, ctx, family)
    _check_kafka_provisioned_only(doc, ctx, family)
    _check_destination(doc, ctx, family)
    _check_filters(doc, ctx)
    _check_metrics(doc, ctx, family)


# ---------------------------------------------------------------------------------------------
# Building the EsmConfig (defaults: B1, B2, 1.1, 3, 4, 7)
# ---------------------------------------------------------------------------------------------


def _default_batch_size(kind: SourceKind) -> int:
    """B2: SQS 10; B1: everything else 100."""
    return 10 if kind is SourceKind.SQS else 100


def _window_ms(doc: Mapping[str, Any], kind: SourceKind) -> int:
    """B17/B11: Kafka defaults to 500 ms; any explicit value is whole seconds."""
    seconds = doc.get("MaximumBatchingWindowInSeconds")
    if seconds is None:
        return _KAFKA_DEFAULT_WINDOW_MS if kind is SourceKind.KAFKA else 0
    return round(seconds * 1000)


def _pollers(doc: Mapping[str, Any], family: _Family) -> ProvisionedPollers | None:
    """Provisioned mode, with SQS min 2 / max 200 and Kafka min 1 / max 200 filled in.

    ``ProvisionedPollerConfig: {}`` means on-demand (our reading; UNCONFIRMED).
    """
    pollers = doc.get("ProvisionedPollerConfig")
    if not pollers:
        return None
    return ProvisionedPollers(
        minimum=pollers.get("MinimumPollers", 2 if family is _Family.SQS else 1),
        maximum=pollers.get("MaximumPollers", 200),
        group_name=pollers.get("PollerGroupName") or None,
    )


def _consumer_group_id(
    doc: Mapping[str, Any], family: _Family, esm_uuid: str | None, function_name: str | None
) -> str | None:
    """The given ConsumerGroupId, else a deterministic stand-in for AWS's generated one.

    AWS generates a unique id; the replay uses the ESM's UUID when known, else a UUIDv5 of the
    ESM's identity (function, source, topics), so two runs of one config agree.
    """
    if family not in _KAFKA:
        return None
    block = (
        "SelfManagedKafkaEventSourceConfig"
        if family is _Family.SMK
        else "AmazonManagedKafkaEventSourceConfig"
    )
    given = doc.get(block, {}).get("ConsumerGroupId")
    if given:
        return str(given)
    if esm_uuid:
        return esm_uuid
    servers = (
        doc.get("SelfManagedEventSource", {})
        .get("Endpoints", {})
        .get("KAFKA_BOOTSTRAP_SERVERS", [])
    )
    identity = "|".join(
        [
            function_name or "",
            doc.get("EventSourceArn") or ",".join(servers),
            ",".join(doc.get("Topics", [])),
        ]
    )
    return str(_uuid.uuid5(_GROUP_ID_NAMESPACE, identity))


_PASSTHROUGH_PATHS: tuple[_Path, ...] = (
    ("Tags",),
    ("KMSKeyArn",),
    ("SourceAccessConfigurations",),
    ("LoggingConfig",),
    ("AmazonManagedKafkaEventSourceConfig", "SchemaRegistryConfig"),
    ("SelfManagedKafkaEventSourceConfig", "SchemaRegistryConfig"),
    ("SelfManagedKafkaEventSourceConfig", "ConsumptionMode"),
)


def _passthrough(doc: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for path in _PASSTHROUGH_PATHS:
        node: Any = doc
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            out.append((".".join(str(p) for p in path), json.dumps(node, sort_keys=True)))
    return tuple(out)


def _build(
    doc: Mapping[str, Any],
    ctx: _Ctx,
    family: _Family,
    esm_uuid: str | None,
    function_arn: str | None,
) -> EsmConfig:
    kind = ctx.kind
    function_name = doc.get("FunctionName") or function_arn
    position = doc.get("StartingPosition")
    servers = (
        doc.get("SelfManagedEventSource", {})
        .get("Endpoints", {})
        .get("KAFKA_BOOTSTRAP_SERVERS", [])
    )
    return EsmConfig(
        kind=kind,
        fifo=ctx.fifo,
        kafka_self_managed=family is _Family.SMK,
        function_name=function_name,
        event_source_arn=doc.get("EventSourceArn"),
        uuid=esm_uuid,
        enabled=doc.get("Enabled", True),
        batch_size=doc.get("BatchSize", _default_batch_size(kind)),
        batching_window_ms=_window_ms(doc, kind),
        parallelization_factor=doc.get("ParallelizationFactor", 1),
        starting_position=StartingPosition(position) if position else None,
        starting_position_timestamp_ms=doc.get("StartingPositionTimestamp"),
        maximum_retry_attempts=doc.get("MaximumRetryAttempts", -1),
        maximum_record_age_s=doc.get("MaximumRecordAgeInSeconds", -1),
        bisect_on_error=doc.get("BisectBatchOnFunctionError", False),
        on_failure=_destination(doc),
        report_batch_item_failures="ReportBatchItemFailures"
        in doc.get("FunctionResponseTypes", []),
        tumbling_window_s=doc.get("TumblingWindowInSeconds", 0),
        filter_patterns=tuple(
            f["Pattern"] for f in doc.get("FilterCriteria", {}).get("Filters", [])
        ),
        maximum_concurrency=doc.get("ScalingConfig", {}).get("MaximumConcurrency"),
        provisioned=_pollers(doc, family),
        topics=tuple(doc.get("Topics", ())),
        queues=tuple(doc.get("Queues", ())),
        consumer_group_id=_consumer_group_id(doc, family, esm_uuid, function_name),
        bootstrap_servers=tuple(servers),
        metrics=tuple(doc.get("MetricsConfig", {}).get("Metrics", ())),
        passthrough=_passthrough(doc),
    )


def _to_aws(cfg: EsmConfig) -> dict[str, Any]:
    """EsmConfig → API JSON in a fixed key order (see :meth:`EsmConfig.to_aws`)."""
    stream, kafka = cfg.kind.is_stream, cfg.kind is SourceKind.KAFKA
    out: dict[str, Any] = {}
    if cfg.uuid:
        out["UUID"] = cfg.uuid
    if cfg.function_name:
        key = "FunctionArn" if cfg.function_name.startswith("arn:") else "FunctionName"
        out[key] = cfg.function_name
    if cfg.event_source_arn:
        out["EventSourceArn"] = cfg.event_source_arn
    out["Enabled"] = cfg.enabled
    if cfg.starting_position is not None:
        out["StartingPosition"] = str(cfg.starting_position)
    if cfg.starting_position_timestamp_ms is not None:
        out["StartingPositionTimestamp"] = iso_ms(cfg.starting_position_timestamp_ms)
    out["BatchSize"] = cfg.batch_size
    window = cfg.batching_window_ms / 1000
    out["MaximumBatchingWindowInSeconds"] = int(window) if window.is_integer() else window
    if stream:
        out["ParallelizationFactor"] = cfg.parallelization_factor
    if stream or kafka:
        out["DestinationConfig"] = {
            "OnFailure": {"Destination": cfg.on_failure} if cfg.on_failure else {}
        }
        out["MaximumRecordAgeInSeconds"] = cfg.maximum_record_age_s
        out["BisectBatchOnFunctionError"] = cfg.bisect_on_error
        out["MaximumRetryAttempts"] = cfg.maximum_retry_attempts
    if stream:
        out["TumblingWindowInSeconds"] = cfg.tumbling_window_s
    out["FunctionResponseTypes"] = (
        ["ReportBatchItemFailures"] if cfg.report_batch_item_failures else []
    )
    if cfg.filter_patterns:
        out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in cfg.filter_patterns]}
    if cfg.maximum_concurrency is not None:
        out["ScalingConfig"] = {"MaximumConcurrency": cfg.maximum_concurrency}
    if cfg.provisioned is not None:
        pollers: dict[str, Any] = {
            "MinimumPollers": cfg.provisioned.minimum,
            "MaximumPollers": cfg.provisioned.maximum,
        }
        if cfg.provisioned.group_name:
            pollers["PollerGroupName"] = cfg.provisioned.group_name
        out["ProvisionedPollerConfig"] = pollers
    if cfg.topics:
        out["Topics"] = list(cfg.topics)
    if cfg.queues:
        out["Queues"] = list(cfg.queues)
    if kafka and cfg.kafka_self_managed and cfg.bootstrap_servers:
        out["SelfManagedEventSource"] = {
            "Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": list(cfg.bootstrap_servers)}
        }
    if kafka:
        block = (
            "SelfManagedKafkaEventSourceConfig"
            if cfg.kafka_self_managed
            else "AmazonManagedKafkaEventSourceConfig"
        )
        out[block] = {"ConsumerGroupId": cfg.consumer_group_id} if cfg.consumer_group_id else {}
    if cfg.metrics:
        out["MetricsConfig"] = {"Metrics": list(cfg.metrics)}
    for dotted, text in cfg.passthrough:
        _put(out, dotted.split("."), json.loads(text))
    return out


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def parse_config(
    obj: Any,
    *,
    kind: SourceKind,
    fifo: bool = False,
    where: str = "config",
    uuid: str | None = None,
    overrides: Sequence[str] = (),
    kafka_self_managed: bool | None = None,
    max_filters: int = DEFAULT_MAX_FILTERS,
) -> tuple[EsmConfig, dict[str, Any]]:
    """Parse, default and validate one ESM configuration for a source of ``kind``.

    Args:
        obj: API JSON, Terraform arguments, a list-event-source-mappings / tf.json / terraform show
            document (already parsed), or a path to a JSON/YAML file holding one.
        kind: The captured source's kind.
        fifo: The captured SQS queue is FIFO.
        where: Names the input in error messages (a file name).
        uuid: Picks one ESM out of several (UUID, or Terraform resource name).
        overrides: ``Key=Value`` strings (``--set``), applied before defaults and validation.
        kafka_self_managed: For Kafka, whether the capture is self-managed Apache Kafka (None:
            infer from the configuration, MSK when it does not say).
        max_filters: The account's filters-per-ESM quota (5 by default, up to 10).

    Returns:
        The configuration, and the ``Source.*`` overrides (source settings such as
        ``VisibilityTimeout``, keys without the ``Source.`` prefix).

    Raises:
        ConfigError: the input is unreadable, names an unknown field, or holds a value AWS (or
            the replay) would refuse. The message is one line.
    """
    if not 1 <= max_filters <= _HARD_MAX_FILTERS:
        raise ValueError(f"max_filters must be 1..{_HARD_MAX_FILTERS}, got {max_filters}")
    if fifo and kind is not SourceKind.SQS:
        raise ValueError("fifo applies to SQS sources only")
    if isinstance(obj, os.PathLike) or (
        isinstance(obj, str) and not obj.lstrip().startswith(("{", "["))
    ):
        return load_config(
            obj,
            kind=kind,
            fifo=fifo,
            uuid=uuid,
            overrides=overrides,
            kafka_self_managed=kafka_self_managed,
            max_filters=max_filters,
        )
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where}: not valid JSON: {error.msg}") from None
    ctx = _Ctx(where, kind, fifo, max_filters)
    doc = _unwrap(obj, uuid, where)
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: expected a JSON object (an ESM configuration)")
    esm_uuid = (
        _esm_id(doc) if _is_terraform(doc) else (str(doc["UUID"]) if doc.get("UUID") else None)
    )
    if doc is obj and uuid is not None:
        # A single mapping (not picked out of a list): ``uuid`` must agree with it, or name it.
        if esm_uuid is not None and uuid != esm_uuid:
            raise ConfigError(f"{where}: UUID: {_OWN}: the configuration is {esm_uuid}, not {uuid}")
        esm_uuid = esm_uuid or uuid
    request = _from_terraform(doc, ctx) if _is_terraform(doc) else dict(doc)
    function_arn = request.pop("FunctionArn", None)
    for name in _RESPONSE_ONLY:
        request.pop(name, None)
    request, source = _apply_overrides(request, overrides, ctx)
    clean = _prune(_check_struct(request, _REQUEST, (), ctx))
    family = _resolve_family(clean, ctx, kafka_self_managed if kind is SourceKind.KAFKA else None)
    _check_rules(clean, ctx, family)
    return _build(
        clean, ctx, family, esm_uuid, function_arn if isinstance(function_arn, str) else None
    ), source


def load_config(
    path: str | os.PathLike[str],
    *,
    kind: SourceKind,
    fifo: bool = False,
    uuid: str | None = None,
    overrides: Sequence[str] = (),
    kafka_self_managed: bool | None = None,
    max_filters: int = DEFAULT_MAX_FILTERS,
) -> tuple[EsmConfig, dict[str, Any]]:
    """Read a JSON (or .yaml/.yml) file and :func:`parse_config` it; errors name the file."""
    where = os.fspath(path)
    return parse_config(
        _read_file(path, where),
        kind=kind,
        fifo=fifo,
        where=where,
        uuid=uuid,
        overrides=overrides,
        kafka_self_managed=kafka_self_managed,
        max_filters=max_filters,
    )


def default_config(
    kind: SourceKind,
    *,
    fifo: bool = False,
    starting_position: StartingPosition | None = None,
    kafka_self_managed: bool = False,
) -> EsmConfig:
    """The configuration AWS gives an ESM created with nothing but its function and source.

    Streams and Kafka need a starting position; without one, TRIM_HORIZON is used (every
    captured record is read, whether or not the replay starts before the first one).
    """
    if fifo and kind is not SourceKind.SQS:
        raise ValueError("fifo applies to SQS sources only")
    position = None
    if kind is not SourceKind.SQS:
        position = starting_position or StartingPosition.TRIM_HORIZON
    family = _Family.SMK if kafka_self_managed else _Family.MSK
    return EsmConfig(
        kind=kind,
        fifo=fifo,
        kafka_self_managed=kind is SourceKind.KAFKA and kafka_self_managed,
        function_name=None,
        event_source_arn=None,
        uuid=None,
        enabled=True,
        batch_size=_default_batch_size(kind),
        batching_window_ms=_KAFKA_DEFAULT_WINDOW_MS if kind is SourceKind.KAFKA else 0,
        parallelization_factor=1,
        starting_position=position,
        starting_position_timestamp_ms=None,
        maximum_retry_attempts=-1,
        maximum_record_age_s=-1,
        bisect_on_error=False,
        on_failure=None,
        report_batch_item_failures=False,
        tumbling_window_s=0,
        filter_patterns=(),
        maximum_concurrency=None,
        provisioned=None,
        topics=(),
        queues=(),
        consumer_group_id=_consumer_group_id({}, family, None, None)
        if kind is SourceKind.KAFKA
        else None,
        bootstrap_servers=(),
        metrics=(),
    )


def check_function_fit(
    cfg: EsmConfig,
    *,
    function_timeout_s: float | None,
    visibility_timeout_s: float | None = None,
    where: str = "function",
) -> None:
    """Refuse a function the ESM would not accept (B9, B88).

    B9: an SQS queue's visibility timeout must be at least the function timeout (AWS's text).
    B88: Kafka ESMs support functions with a timeout of at most 14 minutes (text UNCONFIRMED).

    Raises:
        ConfigError: one line, ``<where>: Timeout: InvalidParameterValueException: ...``.
    """
    if function_timeout_s is None:
        return
    timeout = _seconds_text(function_timeout_s)
    sqs = cfg.kind is SourceKind.SQS
    if sqs and visibility_timeout_s is not None and visibility_timeout_s < function_timeout_s:
        raise ConfigError(
            f"{where}: Timeout: {_IPVE}: Queue visibility timeout: "
            f"{_seconds_text(visibility_timeout_s)} seconds is less than Function timeout: "
            f"{timeout} seconds"
        )
    if cfg.kind is SourceKind.KAFKA and function_timeout_s > _MAX_KAFKA_FUNCTION_TIMEOUT_S:
        raise ConfigError(
            f"{where}: Timeout: {_IPVE}: Function timeout {timeout} seconds exceeds the "
            f"{_MAX_KAFKA_FUNCTION_TIMEOUT_S} seconds (14 minutes) supported for Kafka event sources"
        )


def _seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
