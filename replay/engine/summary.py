"""A run's summary figures (run.json ``summary``) and per-minute CloudWatch metrics, from what the
engine produced."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from replay.config import EsmConfig
from replay.engine.base import EngineRun
from replay.formats.runfiles import METRICS, QUEUE_GAUGES, TIMESTAMP
from replay.timeutil import iso_ms

MINUTE = 60_000


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(column.fill_null("")).to_pylist()
    return {
        str(v["values"]): int(v["counts"])
        for v in sorted(vc, key=lambda d: str(d["values"]))
        if v["values"] != ""
    }


def _percentiles(values: np.ndarray) -> dict[str, int | None]:
    if not len(values):
        return {"p50": None, "p99": None, "max": None}
    p50, p99 = np.percentile(values, [50, 99], method="lower")
    return {"p50": int(p50), "p99": int(p99), "max": int(values.max())}


def summarize(result: EngineRun, config: EsmConfig) -> dict[str, Any]:
    """The headline figures of a run (run.json ``summary``)."""
    rec = result.records
    inv = result.invocations
    deliveries = rec.column("deliveries").to_numpy()
    delivered = int((deliveries > 0).sum())
    latency = rec.column("latency_ms").drop_null().to_numpy()
    attempts = inv.filter(pc.not_equal(inv.column("result"), "throttled"))
    ages = attempts.column("iterator_age_ms").drop_null().to_numpy()
    reasons = rec.filter(pc.is_valid(rec.column("reason")))
    shards: dict[str, Any] = {}
    shard_col = rec.column("shard")
    for shard in sorted(set(shard_col.to_pylist())):
        blocks = result.blocks.get(shard, ())
        shard_inv = attempts.filter(pc.equal(attempts.column("shard"), shard))
        shard_age = shard_inv.column("iterator_age_ms").drop_null().to_numpy()
        shards[shard] = {
            "records": int(pc.sum(pc.equal(shard_col, shard)).as_py() or 0),
            "invocations": shard_inv.num_rows,
            "blocked_ms": int(sum(b - a for a, b in blocks)),
            "blocked": [[iso_ms(a), iso_ms(b)] for a, b in blocks],
            "max_iterator_age_ms": int(shard_age.max()) if len(shard_age) else None,
        }
    # blocks not keyed by a shard are SQS FIFO message groups (B75): only the stalled ones appear
    groups = {
        g: {
            "blocked_ms": int(sum(b - a for a, b in blocks)),
            "blocked": [[iso_ms(a), iso_ms(b)] for a, b in blocks],
        }
        for g, blocks in sorted(result.blocks.items())
        if g not in shards and blocks
    }
    return {
        "records": rec.num_rows,
        "dispositions": _counts(rec.column("disposition")),
        "reasons": _counts(reasons.column("reason")),
        "delivered": delivered,
        "deliveries": int(deliveries.sum()),
        "duplicates": int(deliveries.sum()) - delivered,
        "invocations": inv.num_rows,
        "results": _counts(inv.column("result")),
        "iterator_age_ms": _percentiles(ages),
        "latency_ms": _percentiles(latency),
        "destination_records": len(result.destinations),
        "blocked_ms": int(sum(s["blocked_ms"] for s in [*shards.values(), *groups.values()])),
        "virtual_ms": result.end_ms - result.start_ms,
        "events": result.events,
        "shards": shards,
        "groups": groups,
    }


# ---------------------------------------------------------------------- metrics
def metrics_table(result: EngineRun, config: EsmConfig) -> pa.Table:
    """Per minute and shard, the CloudWatch figures the ESM would have emitted.

    IteratorAge is the age of the last record of each invoked batch (max per minute); Invocations,
    Errors (function errors and timeouts) and Throttles count attempts started in the minute;
    ConcurrentExecutions is the most invocations of the shard in flight at once during the minute.
    """
    inv = result.invocations
    rec = result.records
    start_min = result.start_ms // MINUTE
    end_min = max(result.end_ms // MINUTE, start_min)
    minutes = np.arange(start_min, end_min + 1, dtype=np.int64)
    n = len(minutes)
    shards = sorted(set(rec.column("shard").to_pylist()))
    inv_shard = np.asarray(inv.column("shard").to_pylist(), dtype=object)
    starts = inv.column("start").cast(pa.int64()).to_numpy()
    ends = inv.column("end").cast(pa.int64()).to_numpy()
    results = np.asarray(inv.column("result").to_pylist(), dtype=object)
    ages = inv.column("iterator_age_ms").fill_null(-1).to_numpy()
    inv_shard, starts, ends, results, ages = _per_partition(inv_shard, starts, ends, results, ages)
    rec_shard = np.asarray(rec.column("shard").to_pylist(), dtype=object)
    disp = np.asarray(rec.column("disposition").to_pylist(), dtype=object)
    reason = np.asarray(rec.column("reason").to_pylist(), dtype=object)
    done = rec.column("done").cast(pa.int64()).fill_null(-1).to_numpy()
    dead = (disp == "discarded") & np.isin(reason, ["RetryAttemptsExhausted", "RecordAgeExceeded"])
    if not config.on_failure:
        dead[:] = False
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "minute", "invocations", "errors", "throttles", "iterator_age_ms", "concurrent_executions",
        "processed", "discarded", "dead_lettered",
    )}  # fmt: skip
    shard_names: list[str] = []
    for shard in shards:
        sel = inv_shard == shard
        s_start, s_end, s_res, s_age = starts[sel], ends[sel], results[sel], ages[sel]
        bucket = s_start // MINUTE - start_min
        real = s_res != "throttled"
        cols["invocations"].append(np.bincount(bucket[real], minlength=n)[:n])
        errors = np.isin(s_res, ["error", "timeout"])
        cols["errors"].append(np.bincount(bucket[errors], minlength=n)[:n])
        cols["throttles"].append(np.bincount(bucket[~real], minlength=n)[:n])
        age = np.full(n, -1, dtype=np.int64)
        np.maximum.at(age, bucket[s_age >= 0], s_age[s_age >= 0])
        cols["iterator_age_ms"].append(age)
        cols["concurrent_executions"].append(_concurrency(s_start[real], s_end[real], start_min, n))
        rsel = rec_shard == shard
        rdone = done[rsel]
        rb = np.where(rdone >= 0, rdone // MINUTE - start_min, n)
        cols["processed"].append(np.bincount(rb[disp[rsel] == "processed"], minlength=n + 1)[:n])
        cols["discarded"].append(np.bincount(rb[disp[rsel] == "discarded"], minlength=n + 1)[:n])
        cols["dead_lettered"].append(np.bincount(rb[dead[rsel]], minlength=n + 1)[:n])
        cols["minute"].append(minutes * MINUTE)
        shard_names.extend([shard] * n)

    def cat(name: str) -> np.ndarray:
        return np.concatenate(cols[name]) if cols[name] else np.empty(0, dtype=np.int64)

    age_all = cat("iterator_age_ms")
    table = pa.table(
        {
            "minute": pa.array(cat("minute"), pa.int64()).cast(TIMESTAMP),
            "shard": pa.array(shard_names, pa.string()),
            "invocations": pa.array(cat("invocations"), pa.int64()),
            "errors": pa.array(cat("errors"), pa.int64()),
            "throttles": pa.array(cat("throttles"), pa.int64()),
            "iterator_age_ms": pa.array(age_all, pa.int64(), mask=age_all < 0),
            "concurrent_executions": pa.array(cat("concurrent_executions"), pa.int64()),
            "processed": pa.array(cat("processed"), pa.int64()),
            "discarded": pa.array(cat("discarded"), pa.int64()),
            "dead_lettered": pa.array(cat("dead_lettered"), pa.int64()),
            "offset_lag": pa.nulls(len(shard_names), pa.int64()),
        }
    )
    return _with_queue_gauges(table, result.queue_metrics)


def _with_queue_gauges(table: pa.Table, gauges: pa.Table | None) -> pa.Table:
    """SQS gauges sampled once a minute by the engine, joined on the minute (null for streams)."""
    if gauges is not None and "shard" in gauges.column_names:  # per-partition gauges (Kafka lag)
        table = table.drop_columns(["offset_lag"]).join(
            gauges, keys=["minute", "shard"], join_type="left outer"
        )
        gauges = None
    if gauges is None or not gauges.num_rows:
        for gauge in QUEUE_GAUGES:
            table = table.append_column(gauge.name, pa.nulls(table.num_rows, gauge.type))
    else:
        table = table.join(gauges, keys="minute", join_type="left outer")
    return table.select(METRICS.names).sort_by([("shard", "ascending"), ("minute", "ascending")])


def _per_partition(shards: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """A Kafka invocation lists its partitions as ``a-0+a-1``: count it once for each of them."""
    parts = [str(s).split("+") for s in shards]
    if all(len(p) == 1 for p in parts):
        return (shards, *columns)
    repeat = np.array([len(p) for p in parts])
    exploded = np.array([name for p in parts for name in p], dtype=object)
    return (exploded, *(np.repeat(c, repeat) for c in columns))


def _concurrency(starts: np.ndarray, ends: np.ndarray, start_min: int, n: int) -> np.ndarray:
    """Peak number of overlapping [start, end) intervals within each minute."""
    out = np.zeros(n, dtype=np.int64)
    if not len(starts):
        return out
    times = np.concatenate([starts, ends])
    deltas = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(ends), np.int64)])
    order = np.lexsort((deltas, times))  # ends before starts at the same instant
    times, levels = times[order], np.cumsum(deltas[order])
    bucket = np.clip(times // MINUTE - start_min, 0, n - 1)
    np.maximum.at(out, bucket, levels)
    # a minute with no event inherits the level carried in from the previous minute
    last_level = np.zeros(n, dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    last_level[bucket] = levels  # the last event of each minute wins (times are sorted)
    has[bucket] = True
    carry = 0
    for i in range(n):
        out[i] = max(out[i], carry)
        if has[i]:
            carry = int(last_level[i])
    return out
