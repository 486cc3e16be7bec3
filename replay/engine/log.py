"""The invocation log: invocations.parquet, one row per attempt, kept column by column.

Engines call :meth:`InvocationLog.add` once per attempt, when it ends, naming each column; the
columns, their order and types are :data:`replay.formats.runfiles.INVOCATIONS`, so a new column is
declared there and passed by name here by the engine that knows its value (engines that do not
pass it leave it null).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from replay.formats.runfiles import INVOCATIONS

_NUMBERED = "invocation"  # assigned here, in start order
_LOGGED = tuple(name for name in INVOCATIONS.names if name != _NUMBERED)


class InvocationLog:
    """invocations.parquet rows, appended once per attempt (when it ends)."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {name: [] for name in _LOGGED}

    def __len__(self) -> int:
        return len(self._columns["start"])

    def add(self, **values: Any) -> None:
        """Append one attempt: a value for each column of INVOCATIONS but ``invocation``
        (``start``/``end`` in ms; ``record_rows`` an index array); an omitted column is null."""
        unknown = values.keys() - self._columns.keys()
        if unknown:
            raise TypeError(f"not columns of invocations.parquet: {', '.join(sorted(unknown))}")
        for name, column in self._columns.items():
            column.append(values.get(name))

    def table(self) -> pa.Table:
        """The log as an Arrow table, numbered in the order attempts *started* (DESIGN): attempts
        are logged when they end, so rows are re-ordered by start, ties in logging order."""
        order = np.argsort(np.asarray(self._columns["start"], dtype=np.int64), kind="stable")
        arrays: list[pa.Array] = [pa.array(np.arange(len(order), dtype=np.int64), pa.int64())]
        for name in _LOGGED:
            arrays.append(_column(INVOCATIONS.field(name).type, self._columns[name], order))
        return pa.Table.from_arrays(arrays, schema=INVOCATIONS)


def _column(kind: pa.DataType, values: list[Any], order: np.ndarray) -> pa.Array:
    """One column in start order, built with the schema's type."""
    if pa.types.is_list(kind):
        return _list_column([values[i] for i in order])
    ordered = [values[i] for i in order]
    if pa.types.is_timestamp(kind):
        return pa.array(ordered, pa.int64()).cast(kind)
    return pa.array(ordered, kind)


def _list_column(rows: list[np.ndarray]) -> pa.Array:
    """A list<int64> column from one index array per attempt, built without Python lists."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    values = np.concatenate(rows).astype(np.int64) if rows else np.empty(0, np.int64)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
