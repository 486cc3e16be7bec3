"""``KEY=VALUE`` command-line assignments and "did you mean" hints, one spelling for every option.

``--set``, ``--option``, ``--vary``, ``--source-setting`` and ``--kafka-config`` all take
assignments; every unknown name anywhere (ESM fields, function-model fields, queue settings,
engine options) is answered with the closest known name. Each caller keeps its own error class and
wording: this module returns values, the caller raises.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable


def split_assignment(text: str, *, need_value: bool = False) -> tuple[str, str] | None:
    """``"Key = v"`` → ``("Key", " v")``: the name stripped, the value as given after the first
    ``=``. None when there is no ``=``, the name is empty, or (``need_value``) the value is."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or (need_value and not value):
        return None
    return key, value


def normalised(name: str) -> str:
    """A name compared case-, underscore-, hyphen- and space-blind (``batch_size`` = ``BatchSize``)."""
    return re.sub(r"[_\-\s]", "", name).lower()


def closest(name: str, known: Iterable[str], *, blind: bool = True) -> str | None:
    """The known name a typo most likely meant, or None. ``blind`` compares :func:`normalised`
    names (an exact match that way wins); otherwise names are compared as written."""
    names = list(known)
    if not blind:
        match = difflib.get_close_matches(name, sorted(names), n=1)
        return match[0] if match else None
    by_norm = {normalised(n): n for n in names}
    wanted = normalised(name)
    if wanted in by_norm:
        return by_norm[wanted]
    match = difflib.get_close_matches(wanted, list(by_norm), n=1, cutoff=0.6)
    return by_norm[match[0]] if match else None


def parse_assignments(pairs: Iterable[str], invalid: Callable[[str], Exception]) -> dict[str, str]:
    """``["K=V", ...]`` as a mapping: names stripped, values as given after the first ``=``, a
    repeated name keeping its last value.

    Args:
        invalid: the error for an item without ``=`` or with an empty name (given the item), so
            that each option keeps its own error class and wording.

    Raises:
        Exception: ``invalid(pair)`` for the first such item.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        assignment = split_assignment(pair)
        if assignment is None:
            raise invalid(pair)
        key, value = assignment
        out[key] = value
    return out
