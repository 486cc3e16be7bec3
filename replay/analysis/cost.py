"""What a run's invocations would cost on Lambda: billed GB-seconds, requests and their price.

Only attempts that reached the function are billed (``NOT_INVOKED`` ones are not); compare, the
sweep results and the report show the same figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from replay.formats.runfiles import RunResult
from replay.vocabulary import NOT_INVOKED


@dataclass(frozen=True)
class Prices:
    """Lambda prices used for the cost estimate (USD).

    Defaults: on-demand x86 in us-east-1, first duration tier ($0.0000166667 per GB-second) and
    $0.20 per million requests; no free tier, no Savings Plans, no ephemeral storage. Billed
    duration is the simulated invocation time in whole milliseconds.
    """

    gb_second: float = 0.0000166667
    per_million_requests: float = 0.20

    def to_json(self) -> dict[str, Any]:
        """The assumptions, as printed with ``--format json``."""
        return {
            "usd_per_gb_second": self.gb_second,
            "usd_per_million_requests": self.per_million_requests,
            "basis": "on-demand, no free tier; billed duration = simulated duration in whole ms",
        }


DEFAULT_PRICES = Prices()


@dataclass(frozen=True)
class Cost:
    """Billed GB-seconds, requests and their price for one run."""

    gb_seconds: float
    requests: int
    usd: float


def estimate_cost(run: RunResult, prices: Prices = DEFAULT_PRICES) -> Cost:
    """GB-s (memory × simulated durations) and requests of the attempts that reached the function."""
    inv = run.invocations
    invoked = inv.filter(pc.invert(pc.is_in(inv.column("result"), pa.array(NOT_INVOKED))))
    starts = invoked.column("start").cast(pa.int64()).to_numpy()
    ends = invoked.column("end").cast(pa.int64()).to_numpy()
    memory_mb = ((run.meta.get("function") or {}).get("resolved") or {}).get("memory_mb") or 128
    gb_s = float(memory_mb) / 1024 * float((ends - starts).sum()) / 1000
    requests = invoked.num_rows
    usd = gb_s * prices.gb_second + requests / 1e6 * prices.per_million_requests
    return Cost(round(gb_s, 3), requests, round(usd, 6))
