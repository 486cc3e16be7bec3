"""The capture format: a directory holding ``manifest.json`` and ``records/*.parquet``.

A capture is the public, self-describing snapshot of a source's records for a time range (see
docs/capture-format.md). Writers go through :func:`write_capture`, which validates, sorts, writes
zstd Parquet into a temporary sibling directory and renames it into place, so a reader never sees
a half-written capture. Readers go through :func:`read_capture`, which turns every way a capture
can be broken into one :class:`~replay.errors.CaptureError` line.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from replay.errors import CaptureError
from replay.formats.atomic import atomic_directory, check_target
from replay.formats.manifest import (
    CAPTURE_FORMAT,
    MANIFEST,
    Manifest,
    PartInfo,
    ShardInfo,
    SourceInfo,
)
from replay.vocabulary import SourceKind

__all__ = [
    "CAPTURE_FORMAT",
    "CORE_FIELDS",
    "EXTRA_FIELDS",
    "MANIFEST",
    "RECORDS_DIR",
    "ROW_GROUP_SIZE",
    "Capture",
    "Manifest",
    "PartInfo",
    "ShardInfo",
    "SourceInfo",
    "capture_fingerprint",
    "capture_schema",
    "conform",
    "encode_part",
    "filesystem",
    "is_uri",
    "part_info",
    "read_capture",
    "read_manifest",
    "shard_infos",
    "sort_records",
    "write_capture",
]
RECORDS_DIR = "records"
ROW_GROUP_SIZE = 131_072
FIRST_PART = "part-00000.parquet"

CORE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("shard", pa.string(), nullable=False),
    pa.field("seq", pa.string(), nullable=False),
    pa.field("pos", pa.int64(), nullable=False),
    pa.field("arrival", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("key", pa.string()),
    pa.field("data", pa.binary(), nullable=False),
    pa.field("size", pa.int32(), nullable=False),
)

# Typed, source-specific columns: what it takes to rebuild the exact event AWS would send.
EXTRA_FIELDS: dict[SourceKind, tuple[pa.Field, ...]] = {
    SourceKind.KINESIS: (),
    SourceKind.DYNAMODB: (
        pa.field("event_id", pa.string()),
        pa.field("event_name", pa.string()),
        pa.field("event_version", pa.string()),
        pa.field("stream_view_type", pa.string()),
        pa.field("user_identity", pa.string()),
        pa.field("size_bytes", pa.int32()),
    ),
    # SQS: ``seq`` is the message id (standard) or SequenceNumber (FIFO); ``key`` the MessageGroupId;
    # ``arrival`` SentTimestamp; ``data`` the body bytes exactly as sent.
    SourceKind.SQS: (
        pa.field("message_id", pa.string()),
        pa.field("md5_of_body", pa.string()),
        pa.field("sender_id", pa.string()),
        pa.field("group_id", pa.string()),
        pa.field("dedup_id", pa.string()),
        pa.field("sequence_number", pa.string()),
        pa.field("trace_header", pa.string()),
        pa.field("receive_count", pa.int32()),
        pa.field("first_receive", pa.timestamp("ms", tz="UTC")),
        pa.field("delay_seconds", pa.int32()),
        pa.field("attributes", pa.string()),
        pa.field("message_attributes", pa.string()),
        pa.field("md5_of_message_attributes", pa.string()),
    ),
    # Kafka: ``shard`` is "<topic>-<partition>", ``seq`` the offset as text, ``key`` the record key
    # as UTF-8 text (base64 when it is not text), ``data`` the value, ``arrival`` the timestamp.
    SourceKind.KAFKA: (
        pa.field("topic", pa.string()),
        pa.field("partition", pa.int32()),
        pa.field("offset", pa.int64()),
        pa.field("timestamp_type", pa.string()),
        pa.field("key_bytes", pa.binary()),
        pa.field("headers", pa.string()),
    ),
}


def capture_schema(kind: SourceKind) -> pa.Schema:
    """The Parquet schema of a capture's records for one source kind."""
    return pa.schema([*CORE_FIELDS, *EXTRA_FIELDS[kind]])


