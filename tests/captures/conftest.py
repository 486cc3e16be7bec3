"""Real protocol servers on loopback for the capture-agent tests (tooling.md sections 2 and 3).

- ``moto_url``: one ``moto_server`` subprocess per session on 127.0.0.1, port 0; ``aws`` resets
  all its state (``POST /moto-api/reset``) before each test.
- ``kafka_bootstrap``: one librdkafka mock cluster per session, hosted by ``kmockhost.py`` in a
  subprocess, with the topics the tests use created up front (the mock has no CreateTopics).

boto3 and the Kafka client are never patched: every call goes over a real socket.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
KAFKA_TOPICS = (
    "orders:6",
    "k-resume:6",
    "k-src:6",
    "k-dst:6",
    "k-redact:2",
    "k-empty:3",
)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _spawn(argv: list[str], pattern: str, timeout: float = 30) -> tuple[subprocess.Popen[str], str]:
    """Start a process and read its output until ``pattern`` matches (keeps draining after)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: dict[str, str] = {}
    ready = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(pattern, line)
            if m and not ready.is_set():
                found["v"] = m.group(1)
                ready.set()

    threading.Thread(target=reader, daemon=True).start()
    if not ready.wait(timeout):
        proc.kill()
        raise RuntimeError(f"{argv[0]} did not start")
    return proc, found["v"]


@pytest.fixture(scope="session", autouse=True)
def _aws_environment() -> Iterator[None]:
    """Fake credentials for moto, for in-process calls and CLI subprocesses alike."""
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc, url = _spawn([exe, "-H", "127.0.0.1", "-p", "0"], r"Running on (http://127\.0\.0\.1:\d+)")
    yield url
    proc.terminate()
    proc.wait(10)


@dataclass(frozen=True)
class Aws:
    """A freshly reset moto server: its URL and boto3 clients for setting up fixtures."""

    url: str

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        cfg = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30)
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", config=cfg)

    def options(self) -> Any:
        from captures.aws import AwsOptions

        return AwsOptions(endpoint_url=self.url, region="us-east-1", max_attempts=2)

    @property
    def cli(self) -> list[str]:
        """The AWS options every capture command takes, pointed at moto."""
        return ["--endpoint-url", self.url, "--region", "us-east-1"]


@pytest.fixture
def aws(moto_url: str) -> Aws:
    req = urllib.request.Request(moto_url + "/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10).close()
    return Aws(moto_url)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    proc, boot = _spawn(
        [sys.executable, str(HERE / "kmockhost.py"), "3", *KAFKA_TOPICS], r"^(127\.0\.0\.1:\d+\S*)"
    )
    yield boot.strip()
    proc.terminate()
    proc.wait(10)


def esm_replay() -> str:
    """The console script of this environment."""
    return os.path.join(os.path.dirname(sys.executable), "esm-replay")


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``esm-replay ARGS`` in a subprocess (the real entry point, exit codes included)."""

    def run(
        *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [esm_replay(), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"esm-replay {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    return run
