"""What the executable documents share (tests/test_readme.py, tests/test_docs.py): a document's
fenced blocks, its shell blocks run in a temporary folder as a reader would run them, and the
whitespace-blind comparison of what the prose says with what a command printed.

A shell block runs in bash (``set -e``, so every command of it must succeed) from the folder the
document's commands are written for — a copy of the repository root holding ``docs/examples/`` —
with the virtualenv's ``esm-replay`` and ``python`` first on the PATH, and stdout piped at
``COLUMNS=100``: the plain aligned text ``replay/cli/render.py`` prints into a pipe at that width.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
COLUMNS = 100
TIMEOUT = 300

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    """One fenced block of a document: its info string (``sh``, ``sql``, ``""``...), its text, and
    the text between the previous block's end and its start (``before``)."""

    lang: str
    text: str
    before: str


def blocks(markdown: str) -> list[Block]:
    """Every fenced block of ``markdown``, in order."""
    found: list[Block] = []
    end = 0
    for match in _FENCE.finditer(markdown):
        found.append(Block(match.group(1), match.group(2), markdown[end : match.start()]))
        end = match.end()
    return found


def section(markdown: str, heading: str) -> str:
    """The text of the section that starts at ``heading`` (a ``## `` line), up to the next one."""
    text = markdown[markdown.index(heading) :]
    nxt = text.find("\n## ", 1)
    return text if nxt < 0 else text[:nxt]


def sh_blocks(markdown: str) -> list[str]:
    """The ``sh`` blocks of ``markdown``, in order."""
    return [b.text for b in blocks(markdown) if b.lang == "sh"]


def normalised(text: str) -> str:
    """``text`` with every run of whitespace one space: prose wraps where it likes."""
    return " ".join(text.split())


def says(document: str, quote: str) -> bool:
    """Whether ``document`` contains ``quote``, however either is wrapped."""
    return normalised(quote) in normalised(document)


def environment() -> dict[str, str]:
    """The environment of a reader's shell: the virtualenv first, output piped at 100 columns."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = str(COLUMNS)
    env["TZ"] = "UTC"
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    return env


def run_shell(
    script: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (a shell block) in bash in ``cwd``; stops at its first failing command."""
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def copy_examples(root: Path) -> None:
    """Put the repository's ``docs/examples/`` under ``root``, where the documents' commands find it."""
    shutil.copytree(ROOT / "docs" / "examples", root / "docs" / "examples")


def same_text(expected: str, printed: str) -> bool:
    """Whether a document's output block is what a command printed (trailing spaces and blank
    lines aside: editors strip them)."""

    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip().splitlines()]

    return lines(expected) == lines(printed)
