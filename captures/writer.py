"""Resumable, lossless writing of a live capture, part by part (local directory or ``s3://``).

A live capture is written as it is read: records are buffered per shard and flushed as Parquet parts
(``records/part-NNNNN.parquet``), each written whole to a temporary name and renamed into place (on
S3 an object appears whole when its upload completes), then the manifest's per-shard
``checkpoints`` are updated. The manifest says ``complete: false`` until every shard is finished.

What makes it lossless under Ctrl-C, ``kill -9`` or a network error: the parts, not the manifest,
are the truth. A part that exists is complete; it holds, for each shard, the records that follow
those of the earlier parts, in order. ``--resume`` rebuilds each shard's last sequence number and
record count from the parts (the manifest's checkpoints may lag by the part being written when the
process died), continues after it, and numbers ``pos`` on from the count. No record is lost (it is
either in a part or read again) and none is duplicated (reading restarts strictly after the last
record in a part).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from captures.common import Window
from captures.redact import Redactor
from replay.errors import CaptureError, UserError
from replay.events import EventContext, record_sizes
from replay.formats.capture import (
    MANIFEST,
    RECORDS_DIR,
    Capture,
    Manifest,
    ShardInfo,
    capture_schema,
    conform,
    encode_part,
    filesystem,
    part_info,
    read_manifest,
    shard_infos,
    sort_records,
)
from replay.formats.manifest import PartInfo

DEFAULT_FLUSH_ROWS = 50_000
DEFAULT_FLUSH_SECONDS = 10.0


class CaptureComplete(CaptureError):
    """``--resume`` found a complete capture: there is nothing left to do (not a failure)."""


@dataclass(frozen=True)
class ResumeState:
    """What the parts already written hold, per shard.

    Attributes:
        last_seq: shard → sequence number (or offset) of its last captured record.
        counts: shard → records captured (the next record's ``pos``).
        ids: every ``seq`` captured (SQS uses it to skip messages it already holds).
        parts: each part file with its rows and sha256, read back from the files.
    """

    last_seq: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ids: frozenset[str] = frozenset()
    parts: tuple[PartInfo, ...] = ()  # the part files, as the manifest lists them


def sizes_for(table: pa.Table, ctx: EventContext) -> pa.Array:
    """The ``size`` column; zeros for source kinds ``record_sizes`` does not handle yet."""
    try:
        return record_sizes(table, ctx)
    except NotImplementedError:
        return pa.array([0] * table.num_rows, type=pa.int32())


class CaptureWriter:
    """Writes one live capture; ``add`` may be called from several reader threads at once."""

    def __init__(
        self,
        uri: str,
        manifest: Manifest,
        ctx: EventContext,
        *,
        state: ResumeState,
        redactor: Redactor | None,
        flush_rows: int,
        flush_seconds: float,
        fs: pafs.FileSystem,
        inner: str,
        next_part: int,
    ) -> None:
        self.uri = uri
        self.manifest = manifest
        self.ctx = ctx
        self.state = state
        self._redactor = redactor
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds
        self._fs = fs
        self._inner = inner
        self._local = isinstance(fs, pafs.LocalFileSystem)
        self._next_part = next_part
        self._lock = threading.RLock()
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._last_flush = time.monotonic()
        self._counts = dict(state.counts)
        self._last_seq = dict(state.last_seq)
        self._schema = capture_schema(manifest.source.kind)
        self._parts = list(state.parts)

    # ----------------------------------------------------------------- opening

    @staticmethod
    def open(
        uri: str,
        manifest: Manifest,
        ctx: EventContext,
        *,
        resume: bool = False,
        overwrite: bool = False,
        redactor: Redactor | None = None,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        endpoint_url: str | None = None,
    ) -> CaptureWriter:
        """Start a capture at ``uri``, or continue the interrupted one there (``resume``).

        On resume the stored manifest's window and settings win (the range must not move between
        runs); the lineage passed in is merged over it.

        Raises:
            CaptureError: ``uri`` holds a capture and neither ``resume`` nor ``overwrite`` is set,
                or it holds a complete capture, or one of another source.
        """
        fs, inner = filesystem(uri, endpoint_url=endpoint_url)
        exists = fs.get_file_info(f"{inner}/{MANIFEST}").type != pafs.FileType.NotFound
        if exists and overwrite and not resume:
            fs.delete_dir_contents(inner, missing_dir_ok=True)
            exists = False
        if exists and not resume:
            old = _read_existing(uri, fs, inner)
            hint = "pass --resume to continue it" if not old.complete else "choose another output"
            raise CaptureError(f"{uri}: already exists; {hint} (or --overwrite)")
        state = ResumeState()
        next_part = 0
        if exists:
            old = _read_existing(uri, fs, inner)
            _check_same_source(uri, old, manifest)
            if old.complete:
                raise CaptureComplete(f"{uri}: the capture is already complete; nothing to resume")
            manifest = replace(
                manifest,
                window_start_ms=old.window_start_ms,
                window_end_ms=old.window_end_ms,
                shards=_merge_lineage(old, manifest),
                source=replace(
                    manifest.source, settings={**manifest.source.settings, **old.source.settings}
                ),
                redaction=old.redaction if old.redaction is not None else manifest.redaction,
            )
            state, next_part = _scan_parts(fs, inner)
        else:
            fs.create_dir(f"{inner}/{RECORDS_DIR}", recursive=True)
        manifest = replace(manifest, complete=False, checkpoints=dict(state.last_seq))
        writer = CaptureWriter(
            uri,
            manifest,
            ctx,
            state=state,
            redactor=redactor,
            flush_rows=flush_rows,
            flush_seconds=flush_seconds,
            fs=fs,
            inner=inner,
            next_part=next_part,
        )
        writer._write_manifest(writer.manifest)
        return writer

    # ----------------------------------------------------------------- writing

    def count(self, shard: str) -> int:
        """Records of ``shard`` captured so far (including earlier runs)."""
        with self._lock:
            return self._counts.get(shard, 0)

    def add(self, shard: str, table: pa.Table) -> None:
        """Append records of one shard, in read order; the writer numbers their ``pos``.

        ``table`` has the capture columns except ``pos`` and ``size`` (missing optional columns
        are filled with nulls).
        """
        if table.num_rows == 0:
            return
        with self._lock:
            start = self._counts.get(shard, 0)
            pos = pa.array(range(start, start + table.num_rows), type=pa.int64())
            self._counts[shard] = start + table.num_rows
            self._buffer.append(table.append_column("pos", pos))
            self._buffered += table.num_rows
            due = time.monotonic() - self._last_flush >= self._flush_seconds
            if self._buffered >= self._flush_rows or due:
                self.flush()

    def flush(self) -> None:
        """Write the buffered records as one part, then the checkpoints into the manifest."""
        with self._lock:
            self._last_flush = time.monotonic()
            if not self._buffer:
                return
            table = pa.concat_tables(self._buffer, promote_options="default")
            self._buffer, self._buffered = [], 0
            if self._redactor is not None:
                table = self._redactor.apply(table, self.manifest.source.kind)
            table = table.append_column("size", sizes_for(table, self.ctx))
            table = sort_records(conform(table, self.manifest.source.kind))
            self._write_part(table)
            for row in _last_rows(table):
                self._last_seq[row[0]] = row[1]
            self.manifest = replace(self.manifest, checkpoints=dict(self._last_seq))
            self._write_manifest(self.manifest)

    def finish(self, **updates: object) -> Capture:
        """Flush, summarise every shard from the parts, and mark the capture complete.

        ``updates`` replace manifest fields (``observed``, ``source`` ...) in the final manifest.
        """
        with self._lock:
            self.flush()
            table = self._read_all()
            if table.num_rows == 0 and self._next_part == 0:
                self._write_part(table)
            _check_unique(table, self.uri)
            manifest = replace(self.manifest, **updates)  # type: ignore[arg-type]
            manifest = replace(manifest, parts=tuple(self._parts))
            if self._redactor is not None:
                # After the last flush, so the counts cover every record.
                manifest = replace(manifest, redaction=self._redactor.describe())
            manifest = replace(
                manifest,
                shards=shard_infos(table, manifest.shards),
                complete=True,
                checkpoints=dict(self._last_seq),
            )
            self._write_manifest(manifest)
            self.manifest = manifest
            return Capture(path=_as_path(self.uri), manifest=manifest, records=table)

    def checkpoint(self) -> None:
        """Flush what is buffered (used on Ctrl-C and network errors before giving up)."""
        self.flush()

    # ----------------------------------------------------------------- files

    def _write_part(self, table: pa.Table) -> None:
        """One records file, whole (temporary name, fsync, rename), listed with its checksum in
        the manifest written next."""
        name = f"part-{self._next_part:05d}.parquet"
        self._next_part += 1
        data = encode_part(table)
        write_bytes_atomic(self._fs, f"{self._inner}/{RECORDS_DIR}/{name}", data)
        self._parts.append(part_info(name, data, table.num_rows))
        self.manifest = replace(self.manifest, parts=tuple(self._parts))

    def _write_manifest(self, manifest: Manifest) -> None:
        data = (json.dumps(manifest.to_json(), indent=2) + "\n").encode("utf-8")
        write_bytes_atomic(self._fs, f"{self._inner}/{MANIFEST}", data)

    def _read_all(self) -> pa.Table:
        parts = _parts(self._fs, self._inner)
        tables = [pq.read_table(p, filesystem=self._fs) for p in parts]
        kind = self.manifest.source.kind
        if not tables:
            return self._schema.empty_table()
        return sort_records(conform(pa.concat_tables(tables, promote_options="default"), kind))


# --------------------------------------------------------------------------- helpers


def write_bytes_atomic(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    """Write a small file whole: a temporary sibling renamed over it (direct upload on S3)."""
    if isinstance(fs, pafs.LocalFileSystem):
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        _fsync(tmp)
        fs.move(tmp, path)
    else:
        with fs.open_output_stream(path) as out:
            out.write(data)


def update_manifest(uri: str, manifest: Manifest) -> None:
    """Replace a capture's ``manifest.json`` whole (other files, e.g. ``observed/``, stay)."""
    fs, inner = filesystem(uri)
    data = (json.dumps(manifest.to_json(), indent=2) + "\n").encode("utf-8")
    write_bytes_atomic(fs, f"{inner}/{MANIFEST}", data)


