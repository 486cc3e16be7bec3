"""How well a run reproduced production's failure records (capture ``observed/failures.jsonl``):
matched one to one with the run's destinations.jsonl by shard and overlapping range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay.analysis.query import run_capture_path
from replay.formats.failures import FailureRecord, observed_failures, read_failures
from replay.formats.runfiles import RunResult


@dataclass(frozen=True)
class Calibration:
    """How well one run reproduced production's failure records (matched by shard + range)."""

    observed: int
    produced: int
    matched: int
    missed: int
    extra: int

    @property
    def agreement(self) -> float:
        """matched / (matched + missed + extra), as a percentage (100 when both are empty)."""
        total = self.matched + self.missed + self.extra
        return 100.0 if total == 0 else round(100.0 * self.matched / total, 1)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "observed": self.observed,
            "produced": self.produced,
            "matched": self.matched,
            "missed": self.missed,
            "extra": self.extra,
            "agreement_pct": self.agreement,
        }


def _bound(seq: str | None) -> int | str | None:
    if seq is None:
        return None
    return int(seq) if seq.isdigit() else seq


def _overlaps(a: FailureRecord, b: FailureRecord) -> bool:
    if a.shard is None and b.shard is None:  # SQS dead-letter messages: the same message
        return a.message_id is not None and a.message_id == b.message_id
    if a.shard != b.shard:
        return False
    a0, a1, b0, b1 = (_bound(x) for x in (a.first_seq, a.last_seq, b.first_seq, b.last_seq))
    if any(x is None for x in (a0, a1, b0, b1)):
        return False
    if all(isinstance(x, int) for x in (a0, a1, b0, b1)):
        return a0 <= b1 and b0 <= a1  # type: ignore[operator]
    return (a0, a1) == (b0, b1)


def calibrate(observed: Sequence[FailureRecord], produced: Sequence[FailureRecord]) -> Calibration:
    """Match production's failure records to a run's, one to one, by shard and overlapping range.

    Kinesis/DynamoDB sequence numbers and Kafka offsets compare as integers, so a bisect that cut a
    batch differently still matches the record it isolated; SQS dead-letter messages match by id.
    """
    used = [False] * len(produced)
    matched = 0
    for obs in observed:
        for j, rec in enumerate(produced):
            if not used[j] and _overlaps(obs, rec):
                used[j] = True
                matched += 1
                break
    return Calibration(
        observed=len(observed),
        produced=len(produced),
        matched=matched,
        missed=len(observed) - matched,
        extra=len(produced) - matched,
    )


def run_calibration(run: RunResult) -> Calibration | None:
    """Calibration of a run against its capture's observed failures; None when there are none."""
    observed = observed_failures(run_capture_path(run.path, run.meta))
    if observed is None:
        return None
    produced = read_failures(Path(run.path) / "destinations.jsonl")
    return calibrate(observed, produced)
