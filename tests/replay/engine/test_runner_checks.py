"""What the runner refuses before anything runs: a starting timestamp in the future of the mapping,
and a span whose per-minute metrics would not fit in memory (one record years away)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.engine.runner import replay
from replay.errors import ConfigError
from replay.formats.capture import write_capture
from replay.testing import T0, make_capture, rec
from replay.timeutil import iso_ms

YEAR_S = 365 * 86_400


def _capture(tmp_path: Path, *times: float) -> Path:
    cap = make_capture([rec(f"k{i}", i, at=t) for i, t in enumerate(times)])
    return write_capture(tmp_path / "cap", cap.manifest, cap.records).path


def test_a_starting_timestamp_after_the_mapping_starts_is_refused(tmp_path: Path) -> None:
    cap = _capture(tmp_path, 0, 60)
    later = ["StartingPosition=AT_TIMESTAMP", f"StartingPositionTimestamp={iso_ms(T0 + 30_000)}"]
    with pytest.raises(
        ConfigError, match="AWS refuses a starting position timestamp in the future"
    ):
        replay(cap, tmp_path / "run", overrides=later)
    assert not (tmp_path / "run").exists()
    # a mapping created later (--start) may start at that timestamp
    run = replay(cap, tmp_path / "run", overrides=later, start_ms=T0 + 40_000)
    assert (
        run.summary["dispositions"] == {"processed": 1, "unprocessed": 1}
        or run.summary["records"] == 2
    )


def test_one_record_years_away_is_refused_naming_it(tmp_path: Path) -> None:
    cap = _capture(tmp_path, 0, 1, 5 * YEAR_S)
    with pytest.raises(ConfigError) as caught:
        replay(cap, tmp_path / "run")
    text = str(caught.value)
    assert "would span 1,825.0 days" in text and "shardId-000000000000 " in text
    assert "--until" in text
    run = replay(cap, tmp_path / "run", until_ms=T0 + 3_600_000)
    assert run.summary["records"] == 3
