"""B50: which ParallelizationFactor lane of a shard a record's key belongs to — one pure rule.

With ParallelizationFactor k > 1 a stream ESM reads a shard through k concurrent lanes, keeping
records of one partition key (Kinesis) or item key (DynamoDB) in one lane and in order (B48, B49).
How AWS maps keys to lanes is not documented (B50, UNCONFIRMED); esm-replay's choice
(``EngineOptions.lane_assignment = "md5"``) is the MD5 of the key's UTF-8 bytes, first 8 bytes
big-endian, modulo k, a missing key counting as ``""``.

The engine assigns lanes with :func:`lane_of`, and the analysis layer maps a lane's batch ranges
back to records with the same function, so this module imports nothing of ``replay`` (in
particular not the engine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np


def lane_of_key(key: str | None, factor: int) -> int:
    """The lane (0 … factor − 1) of one key; always 0 when ``factor`` ≤ 1."""
    if factor <= 1:
        return 0
    digest = hashlib.md5((key or "").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % factor


def lane_of(keys: Iterable[str | None], factor: int) -> np.ndarray:
    """The lane of each key, as an int64 array in the order of ``keys`` (each distinct key hashed
    once)."""
    keys = list(keys)
    if factor <= 1:
        return np.zeros(len(keys), dtype=np.int64)
    cache: dict[str, int] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        k = key or ""
        lane = cache.get(k)
        if lane is None:
            lane = cache[k] = lane_of_key(k, factor)
        out[i] = lane
    return out
