"""User mistakes on the command line: one line on stderr, exit 2, no traceback, nothing written.

- every command, given a path (or name) holding rich markup (``[/x]``), prints it verbatim;
- a missing optional dependency (confluent-kafka, boto3: hidden from a subprocess through
  ``sys.modules``) names the exact install command;
- an unreachable Kafka cluster (a closed port on 127.0.0.1) names the bootstrap servers;
- ``inject --execute`` into the capture's own source is refused unless ``--to-source``.

The AWS commands talk to the session's moto server, Kafka ones to closed ports or the mock cluster.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from captures.importers import import_to_capture
from replay.vocabulary import SourceKind
from tests.captures.conftest import Aws, esm_replay
from tests.captures.test_redact_live import kinesis_stream
from tests.captures.util import now_ms

MARKUP = "a[/x]b"
K01 = Path(__file__).parent / "data" / "kinesis_k01_event.json"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _commands() -> Iterator[str]:
    """Every command of the CLI, as ``esm-replay --help`` lists them (groups expanded)."""
    import typer

    from replay.cli.main import app

    def walk(group: Any, prefix: str) -> Iterator[str]:
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):  # a group (typer's own click)
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    yield from walk(typer.main.get_command(app), "")


def _one_line_error(proc: subprocess.CompletedProcess[str], *texts: str) -> str:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for text in texts:
        assert text in lines[0], lines[0]
    return lines[0]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [esm_replay(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_every_command_prints_user_text_verbatim(aws: Aws, tmp_path: Path) -> None:
    path = str(tmp_path / MARKUP)  # .../a[/x]b: a capture, run or file that does not exist
    out = tmp_path / "out"
    kafka = f"127.0.0.1:{_closed_port()}"
    window = ["--from", "0", "--to", "now"]
    cases: dict[str, tuple[list[str], str]] = {
        "replay": ([path, "-o", str(out / "run")], path),
        "demo": (["-o", str(out / "demo"), "--incident", MARKUP], MARKUP),
        "query": (["select 1", path], path),
        "compare": ([path], path),
        "explain": ([path, "--shard", "s"], path),
        "sweep": ([path, "-o", str(out / "sweep"), "--vary", "BatchSize=1,2"], path),
        "report": ([path, "-o", str(out / "r.html")], path),
        "inject": ([path, "--to", "kafka://t"], path),
        "capture kinesis": ([path, *window, "-o", str(out / "k"), *aws.cli], path),
        "capture dynamodb": ([path, *window, "-o", str(out / "d"), *aws.cli], path),
        "capture sqs": ([path, "-o", str(out / "s"), *aws.cli], path),
        "capture kafka": (
            ["--bootstrap", kafka, "--topic", path, *window, "-o", str(out / "kf")],
            path,
        ),
        "capture esm": (["--function", "f", "--into", path, *aws.cli], path),
        "capture failures": (["q", "--into", path, *aws.cli], path),
        "capture import": ([path, "--source", "kinesis", "-o", str(out / "i")], path),
        "capture verify": ([path], path),
        "tui": ([path], path),
    }
    assert set(cases) == set(_commands()), "a command without a case here"
    for command, (args, shown) in cases.items():
        proc = _cli(*command.split(), *args)
        line = _one_line_error(proc, shown)
        assert line.startswith("error: "), (command, line)
    assert not out.exists()  # nothing half-written


def _hidden(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``esm-replay ARGS`` in a Python where ``module`` cannot be imported."""
    code = (
        "import sys\n"
        f"sys.modules[{module!r}] = None\n"
        f"sys.argv = ['esm-replay', *{list(args)!r}]\n"
        "from replay.cli.main import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def kinesis_capture(tmp_path: Path) -> Path:
    out = tmp_path / "k01"
    import_to_capture([K01], out, source=SourceKind.KINESIS)
    return out


def test_missing_confluent_kafka_names_the_install_command(
    kinesis_capture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "k"
    port = _closed_port()
    install = "pip install -e '.[kafka]'"  # this checkout is a clone
    for args in (
        ["capture", "kafka", "--bootstrap", f"127.0.0.1:{port}", "--topic", "t", "--from", "0",
         "--to", "now", "-o", str(out)],
        ["inject", str(kinesis_capture), "--to", f"kafka://127.0.0.1:{port}/t", "--execute"],
    ):  # fmt: skip
        line = _one_line_error(_hidden("confluent_kafka", *args), install, "confluent-kafka")
        assert "not installed" in line
    assert not out.exists()


def test_missing_boto3_names_the_install_command(kinesis_capture: Path, tmp_path: Path) -> None:
    aws = ["--endpoint-url", f"http://127.0.0.1:{_closed_port()}", "--region", "us-east-1"]
    out = tmp_path / "o"
    arn = "arn:aws:kinesis:us-east-1:111111111111:stream/other"
    for args in (
        ["capture", "kinesis", "s", "--from", "0", "--to", "now", "-o", str(out), *aws],
        ["capture", "dynamodb", "t", "--from", "0", "--to", "now", "-o", str(out), *aws],
        ["capture", "sqs", "q", "-o", str(out), *aws],
        ["capture", "esm", "--function", "f", *aws],
        ["capture", "failures", "q", "--into", str(kinesis_capture), *aws],
        ["inject", str(kinesis_capture), "--to", arn, "--execute", *aws],
    ):
        line = _one_line_error(_hidden("boto3", *args), "pip install -e '.[aws]'", "boto3")
        assert "not installed" in line
    assert not out.exists()


def test_install_command_of_a_wheel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import captures.aws as aws

    monkeypatch.setattr(aws, "__file__", str(tmp_path / "site-packages" / "captures" / "aws.py"))
    assert aws.install_command("kafka") == "pip install 'esm-replay[kafka]'"


def test_unreachable_kafka_is_one_line_naming_the_servers(
    kinesis_capture: Path, tmp_path: Path
) -> None:
    servers = f"127.0.0.1:{_closed_port()},127.0.0.1:{_closed_port()}"
    out = tmp_path / "k"
    started = time.monotonic()
    proc = _cli("capture", "kafka", "--bootstrap", servers, "--topic", "orders", "--from", "0",
                "--to", "now", "-o", str(out))  # fmt: skip
    _one_line_error(proc, f"Kafka {servers}:", "'orders'", "Connection refused")
    assert time.monotonic() - started < 10  # gives up once every broker is down
    assert not out.exists()
    proc = _cli("inject", str(kinesis_capture), "--to", f"kafka://{servers}/orders", "--execute")
    _one_line_error(proc, f"Kafka {servers}:", "'orders'")
    assert proc.stdout.startswith("inject plan:")


# --------------------------------------------------------------------------- own source


def _stream_records(k: object, stream: str) -> int:
    total = 0
    for shard in k.list_shards(StreamName=stream)["Shards"]:  # type: ignore[attr-defined]
        it = k.get_shard_iterator(  # type: ignore[attr-defined]
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        total += len(k.get_records(ShardIterator=it)["Records"])  # type: ignore[attr-defined]
    return total


def test_inject_into_its_own_kinesis_source_needs_to_source(
    aws: Aws, run_cli: RunCli, tmp_path: Path
) -> None:
    k, t_from = kinesis_stream(aws, "own", 2, 20)
    cap = tmp_path / "cap"
    run_cli("capture", "kinesis", "own", "--from", str(t_from / 1000), "--to",
            str(now_ms() / 1000), "--no-follow", "-o", str(cap), *aws.cli)  # fmt: skip
    arn = k.describe_stream_summary(StreamName="own")["StreamDescriptionSummary"]["StreamARN"]
    dry = run_cli("inject", str(cap), "--to", arn, *aws.cli)
    assert "the capture's own source" in dry.stdout
    proc = run_cli("inject", str(cap), "--to", arn, "--execute", *aws.cli, check=False)
    _one_line_error(proc, arn, "--to-source")
    assert _stream_records(k, "own") == 20  # nothing sent
    sent = run_cli("inject", str(cap), "--to", arn, "--execute", "--to-source", *aws.cli)
    assert "sent 20 records" in sent.stdout
    assert _stream_records(k, "own") == 40


def test_inject_into_its_own_queue_by_url_needs_to_source(
    aws: Aws, run_cli: RunCli, tmp_path: Path
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="own-q")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)]
    )
    cap = tmp_path / "cap"
    run_cli("capture", "sqs", "own-q", "-o", str(cap), *aws.cli)
    proc = run_cli("inject", str(cap), "--to", url, "--execute", *aws.cli, check=False)
    _one_line_error(proc, url, "--to-source")
    depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "5"
    other = sqs.create_queue(QueueName="other-q")["QueueUrl"]
    run_cli("inject", str(cap), "--to", other, "--execute", *aws.cli)


def test_inject_into_its_own_kafka_topic_needs_to_source(tmp_path: Path) -> None:
    servers = f"127.0.0.1:{_closed_port()}"
    value = base64.b64encode(b'{"i":1}').decode()
    event = {
        "eventSource": "SelfManagedKafka",
        "bootstrapServers": f"{servers},127.0.0.1:1",
        "records": {
            "orders-0": [
                {
                    "topic": "orders",
                    "partition": 0,
                    "offset": 7,
                    "timestamp": 1732545000000,
                    "timestampType": "CREATE_TIME",
                    "value": value,
                    "headers": [],
                }
            ]
        },
    }
    src = tmp_path / "e.json"
    src.write_text(json.dumps(event))
    cap = tmp_path / "cap"
    import_to_capture([src], cap, source=SourceKind.KAFKA)
    for to in (f"kafka://{servers}/orders", "kafka://orders"):
        proc = _cli("inject", str(cap), "--to", to, "--bootstrap", servers, "--execute")
        _one_line_error(proc, "--to-source")
    # Another topic of the cluster is not the source (and the closed port is then reported).
    proc = _cli("inject", str(cap), "--to", f"kafka://{servers}/audit", "--execute")
    _one_line_error(proc, f"Kafka {servers}:", "'audit'")
