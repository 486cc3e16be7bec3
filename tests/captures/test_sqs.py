"""capture sqs against moto in server mode: hide-and-restore, the redrive safety check, --move.

The queue under capture is a dead-letter queue; its own messages must neither leave it nor reach
another dead-letter queue unless the user asked for that (``--move``, ``--force``).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from replay.formats.capture import read_capture
from tests.captures.conftest import esm_replay
from tests.captures.proxy import CuttableProxy
from tests.captures.util import all_bytes


def _queue(sqs, name: str, **attrs: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _fill(sqs, url: str, n: int, prefix: str = "m") -> None:
    for lo in range(0, n, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"n": i, "who": f"{prefix}{i}"}),
                    "MessageAttributes": {
                        "tenant": {"DataType": "String", "StringValue": f"t{i % 3}"},
                        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                    },
                }
                for i in range(lo, min(lo + 10, n))
            ],
        )


def _depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_dlq_hide_and_restore_keeps_every_message(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    dlq_url, dlq_arn = _queue(sqs, "orders-dlq")
    _queue(
        sqs,
        "orders",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
    )
    _fill(sqs, dlq_url, 30)
    out = tmp_path / "dlq"
    proc = run_cli("capture", "sqs", "orders-dlq", "-o", str(out), *aws.cli)
    assert "30 made visible again" in proc.stdout
    assert _depth(sqs, dlq_url) == 30
    cap = read_capture(out)
    m = cap.manifest
    assert m.source.kind.value == "sqs" and m.source.arn == dlq_arn and not m.source.fifo
    assert m.source.settings["VisibilityTimeout"] == 30
    assert m.source.settings["DeadLetterSourceQueues"][0].endswith("/orders")
    assert m.observed["restored"] == 30
    recs = cap.records.to_pylist()
    assert sorted(json.loads(r["data"])["n"] for r in recs) == list(range(30))
    assert {r["receive_count"] for r in recs} == {0}
    attrs = json.loads(recs[0]["message_attributes"])
    assert attrs["blob"] == {
        "binaryValue": "AAE=",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert attrs["tenant"]["stringValue"].startswith("t")
    assert all(r["md5_of_body"] and r["sender_id"] and r["seq"] == r["message_id"] for r in recs)
    # A second capture sees the same messages, each received once more.
    again = read_capture(
        run_cli("capture", "sqs", dlq_arn, "-o", str(tmp_path / "again"), *aws.cli)
        and tmp_path / "again"
    )
    assert {r["receive_count"] for r in again.records.to_pylist()} == {1}
    assert sorted(again.records.column("seq").to_pylist()) == sorted(
        cap.records.column("seq").to_pylist()
    )


def test_dlq_with_its_own_redrive_is_refused_unless_forced(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    last_url, last_arn = _queue(sqs, "orders-dlq-2")
    dlq_url, _ = _queue(
        sqs,
        "orders-dlq",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": last_arn, "maxReceiveCount": "2"}),
    )
    _fill(sqs, dlq_url, 20)
    refused = run_cli("capture", "sqs", dlq_url, "-o", str(tmp_path / "no"), *aws.cli, check=False)
    assert refused.returncode == 2
    assert "redrive policy" in refused.stderr and "--force" in refused.stderr
    assert not (tmp_path / "no").exists()
    assert _depth(sqs, dlq_url) == 20 and _depth(sqs, last_url) == 0
    forced = run_cli("capture", "sqs", dlq_url, "-o", str(tmp_path / "yes"), "--force", *aws.cli)
    assert "receive count went up by 1" in forced.stderr
    assert read_capture(tmp_path / "yes").records.num_rows == 20
    # No message reached the next dead-letter queue; all are back in the one captured.
    assert _depth(sqs, last_url) == 0 and _depth(sqs, dlq_url) == 20


def test_move_mode_drains_the_queue(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "drain-me")
    _fill(sqs, url, 25)
    proc = run_cli("capture", "sqs", "drain-me", "--move", "-o", str(tmp_path / "c"), *aws.cli)
    assert "25 deleted" in proc.stdout
    assert _depth(sqs, url) == 0
    assert read_capture(tmp_path / "c").records.num_rows == 25


def test_fifo_group_and_dedup_kept(aws, tmp_path: Path) -> None:
    from captures.sqs import capture_sqs

    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "f.fifo", FifoQueue="true")
    for i in range(6):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f"b{i}",
            MessageGroupId=f"g{i % 2}",
            MessageDeduplicationId=f"d{i}",
        )
    result = capture_sqs(aws.options(), "f.fifo", str(tmp_path / "c"), move=True)
    recs = result.capture.records.to_pylist()
    assert result.capture.manifest.source.fifo
    assert {r["key"] for r in recs} == {"g0", "g1"} and {r["dedup_id"] for r in recs} == {
        f"d{i}" for i in range(6)
    }
    for g in ("g0", "g1"):
        assert [r["data"] for r in recs if r["key"] == g] == sorted(
            r["data"] for r in recs if r["key"] == g
        )


def test_message_attribute_redacted(aws, run_cli, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "secrets")
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"card": "4111-SECRET-1111", "ok": 1}),
        MessageAttributes={"token": {"DataType": "String", "StringValue": "tok-SECRET-99"}},
    )
    out = tmp_path / "c"
    run_cli(
        "capture",
        "sqs",
        "secrets",
        "-o",
        str(out),
        "--redact",
        "attribute:token",
        "--redact",
        "$.card",
        *aws.cli,
    )
    data = all_bytes(out)
    assert b"SECRET" not in data
    rec = read_capture(out).records.to_pylist()[0]
    assert json.loads(rec["data"]) == {"card": "***", "ok": 1}
    assert json.loads(rec["message_attributes"])["token"]["stringValue"] == "***"
    assert rec["md5_of_body"] is None and rec["md5_of_message_attributes"] is None


def test_network_cut_mid_capture_says_what_stays_hidden_and_resumes(aws, tmp_path: Path) -> None:
    """The link drops while hide-and-restore is receiving: one line, exit 2, the messages read so
    far checkpointed, and the user told how many stay hidden and for how long (the restore call
    cannot get through either). Once they reappear, --resume completes with every message once."""
    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "net-dlq")
    _fill(sqs, url, 60)
    out = tmp_path / "cap"
    with CuttableProxy(aws.url) as proxy:
        args = [esm_replay(), "capture", "sqs", "net-dlq", "-o", str(out), "--endpoint-url",
                proxy.url, "--region", "us-east-1", "--visibility-timeout", "6"]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while proxy.requests < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # 3 calls to look the queue up, then receives: some messages hidden
        proxy.cut()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "could not be made visible again" in err and "6 s visibility timeout" in err
        assert "--resume" in err
        assert json.loads((out / "manifest.json").read_text())["complete"] is False
        proxy.restore()
        time.sleep(6.5)  # the hidden messages come back when their visibility timeout ends
        subprocess.run([*args, "--resume"], check=True, capture_output=True)
    cap = read_capture(out)
    assert cap.manifest.complete
    assert sorted(json.loads(d)["n"] for d in cap.records.column("data").to_pylist()) == list(
        range(60)
    )
    assert _depth(sqs, url) == 60  # nothing left the queue


def test_a_read_longer_than_the_visibility_timeout_renews_the_lease(aws, tmp_path: Path) -> None:
    """Hide-and-restore is complete only if nothing read reappears before the read ends: a read
    outlasting half the timeout extends it (6 empty 1 s polls after the last message outlast the
    4 s timeout, so without renewal the first messages would come back and be received again)."""
    from captures.sqs import capture_sqs

    sqs = aws.client("sqs")
    url, _ = _queue(sqs, "lease")
    _fill(sqs, url, 40)
    result = capture_sqs(
        aws.options(), "lease", str(tmp_path / "cap"), visibility_s=4, wait_s=1, empty_polls=6
    )
    observed = result.capture.manifest.observed
    assert observed["visibility_extended"] >= 40
    assert observed["capture_receives"] == 40  # each message received once: none reappeared
    assert observed["restored"] == 40 and not any("already read" in n for n in result.notes)
    assert _depth(sqs, url) == 40


def test_visibility_timeout_out_of_range_is_one_line_exit_2(aws, run_cli, tmp_path: Path) -> None:
    proc = run_cli(
        "capture", "sqs", "q", "-o", str(tmp_path / "c"), "--visibility-timeout", "1",
        *aws.cli, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --visibility-timeout 1: allowed 2..43200 seconds (SQS's maximum is 12 hours; "
        "messages must stay hidden while being read)"
    )
    assert not (tmp_path / "c").exists()
