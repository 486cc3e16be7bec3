"""Sweep throughput: 100 configurations over a synthetic 1M-record, 8-shard Kinesis capture.

The capture is bench_streams.py's (1M records over 4 hours, 20 poison records the function model
fails on). The sweep varies BatchSize (5 values) × ParallelizationFactor (5) × MaximumRetryAttempts
(0, 3) × BisectBatchOnFunctionError (true, false) = 100 points, on a local process pool.

Prints wall time, time per point, the parent's and the workers' peak RSS, and the recommendation
for each objective. Figures, not assertions.

    python benchmarks/bench_sweep.py [--records 1000000] [-j 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_streams import build

from replay.analysis.pareto import OBJECTIVES, recommend
from replay.sweep import run_sweep

VARY = (
    "BatchSize=10,100,500,1000,5000",
    "ParallelizationFactor=1,2,4,8,10",
    "MaximumRetryAttempts=0,3",
    "BisectBatchOnFunctionError=true,false",
)
FUNCTION = {
    "memory": 512,
    "duration": {"base_ms": 20, "per_record_ms": 0.5},
    "faults": [{"when": "json_extract(data, '$.poison')::BOOLEAN", "error": "Unhandled"}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the capture and sweep here (kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        cap = root / "capture"
        built = build(cap, args.records, args.shards, args.hours)
        (root / "esm.json").write_text(json.dumps({"StartingPosition": "TRIM_HORIZON"}))
        (root / "fn.json").write_text(json.dumps(FUNCTION))
        print(f"capture: {args.records:,} records, {args.shards} shards; built in {built:.1f} s")
        done = [0]
        t = time.perf_counter()

        def progress(n: int, total: int) -> None:
            done[0] = n
            if n % 10 == 0 or n == total:
                print(f"  {n}/{total} points, {time.perf_counter() - t:.0f} s", flush=True)

        result = run_sweep(
            cap,
            root / "sweep",
            config=str(root / "esm.json"),
            function=str(root / "fn.json"),
            vary=VARY,
            jobs=args.jobs,
            progress=progress,
        )
        wall = time.perf_counter() - t
        points = result.results.num_rows
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"sweep: {points} points × {args.records:,} records with -j {args.jobs}: {wall:.1f} s "
            f"({wall / points:.1f} s per point, {points * args.records / wall:,.0f} records/s)"
        )
        print(f"peak RSS: parent {own:,.0f} MB, largest worker {workers:,.0f} MB")
        print(f"Pareto front: {len(result.front)} of {points} points")
        for objective in OBJECTIVES:
            rec = recommend(result.results, objective)
            print(f"  {objective:9s} -> {rec.point} {rec.params}")


if __name__ == "__main__":
    main()
