"""The resolved ESM configuration: :class:`EsmConfig` and its parts, and their AWS JSON form.

These frozen dataclasses are what the engine reads. They are built by :mod:`replay.config.read`
(through the defaults of :mod:`replay.config.defaults`) and never hold ``None`` where AWS has a
default; :meth:`EsmConfig.to_aws` writes them back as GetEventSourceMapping-like JSON that
``parse_config`` reads back to an equal configuration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from replay.config.families import _arn_service
from replay.timeutil import iso_ms
from replay.vocabulary import SourceKind

if TYPE_CHECKING:
    # Imported late where it runs: replay.filters loads numpy, and reading a configuration
    # (a capture agent does) should not.
    from replay.filters import FilterSet


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
    parsed_filters: FilterSet | None = field(default=None, compare=False, repr=False)
    """``filter_patterns`` as compiled while the configuration was validated (A06); a cache for
    :attr:`filter_set`, not a setting: no part of equality, ``repr`` or ``to_aws``."""

    @cached_property
    def filter_set(self) -> FilterSet:
        """The compiled FilterCriteria (B52–B54), for the engine.

        ``parse_config`` already compiled the patterns to validate them (A06); they are reused,
        not parsed again. A configuration made otherwise (or copied with other
        ``filter_patterns``) compiles its patterns here, once.
        """
        given = self.parsed_filters
        if given is not None and tuple(p.source for p in given.patterns) == self.filter_patterns:
            return given
        from replay.filters import FilterSet

        return FilterSet.from_texts(self.filter_patterns)

    def __getstate__(self) -> dict[str, Any]:
        # Compiled patterns hold closures, which cannot be pickled (a sweep's worker processes):
        # drop them; the copy compiles its patterns again when it needs them.
        state = dict(self.__dict__)
        state.pop("filter_set", None)
        state["parsed_filters"] = None
        return state

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
        stream, kafka = self.kind.is_stream, self.kind is SourceKind.KAFKA
        out: dict[str, Any] = {}
        if self.uuid:
            out["UUID"] = self.uuid
        if self.function_name:
            key = "FunctionArn" if self.function_name.startswith("arn:") else "FunctionName"
            out[key] = self.function_name
        if self.event_source_arn:
            out["EventSourceArn"] = self.event_source_arn
        out["Enabled"] = self.enabled
        if self.starting_position is not None:
            out["StartingPosition"] = str(self.starting_position)
        if self.starting_position_timestamp_ms is not None:
            out["StartingPositionTimestamp"] = iso_ms(self.starting_position_timestamp_ms)
        out["BatchSize"] = self.batch_size
        window = self.batching_window_ms / 1000
        out["MaximumBatchingWindowInSeconds"] = int(window) if window.is_integer() else window
        if stream:
            out["ParallelizationFactor"] = self.parallelization_factor
        if stream or kafka:
            out["DestinationConfig"] = {
                "OnFailure": {"Destination": self.on_failure} if self.on_failure else {}
            }
            out["MaximumRecordAgeInSeconds"] = self.maximum_record_age_s
            out["BisectBatchOnFunctionError"] = self.bisect_on_error
            out["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if stream:
            out["TumblingWindowInSeconds"] = self.tumbling_window_s
        out["FunctionResponseTypes"] = (
            ["ReportBatchItemFailures"] if self.report_batch_item_failures else []
        )
        if self.filter_patterns:
            out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filter_patterns]}
        if self.maximum_concurrency is not None:
            out["ScalingConfig"] = {"MaximumConcurrency": self.maximum_concurrency}
        if self.provisioned is not None:
            pollers: dict[str, Any] = {
                "MinimumPollers": self.provisioned.minimum,
                "MaximumPollers": self.provisioned.maximum,
            }
            if self.provisioned.group_name:
                pollers["PollerGroupName"] = self.provisioned.group_name
            out["ProvisionedPollerConfig"] = pollers
        if self.topics:
            out["Topics"] = list(self.topics)
        if self.queues:
            out["Queues"] = list(self.queues)
        if kafka and self.kafka_self_managed and self.bootstrap_servers:
            out["SelfManagedEventSource"] = {
                "Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": list(self.bootstrap_servers)}
            }
        if kafka:
            block = (
                "SelfManagedKafkaEventSourceConfig"
                if self.kafka_self_managed
                else "AmazonManagedKafkaEventSourceConfig"
            )
            group = self.consumer_group_id
            out[block] = {"ConsumerGroupId": group} if group else {}
        if self.metrics:
            out["MetricsConfig"] = {"Metrics": list(self.metrics)}
        for dotted, text in self.passthrough:
            parts = dotted.split(".")
            _parent(out, parts)[parts[-1]] = json.loads(text)
        return out


def _parent(doc: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    """The object that holds ``path[-1]``, its ancestors created (or replaced, when not objects)."""
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    return node
