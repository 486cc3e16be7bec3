"""Defaults and building the :class:`EsmConfig` (B1, B2, B11, B17, ESM-SEMANTICS 1.1, 3, 4, 7).

:data:`_DEFAULTS` is the one statement of what AWS fills in for an omitted field, per source
family. :func:`_build` reads it to turn a checked document into an :class:`EsmConfig`, the rules of
:mod:`replay.config.constraints` read it where a check depends on a value the document may leave out,
and :func:`default_config` is :func:`_build` of an empty document.
"""

from __future__ import annotations

import json
import uuid as _uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from replay.config.check import _destination
from replay.config.families import _KAFKA, _Family, _family_of
from replay.config.messages import _Path
from replay.config.model import EsmConfig, ProvisionedPollers, StartingPosition
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    from replay.filters import FilterSet

_GROUP_ID_NAMESPACE = _uuid.UUID("6f1c5c3e-3f0e-4b8a-9a57-0d1f3c1e5a11")


@dataclass(frozen=True)
class _Defaults:
    """What AWS fills in for the fields an ESM of one family was created without."""

    batch_size: int
    """``BatchSize``: B2 (SQS) 10; B1 everything else 100."""
    batching_window_s: float
    """``MaximumBatchingWindowInSeconds``: B17/B11 Kafka 0.5 (500 ms), everything else 0."""
    minimum_pollers: int
    """``ProvisionedPollerConfig.MinimumPollers``: SQS 2, Kafka 1 (streams have no pollers)."""
    maximum_pollers: int = 200
    """``ProvisionedPollerConfig.MaximumPollers``."""
    enabled: bool = True
    parallelization_factor: int = 1
    maximum_retry_attempts: int = -1
    """−1: retry until the record expires (streams), or for ever (Kafka on demand)."""
    maximum_record_age_s: int = -1
    bisect_on_error: bool = False
    tumbling_window_s: int = 0


_STREAM_DEFAULTS = _Defaults(batch_size=100, batching_window_s=0, minimum_pollers=1)
_KAFKA_DEFAULTS = _Defaults(batch_size=100, batching_window_s=0.5, minimum_pollers=1)
_DEFAULTS: dict[_Family, _Defaults] = {
    _Family.KINESIS: _STREAM_DEFAULTS,
    _Family.DYNAMODB: _STREAM_DEFAULTS,
    _Family.SQS: _Defaults(batch_size=10, batching_window_s=0, minimum_pollers=2),
    _Family.MSK: _KAFKA_DEFAULTS,
    _Family.SMK: _KAFKA_DEFAULTS,
}


def _window_ms(doc: Mapping[str, Any], defaults: _Defaults) -> int:
    """B17/B11: Kafka defaults to 500 ms; any explicit value is whole seconds."""
    seconds = doc.get("MaximumBatchingWindowInSeconds", defaults.batching_window_s)
    return round(seconds * 1000)


def _pollers(doc: Mapping[str, Any], defaults: _Defaults) -> ProvisionedPollers | None:
    """Provisioned mode, with SQS min 2 / max 200 and Kafka min 1 / max 200 filled in.

    ``ProvisionedPollerConfig: {}`` means on-demand (our reading; UNCONFIRMED).
    """
    pollers = doc.get("ProvisionedPollerConfig")
    if not pollers:
        return None
    return ProvisionedPollers(
        minimum=pollers.get("MinimumPollers", defaults.minimum_pollers),
        maximum=pollers.get("MaximumPollers", defaults.maximum_pollers),
        group_name=pollers.get("PollerGroupName") or None,
    )


def _bootstrap_servers(doc: Mapping[str, Any]) -> list[str]:
    """Self-managed Kafka's ``KAFKA_BOOTSTRAP_SERVERS``, or []."""
    endpoints = doc.get("SelfManagedEventSource", {}).get("Endpoints", {})
    servers: list[str] = endpoints.get("KAFKA_BOOTSTRAP_SERVERS", [])
    return servers


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
    identity = "|".join(
        [
            function_name or "",
            doc.get("EventSourceArn") or ",".join(_bootstrap_servers(doc)),
            ",".join(doc.get("Topics", [])),
        ]
    )
    return str(_uuid.uuid5(_GROUP_ID_NAMESPACE, identity))


# Accepted fields the simulation does not use, kept (as canonical JSON) for ``to_aws``.
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
    *,
    kind: SourceKind,
    fifo: bool,
    family: _Family,
    esm_uuid: str | None,
    function_arn: str | None,
    filters: FilterSet | None,
) -> EsmConfig:
    """A checked document as an :class:`EsmConfig`, every omitted field from :data:`_DEFAULTS`.

    ``filters`` are the document's patterns as the rules compiled them (A06), handed on so the
    engine does not parse them again (None: the document has none).
    """
    defaults = _DEFAULTS[family]
    function_name = doc.get("FunctionName") or function_arn
    position = doc.get("StartingPosition")
    return EsmConfig(
        kind=kind,
        fifo=fifo,
        kafka_self_managed=family is _Family.SMK,
        function_name=function_name,
        event_source_arn=doc.get("EventSourceArn"),
        uuid=esm_uuid,
        enabled=doc.get("Enabled", defaults.enabled),
        batch_size=doc.get("BatchSize", defaults.batch_size),
        batching_window_ms=_window_ms(doc, defaults),
        parallelization_factor=doc.get("ParallelizationFactor", defaults.parallelization_factor),
        starting_position=StartingPosition(position) if position else None,
        starting_position_timestamp_ms=doc.get("StartingPositionTimestamp"),
        maximum_retry_attempts=doc.get("MaximumRetryAttempts", defaults.maximum_retry_attempts),
        maximum_record_age_s=doc.get("MaximumRecordAgeInSeconds", defaults.maximum_record_age_s),
        bisect_on_error=doc.get("BisectBatchOnFunctionError", defaults.bisect_on_error),
        on_failure=_destination(doc),
        report_batch_item_failures="ReportBatchItemFailures"
        in doc.get("FunctionResponseTypes", []),
        tumbling_window_s=doc.get("TumblingWindowInSeconds", defaults.tumbling_window_s),
        filter_patterns=tuple(
            f["Pattern"] for f in doc.get("FilterCriteria", {}).get("Filters", [])
        ),
        maximum_concurrency=doc.get("ScalingConfig", {}).get("MaximumConcurrency"),
        provisioned=_pollers(doc, defaults),
        topics=tuple(doc.get("Topics", ())),
        queues=tuple(doc.get("Queues", ())),
        consumer_group_id=_consumer_group_id(doc, family, esm_uuid, function_name),
        bootstrap_servers=tuple(_bootstrap_servers(doc)),
        metrics=tuple(doc.get("MetricsConfig", {}).get("Metrics", ())),
        passthrough=_passthrough(doc),
        parsed_filters=filters,
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
    doc: dict[str, Any] = {}
    if kind is not SourceKind.SQS:
        doc["StartingPosition"] = str(starting_position or StartingPosition.TRIM_HORIZON)
    return _build(
        doc,
        kind=kind,
        fifo=fifo,
        family=_family_of(kind, kafka_self_managed),
        esm_uuid=None,
        function_arn=None,
        filters=None,
    )