@dataclass(frozen=True)
class Capture:
    """A capture in memory: its manifest and its records as one Arrow table (sorted by shard, pos)."""

    path: Path
    manifest: Manifest
    records: pa.Table

    @property
    def kind(self) -> SourceKind:
        """The source kind of the capture."""
        return self.manifest.source.kind


def conform(table: pa.Table, kind: SourceKind) -> pa.Table:
    """Cast ``table`` to the capture schema of ``kind``: missing optional columns become nulls.

    Raises:
        CaptureError: a core column is missing or cannot be cast.
    """
    schema = capture_schema(kind)
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            try:
                columns.append(col.cast(f.type) if col.type != f.type else col)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise CaptureError(
                    f"records: column {f.name!r} is {col.type}, expected {f.type}: {exc}"
                ) from None
        elif f.nullable:
            columns.append(pa.nulls(table.num_rows, f.type))
        else:
            raise CaptureError(f"records: required column {f.name!r} is missing")
    out = pa.Table.from_arrays(columns, schema=schema)
    _check_not_null(out)
    return out


def _check_not_null(table: pa.Table) -> None:
    for f in table.schema:
        if not f.nullable and table.column(f.name).null_count:
            raise CaptureError(f"records: column {f.name!r} has null values; it is required")


def sort_records(table: pa.Table) -> pa.Table:
    """Sort by (shard, pos): the order the ESM reads, and what lets DuckDB skip row groups."""
    return table.sort_by([("shard", "ascending"), ("pos", "ascending")])


def _check_unique(table: pa.Table) -> None:
    for cols in (("shard", "pos"), ("shard", "seq")):
        grouped = table.group_by(list(cols)).aggregate([([], "count_all")])
        if grouped.num_rows != table.num_rows:
            raise CaptureError(f"records: ({', '.join(cols)}) must be unique within a capture")


def shard_infos(table: pa.Table, known: tuple[ShardInfo, ...] = ()) -> tuple[ShardInfo, ...]:
    """Per-shard summaries (first/last seq, counts) merged with any lineage already known."""
    by_id = {s.id: s for s in known}
    out: list[ShardInfo] = []
    if table.num_rows:
        stats = table.group_by("shard").aggregate(
            [("pos", "min"), ("pos", "max"), ([], "count_all")]
        )
        for row in stats.to_pylist():
            sid = row["shard"]
            rows = table.filter(pc.equal(table.column("shard"), sid))
            first = (
                rows.filter(pc.equal(rows.column("pos"), row["pos_min"])).column("seq")[0].as_py()
            )
            last = (
                rows.filter(pc.equal(rows.column("pos"), row["pos_max"])).column("seq")[0].as_py()
            )
            base = by_id.pop(sid, ShardInfo(id=sid))
            out.append(replace(base, first_seq=first, last_seq=last, records=row["count_all"]))
    out.extend(by_id.values())
    return tuple(sorted(out, key=lambda s: s.id))


