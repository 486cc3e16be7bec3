"""The run directory: its files, reading a run back, and writing one atomically.

A run is ``run.json`` plus four tables (docs/run-format.md). This module knows their names and how
they are stored, local or on ``s3://``; it imports nothing of the engine, so the analysis layer and
the TUI read runs without loading the simulation.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from replay.errors import UserError
from replay.formats.atomic import atomic_directory, check_target
from replay.formats.capture import filesystem, is_uri

TIMESTAMP = pa.timestamp("ms", tz="UTC")

# One schema per run table: the engine builds its tables from these, the writer writes them, the
# query layer's empty views and docs/run-format.md's column tables follow them (a test checks the
# docs). Adding a column is adding it here (and to the docs); the engine passes it by name.
INVOCATIONS = pa.schema(
    [
        ("invocation", pa.int64()),
        ("batch", pa.int64()),
        ("parent_batch", pa.int64()),
        ("shard", pa.string()),
        ("lane", pa.int32()),
        ("start", TIMESTAMP),
        ("end", TIMESTAMP),
        ("records", pa.int32()),
        ("bytes", pa.int64()),
        ("first_seq", pa.string()),
        ("last_seq", pa.string()),
        ("attempt", pa.int32()),
        ("cause", pa.string()),
        ("result", pa.string()),
        ("failed_items", pa.int32()),
        ("function_error", pa.string()),
        ("request_id", pa.string()),
        ("iterator_age_ms", pa.int64()),
        ("next", pa.string()),
        ("rule", pa.string()),
        ("record_rows", pa.list_(pa.int64())),
    ]
)
RECORDS = pa.schema(
    [
        ("shard", pa.string()),
        ("seq", pa.string()),
        ("pos", pa.int64()),
        ("disposition", pa.string()),
        ("reason", pa.string()),
        ("deliveries", pa.int32()),
        ("first_delivered", TIMESTAMP),
        ("done", TIMESTAMP),
        ("latency_ms", pa.int64()),
    ]
)
# Per-minute source gauges: SQS queue depth (sampled by the SQS engine) and Kafka lag.
QUEUE_GAUGES = pa.schema(
    [
        ("messages_visible", pa.int64()),
        ("messages_not_visible", pa.int64()),
        ("age_of_oldest_message_ms", pa.int64()),
        ("concurrency_target", pa.int64()),
    ]
)
METRICS = pa.schema(
    [
        ("minute", TIMESTAMP),
        ("shard", pa.string()),
        ("invocations", pa.int64()),
        ("errors", pa.int64()),
        ("throttles", pa.int64()),
        ("iterator_age_ms", pa.int64()),
        ("concurrent_executions", pa.int64()),
        ("processed", pa.int64()),
        ("discarded", pa.int64()),
        ("dead_lettered", pa.int64()),
        ("offset_lag", pa.int64()),
        *QUEUE_GAUGES,
    ]
)
# The Parquet run tables by file name (destinations.jsonl is JSON: docs/run-format.md).
TABLES: dict[str, pa.Schema] = {
    "invocations.parquet": INVOCATIONS,
    "records.parquet": RECORDS,
    "metrics.parquet": METRICS,
}

RUN_FORMAT = "esm-replay.run/1"
RUN_JSON = "run.json"
RUN_FILES = (
    RUN_JSON,
    "invocations.parquet",
    "records.parquet",
    "destinations.jsonl",
    "metrics.parquet",
)


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


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as the user wrote it (``Path`` turns ``s3://b/p`` into ``s3:/b/p``)."""
    text = os.fspath(path)
    return "s3://" + text[4:] if text.startswith("s3:/") and not text.startswith("s3://") else text


def run_exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` already holds something a run write would replace."""
    if not is_uri(path):
        return Path(path).exists()
    fs, inner = filesystem(path)
    return bool(fs.get_file_info(f"{inner}/{RUN_JSON}").type != pafs.FileType.NotFound)


def refuse_existing(
    out: str | os.PathLike[str], overwrite: bool, protect: Sequence[str | os.PathLike[str]] = ()
) -> None:
    """A run replaces an existing output only when asked to, and then only a run directory, never
    one that holds ``protect`` (its capture): :func:`replay.formats.atomic.check_target`."""
    if not is_uri(out):
        check_target(Path(out), kind="run", overwrite=overwrite, protect=protect)
    elif run_exists(out) and not overwrite:
        raise UserError(
            f"{display_path(out)}: already exists; choose another output or pass --overwrite"
        )


def write_run(run: RunResult, *, overwrite: bool) -> None:
    """Write the five run files atomically: a temporary sibling renamed into place, or, on S3
    (no rename), uploads with run.json last — a reader that finds run.json finds the whole run."""
    out = run.path
    capture = run.meta.get("capture", {}).get("path")
    if not is_uri(out):
        protect = [capture] if capture else []
        with atomic_directory(out, overwrite=overwrite, kind="run", protect=protect) as tmp:
            _write_run_files(tmp, run)
        return
    refuse_existing(out, overwrite)
    fs, inner = filesystem(out)
    with tempfile.TemporaryDirectory() as tmp:
        _write_run_files(Path(tmp), run)
        fs.delete_dir_contents(inner, missing_dir_ok=True)
        for name in [*RUN_FILES[1:], RUN_FILES[0]]:  # run.json (first in RUN_FILES) goes last
            pafs.copy_files(str(Path(tmp) / name), f"{inner}/{name}", destination_filesystem=fs)


def _write_run_files(tmp: Path, run: RunResult) -> None:
    with open(tmp / RUN_JSON, "w", encoding="utf-8") as fh:
        json.dump(run.meta, fh, indent=2)
        fh.write("\n")
    pq.write_table(run.invocations, tmp / "invocations.parquet", compression="zstd")
    pq.write_table(run.records, tmp / "records.parquet", compression="zstd")
    pq.write_table(run.metrics, tmp / "metrics.parquet", compression="zstd")
    with open(tmp / "destinations.jsonl", "w", encoding="utf-8") as fh:
        for record in run.destinations:
            fh.write(json.dumps(record, separators=(",", ":")))
            fh.write("\n")


def read_run(path: str | os.PathLike[str]) -> RunResult:
    """Read a run directory back, local or ``s3://`` (for compare, the TUI and tests)."""
    fs, inner = filesystem(path)
    where = display_path(path)
    missing = [f for f in RUN_FILES if fs.get_file_info(f"{inner}/{f}").type != pafs.FileType.File]
    if missing:
        raise UserError(f"{where}: not a run directory ({', '.join(missing)} missing)")

    def text(name: str) -> str:
        with fs.open_input_stream(f"{inner}/{name}") as fh:
            return bytes(fh.read()).decode("utf-8")

    try:
        meta = json.loads(text(RUN_JSON))
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}/{RUN_JSON}: not valid JSON ({exc})") from None
    if meta.get("format") != RUN_FORMAT:
        raise UserError(
            f"{where}/{RUN_JSON}: format is {meta.get('format')!r}, expected {RUN_FORMAT!r}"
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
