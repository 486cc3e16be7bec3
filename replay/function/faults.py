"""Declarative faults: ``when`` predicates evaluated once over the capture with DuckDB, then each
batch's verdict (error, timeout, reported records, extra time) decided by numpy over those masks,
never touching payload bytes; and the model's throttle periods."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from replay.errors import FunctionModelError
from replay.function.model import FunctionModel


def compile_faults(model: FunctionModel, records: pa.Table) -> list[np.ndarray]:
    """Evaluate every fault's ``when`` predicate over the capture once, with DuckDB.

    ``data`` is presented as text (UTF-8 decoded, NULL when not text) so predicates such as
    ``json_extract_string(data::VARCHAR, '$.type') = 'bad'`` work; a predicate that errors on a
    row (malformed JSON, a failed cast) is false for that row rather than failing the replay.

    Returns:
        one boolean mask per fault, aligned with ``records`` rows (all True when ``when`` is None).

    Raises:
        FunctionModelError: a predicate is not valid SQL for the capture's columns.
    """
    import duckdb

    masks: list[np.ndarray] = []
    if not model.faults:
        return masks
    con = duckdb.connect()
    try:
        con.register("capture_records", records)
        con.execute(
            "CREATE TEMP VIEW records AS SELECT * REPLACE (try(decode(data)) AS data) FROM capture_records"
        )
        for i, fault in enumerate(model.faults):
            if fault.when is None:
                masks.append(np.ones(records.num_rows, dtype=bool))
                continue
            sql = f"SELECT coalesce(try(({fault.when})), false) AS hit FROM records"
            try:
                hit = con.execute(sql).fetchnumpy()["hit"]
            except duckdb.Error as exc:
                first_line = str(exc).splitlines()[0]
                raise FunctionModelError(f"faults[{i}].when {fault.when!r}: {first_line}") from None
            masks.append(np.asarray(hit, dtype=bool))
    finally:
        con.close()
    return masks


@dataclass(frozen=True)
class FaultVerdict:
    """What the declarative faults decide for one batch."""

    throttled: bool = False
    timeout: bool = False
    error: str | None = None
    reported: np.ndarray | None = None  # positions in the batch to report as failed
    extra_ms: float = 0.0


def judge_faults(
    model: FunctionModel,
    masks: Sequence[np.ndarray],
    rows: np.ndarray,
    seen: np.ndarray,
    rng: random.Random,
    now_ms: int | None = None,
) -> FaultVerdict:
    """Apply the fault rules to one batch.

    Args:
        rows: capture row indices of the batch.
        seen: for each batch row, how many times the function will have seen it with this attempt.
        now_ms: when the invocation starts: rules with ``from``/``to`` apply only inside their span.
    """
    timeout = False
    error: str | None = None
    reported: np.ndarray | None = None
    extra = 0.0
    fired = False
    for fault, mask in zip(model.faults, masks, strict=True):
        if not fault.active(now_ms):
            continue
        hit = mask[rows]
        if fault.times is not None:
            hit &= seen <= fault.times
        if not hit.any():
            continue
        if fault.probability is not None and rng.random() >= fault.probability:
            continue
        fired = True
        timeout = timeout or fault.timeout
        if fault.error and error is None:
            error = fault.error
        if fault.report:
            reported = hit if reported is None else reported | hit
        extra += fault.extra_ms * int(hit.sum())
    if not fired:
        return NO_FAULT
    return FaultVerdict(
        timeout=timeout,
        error=error,
        reported=np.flatnonzero(reported) if reported is not None else None,
        extra_ms=extra,
    )


NO_FAULT = FaultVerdict()


def throttled_at(model: FunctionModel, now_ms: int) -> bool:
    """True when a throttle period of the model covers ``now_ms``."""
    return any(t.start_ms <= now_ms < t.end_ms for t in model.throttles)
