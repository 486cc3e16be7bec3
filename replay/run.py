"""Replay a capture and write the run directory (run.json, invocations, records, destinations, metrics).

This is the library call behind ``esm-replay replay`` (and the demo, and later sweeps and the TUI):
resolve the configuration and function model, run the engine for the capture's source family, derive
per-minute metrics and a summary, and write everything atomically. Outputs are a pure function of
(capture, configuration, function model, seed, options): byte-identical on every run, except
``run.json``'s ``timing``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from replay import ENGINE_VERSION, __version__
from replay.atomic import atomic_directory
from replay.capture import MANIFEST, RECORDS_DIR, Capture, filesystem, is_uri, read_capture
from replay.config import EsmConfig, StartingPosition, default_config, load_config, parse_config
from replay.engine import EngineBase, EngineRun
from replay.errors import UserError
from replay.function import FunctionModel, load_function
from replay.model import SourceKind
from replay.options import EngineOptions
from replay.streams import StreamEngine
from replay.timeutil import iso_ms

RUN_FORMAT = "esm-replay.run/1"
RUN_FILES = (
    "run.json",
    "invocations.parquet",
    "records.parquet",
    "destinations.jsonl",
    "metrics.parquet",
)
MINUTE = 60_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunRequest:
    """Everything that determines a run's outputs."""

    capture: Path
    config: EsmConfig
    model: FunctionModel
    seed: int = 0
    options: EngineOptions = field(default_factory=EngineOptions)
    start_ms: int | None = None
    until_ms: int | None = None
    overrides: tuple[str, ...] = ()
    config_source: str = "default"
    source_settings: dict[str, Any] | None = None  # None: the capture's own settings
    disabled: tuple[tuple[int, int], ...] = ()  # B29: spans (ms) during which the ESM was disabled


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it was written, its summary and its tables."""

    path: Path
    meta: dict[str, Any]
    invocations: pa.Table
    records: pa.Table
    destinations: tuple[dict[str, Any], ...]
    metrics: pa.Table

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary figures (also in run.json)."""
        return dict(self.meta["summary"])


@dataclass(frozen=True)
class ResolvedConfig:
    """The configuration a replay runs with, where it came from, and the source's settings."""

    config: EsmConfig
    source: str
    source_settings: dict[str, Any]


def resolve_config(
    capture: Capture, config_path: str | os.PathLike[str] | None, overrides: Sequence[str] = ()
) -> ResolvedConfig:
    """The ESM configuration of a replay: the given file, else the one captured, else defaults.

    Without a file or a captured configuration the ESM runs with the documented defaults and
    StartingPosition TRIM_HORIZON (it reads the whole capture), which the run records.
    ``--set Source.X=V`` overrides land in ``source_settings`` (the queue's VisibilityTimeout, a
    stream's RetentionPeriodHours, ...), on top of the settings the capture recorded.
    """
    kind, fifo = capture.kind, capture.manifest.source.fifo
    if config_path is not None:
        config, src = load_config(config_path, kind=kind, fifo=fifo, overrides=overrides)
        origin = str(config_path)
    elif capture.manifest.esm:
        where = f"{capture.path / MANIFEST}: esm[0]"
        raw = dict(capture.manifest.esm[0])
        config, src = parse_config(raw, kind=kind, fifo=fifo, where=where, overrides=overrides)
        origin = "capture"
    else:
        position = StartingPosition.TRIM_HORIZON if kind.is_stream else None
        base = default_config(kind, fifo=fifo, starting_position=position)
        config, src = base, {}
        if overrides:
            config, src = parse_config(
                base.to_aws(), kind=kind, fifo=fifo, where="--set", overrides=overrides
            )
        origin = "defaults"
    settings = {**capture.manifest.source.settings, **src}
    return ResolvedConfig(config, origin, settings)


