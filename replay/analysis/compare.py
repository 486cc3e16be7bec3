"""Side-by-side outcomes of several runs: the figures an on-call engineer compares first.

:func:`compare` builds one table, a column per run: configuration highlights (and every field the
runs disagree on), records by disposition and reason, deliveries per record, invocations by result,
on-failure records, iterator age and latency percentiles, blocked time per shard or group, an
estimated cost, the first record whose fate differs (by arrival order) and, when the capture holds
production's failure records, how well each run reproduced them (:func:`calibrate`).

Rows carry both display text and raw values, so the CLI prints a table, ``--format json`` prints the
raw figures, and the demo and the TUI render the same rows without recomputing anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from replay.analysis.query import run_capture_path
from replay.analysis.text import duration, usd
from replay.formats.failures import FailureRecord, observed_failures, read_failures
from replay.formats.runfiles import RunResult
from replay.timeutil import iso_ms

# Results of attempts that never reached the function: not billed, not deliveries.
NOT_INVOKED = ("throttled", "rejected")

CONFIG_HIGHLIGHTS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
)


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


@dataclass(frozen=True)
class ComparisonRow:
    """One line of a comparison: a figure and its value in each run.

    ``values`` are display text (or plain numbers); ``raw`` are the same figures as JSON-able
    numbers (milliseconds, counts, USD) and ``key`` a stable machine name, for ``--format json``.
    """

    label: str
    values: tuple[Any, ...]
    key: str = ""
    raw: tuple[Any, ...] = ()

    @property
    def differs(self) -> bool:
        """True when the runs disagree on this figure."""
        return len(set(map(str, self.values))) > 1


@dataclass(frozen=True)
class Divergence:
    """The first record (by arrival) whose fate or delivery count is not the same in every run."""

    shard: str
    seq: str
    pos: int
    arrival_ms: int | None
    order: str  # "arrival", or "capture" when the capture could not be read
    fates: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "shard": self.shard,
            "seq": self.seq,
            "pos": self.pos,
            "arrival": None if self.arrival_ms is None else iso_ms(self.arrival_ms),
            "order": self.order,
            "fates": list(self.fates),
        }


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


@dataclass(frozen=True)
class Comparison:
    """The whole comparison: rows, first divergence and calibration."""

    names: tuple[str, ...]
    rows: list[ComparisonRow]
    divergence: Divergence | None
    calibration: tuple[Calibration | None, ...] | None
    prices: Prices = field(default_factory=Prices)

    def to_json(self) -> dict[str, Any]:
        """The document ``esm-replay compare --format json`` prints."""
        return {
            "runs": list(self.names),
            "prices": self.prices.to_json(),
            "rows": [
                {
                    "key": r.key,
                    "label": r.label.strip(),
                    "values": list(r.raw) if r.raw else list(r.values),
                    "display": [str(v) for v in r.values],
                    "differs": r.differs,
                }
                for r in self.rows
            ],
            "first_divergence": None if self.divergence is None else self.divergence.to_json(),
            "calibration": None
            if self.calibration is None
            else [None if c is None else c.to_json() for c in self.calibration],
        }


# ---------------------------------------------------------------------- cost
@dataclass(frozen=True)
class Cost:
    """Billed GB-seconds, requests and their price for one run."""

    gb_seconds: float
    requests: int
    usd: float


def estimate_cost(run: RunResult, prices: Prices = Prices()) -> Cost:
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


# ---------------------------------------------------------------------- divergence
def _capture_arrivals(run: RunResult) -> pa.Table | None:
    cap = run_capture_path(run.path, run.meta)
    if cap is None:
        return None
    files = sorted((cap / "records").glob("*.parquet"))
    table = pa.concat_tables(
        pq.read_table(f, columns=["shard", "seq", "pos", "arrival"]) for f in files
    )
    return table.sort_by([("shard", "ascending"), ("pos", "ascending")])


def _fate(disposition: str, reason: str | None, deliveries: int) -> str:
    why = f" ({reason})" if reason else ""
    times = "1 delivery" if deliveries == 1 else f"{deliveries} deliveries"
    return f"{disposition}{why}, {times}"


def first_divergence(runs: Sequence[RunResult]) -> Divergence | None:
    """The first record, by arrival, whose (disposition, reason, deliveries) differs between runs.

    Records are matched by (shard, seq). A record missing from a run counts as a difference.
    Arrival comes from the capture; without it, capture order (position, then shard) stands in.
    """
    if len(runs) < 2:
        return None
    base = runs[0].records
    keys = [_keys(r.records) for r in runs]
    aligned = [_align(keys[0], k, r.records) for k, r in zip(keys, runs, strict=True)]
    disp = [a[0] for a in aligned]
    reason = [a[1] for a in aligned]
    deliv = [a[2] for a in aligned]
    differ = np.zeros(base.num_rows, dtype=bool)
    for i in range(1, len(runs)):
        differ |= (disp[i] != disp[0]) | (reason[i] != reason[0]) | (deliv[i] != deliv[0])
    if not differ.any():
        return None
    arrivals = _capture_arrivals(runs[0])
    pos = base.column("pos").to_numpy()
    shard_rank = np.unique(
        base.column("shard").to_numpy(zero_copy_only=False), return_inverse=True
    )[1]
    if (
        arrivals is not None
        and arrivals.num_rows == base.num_rows
        and arrivals.column("seq").equals(base.column("seq"))
    ):
        arrival = arrivals.column("arrival").cast(pa.int64()).to_numpy()
        order, how = np.lexsort((pos, shard_rank, arrival)), "arrival"
    else:
        arrival, order, how = None, np.lexsort((shard_rank, pos)), "capture"
    first = int(order[np.flatnonzero(differ[order])[0]])
    fates = tuple(
        "absent"
        if disp[i][first] == ""
        else _fate(disp[i][first], reason[i][first] or None, int(deliv[i][first]))
        for i in range(len(runs))
    )
    return Divergence(
        shard=str(base.column("shard")[first].as_py()),
        seq=str(base.column("seq")[first].as_py()),
        pos=int(pos[first]),
        arrival_ms=None if arrival is None else int(arrival[first]),
        order=how,
        fates=fates,
    )


def _keys(records: pa.Table) -> np.ndarray:
    shard = records.column("shard").to_numpy(zero_copy_only=False).astype(str)
    seq = records.column("seq").to_numpy(zero_copy_only=False).astype(str)
    return np.char.add(np.char.add(shard, "\x00"), seq)


def _align(
    base: np.ndarray, keys: np.ndarray, records: pa.Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(disposition, reason, deliveries) of ``records`` in the order of ``base`` ("" when absent)."""
    disp = records.column("disposition").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    reason = records.column("reason").fill_null("").to_numpy(zero_copy_only=False).astype(str)
    deliv = records.column("deliveries").to_numpy().astype(np.int64)
    if len(keys) == len(base) and (keys == base).all():
        return disp, reason, deliv
    if not len(keys):
        n = len(base)
        return np.full(n, "", dtype=object), np.full(n, "", dtype=object), np.full(n, -1)
    order = np.argsort(keys, kind="stable")
    at = np.clip(np.searchsorted(keys[order], base), 0, len(keys) - 1)
    idx = order[at]
    found = keys[idx] == base
    return (
        np.where(found, disp[idx], ""),
        np.where(found, reason[idx], ""),
        np.where(found, deliv[idx], -1),
    )


