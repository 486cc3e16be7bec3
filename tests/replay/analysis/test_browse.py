"""browse.TableSource: DuckDB pages over run tables, sort, filters, counts, frequencies."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from replay.analysis.browse import connection, run_source
from replay.analysis.query import read_run_meta
from replay.errors import UserError
from replay.formats.runfiles import read_run
from tests.replay.support import small_demo


def test_pages_cover_the_table_in_order(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    src = run_source(connection(), run, "invocations")
    assert src.count() == read_run_meta(run)["summary"]["invocations"] == 5977
    assert "record_rows" not in [c.name for c in src.columns]
    pages = [src.page(o, 512) for o in range(0, src.count(), 512)]
    got = [v for p in pages for v in p.column("invocation").to_pylist()]
    assert got == list(range(5977))


def test_records_carry_their_row_and_filter_on_disposition(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    records = read_run(run).records
    src = run_source(connection(), run, "records")
    assert src.count() == records.num_rows == 6000
    page = src.page(1000, 3)
    assert page.column("row").to_pylist() == [1000, 1001, 1002]
    assert page.column("seq").to_pylist() == records.column("seq").slice(1000, 3).to_pylist()
    bad = src.with_filter(not_equals={"disposition": "processed"})
    assert bad.count() == 1
    (only,) = bad.page(0).to_pylist()
    assert (only["shard"], only["pos"], only["reason"]) == (
        "shardId-000000000003",
        537,
        "RetentionExpired",
    )
    assert bad.filter_text() == "disposition!=processed"
    assert bad.without_filter().count() == 6000
    assert src.with_filter({"reason": None}).count() == 5999


def test_sort_and_position(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    records = read_run(run).records
    src = run_source(connection(), run, "records").with_order([("latency_ms", "desc")])
    top = src.page(0, 1).to_pylist()[0]
    assert top["latency_ms"] == pc.max(records.column("latency_ms")).as_py()
    # nulls last: the discarded record (no latency) is the very last row
    assert src.page(5999, 1).column("latency_ms").to_pylist() == [None]
    assert src.position_of({"shard": "shardId-000000000003", "pos": 537}) == 5999
    with pytest.raises(UserError, match="no column 'nope'"):
        src.with_order([("nope", "asc")])


def test_frequencies(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    results = read_run_meta(run)["summary"]["results"]
    freq = run_source(connection(), run, "invocations").frequencies("result").to_pylist()
    assert {f["value"]: f["n"] for f in freq} == results == {"error": 1446, "ok": 4531}
    assert [f["value"] for f in freq] == ["ok", "error"]
    assert sum(f["share"] for f in freq) == pytest.approx(1.0)


def test_destinations_and_metrics(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    con = connection()
    dests = run_source(con, d / "run-safer", "destinations")
    assert dests.count() == read_run_meta(d / "run-safer")["summary"]["destination_records"] == 1
    assert dests.page(0).column("condition").to_pylist() == ["RetryAttemptsExhausted"]
    assert run_source(con, d / "run-production", "destinations").count() == 0
    metrics = run_source(con, d / "run-production", "metrics")
    assert metrics.count() == read_run(d / "run-production").metrics.num_rows


def test_within_keeps_the_listed_rows(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    src = run_source(connection(), run, "records").with_filter(within={"row": [5, 3, 4000]})
    assert src.page(0).column("row").to_pylist() == [3, 5, 4000]
    assert src.filter_text() == "row in (3)"


def test_unsorted_pages_keep_file_order_under_filters(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = small_demo(tmp_path_factory) / "run-production"
    src = run_source(connection(), run, "records").with_filter({"shard": "shardId-000000000002"})
    rows = [r for o in range(0, src.count(), 512) for r in src.page(o).column("row").to_pylist()]
    assert rows == sorted(rows) and len(rows) == src.count()
