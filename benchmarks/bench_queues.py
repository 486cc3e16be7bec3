"""Queue replay throughput: a 1M-message SQS standard queue and a 1M-record, 16-partition topic.

Prints wall time, records/s, invocations and peak RSS per configuration. Figures, not assertions.

    python benchmarks/bench_queues.py [--records 1000000] [--partitions 16]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from replay import events
from replay.config import parse_config
from replay.engine.runner import RunRequest, run_capture
from replay.formats.capture import Manifest, SourceInfo, conform, read_capture, write_capture
from replay.function import Duration, Fault, FunctionModel
from replay.vocabulary import SourceKind

START = 1_730_797_200_000
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench"
MSK_ARN = (
    "arn:aws:kafka:us-east-1:123456789012:cluster/bench/11111111-2222-3333-4444-555555555555-1"
)


def _payloads(n: int, rng: np.random.Generator) -> list[bytes]:
    users = rng.integers(0, 100_000, n)
    poison = set(rng.choice(n, 20, replace=False).tolist())
    return [
        b'{"user":%d,"n":%d,"poison":%s,"pad":"%s"}'
        % (users[i], i, b"true" if i in poison else b"false", b"x" * 180)
        for i in range(n)
    ]


def _write(
    path: Path, table: pa.Table, kind: SourceKind, arn: str, settings: dict[str, object]
) -> None:
    table = conform(table.append_column("size", pa.array(np.zeros(table.num_rows, np.int32))), kind)
    ctx = events.EventContext(
        kind=kind, source_arn=arn, region="us-east-1", bootstrap_servers="b-1:9092"
    )
    table = table.set_column(
        table.schema.get_field_index("size"), "size", events.record_sizes(table, ctx)
    )
    manifest = Manifest(
        source=SourceInfo(kind=kind, arn=arn, region="us-east-1", name="bench", settings=settings)
    )
    write_capture(path, manifest, table, overwrite=True)


def build_queue(path: Path, n: int, hours: float) -> None:
    rng = np.random.default_rng(2)
    arrival = np.sort(rng.integers(START, START + int(hours * 3_600_000), n))
    data = _payloads(n, rng)
    ids = [f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}" for i in range(n)]
    table = pa.table(
        {
            "shard": pa.array(["bench"] * n),
            "seq": pa.array(ids),
            "pos": pa.array(np.arange(n)),
            "arrival": pa.array(arrival).cast(pa.timestamp("ms", tz="UTC")),
            "key": pa.nulls(n, pa.string()),
            "data": pa.array(data, pa.binary()),
            "message_id": pa.array(ids),
            "md5_of_body": pa.array([hashlib.md5(d).hexdigest() for d in data]),
            "sender_id": pa.array(["AIDAEXAMPLE"] * n),
            "message_attributes": pa.array(["{}"] * n),
        }
    )
    redrive = {"deadLetterTargetArn": QUEUE_ARN + "-dlq", "maxReceiveCount": 3}
    _write(
        path, table, SourceKind.SQS, QUEUE_ARN, {"VisibilityTimeout": 60, "RedrivePolicy": redrive}
    )


def build_topic(path: Path, n: int, partitions: int, hours: float) -> None:
    rng = np.random.default_rng(3)
    arrival = np.sort(rng.integers(START, START + int(hours * 3_600_000), n))
    part = rng.integers(0, partitions, n)
    order = np.lexsort((arrival, part))
    arrival, part = arrival[order], part[order]
    offset = np.zeros(n, dtype=np.int64)
    for p in range(partitions):
        idx = np.flatnonzero(part == p)
        offset[idx] = np.arange(len(idx))
    keys = [f"user-{k}" for k in rng.integers(0, 100_000, n)]
    table = pa.table(
        {
            "shard": pa.array([f"orders-{p}" for p in part]),
            "seq": pa.array([str(o) for o in offset]),
            "pos": pa.array(offset),
            "arrival": pa.array(arrival).cast(pa.timestamp("ms", tz="UTC")),
            "key": pa.array(keys),
            "data": pa.array(_payloads(n, rng), pa.binary()),
            "topic": pa.array(["orders"] * n),
            "partition": pa.array(part.astype(np.int32)),
            "offset": pa.array(offset),
            "timestamp_type": pa.array(["CREATE_TIME"] * n),
            "key_bytes": pa.array([k.encode() for k in keys], pa.binary()),
            "headers": pa.array(["[]"] * n),
        }
    )
    _write(path, table, SourceKind.KAFKA, MSK_ARN, {})


POISON = FunctionModel(
    duration=Duration(base_ms=20, per_record_ms=0.5),
    faults=(Fault(when="json_extract(data, '$.poison')::BOOLEAN", error="Unhandled"),),
)
CONFIGS = [
    ("sqs: BatchSize 10, no faults", SourceKind.SQS, {"BatchSize": 10}, FunctionModel()),
    ("sqs: BatchSize 10, 20 poison -> DLQ", SourceKind.SQS, {"BatchSize": 10}, POISON),
    ("sqs: BatchSize 100, window 2 s, RBIF", SourceKind.SQS,
     {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 2, "FunctionResponseTypes": ["ReportBatchItemFailures"]}, POISON),
    ("kafka on-demand: defaults, no faults", SourceKind.KAFKA,
     {"StartingPosition": "TRIM_HORIZON", "Topics": ["orders"]}, FunctionModel()),
    ("kafka provisioned: MRA 2, bisect, 20 poison", SourceKind.KAFKA,
     {"StartingPosition": "TRIM_HORIZON", "Topics": ["orders"], "MaximumRetryAttempts": 2,
      "BisectBatchOnFunctionError": True, "ProvisionedPollerConfig": {"MinimumPollers": 1, "MaximumPollers": 4}}, POISON),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--hours", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {SourceKind.SQS: Path(tmp) / "queue", SourceKind.KAFKA: Path(tmp) / "topic"}
        t = time.perf_counter()
        build_queue(paths[SourceKind.SQS], args.records, args.hours)
        build_topic(paths[SourceKind.KAFKA], args.records, args.partitions, args.hours)
        print(f"captures: {args.records:,} messages and {args.records:,} records ({args.partitions} partitions) "
              f"over {args.hours} h, built in {time.perf_counter() - t:.1f} s")  # fmt: skip
        captures = {k: read_capture(p) for k, p in paths.items()}
        for i, (name, kind, raw, model) in enumerate(CONFIGS):
            config, _ = parse_config(raw, kind=kind)
            request = RunRequest(capture=paths[kind], config=config, model=model)
            t = time.perf_counter()
            result = run_capture(captures[kind], request, Path(tmp) / f"run{i}", overwrite=True)
            wall = time.perf_counter() - t
            s = result.summary
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{name:45s} {wall:6.1f} s {args.records / wall:>9,.0f} rec/s {s['invocations']:>9,} invocations "
                f"{s['dispositions']}  peak RSS {rss:,.0f} MB"
            )


if __name__ == "__main__":
    main()