def rewrite_parts(uri: str, change: Callable[[pa.Table], pa.Table]) -> tuple[PartInfo, ...]:
    """Rewrite each records part through ``change``, one part at a time, each atomically;
    return the parts' new manifest entries (the caller writes them into the manifest)."""
    fs, inner = filesystem(uri)
    infos = []
    for part in _parts(fs, inner):
        table = change(pq.read_table(part, filesystem=fs))
        data = encode_part(table)
        write_bytes_atomic(fs, part, data)
        infos.append(part_info(part.rsplit("/", 1)[-1], data, table.num_rows))
    return tuple(infos)


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes | None:
    """A file's bytes, or None when it does not exist."""
    try:
        with fs.open_input_stream(path) as fh:
            data: bytes = fh.read()
            return data
    except FileNotFoundError:
        return None


def _fsync(path: str) -> None:
    import os

    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _as_path(uri: str) -> Path:
    return Path(uri)


def _parts(fs: pafs.FileSystem, inner: str) -> list[str]:
    infos = fs.get_file_info(pafs.FileSelector(f"{inner}/{RECORDS_DIR}", allow_not_found=True))
    return sorted(
        i.path
        for i in infos
        if i.path.rsplit("/", 1)[-1].startswith("part-") and i.path.endswith(".parquet")
    )


