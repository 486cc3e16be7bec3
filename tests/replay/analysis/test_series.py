"""series.timeline: per-shard series on shared buckets, one scale for every series."""

from __future__ import annotations

import numpy as np
import pytest

from replay.analysis.query import read_run_meta
from replay.analysis.series import blocked_fraction, common_scale, levels, timeline
from tests.replay.support import small_demo


def test_series_follow_the_summary(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    shards = read_run_meta(run)["summary"]["shards"]
    t = timeline(run)
    assert t.bucket_ms == 60_000
    assert t.series[0].name == "shardId-000000000003"
    assert {s.name for s in t.series} == set(shards)
    for s in t.series:
        assert s.blocked_ms == shards[s.name]["blocked_ms"]
        assert s.max_iterator_age_ms == shards[s.name]["max_iterator_age_ms"]
        assert int(s.invocations.sum()) == shards[s.name]["invocations"]
        assert np.nanmax(s.iterator_age_max_ms) == shards[s.name]["max_iterator_age_ms"]
    blocked = t.get("shardId-000000000003")
    # 24 h blocked: the bucket minutes covered add up to the blocked time
    assert blocked.blocked_fraction.sum() * 60_000 == pytest.approx(blocked.blocked_ms, abs=1)
    assert t.get("shardId-000000000000").blocked_fraction.sum() == 0


def test_buckets_and_names(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    t = timeline(run, buckets=40, names=["shardId-000000000001", "shardId-000000000003"])
    assert [s.name for s in t.series] == ["shardId-000000000001", "shardId-000000000003"]
    assert len(t.series[0].bucket_start_ms) <= 40 and t.bucket_ms % 60_000 == 0
    full = timeline(run)
    assert int(t.series[1].invocations.sum()) == int(full.get(t.series[1].name).invocations.sum())


def test_one_scale_tells_a_24h_block_from_a_1s_peak(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = small_demo(tmp_path_factory)
    prod, safer = timeline(d / "run-production", buckets=44), timeline(d / "run-safer", buckets=44)
    low, high = common_scale([prod, safer])
    assert (low, high) == (1000.0, float(prod.get("shardId-000000000003").max_iterator_age_ms or 0))
    top = levels(prod.get("shardId-000000000003").iterator_age_max_ms, (low, high)).max()
    calm = levels(prod.get("shardId-000000000000").iterator_age_max_ms, (low, high)).max()
    assert (top, calm) == (8, 1)


def test_blocked_fraction_and_levels() -> None:
    starts = np.array([0, 100, 200], dtype=np.int64)
    assert blocked_fraction(starts, 100, [(50, 250)]).tolist() == [0.5, 1.0, 0.5]
    assert levels(np.array([np.nan, 1.0, 10.0, 100.0]), (1.0, 100.0), 3).tolist() == [0, 1, 2, 3]
    assert levels(np.array([0.0, 50.0]), (0.0, 100.0), 3, log=False).tolist() == [1, 2]


def test_resample_keeps_each_groups_largest() -> None:
    from replay.analysis.series import resample

    v = np.array([1.0, np.nan, 3.0, 2.0, np.nan, np.nan])
    assert resample(v, 3).tolist()[:2] == [1.0, 3.0] and np.isnan(resample(v, 3)[2])
    assert resample(v, 10).tolist()[:1] == [1.0] and len(resample(v, 10)) == 6
