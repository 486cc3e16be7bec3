"""Replay one capture under many configurations: ``esm-replay sweep``.

A sweep is the cartesian product of ``--vary Key=v1,v2,...`` axes (and/or the points of a
``--grid`` file), each point an ordinary run written to ``SWEEP/<point-id>/`` with the point's
assignments applied as ``--set`` overrides. Point ids are a hash of the point's resolved
parameters, so the same point always lands in the same directory: an interrupted sweep resumes by
skipping the points whose run is already there (each run directory is written atomically).

Points run on a local process pool (``jobs``) or on a Dask distributed cluster (``scheduler``,
the optional extra ``esm-replay[dask]``); both call the same task function, :func:`run_point`,
and the results table is a pure function of the inputs: the same bytes whichever ran it.

``SWEEP/results.parquet`` holds one row per point: its parameters, outcomes and estimated cost,
and whether it is on the Pareto front over (records discarded, duplicate deliveries, p99 latency,
invocations). :func:`replay.analysis.pareto.recommend` picks a point for a stated objective.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from replay.analysis.pareto import RESULTS, figures, pareto_front
from replay.analysis.query import uniform_column
from replay.assignments import split_assignment
from replay.errors import UserError
from replay.extras import require
from replay.formats.capture import capture_fingerprint
from replay.formats.runfiles import read_run

SWEEP_FORMAT = "esm-replay.sweep/1"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep: its id and its ``Key=Value`` assignments."""

    id: str
    assignments: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, Any], ...]  # the resolved value of each key, for the results table

    @property
    def overrides(self) -> tuple[str, ...]:
        """The point's assignments as ``--set`` strings."""
        return tuple(f"{k}={v}" for k, v in self.assignments)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to run one point (picklable, paths only)."""

    capture: str
    fingerprint: str
    config: str | None
    function: str | None
    overrides: tuple[str, ...]
    seed: int
    out: str
    point: str


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its directory, results table, the Pareto front and what ran."""

    path: Path
    results: pa.Table
    keys: tuple[str, ...]
    front: tuple[str, ...]
    ran: int
    reused: int


# ---------------------------------------------------------------------- points
def parse_vary(text: str) -> tuple[str, tuple[str, ...]]:
    """``Key=v1,v2,...`` → (key, values). A value holding a comma belongs in a --grid file.

    Raises:
        UserError: no ``=``, no key, or no value.
    """
    pair = split_assignment(text, need_value=True)
    if pair is None:
        raise UserError(f"--vary {text!r}: expected Key=value1,value2,... (e.g. BatchSize=10,100)")
    key, raw = pair
    return key, tuple(v.strip() for v in raw.split(","))