def _scan_parts(fs: pafs.FileSystem, inner: str) -> tuple[ResumeState, int]:
    """Rebuild per-shard state from the parts; drop temporaries a killed writer left behind."""
    infos = fs.get_file_info(pafs.FileSelector(f"{inner}/{RECORDS_DIR}", allow_not_found=True))
    for info in infos:
        if info.path.endswith(".tmp"):
            fs.delete_file(info.path)
    parts = _parts(fs, inner)
    if not parts:
        return ResumeState(), 0
    tables, infos_ = [], []
    for path in parts:
        data = read_bytes(fs, path) or b""
        part = pq.read_table(pa.BufferReader(data), columns=["shard", "seq", "pos"])
        tables.append(part)
        infos_.append(part_info(path.rsplit("/", 1)[-1], data, part.num_rows))
    table = pa.concat_tables(tables)
    table = table.sort_by([("shard", "ascending"), ("pos", "ascending")])
    last = {shard: seq for shard, seq in _last_rows(table)}
    counts = {
        row["shard"]: int(row["count_all"])
        for row in table.group_by("shard").aggregate([([], "count_all")]).to_pylist()
    }
    numbers = [int(p.rsplit("/", 1)[-1][len("part-") : -len(".parquet")]) for p in parts]
    ids = frozenset(table.column("seq").to_pylist())
    state = ResumeState(last_seq=last, counts=counts, ids=ids, parts=tuple(infos_))
    return state, max(numbers) + 1


