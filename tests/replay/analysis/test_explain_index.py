"""ExplainIndex: the same explanation as explain_record (golden text), from one read of the run."""

from __future__ import annotations

import pytest

from replay.analysis.explain import explain_record, render_record
from replay.analysis.explain_index import ExplainIndex, group_steps
from replay.errors import UserError
from tests.replay.support import GOLDEN, scenario_runs, small_demo

POISON = "shardId-000000000003#537"


@pytest.mark.parametrize(
    ("run", "golden"),
    [
        ("run-production", "explain_production_poison.txt"),
        ("run-safer", "explain_safer_poison.txt"),
    ],
)
def test_explain_row_is_the_golden_chain(
    tmp_path_factory: pytest.TempPathFactory, run: str, golden: str
) -> None:
    index = ExplainIndex.open(small_demo(tmp_path_factory) / run)
    row = index.row_of(record=POISON)
    assert index.ref(row) == POISON
    assert render_record(index.explain_row(row)) == (GOLDEN / golden).read_text(encoding="utf-8")


def test_every_record_equals_explain_record(tmp_path_factory: pytest.TempPathFactory) -> None:
    for run in scenario_runs(tmp_path_factory):
        index = ExplainIndex.open(run)
        for row in range(index.records):
            ref = index.ref(row)
            assert index.explain_row(row) == explain_record(run, record=ref), ref


def test_group_steps_folds_like_render_record(tmp_path_factory: pytest.TempPathFactory) -> None:
    index = ExplainIndex.open(small_demo(tmp_path_factory) / "run-production")
    x = index.explain(record=POISON)
    (group,) = group_steps(x.steps)
    assert group.alike and len(group.steps) == 1446 and group.folded == 1444
    assert f"... {group.folded} more attempts alike" in render_record(x)
    safer = ExplainIndex.open(small_demo(tmp_path_factory) / "run-safer").explain(record=POISON)
    groups = group_steps(safer.steps)
    assert [g.alike for g in groups] == [False] * len(safer.steps)


def test_bad_rows_and_references(tmp_path_factory: pytest.TempPathFactory) -> None:
    index = ExplainIndex.open(small_demo(tmp_path_factory) / "run-production")
    with pytest.raises(UserError, match="row 6000: the run has 6000 records"):
        index.explain_row(6000)
    with pytest.raises(UserError, match="no position 9999"):
        index.row_of(record="shardId-000000000003#9999")
