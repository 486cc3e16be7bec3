"""capture sqs under faults, against moto in server mode: kill -9 at random points then --resume,
Ctrl-C while a receive is in flight, the first run's queue depth, typed queue settings.

The queue under capture has a redrive policy with maxReceiveCount 2: every receive the capture
makes counts, so a resume that received again what a killed run had saved would push messages
into the dead-letter queue. None may get there.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from replay.formats.capture import read_capture
from tests.captures.conftest import Aws, esm_replay
from tests.captures.proxy import CuttableProxy

N = 250  # moto's ReceiveMessage slows down as the queue grows (tooling.md 2c)
VISIBILITY = "3"  # short, so a resume waits little for what a killed run held unrecorded
# Attributes that count receives: they differ between any two captures of the same queue.
RECEIVE_ATTRIBUTES = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp")


def _queue(sqs: Any, name: str, **attrs: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _fill(sqs: Any, url: str, n: int) -> None:
    for lo in range(0, n, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"n": i}),
                    "MessageAttributes": {
                        "tenant": {"DataType": "String", "StringValue": f"t{i % 3}"},
                        "blob": {"DataType": "Binary", "BinaryValue": bytes([i % 256])},
                    },
                }
                for i in range(lo, min(lo + 10, n))
            ],
        )


def _counts(sqs: Any, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(a[names[0]]), int(a[names[1]])


def _parts(out: Path) -> int:
    return len(list(out.glob("records/part-*.parquet")))


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def _kill_once_saved(args: list[str], out: Path, parts: int) -> None:
    """Run a capture and kill -9 it once ``parts`` parts are on disk."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while _parts(out) < parts and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the capture ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _comparable(path: Path) -> list[tuple[Any, ...]]:
    """Each message as any capture of the queue must see it, sorted by message id."""
    out = []
    for r in read_capture(path).records.to_pylist():
        attrs = {
            k: v for k, v in json.loads(r["attributes"]).items() if k not in RECEIVE_ATTRIBUTES
        }
        out.append(
            (r["message_id"], r["seq"], r["data"], r["arrival"], r["sender_id"],
             r["md5_of_body"], r["message_attributes"], r["md5_of_message_attributes"],
             json.dumps(attrs, sort_keys=True))
        )  # fmt: skip
    return sorted(out)


