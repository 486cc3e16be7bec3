"""Stream replay throughput: a synthetic 1M-record, 8-shard Kinesis capture under a few configurations.

Prints, per configuration, wall time, records/s, invocations, simulated span and peak RSS. Figures,
not assertions: run it on the machine you care about.

    python benchmarks/bench_streams.py [--records 1000000] [--shards 8]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from replay import events
from replay.config import parse_config
from replay.engine.runner import RunRequest, run_capture
from replay.formats.capture import Manifest, SourceInfo, write_capture
from replay.function import Duration, Fault, FunctionModel
from replay.vocabulary import SourceKind

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/bench"
START = 1_730_797_200_000


def build(path: Path, records: int, shards: int, hours: float) -> float:
    """Write the synthetic capture; return seconds taken."""
    t = time.perf_counter()
    rng = np.random.default_rng(1)
    arrival = np.sort(rng.integers(START, START + int(hours * 3_600_000), records))
    shard_no = rng.integers(0, shards, records)
    order = np.lexsort((arrival, shard_no))
    arrival, shard_no = arrival[order], shard_no[order]
    keys = rng.integers(0, 100_000, records)
    poison = set(rng.choice(records, 20, replace=False).tolist())
    payload = [
        (
            b'{"user":%d,"n":%d,"poison":%s,"pad":"%s"}'
            % (keys[i], i, b"true" if i in poison else b"false", b"x" * 180)
        )
        for i in range(records)
    ]
    pos = np.zeros(records, dtype=np.int64)
    for s in range(shards):
        idx = np.flatnonzero(shard_no == s)
        pos[idx] = np.arange(len(idx))
    table = pa.table(
        {
            "shard": pa.array([f"shardId-{s:012d}" for s in shard_no], pa.string()),
            "seq": pa.array(
                [
                    str(49_600_000_000_000_000_000_000 + int(s) * 10**15 + int(p))
                    for s, p in zip(shard_no.tolist(), pos.tolist(), strict=True)
                ]
            ),
            "pos": pa.array(pos),
            "arrival": pa.array(arrival).cast(pa.timestamp("ms", tz="UTC")),
            "key": pa.array([f"user-{k}" for k in keys]),
            "data": pa.array(payload, pa.binary()),
        }
    )
    ctx = events.EventContext(kind=SourceKind.KINESIS, source_arn=ARN, region="us-east-1")
    table = table.append_column("size", events.record_sizes(table, ctx))
    manifest = Manifest(
        source=SourceInfo(kind=SourceKind.KINESIS, arn=ARN, region="us-east-1", name="bench")
    )
    write_capture(path, manifest, table, overwrite=True)
    return time.perf_counter() - t


CONFIGS = {
    "defaults, no faults": ({"StartingPosition": "TRIM_HORIZON"}, False),
    "BatchSize 100, MRA 3, bisect, 20 poison": (
        {
            "StartingPosition": "TRIM_HORIZON",
            "MaximumRetryAttempts": 3,
            "BisectBatchOnFunctionError": True,
        },
        True,
    ),
    "BatchSize 500, window 5 s, PF 4, 20 poison": (
        {
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 5,
            "ParallelizationFactor": 4,
            "MaximumRetryAttempts": 2,
            "BisectBatchOnFunctionError": True,
        },
        True,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--hours", type=float, default=4.0)
    args = parser.parse_args()
    from replay.formats.capture import read_capture

    with tempfile.TemporaryDirectory() as tmp:
        cap_path = Path(tmp) / "cap"
        built = build(cap_path, args.records, args.shards, args.hours)
        t = time.perf_counter()
        capture = read_capture(cap_path)
        loaded = time.perf_counter() - t
        print(
            f"capture: {args.records:,} records, {args.shards} shards, {args.hours} h; built {built:.1f} s, read {loaded:.2f} s"
        )
        for name, (raw, faults) in CONFIGS.items():
            config, _ = parse_config(raw, kind=SourceKind.KINESIS)
            model = FunctionModel(
                duration=Duration(base_ms=20, per_record_ms=0.5),
                faults=(Fault(when="json_extract(data, '$.poison')::BOOLEAN", error="Unhandled"),)
                if faults
                else (),
            )
            request = RunRequest(capture=cap_path, config=config, model=model)
            t = time.perf_counter()
            result = run_capture(
                capture,
                request,
                Path(tmp) / name.replace(" ", "_").replace(",", ""),
                overwrite=True,
            )
            wall = time.perf_counter() - t
            s = result.summary
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{name:45s} {wall:6.2f} s  {args.records / wall:>10,.0f} records/s  "
                f"{s['invocations']:>8,} invocations ({s['invocations'] / wall:,.0f}/s)  "
                f"{s['virtual_ms'] / 3_600_000:5.1f} h simulated  peak RSS {rss:,.0f} MB"
            )


if __name__ == "__main__":
    main()