def _text(value: Any) -> str:
    """A grid value as ``--set`` text: JSON for everything but plain strings."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def read_grid(path: Path) -> list[dict[str, str]]:
    """A grid file: a list of points (objects), or an object of key → list of values (a product).

    Raises:
        UserError: unreadable, or neither shape.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--grid {path}: cannot read ({exc.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as exc:
        raise UserError(
            f"--grid {path}: not valid {path.suffix[1:].upper() or 'JSON'} ({exc})"
        ) from None
    if isinstance(doc, dict) and all(isinstance(v, list) and v for v in doc.values()):
        keys = list(doc)
        return [
            {k: _text(v) for k, v in zip(keys, combo, strict=True)}
            for combo in itertools.product(*(doc[k] for k in keys))
        ]
    if isinstance(doc, list) and doc and all(isinstance(p, dict) for p in doc):
        return [{str(k): _text(v) for k, v in p.items()} for p in doc]
    raise UserError(
        f"--grid {path}: expected a list of points ({{Key: value}} objects) or an object of "
        "Key: [values] (their product)"
    )


def combinations(
    axes: Sequence[tuple[str, Sequence[str]]], grid: Sequence[Mapping[str, str]] = ()
) -> list[tuple[tuple[str, str], ...]]:
    """The assignments of every point: grid points × the product of the axes, in the given order."""
    base: list[Mapping[str, str]] = list(grid) or [{}]
    out = []
    for g in base:
        for combo in itertools.product(*(values for _, values in axes)):
            assignment = dict(g)
            assignment.update({k: v for (k, _), v in zip(axes, combo, strict=True)})
            out.append(tuple(assignment.items()))
    if not out or out == [()]:
        raise UserError("sweep: nothing to vary; give --vary Key=v1,v2 or --grid FILE")
    return out


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def _lookup(doc: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """The value at a dotted key of AWS JSON, matching PascalCase or snake_case segments."""
    node: Any = doc
    for segment in key.split("."):
        if not isinstance(node, Mapping):
            return False, None
        match = [k for k in node if _norm(k) == _norm(segment)]
        if not match:
            return False, None
        node = node[match[0]]
    return True, node


def point_id(params: Sequence[tuple[str, Any]]) -> str:
    """A stable id from a point's resolved parameters (order and spelling of keys do not matter)."""
    canonical = json.dumps(sorted((_norm(k), v) for k, v in params), sort_keys=True, default=str)
    return "p" + hashlib.sha256(canonical.encode()).hexdigest()[:10]


def resolve_points(
    capture: Path,
    config: str | None,
    function: str | None,
    base: Sequence[str],
    assignments: Sequence[tuple[tuple[str, str], ...]],
) -> list[Point]:
    """Validate every point's configuration up front; nothing is written when one is wrong.

    Raises:
        UserError: the capture, function or a point's configuration is invalid (the point named).
    """
    from replay.engine.runner import resolve_config
    from replay.formats.capture import read_capture
    from replay.function import load_function

    cap = read_capture(capture)
    load_function(function)
    points, seen = [], set()
    for assignment in assignments:
        overrides = [*base, *(f"{k}={v}" for k, v in assignment)]
        try:
            resolved = resolve_config(cap, config, overrides)
        except UserError as exc:
            where = " ".join(f"{k}={v}" for k, v in assignment)
            raise UserError(f"sweep point {where}: {exc}") from None
        aws = resolved.config.to_aws()
        params = []
        for k, v in assignment:
            found, value = _lookup(aws, k)
            params.append((k, value if found else v))
        pid = point_id(params)
        if pid not in seen:
            seen.add(pid)
            points.append(Point(pid, tuple(assignment), tuple(params)))
    return points


# ---------------------------------------------------------------------- one point
_CAPTURES: dict[tuple[str, str], Any] = {}


def _capture(path: str, fingerprint: str) -> Any:
    """The capture, read once per worker process (a sweep replays it many times)."""
    from replay.formats.capture import read_capture

    key = (path, fingerprint)
    if key not in _CAPTURES:
        _CAPTURES.clear()
        _CAPTURES[key] = read_capture(path)
    return _CAPTURES[key]


def run_point(task: Task) -> dict[str, Any]:
    """Run one point into ``task.out`` (or reuse the run already there) and return its figures.

    This is the task function of both the local pool and Dask: it takes paths, writes the run
    directory atomically and returns a plain dict.
    """
    from replay.engine.runner import RunRequest, resolve_config, run_capture
    from replay.function import load_function

    out = Path(task.out)
    if (out / "run.json").is_file():
        return figures(read_run(out), task.point)
    capture = _capture(task.capture, task.fingerprint)
    resolved = resolve_config(capture, task.config, task.overrides)
    request = RunRequest(
        capture=Path(task.capture),
        config=resolved.config,
        model=load_function(task.function),
        seed=task.seed,
        overrides=task.overrides,
        config_source=resolved.source,
        source_settings=resolved.source_settings,
    )
    return figures(run_capture(capture, request, out, overwrite=True), task.point)


# ---------------------------------------------------------------------- execution
def _execute(
    tasks: Sequence[Task], jobs: int, scheduler: str | None, progress: Progress | None
) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}

    def finished(row: dict[str, Any]) -> None:
        done[row["point"]] = row
        if progress is not None:
            progress(len(done), len(tasks))

    if not tasks:
        return done
    if scheduler:
        _on_dask(tasks, scheduler, finished)
    elif jobs <= 1 or len(tasks) == 1:
        for task in tasks:
            finished(run_point(task))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn, not fork: DuckDB and Arrow thread pools do not survive a fork.
        ctx = multiprocessing.get_context("spawn")
        workers = min(jobs, len(tasks))
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_die_with, initargs=(os.getpid(),)
        ) as pool:
            futures = [pool.submit(run_point, t) for t in tasks]
            for fut in as_completed(futures):
                finished(fut.result())
    return done


def _die_with(parent: int) -> None:
    """In a pool worker: exit when the sweep process is gone (killed, even with -9), instead of
    running on unseen (each worker holds a capture in memory)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="esm-replay-parent-watch", daemon=True).start()


def _on_dask(
    tasks: Sequence[Task], scheduler: str, finished: Callable[[dict[str, Any]], None]
) -> None:
    """Run the same task function on a Dask distributed cluster (``esm-replay[dask]``)."""
    require("distributed", "sweep --scheduler")
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise UserError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    with client:
        futures = client.map(run_point, list(tasks), key=[f"esm-replay-{t.point}" for t in tasks])
        for fut in as_completed(futures):
            finished(fut.result())


# ---------------------------------------------------------------------- the sweep
def _spec(
    capture: Path,
    fingerprint: str,
    config: str | None,
    function: str | None,
    base: Sequence[str],
    seed: int,
) -> dict[str, Any]:
    return {
        "format": SWEEP_FORMAT,
        "capture": {"path": str(capture), "fingerprint": fingerprint},
        "config": None if config is None else str(config),
        "function": function,
        "set": list(base),
        "seed": seed,
        # what the files said, not only where they are: a resumed sweep whose configuration,
        # function model or handler changed since must not reuse the points already run
        "contents": {"config": _file_digest(config), "function": _function_digest(function)},
    }


def _file_digest(path: str | os.PathLike[str] | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _function_digest(function: str | None) -> str | None:
    """sha256 over the function model file and the handler source it names (or the handler
    file of a ``file.py:func`` spec); None for the default function or a module handler whose
    file cannot be found."""
    if function is None:
        return None
    files: list[Path] = []
    handler = function
    if Path(function).is_file():  # a YAML/JSON model
        files.append(Path(function))
        from replay.function import load_function

        handler = load_function(function).handler or ""
    module, sep, _ = handler.rpartition(":")
    if sep and (module.endswith(".py") or "/" in module):
        files.append(Path(module))
    elif sep and module:
        import importlib.util

        with suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(module)
            if spec is not None and spec.origin and Path(spec.origin).is_file():
                files.append(Path(spec.origin))
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes() if file.is_file() else b"")
    return "sha256:" + digest.hexdigest() if files else None


def _check_target(out: Path, spec: dict[str, Any], overwrite: bool) -> list[dict[str, Any]]:
    """Points already recorded in ``out`` (resume), after checking it is the same sweep."""
    if not out.exists():
        return []
    sweep_json = out / "sweep.json"
    if not sweep_json.is_file():
        if out.is_dir() and not any(out.iterdir()):
            return []
        raise UserError(f"{out}: exists and is not a sweep directory; choose another -o")
    try:
        old = json.loads(sweep_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{sweep_json}: not readable JSON ({exc}); pass --overwrite to start the sweep anew"
        ) from None
    if not isinstance(old, dict):
        raise UserError(f"{sweep_json}: not a sweep; pass --overwrite to start the sweep anew")
    same = {k: old.get(k) for k in spec} == spec
    if not same and not overwrite:
        changed = sorted(k for k in spec if old.get(k) != spec[k])
        raise UserError(
            f"{out}: a sweep with another {', '.join(changed)}; choose another -o or pass --overwrite"
        )
    if not same:
        import shutil

        shutil.rmtree(out)
        return []
    return list(old.get("points") or [])


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def results_table(points: Sequence[Point], rows: Mapping[str, Mapping[str, Any]]) -> pa.Table:
    """One row per point in point order: ``point``, ``param.<Key>`` columns, figures, ``pareto``."""
    ordered = [rows[p.id] for p in points]
    front = pareto_front(ordered)
    keys = list(dict.fromkeys(k for p in points for k, _ in p.params))
    columns: dict[str, pa.Array] = {"point": pa.array([p.id for p in points], pa.string())}
    for key in keys:
        columns[f"param.{key}"] = uniform_column([dict(p.params).get(key) for p in points])
    figures_names = [k for k in ordered[0] if k != "point"] if ordered else []
    for name in figures_names:
        columns[name] = uniform_column([r[name] for r in ordered])
    columns["pareto"] = pa.array(front, pa.bool_())
    return pa.table(columns)


def _absolute(function: str | None) -> str | None:
    """A function spec that names a file, made absolute: workers may run elsewhere (Dask)."""
    if function is None:
        return None
    if Path(function).is_file():
        return str(Path(function).resolve())
    file, sep, name = function.rpartition(":")
    if sep and file.endswith(".py") and Path(file).is_file():
        return f"{Path(file).resolve()}:{name}"
    return function


def run_sweep(
    capture: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: str | None = None,
    function: str | None = None,
    vary: Sequence[str] = (),
    grid: str | os.PathLike[str] | None = None,
    base: Sequence[str] = (),
    seed: int = 0,
    jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every point of the sweep that is not already in ``out`` and write results.parquet.

    Raises:
        UserError: bad --vary/--grid, an invalid point, a capture or target problem (nothing
            is written then), or an unreachable scheduler.
    """
    capture_path = Path(capture).resolve()
    function = _absolute(function)
    target = Path(out)
    axes = [parse_vary(v) for v in vary]
    grid_points = read_grid(Path(grid)) if grid is not None else []
    points = resolve_points(capture_path, config, function, base, combinations(axes, grid_points))
    fingerprint = capture_fingerprint(capture_path)
    config_abs = None if config is None else str(Path(config).resolve())
    spec = _spec(capture_path, fingerprint, config_abs, function, base, seed)
    previous = _check_target(target, spec, overwrite)
    target.mkdir(parents=True, exist_ok=True)
    known = {p["id"]: p for p in previous}
    for p in points:
        known[p.id] = {"id": p.id, "set": list(p.overrides), "params": dict(p.params)}
    _write_json(target / "sweep.json", {**spec, "points": list(known.values())})
    tasks = [
        Task(
            str(capture_path),
            fingerprint,
            config_abs,
            function,
            (*base, *p.overrides),
            seed,
            str(target / p.id),
            p.id,
        )
        for p in points
    ]
    reused = sum((target / p.id / "run.json").is_file() for p in points)
    rows = _execute(tasks, jobs, scheduler, progress)
    table = results_table(points, rows)
    tmp = target / f".{RESULTS}.tmp-{os.getpid()}"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, target / RESULTS)
    front = tuple(
        str(x)
        for x, f in zip(
            table.column("point").to_pylist(), table.column("pareto").to_pylist(), strict=True
        )
        if f
    )
    keys = tuple(dict.fromkeys(k for p in points for k, _ in p.params))
    return SweepResult(target, table, keys, front, len(points) - reused, reused)
