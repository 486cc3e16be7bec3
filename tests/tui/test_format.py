"""tui.format: pure text of values (no Textual)."""

from __future__ import annotations

import datetime as dt

from replay.analysis.text import duration
from tui.format import cell_text, compact_time, count, fold_prefix, yes_no


def test_counts_durations_and_marks() -> None:
    assert count(6000) == "6,000" and count(None) == "–" and count(2.5) == "2.5"
    assert duration(86_403_934) == "24.0 h"  # the CLI's own spelling
    assert (yes_no(True), yes_no(False)) == ("✓", "✗")


def test_times_and_cells() -> None:
    ms = 1_730_799_667_737  # 2024-11-05T09:41:07.737Z
    assert compact_time(ms) == "11-05 09:41:07.737"
    when = dt.datetime(2024, 11, 5, 9, 41, 7, 737000, tzinfo=dt.UTC)
    assert cell_text(when) == "11-05 09:41:07.737"
    assert cell_text(when, compact=False) == "2024-11-05T09:41:07.737Z"
    assert cell_text(None) == "∅" and cell_text([1, 2]) == "[1,2]" and cell_text(5) == "5"


def test_shard_prefix_folds() -> None:
    names = [f"shardId-00000000000{i}" for i in range(4)]
    assert fold_prefix(names) == ("shardId-00000000000", ["0", "1", "2", "3"])
    assert fold_prefix(["only"]) == ("", ["only"])
    assert fold_prefix(["a", "b"]) == ("", ["a", "b"])
    assert fold_prefix(["orders-0", "orders-0x"]) == ("orders-", ["0", "0x"])