def write_capture(
    path: str | os.PathLike[str], manifest: Manifest, records: pa.Table, *, overwrite: bool = False
) -> Capture:
    """Validate and write a capture atomically; return it as read back.

    The records are conformed to the schema, checked for unique (shard, pos) and (shard, seq),
    sorted, and written as zstd Parquet with ~128k-row groups. Shard summaries in the manifest are
    recomputed from the records. Everything lands in a temporary sibling directory first and is
    renamed into place, so an interrupted write leaves nothing behind at ``path``.

    Raises:
        CaptureError: invalid records, or ``path`` exists and ``overwrite`` is false.
    """
    if is_uri(path):
        return _write_capture_uri(os.fspath(path), manifest, records, overwrite=overwrite)
    target = Path(path)
    check_target(target, kind="capture", overwrite=overwrite, error=CaptureError)
    table = sort_records(conform(records, manifest.source.kind))
    _check_unique(table)
    manifest = replace(manifest, shards=shard_infos(table, manifest.shards))
    if manifest.window_start_ms is None and table.num_rows:
        manifest = replace(manifest, window_start_ms=_arrival_ms(table, "min"))
    if manifest.window_end_ms is None and table.num_rows:
        manifest = replace(manifest, window_end_ms=_arrival_ms(table, "max"))
    data = encode_part(table)
    manifest = replace(manifest, parts=(part_info(FIRST_PART, data, table.num_rows),))
    with atomic_directory(target, overwrite=overwrite, kind="capture", error=CaptureError) as tmp:
        (tmp / RECORDS_DIR).mkdir()
        (tmp / RECORDS_DIR / FIRST_PART).write_bytes(data)
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest.to_json(), fh, indent=2)
            fh.write("\n")
    return Capture(path=target, manifest=manifest, records=table)


def _arrival_ms(table: pa.Table, how: str) -> int:
    value = pc.min(table.column("arrival")) if how == "min" else pc.max(table.column("arrival"))
    return int(value.cast(pa.int64()).as_py())


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate only the manifest of the capture at ``path``."""
    if is_uri(path):
        return _read_manifest_uri(os.fspath(path))
    target = Path(path)
    mpath = target / MANIFEST
    if not target.is_dir():
        raise CaptureError(f"{target}: not a capture directory (no such directory)")
    if not mpath.is_file():
        raise CaptureError(f"{target}: not a capture ({MANIFEST} is missing)")
    try:
        obj = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaptureError(f"{mpath}: not valid JSON ({exc})") from None
    return Manifest.from_json(obj, where=str(mpath))


def read_capture(path: str | os.PathLike[str]) -> Capture:
    """Read a capture, validating its manifest, files and schema.

    Raises:
        CaptureError: one line naming the file and what is wrong.
    """
    if is_uri(path):
        return _read_capture_uri(os.fspath(path))
    target = Path(path)
    manifest = read_manifest(target)
    rdir = target / RECORDS_DIR
    files = sorted(p.name for p in rdir.glob("*.parquet")) if rdir.is_dir() else []
    if not files:
        raise CaptureError(f"{target}: no records ({RECORDS_DIR}/*.parquet is missing)")
    fs = pafs.LocalFileSystem()
    return _read_parts(target, manifest, fs, str(rdir.absolute()), files)


def _read_parts(
    path: Path, manifest: Manifest, fs: pafs.FileSystem, rdir: str, files: list[str]
) -> Capture:
    """Read and verify the record files against the manifest; every fault is one line.

    With ``parts`` in the manifest (every capture since they were added): each listed file must be
    there with its rows and sha256, and a complete capture has no file it does not list (a copied
    or stray part). In any capture: (shard, pos) and (shard, seq) are unique, and a complete
    capture's shard record counts are those of its manifest.
    """
    where = f"{path}/{RECORDS_DIR}"
    listed = {p.file: p for p in manifest.parts}
    if listed:
        missing = sorted(set(listed) - set(files))
        if missing:
            raise CaptureError(f"{where}/{missing[0]}: listed in {MANIFEST} but missing")
        stray = sorted(set(files) - set(listed))
        if stray and manifest.complete:
            raise CaptureError(
                f"{where}/{stray[0]}: not listed in {MANIFEST} (a copied or stray file?); "
                "remove it or recapture"
            )
    tables = []
    for name in files:
        try:
            with fs.open_input_stream(f"{rdir}/{name}") as fh:
                data = bytes(fh.read())
        except OSError as exc:
            raise CaptureError(f"{where}/{name}: cannot be read ({exc})") from None
        info = listed.get(name)
        if info is not None and hashlib.sha256(data).hexdigest() != info.sha256:
            raise CaptureError(
                f"{where}/{name}: its bytes do not match the sha256 in {MANIFEST} (the file "
                "changed or is damaged); recapture, or restore it"
            )
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise CaptureError(f"{where}/{name}: not a readable Parquet file ({exc})") from None
        if info is not None and table.num_rows != info.rows:
            raise CaptureError(
                f"{where}/{name}: {table.num_rows} rows, {MANIFEST} says {info.rows}"
            )
        tables.append(table)
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except pa.ArrowException as exc:
        raise CaptureError(f"{where}: parts have incompatible schemas ({exc})") from None
    table = sort_records(conform(table, manifest.source.kind))
    _check_unique(table)
    if manifest.complete:
        _check_counts(table, manifest, where)
    return Capture(path=path, manifest=manifest, records=table)


def _check_counts(table: pa.Table, manifest: Manifest, where: str) -> None:
    """A complete capture's records per shard are what its manifest says (a deleted or repeated
    part otherwise replays silently)."""
    expected = {s.id: s.records for s in manifest.shards if s.records}
    counts = table.group_by("shard").aggregate([([], "count_all")]).to_pylist()
    found = {str(r["shard"]): int(r["count_all"]) for r in counts}
    for shard, n in sorted(expected.items()):
        if found.get(shard, 0) != n:
            raise CaptureError(
                f"{where}: shard {shard} has {found.get(shard, 0)} records, {MANIFEST} says {n}"
            )
    last = _last_seqs(table)
    said = {s.id: s.last_seq for s in manifest.shards if s.last_seq is not None}
    for name, claims in (("shards[].last_seq", said), ("checkpoints", manifest.checkpoints)):
        for shard, seq in sorted(claims.items()):
            if shard in last and last[shard] != seq:
                raise CaptureError(
                    f"{where}: {MANIFEST} {name} says {shard} ends at {seq}, its records at "
                    f"{last[shard]} (the manifest and the records disagree)"
                )


def _last_seqs(table: pa.Table) -> dict[str, str]:
    """Each shard's last ``seq`` in a table sorted by (shard, pos)."""
    n = table.num_rows
    if not n:
        return {}
    shard = table.column("shard").combine_chunks()
    ends = pc.indices_nonzero(pc.not_equal(shard.slice(0, n - 1), shard.slice(1))).to_pylist()
    rows = [*ends, n - 1]
    seqs = table.column("seq").take(pa.array(rows)).to_pylist()
    return dict(zip(shard.take(pa.array(rows)).to_pylist(), seqs, strict=True))


