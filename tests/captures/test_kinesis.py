"""capture kinesis against moto in server mode: shards, lineage, window, resume, redaction, s3.

moto's resharding is partial (tooling.md 2a): after split_shard it keeps routing writes to the
closed parent (whose EndingSequenceNumber moves along) and the children stay empty, and a closed
shard's iterator never ends. What it can show is tested: the lineage (parents, hash-key ranges,
closed flags) recorded in the manifest, the closed parent read to its end, the children read, and
every record of the window captured exactly once in shard order.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from captures.common import Window
from captures.streams import capture_stream, resolve_kinesis
from replay.errors import CaptureError
from replay.formats.capture import read_capture
from tests.captures.conftest import esm_replay
from tests.captures.proxy import CuttableProxy
from tests.captures.util import all_bytes, now_ms, per_key, put_kinesis, rows


def _split_first_shard(client, stream: str) -> str:
    s0 = client.list_shards(StreamName=stream)["Shards"][0]
    lo, hi = (int(s0["HashKeyRange"][k]) for k in ("StartingHashKey", "EndingHashKey"))
    client.split_shard(
        StreamName=stream, ShardToSplit=s0["ShardId"], NewStartingHashKey=str((lo + hi) // 2)
    )
    return str(s0["ShardId"])


def test_four_shards_split_mid_window_lineage(aws, run_cli, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="orders", ShardCount=4)
    # No records before the window here: moto's split_shard re-stamps the parent's records with
    # the split time (another resharding quirk), which would move them into the window.
    time.sleep(0.05)
    t_from = now_ms()
    put_kinesis(k, "orders", 1000, 300)
    parent = _split_first_shard(k, "orders")
    put_kinesis(k, "orders", 2000, 300)
    time.sleep(0.05)
    t_to = now_ms()
    time.sleep(0.05)
    put_kinesis(k, "orders", 3000, 50)  # after the window
    out = tmp_path / "cap"
    proc = run_cli(
        "capture",
        "kinesis",
        "orders",
        "--from",
        str(t_from / 1000),
        "--to",
        str(t_to / 1000),
        "-o",
        str(out),
        *aws.cli,
    )
    assert "600 records" in proc.stdout
    cap = read_capture(out)
    m = cap.manifest
    assert m.complete and m.source.kind.value == "kinesis" and m.source.name == "orders"
    assert m.source.settings["RetentionPeriodHours"] == 24
    shards = {s.id: s for s in m.shards}
    assert len(shards) == 6
    children = [s for s in shards.values() if s.parents == (parent,)]
    assert len(children) == 2 and shards[parent].closed
    p_lo, p_hi = shards[parent].hash_key_range
    assert children[0].hash_key_range[0] == p_lo and children[1].hash_key_range[1] == p_hi
    assert int(children[0].hash_key_range[1]) + 1 == int(children[1].hash_key_range[0])
    # Every record of the window, once; none from before or after it.
    seen = sorted(json.loads(d)["i"] for _, _, _, _, d in rows(out))
    assert seen == list(range(1000, 1300)) + list(range(2000, 2300))
    # Order within each shard is sequence order; per key, the order the records were put.
    for shard_rows in _by_shard(rows(out)).values():
        assert [int(r[1]) for r in shard_rows] == sorted(int(r[1]) for r in shard_rows)
        assert [r[2] for r in shard_rows] == list(range(len(shard_rows)))
    for payloads in per_key(out).values():
        idx = [json.loads(p)["i"] for p in payloads]
        assert idx == sorted(idx)
    assert m.checkpoints == {s.id: s.last_seq for s in m.shards if s.records}


def test_window_excludes_records_before_and_after(aws, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="w", ShardCount=2)
    put_kinesis(k, "w", 0, 40)
    time.sleep(0.05)
    t_from = now_ms()
    put_kinesis(k, "w", 100, 40)
    time.sleep(0.05)
    t_to = now_ms()
    time.sleep(0.05)
    put_kinesis(k, "w", 200, 40)
    window = Window(t_from, t_to)
    target, _ = resolve_kinesis(aws.options(), "w", page_limit=7, window=window)
    result = capture_stream(target, window, str(tmp_path / "c"), created_by="t", follow=False)
    assert sorted(
        json.loads(d)["i"] for d in result.capture.records.column("data").to_pylist()
    ) == list(range(100, 140))
    assert {o.reason for o in result.outcomes} == {"window end"}


def _by_shard(items):
    out = {}
    for r in items:
        out.setdefault(r[0], []).append(r)
    return out


def test_existing_output_refused_and_resume_of_complete_capture(aws, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="s", ShardCount=1)
    put_kinesis(k, "s", 0, 10)
    window = Window(now_ms() - 60_000, now_ms() + 10)
    target, _ = resolve_kinesis(aws.options(), "s", page_limit=100, window=window)
    out = str(tmp_path / "cap")
    capture_stream(target, window, out, created_by="t", follow=False)
    with pytest.raises(CaptureError, match="already exists"):
        capture_stream(target, window, out, created_by="t", follow=False)
    # Resuming a complete capture is a no-op (a capture killed after its last write is complete).
    again = capture_stream(target, window, out, created_by="t", follow=False, resume=True)
    assert again.outcomes == () and again.capture.records.num_rows == 10


def test_unknown_stream_is_one_line_exit_2(aws, run_cli, tmp_path: Path) -> None:
    proc = run_cli(
        "capture",
        "kinesis",
        "nope",
        "--from",
        "0",
        "--to",
        "now",
        "-o",
        str(tmp_path / "c"),
        *aws.cli,
        check=False,
    )
    assert proc.returncode == 2
    assert "ResourceNotFoundException" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "c").exists()


def test_sigkill_at_random_points_then_resume_gives_the_same_records(aws, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="big", ShardCount=4)
    t_from = now_ms()
    put_kinesis(k, "big", 0, 2400, keys=50)
    time.sleep(0.05)
    t_to = now_ms()
    common = [
        "--from",
        str(t_from / 1000),
        "--to",
        str(t_to / 1000),
        *aws.cli,
        "--page-size",
        "40",
        "--flush-records",
        "60",
        "--no-follow",
    ]
    clean = tmp_path / "clean"
    subprocess.run(
        [esm_replay(), "capture", "kinesis", "big", "-o", str(clean), *common],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "killed"
    rng = random.Random(4)
    kills = 0
    for attempt in range(40):
        args = [esm_replay(), "capture", "kinesis", "big", "-o", str(out), *common]
        if attempt:
            args.append("--resume")
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # Later attempts get longer, so a slow machine still makes progress between kills.
            proc.wait(timeout=rng.uniform(1.2, 2.2) + 0.1 * attempt)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        break
    else:
        pytest.fail("the capture never finished")
    assert kills >= 2
    assert read_capture(out).manifest.complete
    assert rows(out, ("shard", "seq", "pos", "arrival", "key", "data", "size")) == rows(
        clean, ("shard", "seq", "pos", "arrival", "key", "data", "size")
    )
    assert len(rows(out)) == 2400


def test_redaction_secret_never_written(aws, run_cli, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="pii", ShardCount=2)
    secret = "hunter2-SECRET-4711"
    t_from = now_ms()
    k.put_records(
        StreamName="pii",
        Records=[
            {
                "PartitionKey": f"user-{i}",
                "Data": json.dumps(
                    {"i": i, "user": {"email": f"{secret}-{i}@x.io", "name": "n"}}
                ).encode(),
            }
            for i in range(20)
        ]
        + [{"PartitionKey": "raw", "Data": f"not json {secret}".encode()}],
    )
    time.sleep(0.05)
    window = ["--from", str(t_from / 1000), "--to", str(now_ms() / 1000), "--no-follow", *aws.cli]
    plain = tmp_path / "plain"
    run_cli("capture", "kinesis", "pii", "-o", str(plain), *window)
    assert secret.encode() in all_bytes(plain)  # the search works
    red = tmp_path / "red"
    env_key = "test-redaction-key"
    os.environ["ESM_REPLAY_REDACT_KEY"] = env_key
    try:
        run_cli(
            "capture",
            "kinesis",
            "pii",
            "-o",
            str(red),
            *window,
            "--redact",
            "$.user.email=hash",
            "--redact",
            "key=hash",
        )
    finally:
        del os.environ["ESM_REPLAY_REDACT_KEY"]
    written = all_bytes(red)
    assert secret.encode() not in written
    assert env_key.encode() not in written
    assert b"user-1" not in written  # keys hashed
    cap = read_capture(red)
    assert cap.manifest.redaction["rules"] == [
        {"target": "$.user.email", "method": "hash"},
        {"target": "key", "method": "hash"},
    ]
    assert cap.manifest.redaction["payloads_replaced_whole"] == 1
    docs = [json.loads(d) for d in cap.records.column("data").to_pylist() if d.startswith(b"{")]
    assert all(
        d["user"]["email"].startswith("hmac-sha256:") and d["user"]["name"] == "n" for d in docs
    )
    # Stable: the same value under the same key hashes the same; keys keep their grouping.
    assert len(set(cap.records.column("key").to_pylist())) == 21


def test_capture_to_s3_and_read_back(aws, run_cli, tmp_path: Path, monkeypatch) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="caps")
    k = aws.client("kinesis")
    k.create_stream(StreamName="s3src", ShardCount=2)
    t_from = now_ms()
    put_kinesis(k, "s3src", 0, 100)
    time.sleep(0.05)
    run_cli(
        "capture",
        "kinesis",
        "s3src",
        "--from",
        str(t_from / 1000),
        "--to",
        str(now_ms() / 1000),
        "--no-follow",
        "-o",
        "s3://caps/incident-1",
        *aws.cli,
    )
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="caps")["Contents"]}
    assert "incident-1/manifest.json" in keys
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws.url)
    cap = read_capture("s3://caps/incident-1")
    assert cap.records.num_rows == 100 and cap.manifest.complete
    # A run over the s3 capture is the same as over a local copy.
    local = tmp_path / "local"
    run_cli(
        "capture",
        "kinesis",
        "s3src",
        "--from",
        str(t_from / 1000),
        "--to",
        str(now_ms() / 1000),
        "--no-follow",
        "-o",
        str(local),
        *aws.cli,
    )
    assert rows(local) == [
        tuple(r)
        for r in zip(
            *(cap.records.column(c).to_pylist() for c in ("shard", "seq", "pos", "key", "data")),
            strict=True,
        )
    ]


def test_ctrl_c_checkpoints_and_resume_completes(aws, tmp_path: Path) -> None:
    k = aws.client("kinesis")
    k.create_stream(StreamName="intr", ShardCount=2)
    t_from = now_ms()
    put_kinesis(k, "intr", 0, 800, keys=20)
    time.sleep(0.05)
    common = [
        "--from",
        str(t_from / 1000),
        "--to",
        str(now_ms() / 1000),
        *aws.cli,
        "--page-size",
        "20",
        "--flush-records",
        "40",
        "--no-follow",
    ]
    out = tmp_path / "c"
    proc = subprocess.Popen(
        [esm_replay(), "capture", "kinesis", "intr", "-o", str(out), *common],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell running the tests in the background hands its children SIGINT ignored, and a
        # Python started that way never raises KeyboardInterrupt: give the capture a real Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(out.glob("records/part-*.parquet")):
        time.sleep(0.01)  # interrupt once records are on disk: the capture is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--resume" in err and "Traceback" not in err
    partial = json.loads((out / "manifest.json").read_text())
    assert partial["complete"] is False and partial["checkpoints"]
    subprocess.run(
        [esm_replay(), "capture", "kinesis", "intr", "-o", str(out), "--resume", *common],
        check=True,
        capture_output=True,
    )
    got = sorted(json.loads(d)["i"] for _, _, _, _, d in rows(out))
    assert got == list(range(800))


def test_network_cut_mid_capture_then_resume_gives_the_same_records(aws, tmp_path: Path) -> None:
    """A dropped link (connection resets on a real socket, through a proxy that is cut while
    GetRecords calls flow) ends the capture with one line saying --resume, exit 2, the records
    read so far checkpointed; resuming once the link is back gives exactly the clean capture."""
    k = aws.client("kinesis")
    k.create_stream(StreamName="net", ShardCount=3)
    t_from = now_ms()
    put_kinesis(k, "net", 0, 1500, keys=40)
    time.sleep(0.05)
    window = ["--from", str(t_from / 1000), "--to", str(now_ms() / 1000)]
    pacing = ["--page-size", "25", "--flush-records", "50", "--no-follow", "--region", "us-east-1"]
    clean = tmp_path / "clean"
    subprocess.run(
        [esm_replay(), "capture", "kinesis", "net", "-o", str(clean), *window, *pacing,
         "--endpoint-url", aws.url],
        check=True, capture_output=True,
    )  # fmt: skip
    out = tmp_path / "cut"
    with CuttableProxy(aws.url) as proxy:
        args = [esm_replay(), "capture", "kinesis", "net", "-o", str(out), *window, *pacing,
                "--endpoint-url", proxy.url]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while proxy.requests < 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # cut once GetRecords pages are flowing, not before the first call
        proxy.cut()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "--resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
        partial = json.loads((out / "manifest.json").read_text())
        assert partial["complete"] is False
        saved = len(rows(out)) if list((out / "records").glob("*.parquet")) else 0
        assert 0 < saved < 1500  # something was kept, and the cut happened mid-capture
        proxy.restore()
        subprocess.run([*args, "--resume"], check=True, capture_output=True)
    assert read_capture(out).manifest.complete
    cols = ("shard", "seq", "pos", "arrival", "key", "data", "size")
    assert rows(out, cols) == rows(clean, cols)
