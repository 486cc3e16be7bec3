"""sweep: points, results table, Pareto front, recommendations, resume, Dask = local pool."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from replay.analysis.pareto import pareto_front, recommend
from replay.analysis.query import to_json
from replay.errors import UserError
from replay.sweep import run_sweep
from tests.replay.support import cli, golden, scenario

VARY = ["BatchSize=1,10", "BisectBatchOnFunctionError=true,false", "MaximumRetryAttempts=0,2"]


def _sweep(root: Path, out: Path, **kw: object) -> object:
    return run_sweep(
        root / "capture",
        out,
        config=str(root / "esm.json"),
        function=str(root / "fn.json"),
        vary=VARY,
        **kw,  # type: ignore[arg-type]
    )


def test_local_pool_and_resume_give_the_golden_table(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = scenario(tmp_path_factory)
    result = _sweep(root, tmp_path / "sw", jobs=2)
    table = pq.read_table(tmp_path / "sw" / "results.parquet")
    assert table.num_rows == 8 and result.ran == 8  # type: ignore[attr-defined]
    golden("sweep_results.json", to_json(table))
    first = (tmp_path / "sw" / "results.parquet").read_bytes()
    # resume: one point lost (an interrupted sweep), the others are reused, same bytes
    import shutil

    shutil.rmtree(tmp_path / "sw" / table.column("point")[3].as_py())
    again = _sweep(root, tmp_path / "sw", jobs=1)
    assert (again.ran, again.reused) == (1, 7)  # type: ignore[attr-defined]
    assert (tmp_path / "sw" / "results.parquet").read_bytes() == first
    recs = {o: recommend(table, o).point for o in ("latency", "cost", "safety", "balanced")}
    golden("sweep_recommendations.json", json.dumps(recs, indent=2, sort_keys=True) + "\n")


def test_dask_local_cluster_gives_the_same_results(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    root = scenario(tmp_path_factory)
    _sweep(root, tmp_path / "local", jobs=1)
    with distributed.LocalCluster(
        host="127.0.0.1", dashboard_address=None, processes=True, n_workers=2, threads_per_worker=1
    ) as cluster:
        _sweep(root, tmp_path / "dask", scheduler=cluster.scheduler_address)
    local = (tmp_path / "local" / "results.parquet").read_bytes()
    assert (tmp_path / "dask" / "results.parquet").read_bytes() == local


def test_pareto_front_minimises_all_axes() -> None:
    rows = [
        {"discarded": 0, "duplicates": 5, "latency_p99_ms": 100, "invocations": 10},
        {"discarded": 0, "duplicates": 5, "latency_p99_ms": 200, "invocations": 10},  # dominated
        {"discarded": 1, "duplicates": 0, "latency_p99_ms": 100, "invocations": 10},
        {"discarded": 0, "duplicates": 5, "latency_p99_ms": None, "invocations": 1},
    ]
    assert pareto_front(rows) == [True, False, True, True]


def test_grid_file_and_bad_input(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    root = scenario(tmp_path_factory)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"BatchSize": 5}, {"BatchSize": 5, "MaximumRetryAttempts": 0}]))
    r = run_sweep(root / "capture", tmp_path / "g", config=str(root / "esm.json"), grid=grid)
    assert r.results.num_rows == 2
    with pytest.raises(UserError, match="BatchSize"):
        run_sweep(root / "capture", tmp_path / "bad", vary=["BatchSize=0,10"])
    assert not (tmp_path / "bad").exists()
    out = cli("sweep", str(root / "capture"), "-o", str(tmp_path / "bad2"), "--vary", "BatchSize")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad2").exists()


def test_cli_prints_table_and_recommendation(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = scenario(tmp_path_factory)
    out = cli(
        "sweep", str(root / "capture"), "-o", str(tmp_path / "s"), "-c", str(root / "esm.json"),
        "-f", str(root / "fn.json"), "--vary", "BatchSize=1,10", "-j", "1", "--objective", "safety",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "recommended for safety" in out.stdout and "Pareto front" in out.stdout