def replay(
    capture_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config_path: str | os.PathLike[str] | None = None,
    function: str | None = None,
    overrides: Sequence[str] = (),
    seed: int = 0,
    options: EngineOptions | None = None,
    start_ms: int | None = None,
    until_ms: int | None = None,
    disabled: Sequence[tuple[int, int]] = (),
    overwrite: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Replay the capture at ``capture_path`` and write the run directory ``out``.

    Raises:
        UserError: bad capture, configuration, function model or output path (one line each).
    """
    target = Path(out)
    if _run_exists(out) and not overwrite:
        raise UserError(
            f"{_display(out)}: already exists; choose another output or pass --overwrite"
        )
    capture = read_capture(capture_path)
    resolved = resolve_config(capture, config_path, overrides)
    model = load_function(function)
    request = RunRequest(
        capture=Path(capture_path),
        config=resolved.config,
        model=model,
        seed=seed,
        options=options or EngineOptions(),
        start_ms=start_ms,
        until_ms=until_ms,
        overrides=tuple(overrides),
        config_source=resolved.source,
        source_settings=resolved.source_settings,
        disabled=tuple(disabled),
    )
    return run_capture(capture, request, target, overwrite=overwrite, progress=progress)


def run_capture(
    capture: Capture,
    request: RunRequest,
    out: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run the engine for an already-loaded capture and write ``out`` atomically."""
    wall = time.perf_counter()
    engine_class = _engine_class(capture)
    engine = engine_class(
        capture,
        request.config,
        request.model,
        seed=request.seed,
        options=request.options,
        start_ms=request.start_ms,
        until_ms=request.until_ms,
        progress=progress,
        settings=request.source_settings,
        disabled=request.disabled,
    )
    result = engine.run()
    identity = engine.fn
    metrics = metrics_table(result, request.config)
    meta = {
        "format": RUN_FORMAT,
        "engine": {"name": "esm-replay", "version": ENGINE_VERSION, "tool_version": __version__},
        "capture": {
            "path": _display(request.capture),
            "kind": capture.kind.value,
            "arn": capture.manifest.source.arn,
            "records": capture.records.num_rows,
            "fingerprint": capture_fingerprint(capture.path),
        },
        "config_source": request.config_source,
        "overrides": list(request.overrides),
        "config": request.config.to_aws(),
        "source_settings": engine.settings,
        "function": {
            **request.model.to_json(),
            "resolved": {
                "name": identity.name,
                "arn": identity.arn,
                "timeout_ms": identity.timeout_ms,
                "memory_mb": identity.memory_mb,
                "reserved_concurrency": identity.reserved_concurrency,
            },
        },
        "seed": request.seed,
        "disabled": [{"from": iso_ms(a), "to": iso_ms(b)} for a, b in request.disabled],
        "start": iso_ms(result.start_ms),
        "end": iso_ms(result.end_ms),
        "choices": request.options.describe(),
        "summary": summarize(result, request.config),
        "timing": {},
    }
    meta["timing"] = {"wall_seconds": round(time.perf_counter() - wall, 3)}
    write_run(out, meta, result, metrics, overwrite=overwrite)
    return RunResult(out, meta, result.invocations, result.records, result.destinations, metrics)


def _engine_class(capture: Capture) -> type[EngineBase]:
    """The simulated poller for the capture's source family."""
    if capture.kind.is_stream:
        return StreamEngine
    if capture.kind is SourceKind.SQS:
        from replay.sqs import SqsEngine

        return SqsEngine
    if capture.kind is SourceKind.KAFKA:
        from replay.kafka import KafkaEngine

        return KafkaEngine
    raise UserError(f"{capture.path}: replay of {capture.kind.value} captures is not available yet")


def _display(path: str | os.PathLike[str]) -> str:
    """A path as the user wrote it (``Path`` turns ``s3://b/p`` into ``s3:/b/p``)."""
    text = os.fspath(path)
    return "s3://" + text[4:] if text.startswith("s3:/") and not text.startswith("s3://") else text


def _run_exists(path: str | os.PathLike[str]) -> bool:
    if not is_uri(path):
        return Path(path).exists()
    fs, inner = filesystem(path)
    return bool(fs.get_file_info(f"{inner}/run.json").type != pafs.FileType.NotFound)


def capture_fingerprint(path: str | os.PathLike[str]) -> str:
    """sha256 over the manifest and record files: which capture a run came from, exactly."""
    fs, inner = filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(f"{inner}/{RECORDS_DIR}", allow_not_found=True))
    files = [f"{inner}/{MANIFEST}", *sorted(i.path for i in infos if i.path.endswith(".parquet"))]
    digest = hashlib.sha256()
    for f in files:
        with fs.open_input_stream(f) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def write_run(
    out: Path, meta: dict[str, Any], result: EngineRun, metrics: pa.Table, *, overwrite: bool
) -> None:
    """Write the five run files atomically: a temporary sibling renamed into place, or, on S3
    (no rename), uploads with run.json last — a reader that finds run.json finds the whole run."""
    if not is_uri(out):
        with atomic_directory(out, overwrite=overwrite) as tmp:
            _write_run_files(tmp, meta, result, metrics)
        return
    if _run_exists(out) and not overwrite:
        raise UserError(
            f"{_display(out)}: already exists; choose another output or pass --overwrite"
        )
    fs, inner = filesystem(out)
    with tempfile.TemporaryDirectory() as tmp:
        _write_run_files(Path(tmp), meta, result, metrics)
        fs.delete_dir_contents(inner, missing_dir_ok=True)
        for name in [*RUN_FILES[1:], RUN_FILES[0]]:  # run.json (first in RUN_FILES) goes last
            pafs.copy_files(str(Path(tmp) / name), f"{inner}/{name}", destination_filesystem=fs)


