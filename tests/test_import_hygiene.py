"""The core stays pure: no module of replay/ loads boto3, botocore, confluent_kafka or textual.

Each module is imported in a fresh interpreter, because a static check cannot see a deferred import
and because another test in this process may already have loaded those packages.
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import replay

FORBIDDEN = ("boto3", "botocore", "confluent_kafka", "textual")
CORE_MODULES = sorted(f"replay.{m.name}" for m in pkgutil.iter_modules(replay.__path__))


def test_every_core_module_is_checked() -> None:
    assert {"replay.streams", "replay.run", "replay.cli", "replay.capture"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", ["replay", *CORE_MODULES])
def test_core_module_imports_no_aws_kafka_or_ui(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], f"{module} loads {out.stdout.strip()}"
