"""What lies under some folders: captures, runs and sweeps, from their JSON alone.

:func:`scan` walks the given paths (a few levels deep) and reads only ``manifest.json``,
``run.json`` and ``sweep.json`` — never a Parquet file — so a folder of hundreds of runs opens at
once. An entry that cannot be read becomes a problem line (the :class:`~replay.errors.UserError`
text a command would print), never a failed scan. Runs are linked to the capture they replayed by
its resolved path (run.json ``capture.path``, :func:`~replay.analysis.query.run_capture_path`).

The TUI's home screen lists a :class:`Catalog`; nothing here draws anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replay.analysis.query import (
    CAPTURE_MANIFEST,
    RUN_JSON,
    SWEEP_JSON,
    is_capture,
    is_run,
    is_sweep,
    locate,
    read_run_meta,
    run_capture_path,
    unique_names,
)
from replay.errors import UserError
from replay.timeutil import parse_iso_ms

# summary figures a catalog row shows (run.json ``summary``)
HEADLINE_KEYS = (
    "records",
    "dispositions",
    "duplicates",
    "invocations",
    "results",
    "blocked_ms",
    "iterator_age_ms",
    "latency_ms",
    "destination_records",
)


@dataclass(frozen=True)
class CaptureEntry:
    """A capture directory, from its manifest."""

    name: str
    path: Path
    kind: str
    source: str | None  # the stream, queue or topic name (else its ARN)
    shards: int
    records: int
    window_start_ms: int | None
    window_end_ms: int | None
    esm_configs: int
    has_observed: bool


@dataclass(frozen=True)
class RunEntry:
    """A run directory, from its run.json."""

    name: str
    path: Path
    kind: str
    capture: Path | None  # the capture it replayed, when it can still be found
    fingerprint: str | None
    config_source: str | None
    overrides: tuple[str, ...]
    seed: int | None
    written_ms: int | None  # run.json's modification time (display only)
    headline: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None
    sweep: Path | None = None  # the sweep the run is a point of


@dataclass(frozen=True)
class SweepEntry:
    """A sweep directory, from its sweep.json."""

    name: str
    path: Path
    capture: Path | None
    points: int
    finished: int
    front: int | None = None  # Pareto points, when known (results.parquet is not read here)


@dataclass(frozen=True)
class Catalog:
    """Everything found, and every entry that could not be read (path, one-line reason)."""

    captures: tuple[CaptureEntry, ...]
    runs: tuple[RunEntry, ...]
    sweeps: tuple[SweepEntry, ...]
    problems: tuple[tuple[Path, str], ...]

    def runs_of(self, capture: CaptureEntry | None) -> tuple[RunEntry, ...]:
        """The runs of ``capture`` (``None``: the runs whose capture is not in the catalog)."""
        if capture is None:
            known = {c.path.resolve() for c in self.captures}
            return tuple(
                r for r in self.runs if r.capture is None or r.capture.resolve() not in known
            )
        key = capture.path.resolve()
        return tuple(r for r in self.runs if r.capture is not None and r.capture.resolve() == key)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a JSON object")
    return doc


def _capture(path: Path, name: str) -> CaptureEntry:
    doc = _read_json(path / CAPTURE_MANIFEST)
    source = doc.get("source") or {}
    shards = doc.get("shards") or []
    parts = doc.get("parts") or []
    records = sum(int(p.get("rows") or 0) for p in parts) or sum(
        int(s.get("records") or 0) for s in shards
    )
    window = doc.get("window") or {}
    return CaptureEntry(
        name=name,
        path=path,
        kind=str(source.get("kind", "")),
        source=source.get("name") or source.get("arn"),
        shards=len(shards),
        records=records,
        window_start_ms=parse_iso_ms(window.get("start")),
        window_end_ms=parse_iso_ms(window.get("end")),
        esm_configs=len(doc.get("esm") or []),
        has_observed=bool(doc.get("observed")) or (path / "observed").is_dir(),
    )


def _run(path: Path, name: str, sweep: Path | None) -> RunEntry:
    meta = read_run_meta(path)
    if not isinstance(meta.get("summary"), dict):
        raise UserError(f"{path / RUN_JSON}: no summary (not a finished run)")
    cap = meta.get("capture") or {}
    summary = meta["summary"]
    try:
        written: int | None = int((path / RUN_JSON).stat().st_mtime * 1000)
    except OSError:
        written = None
    return RunEntry(
        name=name,
        path=path,
        kind=str(cap.get("kind", "")),
        capture=run_capture_path(path, meta),
        fingerprint=cap.get("fingerprint"),
        config_source=meta.get("config_source"),
        overrides=tuple(str(o) for o in meta.get("overrides") or ()),
        seed=meta.get("seed"),
        written_ms=written,
        headline={k: summary.get(k) for k in HEADLINE_KEYS},
        wall_seconds=(meta.get("timing") or {}).get("wall_seconds"),
        sweep=sweep,
    )


def _sweep(path: Path, name: str) -> SweepEntry:
    doc = _read_json(path / SWEEP_JSON)
    points = [p for p in doc.get("points") or [] if isinstance(p, dict)]
    finished = sum(1 for p in points if is_run(path / str(p.get("id", ""))))
    return SweepEntry(
        name=name,
        path=path,
        capture=locate((doc.get("capture") or {}).get("path"), path),
        points=len(points),
        finished=finished,
    )


def _walk(
    root: Path, depth: int, found: list[tuple[str, Path]], problems: list[tuple[Path, str]]
) -> None:
    """Classify ``root``; descend into plain folders while ``depth`` allows."""
    if is_run(root):
        found.append(("run", root))
        return
    if is_capture(root):
        found.append(("capture", root))
        return
    if is_sweep(root):
        found.append(("sweep", root))
        return
    if depth <= 0:
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as exc:
        problems.append((root, f"{root}: cannot be listed ({exc.strerror or exc})"))
        return
    for child in children:
        if child.name.startswith("."):  # hidden, and atomic writes' .NAME.tmp-* siblings
            continue
        _walk(child, depth - 1, found, problems)


def scan(paths: Sequence[str | os.PathLike[str]], *, max_depth: int = 3) -> Catalog:
    """The captures, runs and sweeps at or under ``paths`` (folders searched ``max_depth`` deep).

    Never raises for one entry: what cannot be read is a problem line. A path given that is
    neither a folder nor holds any of the three is a problem too.
    """
    found: list[tuple[str, Path]] = []
    problems: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            problems.append(
                (path, f"{path}: not a capture, run or sweep directory (no such folder)")
            )
            continue
        before = len(found)
        _walk(path, max_depth, found, problems)
        if len(found) == before and not any(p == path for p, _ in problems):
            problems.append((path, f"{path}: no capture, run or sweep found"))
    seen: set[Path] = set()
    unique: list[tuple[str, Path]] = []
    for kind, path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((kind, path))
    # a sweep's finished points are runs of the catalog too, marked with their sweep
    runs: list[tuple[Path, Path | None]] = [(p, None) for k, p in unique if k == "run"]
    for kind, path in unique:
        if kind == "sweep":
            try:
                points = [p.get("id") for p in _read_json(path / SWEEP_JSON).get("points") or []]
            except UserError:
                continue
            runs.extend(
                (path / str(i), path)
                for i in points
                if is_run(path / str(i)) and (path / str(i)).resolve() not in seen
            )
    captures = [p for k, p in unique if k == "capture"]
    sweeps = [p for k, p in unique if k == "sweep"]
    cap_entries, run_entries, sweep_entries = [], [], []
    for path, name in zip(captures, unique_names(captures), strict=True):
        try:
            cap_entries.append(_capture(path, name))
        except (UserError, ValueError, TypeError) as exc:
            problems.append((path, _reason(path / CAPTURE_MANIFEST, exc)))
    run_paths = [p for p, _ in runs]
    for (path, sweep), name in zip(runs, unique_names(run_paths), strict=True):
        try:
            run_entries.append(_run(path, name, sweep))
        except (UserError, ValueError, TypeError, AttributeError) as exc:
            problems.append((path, _reason(path / RUN_JSON, exc)))
    for path, name in zip(sweeps, unique_names(sweeps), strict=True):
        try:
            sweep_entries.append(_sweep(path, name))
        except (UserError, ValueError, TypeError, AttributeError) as exc:
            problems.append((path, _reason(path / SWEEP_JSON, exc)))
    return Catalog(
        captures=tuple(cap_entries),
        runs=tuple(run_entries),
        sweeps=tuple(sweep_entries),
        problems=tuple(problems),
    )


def _reason(file: Path, exc: Exception) -> str:
    return str(exc) if isinstance(exc, UserError) else f"{file}: unreadable ({exc})"
