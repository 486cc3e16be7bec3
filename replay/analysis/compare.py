"""Side-by-side outcomes of several runs: the figures an on-call engineer compares first.

:func:`compare` builds one table, a column per run: configuration highlights (and every field the
runs disagree on), records by disposition and reason, deliveries per record, invocations by result,
on-failure records, iterator age and latency percentiles, blocked time per shard or group, the
queue depth (SQS) or offset lag (Kafka), an estimated cost, the first record whose fate differs (by
arrival order) and, when the capture holds production's failure records, how well each run
reproduced them.

Labels are in the words of the runs' source family (:data:`replay.analysis.text.WORDS`): a queue
has an age of oldest message, DLQ messages and a queue depth, never shards or an iterator age.
Runs of one capture share its family. Runs of different families (a Kinesis run beside an SQS
run) get the neutral words of :data:`~replay.analysis.text.MIXED`, a ``source`` row naming each
run's family, and each family's own rows (queue depth, offset lag, blocked shards) with ``-`` for
the runs they do not apply to. Row keys do not depend on the family. The figures behind some rows have
their own modules: :mod:`~replay.analysis.cost`, :mod:`~replay.analysis.divergence` and
:mod:`~replay.analysis.calibration`.

Rows carry both display text and raw values, so the CLI prints a table, ``--format json`` prints the
raw figures, and the demo and the TUI render the same rows without recomputing anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from replay.analysis.calibration import Calibration, run_calibration
from replay.analysis.cost import DEFAULT_PRICES, Prices, estimate_cost
from replay.analysis.divergence import Divergence, first_divergence
from replay.analysis.text import (
    Words,
    duration,
    is_fifo,
    redrive_policy,
    run_kind,
    usd,
    words_for,
)
from replay.formats.runfiles import RunResult
from replay.timeutil import iso_ms
from replay.vocabulary import Disposition, SourceKind

CONFIG_HIGHLIGHTS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
)
# the dispositions in the order the table lists them
DISPOSITION_ROWS = (
    Disposition.PROCESSED,
    Disposition.FILTERED,
    Disposition.DISCARDED,
    Disposition.DEAD_LETTERED,
    Disposition.UNPROCESSED,
)


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


def compare(
    runs: Sequence[RunResult], names: Sequence[str] | None = None, prices: Prices = DEFAULT_PRICES
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

    kinds = [run_kind(r.meta) for r in runs]
    words = words_for(kinds)
    if len(set(kinds)) > 1:
        add("capture.kind", "source", [str(k) for k in kinds])
    _config_rows(runs, add, kinds, words)
    add("records", "records", [s["records"] for s in sums])
    pairs = [_disposition_reasons(r.records) for r in runs]
    for disp in DISPOSITION_ROWS:
        counts = [int(s["dispositions"].get(disp, 0)) for s in sums]
        if disp != Disposition.UNPROCESSED or any(counts):  # unprocessed: only when there are some
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
    add("destination_records", words.destination_records, [s["destination_records"] for s in sums])
    for stat in ("max", "p50", "p99"):
        add_ms(
            f"iterator_age_ms.{stat}",
            f"{words.age} {stat}",
            [s["iterator_age_ms"][stat] for s in sums],
        )
    for stat in ("p50", "p99"):
        add_ms(f"latency_ms.{stat}", f"latency {stat}", [s["latency_ms"][stat] for s in sums])
    _backlog_rows(runs, kinds, add)
    _blocked_rows(runs, kinds, words, add_ms)
    _group_rows(runs, kinds, add, add_ms)
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


def _per_minute_max(run: RunResult, column: str) -> int | None:
    """The largest per-minute total of a metrics column over the run's shards (None: no value)."""
    m = run.metrics
    if column not in m.column_names or m.column(column).null_count == len(m):
        return None
    per_minute = m.group_by("minute").aggregate([(column, "sum")])
    top = pc.max(per_minute.column(f"{column}_sum")).as_py()
    return None if top is None else int(top)


def _backlog_rows(runs: Sequence[RunResult], kinds: Sequence[SourceKind], add: Any) -> None:
    """What waited to be read: the queue depth of SQS runs, the offset lag of Kafka runs."""
    if SourceKind.SQS in kinds:
        for key, label, column in (
            ("queue_depth.max", "queue depth max (messages visible)", "messages_visible"),
            ("in_flight.max", "  in flight max (not visible)", "messages_not_visible"),
        ):
            values = [
                _per_minute_max(r, column) if k is SourceKind.SQS else None
                for r, k in zip(runs, kinds, strict=True)
            ]
            _add_some(add, key, label, values)
    if SourceKind.KAFKA in kinds:
        values = [
            _per_minute_max(r, "offset_lag") if k is SourceKind.KAFKA else None
            for r, k in zip(runs, kinds, strict=True)
        ]
        _add_some(add, "offset_lag.max", "offset lag max (records)", values)


def _add_some(add: Any, key: str, label: str, values: Sequence[Any]) -> None:
    """A row of a figure some runs do not have (another family's): ``-`` for them."""
    add(key, label, ["-" if v is None else v for v in values], list(values))


