"""Helpers shared by the capture-agent tests: loading fixtures into moto, comparing records."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from replay.formats.capture import read_capture


def now_ms() -> int:
    return int(time.time() * 1000)


def put_kinesis(client: Any, stream: str, start: int, n: int, keys: int = 17) -> None:
    """Put records {"i": i} with partition keys k<i mod keys>, 500 per call."""
    for lo in range(start, start + n, 500):
        hi = min(lo + 500, start + n)
        client.put_records(
            StreamName=stream,
            Records=[
                {"PartitionKey": f"k{i % keys}", "Data": json.dumps({"i": i}).encode()}
                for i in range(lo, hi)
            ],
        )


def records(path: str | Path) -> pa.Table:
    """A capture's records, sorted, as one table."""
    return read_capture(path).records


def rows(
    path: str | Path, columns: tuple[str, ...] = ("shard", "seq", "pos", "key", "data")
) -> list[tuple[Any, ...]]:
    table = records(path).select(list(columns))
    return list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def per_key(path: str | Path) -> dict[str, list[bytes]]:
    """Payloads per key, in capture order (the order an ESM would read them)."""
    out: dict[str, list[bytes]] = {}
    for _, _, _, key, data in rows(path):
        out.setdefault(key, []).append(data)
    return out


def all_bytes(path: Path) -> bytes:
    """Every byte written under a capture, with Parquet pages decoded too (they are compressed)."""
    chunks: list[bytes] = []
    for f in sorted(path.rglob("*")):
        if not f.is_file():
            continue
        chunks.append(f.read_bytes())
        if f.suffix == ".parquet":
            chunks.append(repr(pq.read_table(f).to_pylist()).encode())
    return b"\n".join(chunks)
