"""The cross-field and per-source rules — the ``InvalidParameterValueException`` layer.

A value can fit the request shape and still be refused: OnSuccess destinations (A04), a parameter
the source type does not support (B8), StartingPosition (A05, B10), batching (B3/A03, B4, B5,
B78), record age (B6), provisioned pollers (B70), Kafka's provisioned-only controls (B82),
destinations (B85), filters (A06) and metrics. The texts are AWS's where they are recorded and
marked UNCONFIRMED where they are not. :func:`check_function_fit` applies the rules that need the
function and the queue as well (B9, B88).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from replay.config.check import _destination, _present
from replay.config.defaults import _DEFAULTS
from replay.config.families import _APPLIES, _KAFKA, _arn_service, _Family
from replay.config.messages import _IPVE, _OWN, _Ctx, _fail, _one_line, _Path
from replay.config.model import EsmConfig, StartingPosition
from replay.errors import ConfigError
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    # Imported late where it runs: replay.filters loads numpy, needed only by configurations
    # that filter.
    from replay.filters import FilterSet, Pattern

DEFAULT_MAX_FILTERS = 5
"""Filters per ESM (1.1: default quota 5, raisable to 10 on request)."""

_HARD_MAX_FILTERS = 10
_MAX_KAFKA_FUNCTION_TIMEOUT_S = 840


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
    defaults = _DEFAULTS[family]
    batch = doc.get("BatchSize", defaults.batch_size)
    window = doc.get("MaximumBatchingWindowInSeconds", defaults.batching_window_s)
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
    defaults = _DEFAULTS[family]
    minimum = pollers.get("MinimumPollers", defaults.minimum_pollers)
    maximum = pollers.get("MaximumPollers", defaults.maximum_pollers)
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
    on_demand = _DEFAULTS[family]  # the defaults are the on-demand behaviour
    neutral_values: tuple[tuple[str, object], ...] = (
        ("MaximumRetryAttempts", on_demand.maximum_retry_attempts),
        ("MaximumRecordAgeInSeconds", on_demand.maximum_record_age_s),
        ("BisectBatchOnFunctionError", on_demand.bisect_on_error),
        ("FunctionResponseTypes", []),
    )
    for name, neutral in neutral_values:
        if doc.get(name, neutral) != neutral:
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


def _check_filters(doc: Mapping[str, Any], ctx: _Ctx) -> FilterSet | None:
    """A06: each pattern must parse as a filter rule; at most ``max_filters`` filters (1.1).

    ``{"Filters": []}`` is accepted (A06). Returns the compiled patterns, for the engine, or
    None when there are none.
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
    if not filters:
        return None
    from replay.filters import FilterSet

    compiled: list[Pattern] = []
    for index, item in enumerate(filters):
        pattern = _compile_pattern(item.get("Pattern"))
        if isinstance(pattern, str):
            detail = f" ({pattern})" if pattern else ""
            _fail(
                ctx,
                [("FilterCriteria", "Filters", index, "Pattern")],
                _IPVE,
                f"Invalid filter pattern definition.{detail}",
            )
        compiled.append(pattern)
    return FilterSet(tuple(compiled))


def _compile_pattern(pattern: Any) -> Pattern | str:
    """The pattern as ``replay.filters`` compiles it, else why it refuses ("" when it does not say)."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "a filter needs a non-empty Pattern string"
    from replay.filters import parse_pattern

    try:
        return parse_pattern(pattern)
    except ValueError as error:  # FilterPatternError is a ValueError
        return _one_line(str(getattr(error, "detail", "") or ""))


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


def _check_rules(doc: Mapping[str, Any], ctx: _Ctx, family: _Family) -> FilterSet | None:
    """Every cross-field and per-source rule, in the order AWS is most likely to apply them.

    Returns the filter patterns as :func:`_check_filters` compiled them (None: no filters).
    """
    _check_on_success(doc, ctx)
    _check_consumption_mode(doc, ctx)
    _check_applicability(doc, ctx, family)
    _check_starting_position(doc, ctx, family)
    _check_batching(doc, ctx, family)
    _check_record_age(doc, ctx)
    _check_pollers(doc, ctx, family)
    _check_kafka_provisioned_only(doc, ctx, family)
    _check_destination(doc, ctx, family)
    filters = _check_filters(doc, ctx)
    _check_metrics(doc, ctx, family)
    return filters


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
