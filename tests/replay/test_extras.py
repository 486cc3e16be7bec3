"""Install: boto3 and Textual are plain dependencies; Kafka, Dask and matplotlib are extras, and a
command that needs a missing one prints one line with the exact pip command (replay.extras)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import requires
from pathlib import Path

import pytest

from replay import extras
from tests.replay.support import scenario

ROOT = Path(__file__).parents[2]
CLONE = f"(in {ROOT})"


def _hidden(modules: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``esm-replay ARGS`` in a Python where ``modules`` cannot be imported."""
    code = (
        "import sys\n"
        f"for m in {modules!r}: sys.modules[m] = None\n"
        f"sys.argv = ['esm-replay', *{list(args)!r}]\n"
        "from replay.cli.main import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_boto3_and_textual_are_dependencies_and_the_old_extras_still_exist() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {d.split(">")[0].split("[")[0] for d in project["dependencies"]}
    assert {"boto3", "textual"} <= core
    assert not {"confluent-kafka", "dask", "matplotlib"} & core
    assert {"aws", "tui", "kafka", "dask", "report"} <= set(project["optional-dependencies"])
    installed = [r for r in requires("esm-replay") or [] if "extra ==" not in r]
    assert any(r.startswith("boto3") for r in installed), "reinstall: pip install -e '.[test]'"
    assert any(r.startswith("textual") for r in installed)


def test_install_command_of_a_clone_and_of_a_wheel(tmp_path: Path) -> None:
    assert extras.install_command("kafka") == f"pip install -e '.[kafka]' {CLONE}"
    wheel = tmp_path / "site-packages" / "replay" / "extras.py"
    assert extras.install_command("dask", anchor=wheel) == "pip install 'esm-replay[dask]'"


def test_sweep_scheduler_without_dask_names_the_install_command(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    capture = scenario(tmp_path_factory) / "capture"
    out = tmp_path / "sweep"
    proc = _hidden(
        ["distributed"], "sweep", str(capture), "-o", str(out), "--vary", "BatchSize=1,2",
        "--scheduler", "tcp://127.0.0.1:1",
    )  # fmt: skip
    line = _one_line(proc)
    assert line.startswith("error: sweep --scheduler needs dask[distributed], which is not")
    assert f"pip install -e '.[dask]' {CLONE}" in line


def test_report_without_matplotlib_names_the_install_command(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    from tests.replay.support import scenario_runs

    run, _ = scenario_runs(tmp_path_factory)
    proc = _hidden(["matplotlib"], "report", str(run), "-o", str(tmp_path / "r.html"))
    line = _one_line(proc)
    assert "report needs matplotlib, which is not installed" in line
    assert f"pip install -e '.[report]' {CLONE}" in line
    assert not (tmp_path / "r.html").exists()


def test_every_help_works_without_the_extras() -> None:
    """What `pip install -e .` gives: no confluent-kafka, Dask or matplotlib."""
    hidden = ["confluent_kafka", "distributed", "dask", "matplotlib"]
    for command in (
        ["capture", "kinesis"], ["capture", "kafka"], ["capture", "import"], ["inject"],
        ["sweep"], ["report"], ["replay"], ["query"],
    ):  # fmt: skip
        proc = _hidden(hidden, *command, "--help")
        assert proc.returncode == 0, (command, proc.stderr)
        assert "Usage: esm-replay" in proc.stdout