# ---------------------------------------------------------------------- calibration
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


# ---------------------------------------------------------------------- the table
def compare(
    runs: Sequence[RunResult], names: Sequence[str] | None = None, prices: Prices = Prices()
) -> Comparison:
    """The comparison of ``runs`` (same capture, different configurations or functions)."""
    names = tuple(names) if names is not None else tuple(r.path.name for r in runs)
    rows: list[ComparisonRow] = []
    sums = [r.summary for r in runs]

    def add(key: str, label: str, display: Sequence[Any], raw: Sequence[Any] | None = None) -> None:
        rows.append(
            ComparisonRow(label, tuple(display), key, tuple(raw if raw is not None else display))
        )

    def add_ms(key: str, label: str, values: Sequence[int | None]) -> None:
        add(key, label, [duration(v) for v in values], list(values))

    _config_rows(runs, add)
    add("records", "records", [s["records"] for s in sums])
    pairs = [_disposition_reasons(r.records) for r in runs]
    for disp in ("processed", "filtered", "discarded", "dead-lettered", "unprocessed"):
        counts = [int(s["dispositions"].get(disp, 0)) for s in sums]
        if disp in ("processed", "discarded", "filtered", "dead-lettered") or any(counts):
            add(f"dispositions.{disp}", f"  {disp}", counts)
        for reason in sorted({why for p in pairs for (d, why) in p if d == disp and why}):
            add(
                f"reasons.{disp}.{reason}",
                f"    {reason}",
                [p.get((disp, reason), 0) for p in pairs],
            )
    _delivery_rows(runs, sums, add)
    add("invocations", "invocations", [s["invocations"] for s in sums])
    for result in sorted({r for s in sums for r in s["results"]}):
        add(f"results.{result}", f"  {result}", [s["results"].get(result, 0) for s in sums])
    add("destination_records", "destination records", [s["destination_records"] for s in sums])
    for stat in ("max", "p50", "p99"):
        add_ms(
            f"iterator_age_ms.{stat}",
            f"iterator age {stat}",
            [s["iterator_age_ms"][stat] for s in sums],
        )
    for stat in ("p50", "p99"):
        add_ms(f"latency_ms.{stat}", f"latency {stat}", [s["latency_ms"][stat] for s in sums])
    add_ms("blocked_ms", "time blocked", [s["blocked_ms"] for s in sums])
    for shard in sorted({sh for s in sums for sh in s["shards"]}):
        add_ms(
            f"blocked_ms.{shard}",
            f"  {shard}",
            [s["shards"].get(shard, {}).get("blocked_ms") for s in sums],
        )
    _group_rows(sums, add, add_ms)
    costs = [estimate_cost(r, prices) for r in runs]
    add(
        "cost.gb_seconds",
        "GB-seconds",
        [f"{c.gb_seconds:,.1f}" for c in costs],
        [c.gb_seconds for c in costs],
    )
    add("cost.requests", "requests", [c.requests for c in costs])
    add("cost.usd", "estimated cost", [usd(c.usd) for c in costs], [c.usd for c in costs])
    divergence = first_divergence(runs)
    if divergence is not None:
        # SHARD#POS is short and is what `esm-replay explain --record` takes; JSON has the seq.
        where = f"{divergence.shard}#{divergence.pos}"
        add("divergence.record", "first divergence", [where] * len(runs))
        when = "-" if divergence.arrival_ms is None else iso_ms(divergence.arrival_ms)
        add("divergence.arrival", "  arrived", [when] * len(runs))
        add("divergence.fate", "  fate", list(divergence.fates))
    elif len(runs) > 1:
        add("divergence.record", "first divergence", ["none"] * len(runs))
    calibration = tuple(run_calibration(r) for r in runs)
    if any(c is not None for c in calibration):
        _calibration_rows(calibration, add)
        calib: tuple[Calibration | None, ...] | None = calibration
    else:
        calib = None
    return Comparison(names, rows, divergence, calib, prices)


