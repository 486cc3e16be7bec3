"""DuckDB over captures, runs and sweeps: the public query surface (docs/query.md).

``esm-replay query "SQL" PATH...`` and the TUI open the same views through :func:`connect`:

* ``capture_records`` (also ``records``) — the capture's records (every capture column, plus
  ``capture``);
* ``invocations``, ``run_records`` (the run's records.parquet, also ``outcomes``), ``metrics`` —
  the run's tables, plus ``run``;
* ``destinations`` — destinations.jsonl, one row per line (1-based ``line``) with the fields every
  family shares;
* ``runs`` — one row per run from run.json: configuration fields and summary figures;
* ``observed_failures`` — the production failure records a capture holds (``observed/``).

A run brings its own capture (run.json ``capture.path``), and a sweep brings its point runs and its
capture, so ``query "... from run_records join capture_records using (shard, seq)" RUN`` needs
nothing else. SQL naming a column that its view lacks is told which views have it.
The ``run`` and ``capture`` columns are always there (the directory name, made unique by parent
directories when two share a name), so a query written for one run works unchanged for many.

This module also holds what compare, explain, sweep and report share: finding the sources behind
paths and locating a run's capture. Failure records of every source family are read by
:mod:`replay.formats.failures`.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import decimal
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from replay.errors import UserError
from replay.formats.capture import CORE_FIELDS
from replay.formats.failures import failures_table, observed_failures, read_failures
from replay.formats.runfiles import INVOCATIONS, METRICS, RECORDS
from replay.timeutil import iso_ms, parse_iso_ms

if TYPE_CHECKING:
    import duckdb

CAPTURE_MANIFEST = "manifest.json"
RUN_JSON = "run.json"
SWEEP_JSON = "sweep.json"
FORMATS = ("table", "csv", "json", "parquet")

# The Parquet views and the schema each has; with no run (or no capture) given, a view still
# exists with these columns (and its run/capture label first).
VIEW_SCHEMAS: dict[str, pa.Schema] = {
    "capture_records": pa.schema(CORE_FIELDS),
    "invocations": INVOCATIONS,
    "run_records": RECORDS,
    "metrics": METRICS,
}
# Every view, with what it holds (how a hint names it).
VIEWS: dict[str, str] = {
    "capture_records": "the captures' records",
    "invocations": "the runs' invocations.parquet",
    "run_records": "the runs' records.parquet",
    "destinations": "the runs' destinations.jsonl",
    "metrics": "the runs' metrics.parquet",
    "runs": "one row per run.json",
    "observed_failures": "production's failure records in the captures",
}
# The first names of two views, kept so that older queries run: alias -> view.
ALIASES: dict[str, str] = {"records": "capture_records", "outcomes": "run_records"}


def _duckdb_type(kind: pa.DataType) -> str:
    """The DuckDB name of a run-table column type."""
    if pa.types.is_list(kind):
        return _duckdb_type(kind.value_type) + "[]"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ"
    names = {
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.string(): "VARCHAR",
        pa.binary(): "BLOB",
    }
    return names[kind]


def _empty_select(label: str, schema: pa.Schema) -> str:
    columns = [f"NULL::VARCHAR AS {label}"]
    columns += [f'NULL::{_duckdb_type(f.type)} AS "{f.name}"' for f in schema]
    return ", ".join(columns)


# ---------------------------------------------------------------------- sources
@dataclass(frozen=True)
class RunRef:
    """A run directory found behind a path: its unique name, place and run.json."""

    name: str
    path: Path
    meta: dict[str, Any]


@dataclass(frozen=True)
class CaptureRef:
    """A capture directory: its unique name and place."""

    name: str
    path: Path


@dataclass(frozen=True)
class Sources:
    """Everything the given paths stand for: runs (sweeps expanded) and captures (runs' included)."""

    runs: tuple[RunRef, ...]
    captures: tuple[CaptureRef, ...]


def is_run(path: Path) -> bool:
    """A run directory holds run.json."""
    return (path / RUN_JSON).is_file()


def is_capture(path: Path) -> bool:
    """A capture directory holds manifest.json and records/."""
    return (path / CAPTURE_MANIFEST).is_file() and (path / "records").is_dir()


def is_sweep(path: Path) -> bool:
    """A sweep directory holds sweep.json."""
    return (path / SWEEP_JSON).is_file()


def read_run_meta(path: Path) -> dict[str, Any]:
    """run.json of ``path``, or one line naming what is wrong."""
    try:
        meta = json.loads((path / RUN_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not a run directory (run.json missing)") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path / RUN_JSON}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path / RUN_JSON}: expected a JSON object")
    return meta


def sweep_runs(path: Path) -> list[Path]:
    """The finished point runs of a sweep, in the sweep's point order."""
    try:
        spec = json.loads((path / SWEEP_JSON).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path / SWEEP_JSON}: not valid JSON ({exc})") from None
    ids = [p["id"] for p in spec.get("points", [])]
    return [path / i for i in ids if is_run(path / i)]


def sweep_capture(path: Path) -> Path | None:
    """The capture a sweep replayed, when it can still be found."""
    spec = json.loads((path / SWEEP_JSON).read_text(encoding="utf-8"))
    return locate(spec.get("capture", {}).get("path"), path)


def locate(raw: str | None, near: Path) -> Path | None:
    """Find a capture recorded as ``raw``: as written, else beside ``near`` (a moved directory).

    Relative paths in run.json are relative to where the replay ran; a run or sweep moved together
    with its capture keeps them side by side, so the parent of ``near`` is tried next.
    """
    if not raw:
        return None
    given = Path(raw)
    tries = [given] if given.is_absolute() else [Path.cwd() / given, near.parent / given]
    tries += [near.parent / given.name, near.parent.parent / given.name]
    for candidate in tries:
        if is_capture(candidate):
            return candidate
    return None


def run_capture_path(run: Path, meta: dict[str, Any]) -> Path | None:
    """The capture a run replayed (run.json ``capture.path``), when it can be found."""
    return locate((meta.get("capture") or {}).get("path"), run)


def unique_names(paths: Sequence[Path]) -> list[str]:
    """Short, unique names: the directory name, with parents added only where names collide."""
    parts = [p.resolve().parts for p in paths]
    depth = [1] * len(paths)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clash = {n for n in names if names.count(n) > 1}
        if not clash:
            return names
        grown = False
        for i, n in enumerate(names):
            if n in clash and depth[i] < len(parts[i]):
                depth[i] += 1
                grown = True
        if not grown:
            return [f"{n}#{i}" for i, n in enumerate(names)]


def discover(paths: Iterable[str | os.PathLike[str]]) -> Sources:
    """Classify each path (run, capture or sweep) and gather runs and captures.

    Raises:
        UserError: a path that is none of the three.
    """
    run_paths: list[Path] = []
    capture_paths: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if is_run(path):
            run_paths.append(path)
        elif is_capture(path):
            capture_paths.append(path)
        elif is_sweep(path):
            run_paths.extend(sweep_runs(path))
            cap = sweep_capture(path)
            if cap is not None:
                capture_paths.append(cap)
        else:
            raise UserError(
                f"{path}: not a capture (manifest.json), run (run.json) or sweep (sweep.json) directory"
            )
    metas = [read_run_meta(p) for p in run_paths]
    for p, meta in zip(run_paths, metas, strict=True):
        cap = run_capture_path(p, meta)
        if cap is not None:
            capture_paths.append(cap)
    run_paths, metas = _dedup(run_paths, metas)
    capture_paths, _ = _dedup(capture_paths, [None] * len(capture_paths))
    runs = tuple(
        RunRef(n, p, m) for n, p, m in zip(unique_names(run_paths), run_paths, metas, strict=True)
    )
    caps = tuple(
        CaptureRef(n, p) for n, p in zip(unique_names(capture_paths), capture_paths, strict=True)
    )
    return Sources(runs, caps)


def _dedup(paths: list[Path], extra: list[Any]) -> tuple[list[Path], list[Any]]:
    seen: set[Path] = set()
    out_p, out_x = [], []
    for p, x in zip(paths, extra, strict=True):
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out_p.append(p)
            out_x.append(x)
    return out_p, out_x


# ---------------------------------------------------------------------- runs view
_DISPOSITIONS = ("processed", "discarded", "filtered", "dead-lettered", "unprocessed")
_RESULTS = (
    "ok", "error", "timeout", "partial", "invalid-response", "throttled", "rejected", "in-flight",
)  # fmt: skip


def _snake(name: str) -> str:
    return name.replace("-", "_")


def run_row(ref: RunRef) -> dict[str, Any]:
    """One row of the ``runs`` view: identity, configuration fields, function, summary figures."""
    meta = ref.meta
    s = meta.get("summary") or {}
    fn = (meta.get("function") or {}).get("resolved") or {}
    row: dict[str, Any] = {
        "run": ref.name,
        "path": str(ref.path),
        "capture": (meta.get("capture") or {}).get("path"),
        "kind": (meta.get("capture") or {}).get("kind"),
        "fingerprint": (meta.get("capture") or {}).get("fingerprint"),
        "config_source": meta.get("config_source"),
        "overrides": json.dumps(meta.get("overrides") or []),
        "seed": meta.get("seed"),
        "start": parse_iso_ms(meta.get("start")),
        "end": parse_iso_ms(meta.get("end")),
        "function_name": fn.get("name"),
        "memory_mb": fn.get("memory_mb"),
        "timeout_ms": fn.get("timeout_ms"),
        "reserved_concurrency": fn.get("reserved_concurrency"),
        "records": s.get("records"),
    }
    disp, results = s.get("dispositions") or {}, s.get("results") or {}
    for name in _DISPOSITIONS:
        row[_snake(name)] = int(disp.get(name, 0))
    row["reasons"] = json.dumps(s.get("reasons") or {}, sort_keys=True)
    for key in ("delivered", "deliveries", "duplicates", "invocations"):
        row[key] = s.get(key)
    for name in _RESULTS:
        row[f"result_{_snake(name)}"] = int(results.get(name, 0))
    for fig in ("iterator_age_ms", "latency_ms"):
        stats = s.get(fig) or {}
        base = fig.removesuffix("_ms")
        for p in ("p50", "p99", "max"):
            row[f"{base}_{p}_ms"] = stats.get(p)
    for key in ("destination_records", "blocked_ms", "virtual_ms", "events"):
        row[key] = s.get(key)
    row["wall_seconds"] = (meta.get("timing") or {}).get("wall_seconds")
    for key, value in (meta.get("config") or {}).items():
        row[key] = value
    return row


def uniform_column(values: list[Any]) -> pa.Array:
    """One column of the runs view: a scalar type when the runs agree on it, else JSON text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {bool} or kinds <= {str} or kinds <= {int} or kinds <= {int, float}:
        if kinds == {int, float}:
            values = [None if v is None else float(v) for v in values]
        return pa.array(values)
    return pa.array([None if v is None else json.dumps(v, sort_keys=True) for v in values])


def runs_table(runs: Sequence[RunRef]) -> pa.Table:
    """The ``runs`` view as an Arrow table (columns in first-seen order)."""
    rows = [run_row(r) for r in runs]
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    table = pa.table({n: uniform_column([row.get(n) for row in rows]) for n in names})
    for col in ("start", "end"):
        if col in names:
            i = table.schema.get_field_index(col)
            table = table.set_column(
                i, col, table.column(col).cast(pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
            )
    return table


# ---------------------------------------------------------------------- connection
def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _union(view: str, label: str, parts: Sequence[tuple[str, str]]) -> str:
    """CREATE VIEW over several Parquet sources, each tagged with its run or capture name."""
    if not parts:
        return (
            f"CREATE VIEW {view} AS SELECT {_empty_select(label, VIEW_SCHEMAS[view])} WHERE false"
        )
    selects = [
        f"SELECT {_lit(name)} AS {label}, * FROM read_parquet({_lit(source)})"
        for name, source in parts
    ]
    return f"CREATE VIEW {view} AS " + " UNION ALL BY NAME ".join(selects)


def _connection() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def connect(paths: Iterable[str | os.PathLike[str]]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the documented views over ``paths``."""
    sources = discover(paths)
    con = _connection()
    caps = [(c.name, str(c.path / "records" / "*.parquet")) for c in sources.captures]
    con.execute(_union("capture_records", "capture", caps))
    for view, file in (
        ("invocations", "invocations.parquet"),
        ("run_records", "records.parquet"),
        ("metrics", "metrics.parquet"),
    ):
        con.execute(_union(view, "run", [(r.name, str(r.path / file)) for r in sources.runs]))
    dests = [
        failures_table("run", r.name, read_failures(r.path / "destinations.jsonl"))
        for r in sources.runs
    ]
    _register(con, "destinations", dests, failures_table("run", "", []))
    observed = [
        failures_table("capture", c.name, observed_failures(c.path) or []) for c in sources.captures
    ]
    _register(con, "observed_failures", observed, failures_table("capture", "", []))
    runs = (
        runs_table(sources.runs) if sources.runs else pa.table({"run": pa.array([], pa.string())})
    )
    con.register("_runs", runs)
    con.execute("CREATE VIEW runs AS SELECT * FROM _runs")
    for alias, view in ALIASES.items():
        con.execute(f"CREATE VIEW {alias} AS SELECT * FROM {view}")
    return con


def _register(
    con: duckdb.DuckDBPyConnection, view: str, tables: list[pa.Table], empty: pa.Table
) -> None:
    """A view of failure records; ``line`` counts from 1, as a person (and ``explain``) does."""
    table = pa.concat_tables(tables) if tables else empty
    con.register(f"_{view}", table)
    con.execute(
        f"CREATE VIEW {view} AS SELECT * REPLACE (record::JSON AS record, line + 1 AS line) "
        f"FROM _{view}"
    )


def to_arrow(result: Any) -> pa.Table:
    """An Arrow table from a DuckDB relation, across versions (2.0's ``arrow()`` gives a reader)."""
    for name in ("to_arrow_table", "fetch_arrow_table"):
        method = getattr(result, name, None)
        if method is not None:
            return method()
    out = result.arrow()
    return out.read_all() if isinstance(out, pa.RecordBatchReader) else out


_MISSING_COLUMN = re.compile(
    r'Referenced column "([^"]+)" not found|does not have a column named "([^"]+)"'
)
_MISSING_TABLE = re.compile(r'Table with name "?([^\s"!]+)"? does not exist')


def user_sql_error(exc: Exception, hint: str = "") -> UserError:
    """DuckDB's multi-line message as one line (its first line, any suggestion, ``hint``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = lines[:1] + [line for line in lines[1:] if line.startswith("Did you mean")]
    return UserError("query: " + " ".join(keep) + (f" — {hint}" if hint else ""))


def _view_name(view: str) -> str:
    aliases = [a for a, v in ALIASES.items() if v == view]
    also = f"; also named {', '.join(aliases)}" if aliases else ""
    return f"{view} ({VIEWS[view]}{also})"


def column_hint(con: duckdb.DuckDBPyConnection, message: str) -> str:
    """For DuckDB's "column X not found": which views do have X (empty when none does)."""
    found = _MISSING_COLUMN.search(message)
    if found is None:
        return ""
    column = (found.group(1) or found.group(2)).lower()
    having = [
        view
        for view in VIEWS
        if column in (row[0].lower() for row in con.sql(f"DESCRIBE {view}").fetchall())
    ]
    if not having:
        return ""
    return f'"{column}" is a column of ' + ", ".join(_view_name(v) for v in having)


def run_query(
    sql: str, paths: Iterable[str | os.PathLike[str]], *, sources_required: bool = False
) -> pa.Table:
    """Run ``sql`` over the views of ``paths`` and return the result as an Arrow table.

    With ``sources_required`` (the command line) and no paths, SQL that reads one of the views
    is refused, since it would answer from empty views; SQL that reads files itself runs.

    Raises:
        UserError: a path that is no capture, run or sweep, SQL that DuckDB refuses (a missing
            column is told the views that have it), or a view read with no source given.
    """
    import duckdb

    paths = list(paths)
    bare = sources_required and not paths
    con = _connection() if bare else connect(paths)
    try:
        rel = con.sql(sql)
        if rel is None:
            return pa.table({})
        return to_arrow(rel)
    except duckdb.Error as exc:
        missing = _MISSING_TABLE.search(str(exc))
        if bare and missing and missing.group(1).lower() in {*VIEWS, *ALIASES}:
            raise UserError(
                f"query: no capture, run or sweep given, so there is no view {missing.group(1)}; "
                "name them after the SQL: esm-replay query SQL RUN|CAPTURE|SWEEP..."
            ) from None
        hint = (
            ""
            if bare or not isinstance(exc, duckdb.BinderException)
            else column_hint(con, str(exc))
        )
        raise user_sql_error(exc, hint) from None
    finally:
        con.close()


# ---------------------------------------------------------------------- output
def cell(value: Any) -> Any:
    """A JSON-able, deterministic form of one value (times as ISO-8601 UTC, bytes as text)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return iso_ms(round(value.timestamp() * 1000))
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cell(v) for v in value]
    return value


def text_cell(value: Any) -> str:
    """How a value prints in a table or CSV: NULL as empty, JSON for nested values."""
    value = cell(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def to_csv(table: pa.Table) -> str:
    """CSV text with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([text_cell(v) for v in row.values()])
    return buf.getvalue()


def to_json(table: pa.Table) -> str:
    """A JSON array with one object per line: valid JSON that diffs and greps line by line."""
    rows = [
        json.dumps(cell(r), separators=(",", ":"), ensure_ascii=False) for r in table.to_pylist()
    ]
    if not rows:
        return "[]\n"
    return "[\n" + ",\n".join(rows) + "\n]\n"


def write_output(table: pa.Table, fmt: str, out: Path) -> None:
    """Write ``table`` to ``out`` in ``fmt`` (csv, json, parquet) atomically."""
    if fmt not in FORMATS or fmt == "table":
        raise UserError(f"--format: {fmt!r} cannot be written to a file; use csv, json or parquet")
    if out.is_dir():
        raise UserError(f"{out}: is a directory; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            text = to_csv(table) if fmt == "csv" else to_json(table)
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
