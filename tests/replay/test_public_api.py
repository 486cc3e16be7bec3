"""``import replay`` is the public face: every name in ``__all__`` resolves, and importing the
package loads nothing until a name is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import replay


def test_all_names_the_public_table() -> None:
    assert set(replay.__all__) == {"ENGINE_VERSION", "__version__", *replay._PUBLIC}


@pytest.mark.parametrize("name", sorted(replay._PUBLIC))
def test_each_public_name_resolves_to_its_module(name: str) -> None:
    value = getattr(replay, name)
    assert getattr(value, "__module__", replay._PUBLIC[name]).startswith(replay._PUBLIC[name])


def test_import_replay_loads_no_submodule_and_reading_runs_loads_no_engine() -> None:
    code = (
        "import sys, replay\n"
        "before = sorted(m for m in sys.modules if m.startswith('replay.'))\n"
        "replay.read_run, replay.compare, replay.explain_record\n"
        "engine = sorted(m for m in sys.modules if m.startswith('replay.engine'))\n"
        "print(before, engine)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"