def _write_run_files(tmp: Path, meta: dict[str, Any], result: EngineRun, metrics: pa.Table) -> None:
    with open(tmp / "run.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    pq.write_table(result.invocations, tmp / "invocations.parquet", compression="zstd")
    pq.write_table(result.records, tmp / "records.parquet", compression="zstd")
    pq.write_table(metrics, tmp / "metrics.parquet", compression="zstd")
    with open(tmp / "destinations.jsonl", "w", encoding="utf-8") as fh:
        for record in result.destinations:
            fh.write(json.dumps(record, separators=(",", ":")))
            fh.write("\n")


def read_run(path: str | os.PathLike[str]) -> RunResult:
    """Read a run directory back, local or ``s3://`` (for compare, the TUI and tests)."""
    fs, inner = filesystem(path)
    where = _display(path)
    missing = [f for f in RUN_FILES if fs.get_file_info(f"{inner}/{f}").type != pafs.FileType.File]
    if missing:
        raise UserError(f"{where}: not a run directory ({', '.join(missing)} missing)")

    def text(name: str) -> str:
        with fs.open_input_stream(f"{inner}/{name}") as fh:
            return bytes(fh.read()).decode("utf-8")

    try:
        meta = json.loads(text("run.json"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}/run.json: not valid JSON ({exc})") from None
    if meta.get("format") != RUN_FORMAT:
        raise UserError(
            f"{where}/run.json: format is {meta.get('format')!r}, expected {RUN_FORMAT!r}"
        )
    dests = tuple(
        json.loads(line) for line in text("destinations.jsonl").splitlines() if line.strip()
    )
    return RunResult(
        path=Path(path),
        meta=meta,
        invocations=pq.read_table(f"{inner}/invocations.parquet", filesystem=fs),
        records=pq.read_table(f"{inner}/records.parquet", filesystem=fs),
        destinations=dests,
        metrics=pq.read_table(f"{inner}/metrics.parquet", filesystem=fs),
    )


# ---------------------------------------------------------------------- summary
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
            "minute": pa.array(cat("minute"), pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
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


QUEUE_GAUGES = (
    "messages_visible",
    "messages_not_visible",
    "age_of_oldest_message_ms",
    "concurrency_target",
)


def _with_queue_gauges(table: pa.Table, gauges: pa.Table | None) -> pa.Table:
    """SQS gauges sampled once a minute by the engine, joined on the minute (null for streams)."""
    if gauges is not None and "shard" in gauges.column_names:  # per-partition gauges (Kafka lag)
        table = table.drop_columns(["offset_lag"]).join(
            gauges, keys=["minute", "shard"], join_type="left outer"
        )
        gauges = None
    if gauges is None or not gauges.num_rows:
        for name in QUEUE_GAUGES:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.int64()))
    else:
        table = table.join(gauges, keys="minute", join_type="left outer")
    order = ["minute", "shard", "invocations", "errors", "throttles", "iterator_age_ms",
             "concurrent_executions", "processed", "discarded", "dead_lettered", "offset_lag",
             *QUEUE_GAUGES]  # fmt: skip
    return table.select(order).sort_by([("shard", "ascending"), ("minute", "ascending")])


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
