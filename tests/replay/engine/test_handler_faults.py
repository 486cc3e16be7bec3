"""A handler that misbehaves is a function error, as on Lambda, never the end of the replay:
``sys.exit`` in a handler is Runtime.ExitError, a return value JSON cannot hold is
Runtime.MarshalError (both ``Unhandled``, rule B42); a module that exits while it is imported is
one line, exit 2."""

from __future__ import annotations

import decimal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from replay.testing import rec, simulate

TRIM = {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumRetryAttempts": 0}


def _exits(code: int) -> Any:
    def handler(event: dict[str, Any], context: Any) -> None:
        if "Zmlyc3Q" in str(event):  # the first record ("first", base64)
            sys.exit(code)

    return handler


@pytest.mark.parametrize("code", [0, 3])
def test_sys_exit_in_a_handler_is_a_function_error(code: int) -> None:
    sim = simulate([rec("a", "first"), rec("b", "second")], TRIM, _exits(code))
    assert [(i.records, i.result) for i in sim.invocations] == [(("a",), "error"), (("b",), "ok")]
    assert sim.run.invocations.column("function_error").to_pylist() == ["Unhandled", None]


@pytest.mark.parametrize(
    ("value", "result"),
    [({1, 2}, "error"), (object(), "error"), ({"n": decimal.Decimal("1.5")}, "ok"), (None, "ok")],
)
def test_a_return_value_json_cannot_hold_is_a_function_error(value: Any, result: str) -> None:
    sim = simulate([rec("k", "x")], TRIM, lambda event, context: value)
    assert [i.result for i in sim.invocations] == [result]


def test_a_module_that_exits_on_import_is_one_line(tmp_path: Path) -> None:
    from replay.formats.capture import write_capture
    from replay.testing import make_capture

    cap = make_capture([rec("k", 1)])
    write_capture(tmp_path / "cap", cap.manifest, cap.records)
    (tmp_path / "fn.py").write_text(
        "import sys\nsys.exit(4)\ndef handler(e, c):\n    return None\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "replay.cli", "replay", str(tmp_path / "cap"), "-o",
         str(tmp_path / "run"), "-f", f"{tmp_path / 'fn.py'}:handler"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert "called sys.exit(4)" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()
