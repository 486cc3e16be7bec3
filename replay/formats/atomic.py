"""Write a directory all at once: into a temporary sibling, renamed into place when complete.

Captures and runs are directories of several files; a reader must never see half of one, and a
failed or interrupted write must leave nothing behind at the target.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from replay.errors import UserError


@contextmanager
def atomic_directory(
    target: Path, *, overwrite: bool = False, error: type[UserError] = UserError
) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it replaces ``target``.

    Raises:
        error: ``target`` exists and ``overwrite`` is false (checked before anything is written).
    """
    if target.exists() and not overwrite:
        raise error(f"{target}: already exists; choose another output or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
