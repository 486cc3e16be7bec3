"""Engine options: every behaviour AWS leaves UNCONFIRMED, as a named, documented choice.

ESM-SEMANTICS.md marks a handful of behaviours as undocumented. The engine never hides a guess:
each one is a field here with the most plausible default, its rule id and reason, and the values
taken are written to ``run.json`` under ``choices`` so a reader knows what the replay assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from replay.assignments import closest, split_assignment
from replay.errors import UserError

# Calibrated on K12: one always-failing record with MaximumRecordAgeInSeconds 60 was invoked
# 8 times before AWS discarded it; a Fibonacci schedule in seconds gives exactly that, and then
# settles at one retry a minute.
DEFAULT_BACKOFF_MS = (1000, 2000, 3000, 5000, 8000, 13000, 21000, 34000, 55000, 60000)

_ALLOWED: dict[str, tuple[str, ...]] = {
    "bisect_half_budget": ("fresh", "inherit"),
    "lane_assignment": ("md5",),
    "oversize_record": ("block", "discard"),
    "s3_payload": ("string", "object"),
    "sqs_scaling": ("current", "legacy"),
}


@dataclass(frozen=True)
class EngineOptions:
    """Choices for behaviour AWS does not document (see docs/semantics.md)."""

    retry_backoff_ms: tuple[int, ...] = DEFAULT_BACKOFF_MS
    """Waits before the n-th consecutive retry of a failing lane (last value repeats). 2.2: undocumented."""

    bisect_half_budget: str = "fresh"
    """B35: "fresh" — each half of a bisected batch starts a new retry count; "inherit" — it keeps the parent's."""

    bisect_on_invalid_response: bool = False
    """2.4: bisect only on function errors (exception, timeout); an invalid partial response is retried whole."""

    lane_assignment: str = "md5"
    """B50: ParallelizationFactor lanes by MD5 of the partition/item key modulo the factor."""

    child_after_parent: bool = True
    """2.1: a child shard is read only after its parents are fully processed."""

    tumbling_idle_close_ms: int = 120_000
    """B58: with no new records, a tumbling window is closed this long after its end."""

    oversize_record: str = "block"
    """B97: a single record over the 6 MB invoke payload: "block" (retried like a throttle until it
    ages out) or "discard" (dropped at once with condition RecordAgeExceeded-like reporting)."""

    s3_payload: str = "string"
    """B44: the S3 on-failure record's ``payload`` as an escaped JSON string ("string") or an object."""

    poll_interval_ms: int | None = None
    """2.1: idle polling period per shard; None = Kinesis 1000 ms, DynamoDB 250 ms."""

    startup_gap_ms: int = 0
    """B30: with StartingPosition LATEST, records arriving this long after the start are missed."""

    retention_hours: float | None = None
    """Stream retention; None = the capture's source setting, else Kinesis 24 h, DynamoDB 24 h."""

    sqs_scaling: str = "current"
    """B68: "current" (5 at start, +300 a minute up to 1,250, since 2023-11-06) or "legacy"
    (+60 a minute up to 1,000 batches)."""

    sqs_low_traffic_wait_ms: int = 0
    """B18: with a batching window, a nearly idle queue may hold a batch up to this long (AWS says
    up to 20,000 ms); 0 = the window alone decides."""

    sqs_duplicate_rate: float = 0.0
    """B73: probability that a successfully processed standard-queue message is delivered again
    (at-least-once without errors); seeded, off by default."""

    def describe(self) -> list[dict[str, Any]]:
        """The choices as recorded in run.json: name, value and what it decides."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            out.append(
                {"option": f.name, "value": list(value) if isinstance(value, tuple) else value}
            )
        return out


def parse_option(options: EngineOptions, assignment: str) -> EngineOptions:
    """Apply one ``--option name=value`` to ``options``.

    Raises:
        UserError: unknown option or a value outside what it allows.
    """
    known = [f.name for f in fields(options)]
    pair = split_assignment(assignment)
    name, raw = (pair[0].replace("-", "_"), pair[1]) if pair else ("", "")
    if name not in known:
        guess = closest(name, known) if name else None
        hint = f"; did you mean {guess}?" if guess else ""
        raise UserError(
            f"--option {assignment!r}: expected NAME=VALUE with NAME one of {', '.join(known)}"
            + hint
        )
    current = getattr(options, name)
    value: Any
    try:
        if isinstance(current, bool):
            if raw.lower() not in ("true", "false"):
                raise ValueError
            value = raw.lower() == "true"
        elif isinstance(current, tuple):
            value = tuple(int(v) for v in raw.split(",") if v.strip())
            if not value or min(value) < 0:
                raise ValueError
        elif name in ("poll_interval_ms",):
            value = None if raw.lower() in ("", "none") else int(raw)
        elif name == "retention_hours":
            value = None if raw.lower() in ("", "none") else float(raw)
        elif isinstance(current, float):
            value = float(raw)
            if not 0 <= value <= 1:
                raise ValueError
        elif isinstance(current, int):
            value = int(raw)
        else:
            value = raw
    except ValueError:
        raise UserError(
            f"--option {name}: {raw!r} is not a valid {type(current).__name__}"
        ) from None
    allowed = _ALLOWED.get(name)
    if allowed and value not in allowed:
        raise UserError(
            f"--option {name}: {raw!r} is not allowed; choose one of {', '.join(allowed)}"
        )
    return replace(options, **{name: value})
