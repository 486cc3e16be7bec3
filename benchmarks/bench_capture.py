"""Capture throughput against moto: ``esm-replay capture kinesis`` vs a raw boto3 GetRecords loop.

One run, one moto_server on 127.0.0.1 (started here, stopped at the end), one stream of 4 shards
loaded with ``--records`` records of ~100 bytes. Both readers read the same records from the same
server:

- raw: one thread, shard after shard, TRIM_HORIZON, GetRecords Limit=10000 until the tip; nothing
  written.
- capture: ``captures.streams.capture_stream`` as the CLI runs it: shards in parallel, paced to the
  documented limits (5 calls/s, 2 MiB/s per shard), Parquet parts and checkpoints written.

Prints records/s for both and the ratio (target: capture >= 80 % of raw). Figures, not assertions.

    python benchmarks/bench_capture.py [--records 40000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time


def _moto() -> tuple[subprocess.Popen[str], str]:
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: dict[str, str] = {}
    ready = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if m and not ready.is_set():
                found["url"] = m.group(1)
                ready.set()

    threading.Thread(target=reader, daemon=True).start()
    if not ready.wait(30):
        proc.kill()
        raise SystemExit("moto_server did not start")
    return proc, found["url"]


def _client(url: str):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


def _load(client, n: int) -> None:  # type: ignore[no-untyped-def]
    client.create_stream(StreamName="bench", ShardCount=4)
    payload = json.dumps({"pad": "x" * 80})
    for lo in range(0, n, 500):
        client.put_records(
            StreamName="bench",
            Records=[
                {"PartitionKey": f"k{i}", "Data": f"{i}:{payload}".encode()}
                for i in range(lo, min(lo + 500, n))
            ],
        )


def _raw(client) -> int:  # type: ignore[no-untyped-def]
    total = 0
    for shard in client.list_shards(StreamName="bench")["Shards"]:
        it = client.get_shard_iterator(
            StreamName="bench", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            resp = client.get_records(ShardIterator=it, Limit=10_000)
            total += len(resp["Records"])
            if not resp["Records"] and resp.get("MillisBehindLatest") == 0:
                break
            it = resp.get("NextShardIterator")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=40_000)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    proc, url = _moto()
    try:
        from captures.aws import AwsOptions
        from captures.common import Window
        from captures.streams import capture_stream, resolve_kinesis

        client = _client(url)
        t = time.perf_counter()
        _load(client, args.records)
        print(f"loaded {args.records} records into 4 shards in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        raw = _raw(client)
        raw_s = time.perf_counter() - t
        window = Window(0, int(time.time() * 1000) + 1000)
        target, _ = resolve_kinesis(
            AwsOptions(url, None, "us-east-1"), "bench", page_limit=10_000, window=window
        )
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            result = capture_stream(
                target, window, os.path.join(tmp, "cap"), created_by="bench", follow=False
            )
            cap_s = time.perf_counter() - t
        got = result.capture.records.num_rows
        assert raw == got == args.records, (raw, got)
        raw_rate, cap_rate = raw / raw_s, got / cap_s
        print(
            f"raw boto3 GetRecords loop : {raw:>8} records in {raw_s:6.2f} s = {raw_rate:9,.0f} records/s"
        )
        print(
            f"esm-replay capture kinesis: {got:>8} records in {cap_s:6.2f} s = {cap_rate:9,.0f} records/s"
        )
        print(f"capture / raw = {cap_rate / raw_rate:.0%} (target >= 80 %)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
