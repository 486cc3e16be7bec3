"""The README's tour is executable: every command of its shell blocks runs, in order, in a
temporary folder, and every figure the prose quotes is checked against what the runs wrote.

A claim below is (a sentence fragment the README must contain, a check on the outputs). Editing the
prose without the figures, or the code without the prose, fails here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.docs_support import BIN, ROOT, copy_examples, run_shell, says, section, sh_blocks

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _tour_commands() -> list[str]:
    return [block.strip() for block in sh_blocks(section(README, "## A five-minute tour"))]


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tour")
    copy_examples(root)
    for command in _tour_commands():
        out = run_shell(command, root)
        assert out.returncode == 0, f"{command}\n{out.stderr}"
    # the declarative model the prose mentions, as a user would run it
    model = [str(BIN / "esm-replay"), "replay", "tour/capture", "-f", "docs/examples/fn.yaml",
             "-o", "tour/run-model"]  # fmt: skip
    subprocess.run(model, cwd=root, check=True, capture_output=True, timeout=300)
    return root


def _summary(tour: Path, run: str) -> dict[str, Any]:
    return dict(json.loads((tour / "tour" / run / "run.json").read_text())["summary"])


def _payment(tour: Path, run: str) -> tuple[str, str | None, int]:
    """The bank-rejected payment's fate in a run."""
    row = duckdb.sql(
        f"""select o.disposition, o.reason, o.deliveries
            from '{tour}/tour/capture/records/*.parquet' c
            join '{tour}/tour/{run}/records.parquet' o using (shard, seq)
            where json_extract_string(decode(c.data), '$.status') = 'rejected-by-bank'"""
    ).fetchall()
    assert len(row) == 1
    return row[0]


CLAIMS: list[tuple[str, Callable[[Path], bool]]] = [
    ("60 Kinesis records", lambda t: _summary(t, "run-production")["records"] == 60),
    ("1,447 failed invocations", lambda t: _summary(t, "run-production")["results"]["error"] == 1447),
    ("a 24-hour iterator age", lambda t: round(_summary(t, "run-production")["iterator_age_ms"]["max"] / 3_600_000) == 24),
    ("11 records\nlost to retention", lambda t: _summary(t, "run-production")["reasons"] == {"RetentionExpired": 11}),
    ("RetentionExpired, 0 deliveries", lambda t: _payment(t, "run-production") == ("discarded", "RetentionExpired", 0)),
    ("blocked 6 seconds instead of 24 hours", lambda t: round(_summary(t, "run-safer")["blocked_ms"] / 1000) == 6
        and round(_summary(t, "run-production")["blocked_ms"] / 3_600_000) == 24),
    ("after 3 deliveries\neach", lambda t: _payment(t, "run-safer") == ("discarded", "RetryAttemptsExhausted", 3)),
    ("(2 lines in `tour/run-safer/destinations.jsonl`", lambda t: len((t / "tour" / "run-safer" / "destinations.jsonl").read_text().splitlines()) == 2),
    ("nothing is lost to retention", lambda t: "RetentionExpired" not in _summary(t, "run-safer")["reasons"]),
    ("blocks the shard for 24\nhours", lambda t: round(_summary(t, "run-model")["blocked_ms"] / 3_600_000) == 24),
    ("5 records expire instead of 11", lambda t: _summary(t, "run-model")["reasons"] == {"RetentionExpired": 5}),
    ("counts as processed", lambda t: _payment(t, "run-model") == ("processed", None, 1)),
]  # fmt: skip


@pytest.mark.parametrize(("quote", "holds"), CLAIMS, ids=[c[0].split("\n")[0] for c in CLAIMS])
def test_the_tour_says_what_the_runs_show(
    tour: Path, quote: str, holds: Callable[[Path], bool]
) -> None:
    assert says(README, quote), f"the README no longer says {quote!r}"
    assert holds(tour), quote


def test_outputs_are_byte_identical_but_the_timing(tour: Path) -> None:
    """The README's outputs row: same inputs and seed, same files (run.json but its timing)."""
    again = tour / "tour" / "run-again"
    argv = [
        str(BIN / "esm-replay"),
        "replay",
        "tour/capture",
        "-f",
        "docs/examples/fn.yaml",
        "-o",
        str(again),
    ]
    subprocess.run(argv, cwd=tour, check=True, capture_output=True, timeout=300)
    first = tour / "tour" / "run-model"
    for name in ("invocations.parquet", "records.parquet", "metrics.parquet", "destinations.jsonl"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    meta = [json.loads((d / "run.json").read_text()) for d in (first, again)]
    for m in meta:
        m.pop("timing")
    assert meta[0] == meta[1]
