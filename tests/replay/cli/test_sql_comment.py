"""A query that begins with a SQL comment, as the examples in docs/query.md do, is a query, not
an unknown option."""

from __future__ import annotations

import subprocess
import sys


def test_a_query_starting_with_a_comment_runs() -> None:
    sql = "-- one row, please\nselect 41 + 1 as answer"
    out = subprocess.run(
        [sys.executable, "-m", "replay.cli", "query", sql, "--format", "csv"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["answer", "42"]