def _blocked_rows(
    runs: Sequence[RunResult], kinds: Sequence[SourceKind], words: Words, add_ms: Any
) -> None:
    """Blocked time: in all, then per shard or partition. A standard SQS queue never blocks (its
    messages are received independently) and a FIFO queue blocks per message group (the group
    rows), so SQS runs have no per-queue rows, and standard queues no blocked row at all."""
    sums = [r.summary for r in runs]
    fifo = [is_fifo(r.meta) for r in runs]
    blocks = [k is not SourceKind.SQS or f for k, f in zip(kinds, fifo, strict=True)]
    if not any(blocks):
        return
    add_ms(
        "blocked_ms",
        words.blocked,
        [s["blocked_ms"] if b else None for s, b in zip(sums, blocks, strict=True)],
    )
    sharded = [k is not SourceKind.SQS for k in kinds]
    for shard in sorted(
        {sh for s, b in zip(sums, sharded, strict=True) if b for sh in s["shards"]}
    ):
        add_ms(
            f"blocked_ms.{shard}",
            f"  {shard}",
            [
                s["shards"].get(shard, {}).get("blocked_ms") if b else None
                for s, b in zip(sums, sharded, strict=True)
            ],
        )


def _group_rows(
    runs: Sequence[RunResult], kinds: Sequence[SourceKind], add: Any, add_ms: Any
) -> None:
    """SQS FIFO: the message groups that stalled longest in any run (B75), a row each; ``-`` for
    the runs of other families."""
    sums = [r.summary for r in runs]
    worst: dict[str, int] = {}
    for s in sums:
        for g, info in (s.get("groups") or {}).items():
            worst[g] = max(worst.get(g, 0), int(info["blocked_ms"]))
    if not worst:
        return
    fifo = [is_fifo(r.meta) for r in runs]
    top = sorted(worst, key=lambda g: (-worst[g], g))[:GROUPS_SHOWN]
    more = f" (top {GROUPS_SHOWN} of {len(worst)})" if len(worst) > GROUPS_SHOWN else ""
    stalled = [len(s.get("groups") or {}) if f else None for s, f in zip(sums, fifo, strict=True)]
    _add_some(add, "blocked_groups", f"  message groups stalled{more}", stalled)
    for g in top:
        add_ms(
            f"blocked_ms.group.{g}",
            f"  group {g}",
            [
                (s.get("groups") or {}).get(g, {}).get("blocked_ms", 0) if f else None
                for s, f in zip(sums, fifo, strict=True)
            ],
        )


def compare_runs(runs: Sequence[RunResult]) -> list[ComparisonRow]:
    """The comparison table of ``runs`` (the rows of :func:`compare`)."""
    return compare(runs).rows


def _config_rows(
    runs: Sequence[RunResult], add: Any, kinds: Sequence[SourceKind], words: Words
) -> None:
    """Configuration highlights, where failed records go, then every other field the runs
    disagree on (an object field one row per sub-field: ``ScalingConfig.MaximumConcurrency``)."""
    configs = [r.meta.get("config") or {} for r in runs]
    shown: set[str] = set()
    for key in CONFIG_HIGHLIGHTS:
        if any(key in c for c in configs):
            add(f"config.{key}", key, [c.get(key) for c in configs])
            shown.add(key)
    rbif = ["ReportBatchItemFailures" in (c.get("FunctionResponseTypes") or []) for c in configs]
    add("config.ReportBatchItemFailures", "ReportBatchItemFailures", rbif)
    _destination_rows(runs, configs, kinds, words, add)
    shown |= {"FunctionResponseTypes", "DestinationConfig"}
    for key in sorted({k for c in configs for k in c} - shown):
        values = [c.get(key) for c in configs]
        if len(set(map(_cell, values))) <= 1:
            continue
        if all(isinstance(v, dict) or v is None for v in values):
            for sub in sorted({k for v in values if v for k in v}):
                inner = [(v or {}).get(sub) for v in values]
                if len(set(map(_cell, inner))) > 1:
                    add(f"config.{key}.{sub}", f"{key}.{sub}", [_shown(v) for v in inner])
        else:
            add(f"config.{key}", key, [_shown(v) for v in values])
    memory = [((r.meta.get("function") or {}).get("resolved") or {}).get("memory_mb") for r in runs]
    add("function.memory_mb", "function memory (MB)", memory)
    disabled = [
        ", ".join(f"{d['from']}..{d['to']}" for d in r.meta.get("disabled") or []) or None
        for r in runs
    ]
    if any(disabled):  # B29: a run whose mapping was disabled a while is not like the others
        add("run.disabled", "disabled (B29)", disabled)


def _cell(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _shown(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _destination_rows(
    runs: Sequence[RunResult],
    configs: Sequence[dict[str, Any]],
    kinds: Sequence[SourceKind],
    words: Words,
    add: Any,
) -> None:
    """Where failed records go: the ESM's OnFailure destination (streams, Kafka) or the queue's
    dead-letter queue and its maxReceiveCount (SQS: an SQS mapping has no OnFailure destination)."""
    dest: list[str | None] = []
    for r, c, k in zip(runs, configs, kinds, strict=True):
        if k is SourceKind.SQS:
            dest.append(redrive_policy(r.meta).get("deadLetterTargetArn"))
        else:
            dest.append(
                ((c.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            )
    key = "source.deadLetterQueue" if set(kinds) == {SourceKind.SQS} else "config.OnFailure"
    add(key, words.destination, [bool(d) for d in dest], dest)
    if SourceKind.SQS in kinds:
        receives = [
            redrive_policy(r.meta).get("maxReceiveCount") if k is SourceKind.SQS else None
            for r, k in zip(runs, kinds, strict=True)
        ]
        _add_some(add, "source.maxReceiveCount", "  maxReceiveCount", receives)


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
