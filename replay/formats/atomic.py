"""Write a directory all at once, and never destroy anything but an output of the same kind.

Captures, runs and sweeps are directories of several files; a reader must never see half of one,
and a failed or interrupted write must leave nothing behind at the target. So a directory is
written into a temporary sibling and renamed into place when complete. Replacing an existing one
(``--overwrite``) is a swap: the old directory is renamed aside, the new one renamed in, the old
one deleted — a kill at any instant leaves either the old or the new directory whole, never a mix,
and the next write of the same target puts back an old one a killed swap left aside and removes
temporary siblings whose writer is dead.

The guard (:func:`check_target`): ``--overwrite`` replaces only an empty directory or one that is
recognisably its own kind (a run's ``run.json``, a capture's ``manifest.json``, a sweep's
``sweep.json``, each with its format), and never a directory that is, or holds, an input of the
write. docs/guarantees.md states these promises.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from replay.errors import UserError

# kind -> (the file that marks it, the prefix of that file's "format")
KINDS: dict[str, tuple[str, str]] = {
    "run": ("run.json", "esm-replay.run/"),
    "capture": ("manifest.json", "esm-replay.capture/"),
    "sweep": ("sweep.json", "esm-replay.sweep/"),
}
_TMP, _OLD = "tmp", "old"


def is_kind(path: Path, kind: str) -> bool:
    """Whether ``path`` is a directory of ``kind``: its marker file names that kind's format."""
    marker, prefix = KINDS[kind]
    try:
        doc = json.loads((path / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and str(doc.get("format", "")).startswith(prefix)


def _contains(outer: Path, inner: Path) -> bool:
    outer, inner = outer.resolve(), inner.resolve()
    return inner == outer or outer in inner.parents


def check_target(
    target: Path,
    *,
    kind: str,
    overwrite: bool,
    protect: Sequence[str | os.PathLike[str]] = (),
    error: type[UserError] = UserError,
) -> None:
    """Refuse, before anything is written, an output that would destroy what is not ours.

    Raises:
        error: ``target`` exists without ``overwrite``; it is a file; it is not empty and not a
            ``kind`` directory; or it is or holds one of ``protect`` (the write's inputs).
    """
    for item in protect:
        if "://" not in os.fspath(item) and _contains(target, Path(item)):
            raise error(f"{target}: holds the input {item}; choose another output")
    if not target.exists() and not target.is_symlink():
        return
    if not overwrite:
        raise error(f"{target}: already exists; choose another output or pass --overwrite")
    if not target.is_dir():
        raise error(f"{target}: is a file, not a {kind} directory; choose another output")
    if any(target.iterdir()) and not is_kind(target, kind):
        raise error(
            f"{target}: exists and is not a {kind} directory; --overwrite replaces only a {kind}"
            " (choose another output)"
        )


def _sibling(target: Path, role: str) -> str:
    return f".{target.name}.{role}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(target: Path) -> None:
    """Undo what a killed writer of ``target`` left: put an old directory it had moved aside back
    (when the target is missing), delete its temporary siblings."""
    prefix = f".{target.name}."
    for sibling in sorted(target.parent.glob(glob.escape(prefix) + "*-*-*")):
        role, _, rest = sibling.name[len(prefix) :].partition("-")
        pid_text = rest.partition("-")[0]
        if role not in (_TMP, _OLD) or not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        if role == _OLD and not target.exists():
            os.replace(sibling, target)
        else:
            shutil.rmtree(sibling, ignore_errors=True)


def _umask() -> int:
    """The process umask (read without changing it where /proc says it)."""
    with suppress(OSError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_directory(
    target: Path,
    *,
    overwrite: bool = False,
    kind: str = "run",
    protect: Sequence[str | os.PathLike[str]] = (),
    error: type[UserError] = UserError,
) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it replaces ``target``.

    The directory gets the permissions the umask gives a new directory (mkdtemp's are 0700).

    Raises:
        error: see :func:`check_target` (checked before anything is written).
    """
    if target.parent.exists():
        _recover(target)
    check_target(target, kind=kind, overwrite=overwrite, protect=protect, error=error)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_sibling(target, _TMP), dir=target.parent))
    except OSError as exc:
        raise error(f"{target}: cannot write there ({exc.strerror or exc})") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        _swap(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(new: Path, target: Path) -> None:
    """Rename ``new`` into ``target``'s place; an existing target is renamed aside first and
    deleted last, so a kill leaves one whole directory (and :func:`_recover` finishes the job)."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=_sibling(target, _OLD), dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