GROUPS_SHOWN = 10


def _group_rows(sums: Sequence[dict[str, Any]], add: Any, add_ms: Any) -> None:
    """SQS FIFO: the message groups that stalled longest in any run (B75), a row each."""
    worst: dict[str, int] = {}
    for s in sums:
        for g, info in (s.get("groups") or {}).items():
            worst[g] = max(worst.get(g, 0), int(info["blocked_ms"]))
    if not worst:
        return
    top = sorted(worst, key=lambda g: (-worst[g], g))[:GROUPS_SHOWN]
    more = f" (top {GROUPS_SHOWN} of {len(worst)})" if len(worst) > GROUPS_SHOWN else ""
    add(
        "blocked_groups", f"  stalled FIFO groups{more}", [len(s.get("groups") or {}) for s in sums]
    )
    for g in top:
        add_ms(
            f"blocked_ms.group.{g}",
            f"  group {g}",
            [(s.get("groups") or {}).get(g, {}).get("blocked_ms", 0) for s in sums],
        )


def compare_runs(runs: Sequence[RunResult]) -> list[ComparisonRow]:
    """The comparison table of ``runs`` (the rows of :func:`compare`)."""
    return compare(runs).rows


def _config_rows(runs: Sequence[RunResult], add: Any) -> None:
    """Configuration highlights, then every other field the runs disagree on."""
    configs = [r.meta.get("config") or {} for r in runs]
    shown: set[str] = set()
    for key in CONFIG_HIGHLIGHTS:
        if any(key in c for c in configs):
            add(f"config.{key}", key, [c.get(key) for c in configs])
            shown.add(key)
    rbif = ["ReportBatchItemFailures" in (c.get("FunctionResponseTypes") or []) for c in configs]
    add("config.ReportBatchItemFailures", "ReportBatchItemFailures", rbif)
    dest = [
        ((c.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        for c in configs
    ]
    add("config.OnFailure", "OnFailure destination", [bool(d) for d in dest], dest)
    shown |= {"FunctionResponseTypes", "DestinationConfig"}
    for key in sorted({k for c in configs for k in c} - shown):
        values = [
            json.dumps(c.get(key), sort_keys=True)
            if isinstance(c.get(key), dict | list)
            else c.get(key)
            for c in configs
        ]
        if len(set(map(str, values))) > 1:
            add(f"config.{key}", key, values)
    memory = [((r.meta.get("function") or {}).get("resolved") or {}).get("memory_mb") for r in runs]
    add("function.memory_mb", "function memory (MB)", memory)
    disabled = [
        ", ".join(f"{d['from']}..{d['to']}" for d in r.meta.get("disabled") or []) or None
        for r in runs
    ]
    if any(disabled):  # B29: a run whose mapping was disabled a while is not like the others
        add("run.disabled", "disabled (B29)", disabled)


def _disposition_reasons(records: pa.Table) -> dict[tuple[str, str | None], int]:
    grouped = records.group_by(["disposition", "reason"]).aggregate([([], "count_all")])
    return {
        (d, r): int(n)
        for d, r, n in zip(
            grouped.column("disposition").to_pylist(),
            grouped.column("reason").to_pylist(),
            grouped.column("count_all").to_pylist(),
            strict=True,
        )
    }


def _delivery_rows(runs: Sequence[RunResult], sums: Sequence[dict[str, Any]], add: Any) -> None:
    """Deliveries per record: how much idempotency work retries and bisects caused."""
    deliveries = [r.records.column("deliveries").to_numpy() for r in runs]
    add("duplicates", "duplicate deliveries", [s["duplicates"] for s in sums])
    add(
        "records_redelivered",
        "  records delivered > once",
        [int((d > 1).sum()) for d in deliveries],
    )
    add(
        "max_deliveries",
        "  most deliveries of a record",
        [int(d.max()) if len(d) else 0 for d in deliveries],
    )


def _calibration_rows(calibration: Sequence[Calibration | None], add: Any) -> None:
    def pick(attr: str) -> list[Any]:
        return [None if c is None else getattr(c, attr) for c in calibration]

    add(
        "calibration.observed",
        "observed failure records",
        ["-" if v is None else v for v in pick("observed")],
        pick("observed"),
    )
    for attr in ("matched", "missed", "extra"):
        add(
            f"calibration.{attr}",
            f"  {attr}",
            ["-" if v is None else v for v in pick(attr)],
            pick(attr),
        )
    pct = pick("agreement")
    add(
        "calibration.agreement_pct",
        "  reproduced",
        ["-" if v is None else f"{v:.1f} %" for v in pct],
        pct,
    )