def encode_part(table: pa.Table) -> bytes:
    """A records file's bytes: zstd Parquet with ~128k-row groups."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=ROW_GROUP_SIZE)
    return bytes(sink.getvalue().to_pybytes())


def part_info(file: str, data: bytes, rows: int) -> PartInfo:
    """The manifest's entry for a records file."""
    return PartInfo(file, rows, hashlib.sha256(data).hexdigest())


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


# --------------------------------------------------------------------------- s3:// captures
# Captures may live under an ``s3://bucket/prefix`` URI, read and written through pyarrow's S3
# filesystem (never boto3: the core stays free of it). Credentials come from the standard AWS chain
# (environment, profile); ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` point it at another server.
# S3 has no rename: each object appears whole when its upload completes, so the records are written
# first and ``manifest.json`` last; a reader that finds the manifest finds every part it describes.


def is_uri(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an ``s3://`` capture or run rather than a local directory."""
    return _normalize_uri(os.fspath(path)).startswith("s3://")


def _normalize_uri(text: str) -> str:
    # ``Path("s3://b/p")`` collapses the double slash; accept that spelling back.
    if text.startswith("s3:/") and not text.startswith("s3://"):
        return "s3://" + text[len("s3:/") :]
    return text


def filesystem(
    path: str | os.PathLike[str], *, endpoint_url: str | None = None, region: str | None = None
) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path inside it, for a local path or an ``s3://`` URI.

    Args:
        path: a local path, or ``s3://bucket/prefix`` (query parameters such as
            ``?endpoint_override=host:port&scheme=http`` are passed to pyarrow as they are).
        endpoint_url: an S3 endpoint (``http://host:port``); default ``AWS_ENDPOINT_URL_S3`` or
            ``AWS_ENDPOINT_URL`` from the environment.
        region: the bucket's region; default ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
    """
    text = _normalize_uri(os.fspath(path))
    if not text.startswith("s3://"):
        return pafs.LocalFileSystem(), str(Path(text).absolute())
    parts = urllib.parse.urlsplit(text)
    if parts.query:
        fs, inner = pafs.FileSystem.from_uri(text)
        return fs, inner.rstrip("/")
    endpoint = (
        endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    )
    kwargs: dict[str, Any] = {}
    if endpoint:
        ep = urllib.parse.urlsplit(endpoint)
        kwargs["endpoint_override"] = ep.netloc or ep.path
        kwargs["scheme"] = ep.scheme or "https"
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    return pafs.S3FileSystem(**kwargs), (parts.netloc + parts.path).rstrip("/")


def _uri_exists(fs: pafs.FileSystem, inner: str) -> bool:
    info = fs.get_file_info(f"{inner}/{MANIFEST}")
    return bool(info.type != pafs.FileType.NotFound)


def _write_capture_uri(
    uri: str, manifest: Manifest, records: pa.Table, *, overwrite: bool
) -> Capture:
    fs, inner = filesystem(uri)
    if _uri_exists(fs, inner):
        if not overwrite:
            raise CaptureError(f"{uri}: already exists; choose another output or pass --overwrite")
        fs.delete_dir_contents(inner, missing_dir_ok=True)
    table = sort_records(conform(records, manifest.source.kind))
    _check_unique(table)
    manifest = replace(manifest, shards=shard_infos(table, manifest.shards))
    if manifest.window_start_ms is None and table.num_rows:
        manifest = replace(manifest, window_start_ms=_arrival_ms(table, "min"))
    if manifest.window_end_ms is None and table.num_rows:
        manifest = replace(manifest, window_end_ms=_arrival_ms(table, "max"))
    data = encode_part(table)
    manifest = replace(manifest, parts=(part_info(FIRST_PART, data, table.num_rows),))
    with fs.open_output_stream(f"{inner}/{RECORDS_DIR}/{FIRST_PART}") as out:
        out.write(data)
    with fs.open_output_stream(f"{inner}/{MANIFEST}") as out:
        out.write((json.dumps(manifest.to_json(), indent=2) + "\n").encode("utf-8"))
    return Capture(path=Path(uri), manifest=manifest, records=table)


def _read_manifest_uri(uri: str) -> Manifest:
    fs, inner = filesystem(uri)
    try:
        with fs.open_input_stream(f"{inner}/{MANIFEST}") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise CaptureError(f"{uri}: not a capture ({MANIFEST} is missing)") from None
    except OSError as exc:
        raise CaptureError(f"{uri}: cannot read {MANIFEST} ({exc})") from None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaptureError(f"{uri}/{MANIFEST}: not valid JSON ({exc})") from None
    return Manifest.from_json(obj, where=f"{uri}/{MANIFEST}")


def _read_capture_uri(uri: str) -> Capture:
    manifest = _read_manifest_uri(uri)
    fs, inner = filesystem(uri)
    infos = fs.get_file_info(pafs.FileSelector(f"{inner}/{RECORDS_DIR}", allow_not_found=True))
    files = sorted(i.base_name for i in infos if i.base_name.endswith(".parquet"))
    if not files:
        raise CaptureError(f"{uri}: no records ({RECORDS_DIR}/*.parquet is missing)")
    return _read_parts(Path(uri), manifest, fs, f"{inner}/{RECORDS_DIR}", files)
