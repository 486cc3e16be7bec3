"""Replay a capture and write the run directory (run.json, invocations, records, destinations, metrics).

This is the library call behind ``esm-replay replay`` (and the demo, and later sweeps and the TUI):
resolve the configuration and function model, run the engine for the capture's source family, derive
per-minute metrics and a summary, and write everything atomically. Outputs are a pure function of
(capture, configuration, function model, seed, options): byte-identical on every run, except
``run.json``'s ``timing``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replay import ENGINE_VERSION, __version__
from replay.config import (
    EsmConfig,
    StartingPosition,
    check_function_fit,
    default_config,
    load_config,
    parse_config,
)
from replay.engine.base import EngineBase, arrivals_ms, function_identity, mapping_start_ms
from replay.engine.options import EngineOptions
from replay.engine.sqs_queue import visibility_timeout_s
from replay.engine.summary import metrics_table, summarize
from replay.errors import ConfigError
from replay.formats.capture import MANIFEST, Capture, capture_fingerprint, read_capture
from replay.formats.runfiles import (
    RUN_FORMAT,
    RunResult,
    display_path,
    refuse_existing,
    write_run,
)
from replay.formats.settings import SettingError, typed_setting
from replay.function import FunctionModel, load_function
from replay.timeutil import iso_ms
from replay.vocabulary import SourceKind

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
    return ResolvedConfig(config, origin, _source_settings(capture, src))


def _source_settings(capture: Capture, overrides: dict[str, Any]) -> dict[str, Any]:
    """The capture's source settings with ``--set Source.NAME=VALUE`` on top, each override
    typed and range-checked for the family (a typo is refused, never ignored); an override of
    part of an object (``Source.RedrivePolicy.maxReceiveCount=5``) is merged into it."""
    settings = dict(capture.manifest.source.settings)
    for name, value in overrides.items():
        current = settings.get(name)
        if isinstance(value, dict) and isinstance(current, dict):
            value = {**current, **value}
        try:
            settings[name] = typed_setting(capture.kind, name, value, f"--set Source.{name}")
        except SettingError as exc:
            raise ConfigError(str(exc)) from None
    return settings


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
    refuse_existing(out, overwrite, protect=[capture_path])
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
    """Run the engine for an already-loaded capture and write ``out`` atomically.

    Raises:
        ConfigError: a function the ESM would not accept (B9, B88), in one line.
    """
    wall = time.perf_counter()
    check_function(capture, request.config, request.model, request.source_settings)
    check_span(capture, request.config, request.start_ms, request.until_ms)
    engine_class = engine_for(capture.kind)
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
            "path": display_path(request.capture),
            "kind": capture.kind.value,
            "arn": capture.manifest.source.arn,
            "records": capture.records.num_rows,
            "fingerprint": capture_fingerprint(capture.path),
            "complete": capture.manifest.complete,
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
    run = RunResult(out, meta, result.invocations, result.records, result.destinations, metrics)
    write_run(run, overwrite=overwrite)
    return run


def check_function(
    capture: Capture,
    config: EsmConfig,
    model: FunctionModel,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Validate the configuration against the function, before any engine is built (B9, B88).

    B9: an SQS queue's VisibilityTimeout (``settings``, else the capture's) must be at least the
    function timeout; B88: a Kafka ESM refuses a function timeout over 14 minutes. The function
    timeout is the one the engine would run with (:func:`~replay.engine.base.function_identity`).

    Raises:
        ConfigError: one line, ``function: Timeout: InvalidParameterValueException: ...``.
    """
    timeout_s = function_identity(capture, config, model).timeout_ms / 1000
    visibility_s = None
    if config.kind is SourceKind.SQS:
        source = capture.manifest.source.settings if settings is None else settings
        visibility_s = visibility_timeout_s(source)
    check_function_fit(config, function_timeout_s=timeout_s, visibility_timeout_s=visibility_s)


MINUTE = 60_000
MAX_METRIC_ROWS = 2_000_000  # minutes × shards of metrics.parquet: ~1.5 GB while it is built


def check_span(
    capture: Capture, config: EsmConfig, start_ms: int | None, until_ms: int | None
) -> None:
    """What a replay's start and span must be, checked before anything runs.

    An ``AT_TIMESTAMP`` starting position after the mapping starts is a timestamp in the future
    when the mapping is created, which AWS refuses. A span whose per-minute metrics would not fit
    in memory (one record years away from the others) is refused with the record to blame.

    Raises:
        ConfigError: one line naming the timestamp, or the span and the outlying record.
    """
    arrival = arrivals_ms(capture)
    start = mapping_start_ms(capture, start_ms, arrival)
    at = config.starting_position_timestamp_ms
    if config.starting_position is StartingPosition.AT_TIMESTAMP and at is not None and at > start:
        raise ConfigError(
            f"StartingPositionTimestamp: InvalidParameterValueException: {iso_ms(at)} is after "
            f"the mapping starts ({iso_ms(start)}): AWS refuses a starting position timestamp "
            "in the future; start the replay later with --start, or choose an earlier timestamp"
        )
    if not len(arrival):
        return
    end = until_ms if until_ms is not None else max(int(arrival.max()), start)
    shards = max(len(capture.manifest.shards), 1)
    rows = (max(end - start, 0) // MINUTE + 1) * shards
    if rows > MAX_METRIC_ROWS:
        last = int(arrival.argmax())
        record = capture.records.slice(last, 1).to_pylist()[0]
        raise ConfigError(
            f"{capture.path}: the replay would span {(end - start) / 86_400_000:,.1f} days of "
            f"virtual time (to {iso_ms(end)}, the arrival of {record['shard']} {record['seq']}); "
            f"its per-minute metrics ({rows:,} rows for {shards} shard(s)) exceed "
            f"{MAX_METRIC_ROWS:,}: replay a shorter span with --until, or leave that record out"
        )


def engine_for(kind: SourceKind) -> type[EngineBase]:
    """The simulated poller of a source family (the one dispatcher: runs and scenario tests)."""
    if kind.is_stream:
        from replay.engine.streams import StreamEngine

        return StreamEngine
    if kind is SourceKind.SQS:
        from replay.engine.sqs import SqsEngine

        return SqsEngine
    from replay.engine.kafka import KafkaEngine

    return KafkaEngine
