"""The TUI reads through replay/ only: no module of tui/ loads captures, boto3 or confluent_kafka,
and starting the app loads neither compare, explain nor the engine (screens load them when
needed). Each module is imported in a fresh interpreter, deferred imports included."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import tui

FORBIDDEN = ("captures", "boto3", "botocore", "confluent_kafka")
MODULES = sorted(m.name for m in pkgutil.walk_packages(tui.__path__, "tui."))


def _loaded(code: str, prefixes: tuple[str, ...]) -> list[str]:
    script = (
        f"import sys, json\n{code}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def test_every_tui_module_is_checked() -> None:
    assert {"tui.app", "tui.screens.run", "tui.widgets.paged_table"} <= set(MODULES)


def test_no_tui_module_reaches_aws_kafka_or_captures() -> None:
    code = "\n".join(f"import {m}" for m in MODULES)
    assert [m for m in _loaded(code, FORBIDDEN) if m.split(".")[0] in FORBIDDEN] == []


def test_starting_the_app_loads_no_compare_explain_or_engine() -> None:
    heavy = ("replay.analysis.compare", "replay.analysis.explain", "replay.engine")
    assert _loaded("import tui.app, tui.launch", heavy) == []


@pytest.mark.parametrize("module", ["replay.cli.tui"])
def test_the_command_module_imports_no_textual(module: str) -> None:
    assert _loaded(f"import {module}", ("textual", "tui")) == []
