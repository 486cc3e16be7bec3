"""``esm-replay tui``: runs the app over the paths given; without Textual, one line and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import replay.cli.tui
from replay.cli.app import app
from replay.errors import UserError


def test_the_command_runs_the_app_on_its_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[object] = []

    def fake_run_app(paths: list[Path], *, theme: str) -> int:
        seen.append((list(paths), theme))
        return 0

    import tui.launch

    monkeypatch.setattr(tui.launch, "run_app", fake_run_app)
    out = CliRunner().invoke(app, ["tui", str(tmp_path), "--theme", "ansi-dark"])
    assert out.exit_code == 0, out.output
    assert seen == [([tmp_path], "ansi-dark")]
    out = CliRunner().invoke(app, ["tui"])
    assert seen[-1] == ([Path(".")], "textual-dark")


def test_without_textual_the_command_names_the_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from replay.cli.main import main

    monkeypatch.setitem(sys.modules, "textual_fastdatatable", None)  # its import fails
    with pytest.raises(UserError) as exc:
        replay.cli.tui.tui(paths=None, theme="textual-dark")
    text = str(exc.value)
    assert text.startswith("esm-replay tui needs textual_fastdatatable, which is not installed")
    assert "pip install" in text and "[tui]" in text
    monkeypatch.setattr(sys, "argv", ["esm-replay", "tui"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    assert capsys.readouterr().err.replace("\n", "").startswith("error: esm-replay tui needs")
