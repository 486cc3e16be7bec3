"""The function model's data: a handler reference and/or declarative behaviour (duration, faults,
throttle periods) plus the Lambda settings a replay uses, and how an invocation attempt ends."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_TIMEOUT_S = 3.0  # Lambda's default function timeout
DEFAULT_MEMORY_MB = 128


class InvokeResult(StrEnum):
    """How one invocation attempt ended, as the ESM sees it."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    PARTIAL = "partial"
    INVALID = "invalid-response"


@dataclass(frozen=True)
class Duration:
    """Virtual time an invocation takes: ``base_ms + per_record_ms * records + per_kb_ms * kB``."""

    base_ms: float = 20.0
    per_record_ms: float = 0.5
    per_kb_ms: float = 0.0

    def of(self, records: int, nbytes: int) -> int:
        """Duration in whole milliseconds (rounded up, at least 1)."""
        ms = self.base_ms + self.per_record_ms * records + self.per_kb_ms * nbytes / 1024
        return max(1, math.ceil(ms))


@dataclass(frozen=True)
class Fault:
    """One fault rule of a declarative model.

    Attributes:
        when: SQL predicate over capture columns (DuckDB); None means "any batch".
        error: a batch holding a matching record raises (function error ``Unhandled``).
        report: matching records are returned in ``batchItemFailures``.
        timeout: a batch holding a matching record runs until the function timeout.
        probability: the rule fires only with this probability per invocation (seeded).
        times: the rule applies to a record's first ``times`` deliveries only (transient).
        extra_ms: virtual time added to the invocation per matching record.
        from_ms: the rule applies only to invocations starting at or after this instant (a
            regression deployed then).
        to_ms: the rule applies only to invocations starting before this instant (the fix
            deployed then: the next invocation runs the new code, as in recorded case S13).
    """

    when: str | None = None
    error: str | None = None
    report: bool = False
    timeout: bool = False
    probability: float | None = None
    times: int | None = None
    extra_ms: float = 0.0
    from_ms: int | None = None
    to_ms: int | None = None

    def active(self, now_ms: int | None) -> bool:
        """Whether the rule applies to an invocation starting at ``now_ms`` (S13: a new function
        version takes every invocation that starts after the update)."""
        if now_ms is None:
            return True
        if self.from_ms is not None and now_ms < self.from_ms:
            return False
        return self.to_ms is None or now_ms < self.to_ms


@dataclass(frozen=True)
class ThrottlePeriod:
    """A span of virtual time during which every invocation is throttled (before invocation)."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class FunctionModel:
    """The whole function model: handler and/or declarative behaviour plus Lambda settings."""

    handler: str | None = None
    name: str | None = None
    timeout_s: float | None = None
    memory_mb: int | None = None
    duration: Duration = field(default_factory=Duration)
    reserved_concurrency: int | None = None
    faults: tuple[Fault, ...] = ()
    throttles: tuple[ThrottlePeriod, ...] = ()
    source: str = "default"

    def to_json(self) -> dict[str, Any]:
        """The model as recorded in run.json."""
        return {
            "source": self.source,
            "handler": self.handler,
            "name": self.name,
            "timeout_s": self.timeout_s,
            "memory_mb": self.memory_mb,
            "duration": {
                "base_ms": self.duration.base_ms,
                "per_record_ms": self.duration.per_record_ms,
                "per_kb_ms": self.duration.per_kb_ms,
            },
            "reserved_concurrency": self.reserved_concurrency,
            "faults": [
                {k: v for k, v in vars(f).items() if v not in (None, False, 0.0)}
                for f in self.faults
            ],
            "throttles": [{"start_ms": t.start_ms, "end_ms": t.end_ms} for t in self.throttles],
        }