def test_kill_9_at_random_points_then_resume_loses_nothing_and_spends_no_redrive(
    aws: Aws, tmp_path: Path
) -> None:
    sqs = aws.client("sqs")
    dlq_url, dlq_arn = _queue(sqs, "faults-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url, _ = _queue(sqs, "faults", RedrivePolicy=redrive)
    _fill(sqs, url, N)
    out = tmp_path / "killed"
    args = [esm_replay(), "capture", "sqs", "faults", "-o", str(out), "--force",
            "--visibility-timeout", VISIBILITY, "--flush-records", "10", *aws.cli]  # fmt: skip
    rng = random.Random(20261202)
    kills, waits = 0, 0
    for attempt in range(6):
        before = _parts(out)
        proc = subprocess.Popen(
            [*args, *(["--resume"] if attempt else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while _parts(out) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # the run has saved something of its own: it is under way
        # Then anywhere (receiving, flushing, renewing...), soon enough that six runs of at most
        # four parts of 10 each leave the queue unfinished.
        time.sleep(rng.uniform(0.0, 0.2))
        assert proc.poll() is None, f"finished before kill {attempt + 1}: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        kills += 1
        waits += "waiting up to" in err
        assert _manifest(out)["complete"] is False
        assert (out / "sqs-receipts" / "head.json").exists()
    final = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    waits += "waiting up to" in final.stderr
    assert kills >= 5 and waits >= 1  # some resume waited out messages hidden unrecorded

    cap = read_capture(out)
    m = cap.manifest
    assert m.complete and cap.records.num_rows == N
    assert len(set(cap.records.column("message_id").to_pylist())) == N
    assert m.observed["queue_depth_at_capture"] == N  # the first run's, not a resume's
    assert m.observed["runs"] == kills + 1
    assert not (out / "sqs-receipts").exists()  # a finished capture keeps no receipt handle
    assert _counts(sqs, dlq_url) == (0, 0)  # no message reached the dead-letter queue
    assert _counts(sqs, url) == (N, 0)  # and all are visible again where they were

    # The same queue captured without interruption (redrive off: these receives would count).
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    clean = tmp_path / "clean"
    subprocess.run(
        [esm_replay(), "capture", "sqs", "faults", "-o", str(clean), *aws.cli],
        check=True, capture_output=True,
    )  # fmt: skip
    assert _comparable(out) == _comparable(clean)
    # Receives the interrupted capture made, per message: one, two for those a kill caught.
    spent = read_capture(clean).records.column("receive_count").to_pylist()
    assert set(spent) <= {1, 2} and spent.count(1) >= N // 2


class StallingProxy(CuttableProxy):
    """A proxy that holds the first ReceiveMessage answer carrying messages once ``after``
    requests went through: SQS has hidden them, the client has not seen them (a receive in
    flight)."""

    def __init__(self, upstream: str, after: int) -> None:
        super().__init__(upstream)
        self.after = after
        self.arm = threading.Event()
        self.arm.set()
        self.held = threading.Event()
        self.release = threading.Event()

    def _pump(self, src: Any, dst: Any, outbound: bool) -> None:
        if outbound:
            return super()._pump(src, dst, outbound)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                armed = self.arm.is_set() and self.requests >= self.after
                if armed and b'"ReceiptHandle"' in data:
                    self.arm.clear()
                    self.held.set()
                    self.release.wait(30)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()


def test_ctrl_c_while_a_receive_is_in_flight_leaves_nothing_hidden(
    aws: Aws, tmp_path: Path
) -> None:
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "intr")
    _fill(sqs, url, 60)
    out = tmp_path / "cap"
    # The queue is looked up in 3 calls, then 2 receives are answered: the third one is held.
    proxy = StallingProxy(aws.url, after=6)
    with proxy:
        args = [esm_replay(), "capture", "sqs", "intr", "-o", str(out), "--endpoint-url",
                proxy.url, "--region", "us-east-1", "--visibility-timeout", "120"]  # fmt: skip
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A shell running the tests in the background hands its children SIGINT ignored, and
            # a Python started that way never sees Ctrl-C: give the capture a real one.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        assert proxy.held.wait(30), "no receive answer was held"
        assert _counts(sqs, url)[1] >= 10  # the held answer's messages are hidden already
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proxy.release.set()  # the receive in flight completes after the Ctrl-C
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    saved = len(read_capture(out).records) if _parts(out) else 0
    assert f"interrupted; {saved} message(s) read so far" in lines[0]
    assert f"the {saved} received message(s) are visible again" in lines[0]
    assert _manifest(out)["complete"] is False
    assert _counts(sqs, url) == (60, 0)  # true: nothing hidden, the held receive's included
    direct = [a if a != proxy.url else aws.url for a in args] + ["--resume"]  # proxy gone
    subprocess.run(direct, check=True, capture_output=True, timeout=60)
    cap = read_capture(out)
    assert cap.manifest.complete and cap.records.num_rows == 60
    assert sorted(json.loads(d)["n"] for d in cap.records.column("data").to_pylist()) == list(
        range(60)
    )


def test_resume_keeps_the_first_runs_queue_depth(aws: Aws, tmp_path: Path) -> None:
    """--move deletes as it goes: after a kill the queue holds fewer messages, and a resume that
    took the depth it sees would call the capture complete with messages missing."""
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "drain")
    _fill(sqs, url, 80)
    out = tmp_path / "cap"
    args = [esm_replay(), "capture", "sqs", "drain", "--move", "-o", str(out),
            "--visibility-timeout", "2", *aws.cli]  # fmt: skip
    _kill_once_saved(args, out, parts=2)
    assert _manifest(out)["observed"]["queue_depth_at_capture"] == 80
    visible, _ = _counts(sqs, url)
    assert visible < 80  # what the resume would see
    subprocess.run([*args, "--resume"], check=True, capture_output=True, timeout=60)
    cap = read_capture(out)
    assert cap.manifest.observed["queue_depth_at_capture"] == 80
    assert cap.manifest.complete and cap.records.num_rows == 80
    assert _counts(sqs, url) == (0, 0)


def test_queue_settings_are_typed_in_the_manifest(aws: Aws, tmp_path: Path) -> None:
    from captures.sqs import capture_sqs

    sqs = aws.client("sqs")
    _, dlq_arn = _queue(sqs, "typed-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    _queue(sqs, "typed", VisibilityTimeout="45", DelaySeconds="0",
           MessageRetentionPeriod="3600", RedrivePolicy=redrive)  # fmt: skip
    std = capture_sqs(aws.options(), "typed", str(tmp_path / "std"), force=True, wait_s=0)
    settings = std.capture.manifest.source.settings
    assert settings["VisibilityTimeout"] == 45 and settings["DelaySeconds"] == 0
    assert settings["MessageRetentionPeriod"] == 3600
    assert settings["RedrivePolicy"] == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert settings["QueueArn"].endswith(":typed")
    _queue(sqs, "typed.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    fifo = capture_sqs(aws.options(), "typed.fifo", str(tmp_path / "fifo"), move=True, wait_s=0)
    settings = fifo.capture.manifest.source.settings
    assert settings["FifoQueue"] is True and settings["ContentBasedDeduplication"] is True
    # On disk too, as JSON numbers, booleans and objects.
    on_disk = _manifest(tmp_path / "std")["source"]["settings"]
    assert on_disk["VisibilityTimeout"] == 45 and on_disk["RedrivePolicy"]["maxReceiveCount"] == 5


def test_a_resume_that_cannot_account_for_every_message_says_so_and_can_run_again(
    aws: Aws, tmp_path: Path
) -> None:
    """Without the killed run's receipt state (lost, or a capture begun by an older version) the
    resume cannot know what is hidden: it must not call the capture complete."""
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "unsure")
    _fill(sqs, url, 80)
    out = tmp_path / "cap"
    args = [esm_replay(), "capture", "sqs", "unsure", "-o", str(out), "--visibility-timeout", "20",
            "--flush-records", "10", "--wait", "0", *aws.cli]  # fmt: skip
    _kill_once_saved(args, out, parts=2)
    for f in (out / "sqs-receipts").iterdir():
        f.unlink()
    # Hide some of the messages the killed run never received (the visible ones: what it saved
    # stays hidden for 20 s), as another receive of the lost run would have; the resume cannot
    # account for them, whenever the kill landed.
    held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120)
    handles = [m["ReceiptHandle"] for m in held["Messages"]]
    unsure = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=60)
    assert unsure.returncode == 2, unsure.stderr
    line = unsure.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "of the 80 messages it held at the start are saved" in line and "missing" in line
    assert "--resume" in line
    assert _manifest(out)["complete"] is False
    for handle in handles:  # the lost messages come back
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    time.sleep(20.2)  # and those the killed run held unsaved, if any, when their timeout ends
    subprocess.run([*args, "--resume"], check=True, capture_output=True, timeout=60)
    cap = read_capture(out)
    assert cap.manifest.complete and cap.records.num_rows == 80
    assert _counts(sqs, url) == (80, 0)
