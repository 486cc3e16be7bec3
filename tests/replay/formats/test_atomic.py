"""Outputs replace only their own kind, never an input, and a killed write leaves one whole
directory (issue: data destroyed by --overwrite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from replay.engine.runner import replay
from replay.errors import UserError
from replay.formats.atomic import atomic_directory, check_target
from replay.formats.capture import read_capture, write_capture
from replay.testing import make_capture, rec


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    cap = make_capture([rec("k", {"n": i}, at=i) for i in range(5)])
    return write_capture(tmp_path / "cap", cap.manifest, cap.records).path


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_overwrite_never_replaces_the_input_capture(capture_dir: Path) -> None:
    before = _tree(capture_dir)
    with pytest.raises(UserError, match="holds the input"):
        replay(capture_dir, capture_dir, overwrite=True)
    assert _tree(capture_dir) == before


def test_overwrite_never_replaces_the_captures_parent(capture_dir: Path) -> None:
    with pytest.raises(UserError, match="holds the input"):
        replay(capture_dir, capture_dir.parent, overwrite=True)
    assert read_capture(capture_dir).records.num_rows == 5


def test_overwrite_never_replaces_a_folder_of_user_files(capture_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    with pytest.raises(UserError, match="is not a run directory; --overwrite replaces only a run"):
        replay(capture_dir, folder, overwrite=True)
    assert (folder / "todo.txt").read_text() == "keep me"


def test_a_capture_is_not_replaced_by_a_run(capture_dir: Path, tmp_path: Path) -> None:
    other = write_capture(tmp_path / "other", *_parts(capture_dir)).path
    with pytest.raises(UserError, match="not a run directory"):
        replay(capture_dir, other, overwrite=True)


def _parts(path: Path) -> tuple:
    cap = read_capture(path)
    return cap.manifest, cap.records


def test_overwrite_replaces_a_run_and_an_empty_directory(capture_dir: Path, tmp_path: Path) -> None:
    run = replay(capture_dir, tmp_path / "run")
    again = replay(capture_dir, run.path, overwrite=True, seed=1)
    assert again.meta["seed"] == 1
    (tmp_path / "empty").mkdir()
    assert replay(capture_dir, tmp_path / "empty", overwrite=True).path.is_dir()


def test_a_file_as_output_is_one_line(capture_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "out.txt"
    file.write_text("x")
    with pytest.raises(UserError, match="is a file, not a run directory"):
        replay(capture_dir, file, overwrite=True)
    assert file.read_text() == "x"


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def test_a_swap_killed_midway_is_undone_by_the_next_write(tmp_path: Path) -> None:
    """kill -9 between 'old aside' and 'new in': the old directory is put back, whole."""
    target = tmp_path / "run"
    pid = _dead_pid()
    old = tmp_path / f".run.old-{pid}-abc"
    old.mkdir()
    (old / "run.json").write_text('{"format": "esm-replay.run/1"}')
    (old / "records.parquet").write_text("old")
    half = tmp_path / f".run.tmp-{pid}-def"
    half.mkdir()
    (half / "run.json").write_text("new, incomplete")
    check_target(target, kind="run", overwrite=True)  # nothing at the target yet: allowed
    with pytest.raises(UserError, match="already exists"), atomic_directory(target, kind="run"):
        pass
    assert (target / "records.parquet").read_text() == "old"
    assert not old.exists() and not half.exists()


def test_a_swap_killed_after_the_rename_drops_the_old_copy(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "run.json").write_text('{"format": "esm-replay.run/1"}')
    old = tmp_path / f".run.old-{_dead_pid()}-abc"
    old.mkdir()
    with atomic_directory(target, kind="run", overwrite=True) as tmp:
        (tmp / "run.json").write_text('{"format": "esm-replay.run/1", "new": true}')
    assert "new" in (target / "run.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_outputs_follow_the_umask(capture_dir: Path, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        run = replay(capture_dir, tmp_path / "run")
    finally:
        os.umask(previous)
    assert run.path.stat().st_mode & 0o777 == 0o755


def test_an_unwritable_output_is_one_line(capture_dir: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: a file in the way instead
            blocker = tmp_path / "blocker"
            blocker.write_text("x")
            target = blocker / "run"
        else:
            target = locked / "run"
        with pytest.raises(UserError, match="cannot write there"):
            replay(capture_dir, target)
    finally:
        locked.chmod(0o700)