def _last_rows(table: pa.Table) -> list[tuple[str, str]]:
    """(shard, seq) of each shard's last row of a table sorted by (shard, pos)."""
    n = table.num_rows
    if n == 0:
        return []
    shard = table.column("shard").combine_chunks()
    ends = [*pc.not_equal(shard.slice(0, n - 1), shard.slice(1)).to_pylist(), True]
    seqs = table.column("seq").to_pylist()
    shards = shard.to_pylist()
    return [(shards[i], seqs[i]) for i, end in enumerate(ends) if end]


def _check_unique(table: pa.Table, uri: str) -> None:
    for cols in (["shard", "pos"], ["shard", "seq"]):
        grouped = table.group_by(cols).aggregate([([], "count_all")])
        if grouped.num_rows != table.num_rows:
            raise CaptureError(f"{uri}: records repeat ({', '.join(cols)}); the capture is corrupt")


def _read_existing(uri: str, fs: pafs.FileSystem, inner: str) -> Manifest:
    if isinstance(fs, pafs.LocalFileSystem):
        return read_manifest(inner)
    raw = read_bytes(fs, f"{inner}/{MANIFEST}")
    if raw is None:
        raise CaptureError(f"{uri}: {MANIFEST} vanished")
    return Manifest.from_json(json.loads(raw.decode("utf-8")), where=f"{uri}/{MANIFEST}")


def _check_same_source(uri: str, old: Manifest, new: Manifest) -> None:
    a, b = old.source, new.source
    if (a.kind, a.arn, a.name) != (b.kind, b.arn, b.name):
        raise UserError(
            f"{uri}: --resume: the capture there is of {a.kind.value} {a.arn or a.name}, "
            f"not {b.kind.value} {b.arn or b.name}"
        )


def _merge_lineage(old: Manifest, new: Manifest) -> tuple[ShardInfo, ...]:
    by_id = {s.id: s for s in old.shards}
    by_id.update({s.id: s for s in new.shards})
    return tuple(by_id[k] for k in sorted(by_id))


def window_fields(window: Window) -> dict[str, int]:
    """The manifest fields of a capture window."""
    return {"window_start_ms": window.start_ms, "window_end_ms": window.end_ms}
