"""divergences: every record whose fate differs, in arrival order; the first is compare's."""

from __future__ import annotations

import pyarrow as pa
import pytest

from replay.analysis.compare import compare
from replay.analysis.divergence import divergences, first_divergence
from replay.formats.runfiles import RunResult, read_run
from tests.replay.support import small_demo


def _runs(factory: pytest.TempPathFactory) -> list[RunResult]:
    d = small_demo(factory)
    return [read_run(d / "run-production"), read_run(d / "run-safer")]


def test_the_demo_diverges_on_the_poison_record(tmp_path_factory: pytest.TempPathFactory) -> None:
    runs = _runs(tmp_path_factory)
    table = divergences(runs)
    first = compare(runs).divergence
    assert first is not None
    assert table.num_rows == 1
    row = table.to_pylist()[0]
    assert (row["shard"], row["seq"], row["pos"]) == (first.shard, first.seq, first.pos)
    assert (
        (row["fate_0"], row["fate_1"])
        == first.fates
        == (
            "discarded (RetentionExpired), 1446 deliveries",
            "discarded (RetryAttemptsExhausted), 4 deliveries",
        )
    )
    assert row["row"] == runs[0].records.column("seq").to_pylist().index(first.seq)


def test_no_divergence_between_a_run_and_itself(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = _runs(tmp_path_factory)[0]
    assert divergences([run, run]).num_rows == 0
    assert first_divergence([run, run]) is None
    assert divergences([run]).column_names == ["row", "shard", "seq", "pos", "arrival", "fate_0"]


def test_misaligned_runs_take_the_keyed_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    prod, safer = _runs(tmp_path_factory)
    # the same records in another order: matched by (shard, seq), same answer
    flipped = RunResult(
        safer.path,
        safer.meta,
        safer.invocations,
        safer.records.take(pa.array(range(safer.records.num_rows - 1, -1, -1))),
        safer.destinations,
        safer.metrics,
    )
    assert first_divergence([prod, flipped]) == first_divergence([prod, safer])
    assert divergences([prod, flipped]).equals(divergences([prod, safer]))
