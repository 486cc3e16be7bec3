"""compare: the table of a small demo (golden text and JSON), divergence, cost, calibration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from replay.analysis.calibration import Calibration, calibrate
from replay.analysis.compare import compare, compare_runs
from replay.analysis.cost import Prices, estimate_cost
from replay.cli.main import app
from replay.formats.failures import parse_failure
from replay.formats.runfiles import read_run
from tests.replay.support import cli, golden, scenario, scenario_runs, small_demo


# ---------------------------------------------------------------------- tests
def test_demo_table_is_golden(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    out = CliRunner().invoke(app, ["compare", str(d / "run-production"), str(d / "run-safer")])
    assert out.exit_code == 0, out.output
    golden("compare_demo.txt", out.output)


def test_demo_json_is_golden(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    out = CliRunner().invoke(
        app, ["compare", str(d / "run-production"), str(d / "run-safer"), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    rows = {r["key"]: r for r in doc["rows"]}
    assert rows["iterator_age_ms.max"]["differs"] and not rows["records"]["differs"]
    assert doc["first_divergence"]["order"] == "arrival"
    golden("compare_demo.json", out.output)


def test_first_divergence_is_the_earliest_arrival_whose_fate_differs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = small_demo(tmp_path_factory)
    runs = [read_run(d / "run-production"), read_run(d / "run-safer")]
    c = compare(runs)
    assert c.divergence is not None
    # brute force: walk the capture by arrival and find the first record the runs disagree on
    capture = pq.read_table(d / "capture" / "records").sort_by(
        [("shard", "ascending"), ("pos", "ascending")]
    )
    prod, safe = (r.records.to_pylist() for r in runs)
    arrival = capture.column("arrival").to_pylist()
    order = sorted(range(len(prod)), key=lambda i: (arrival[i], prod[i]["shard"], prod[i]["pos"]))

    def fate(row: dict[str, object]) -> tuple[object, ...]:
        return (row["disposition"], row["reason"], row["deliveries"])

    first = next(i for i in order if fate(prod[i]) != fate(safe[i]))
    assert (c.divergence.shard, c.divergence.seq) == (prod[first]["shard"], prod[first]["seq"])
    assert compare([runs[0], runs[0]]).divergence is None


def test_compare_runs_keeps_the_demo_interface(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    rows = compare_runs([read_run(d / "run-production"), read_run(d / "run-safer")])
    labels = [r.label for r in rows]
    assert "BatchSize" in labels and "invocations" in labels
    assert all(len(r.values) == 2 for r in rows)


def test_cost_is_memory_times_durations_plus_requests(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    retry, _ = scenario_runs(tmp_path_factory)
    run = read_run(retry)
    inv = run.invocations.to_pylist()
    billed = [i for i in inv if i["result"] not in ("throttled", "rejected")]
    ms = sum((i["end"] - i["start"]).total_seconds() * 1000 for i in billed)
    cost = estimate_cost(run, Prices(gb_second=1.0, per_million_requests=1e6))
    assert cost.requests == len(billed)
    assert cost.gb_seconds == pytest.approx(256 / 1024 * ms / 1000, abs=1e-3)
    assert cost.usd == pytest.approx(cost.gb_seconds + len(billed), abs=1e-3)


def test_price_flags_change_the_estimate(tmp_path_factory: pytest.TempPathFactory) -> None:
    retry, bisect = scenario_runs(tmp_path_factory)
    out = CliRunner().invoke(
        app,
        [
            "compare",
            str(retry),
            str(bisect),
            "-F",
            "json",
            "--price-gb-s",
            "1",
            "--price-requests",
            "0",
        ],
    )
    doc = json.loads(out.output)
    usd = next(r for r in doc["rows"] if r["key"] == "cost.usd")["values"]
    gbs = next(r for r in doc["rows"] if r["key"] == "cost.gb_seconds")["values"]
    assert usd == pytest.approx(gbs, abs=1e-3)
    assert doc["prices"]["usd_per_gb_second"] == 1


def test_calibration_matches_observed_failures_by_shard_and_range(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    retry, bisect = scenario_runs(tmp_path_factory)
    root = scenario(tmp_path_factory)
    # A copy of the capture whose observed/ holds production's failure records: the bisect run's
    # two records (one with a wider range, as production's bisect may cut differently) and one
    # record on a range the replay never failed.
    cap = tmp_path / "capture"
    shutil.copytree(root / "capture", cap)
    produced = [
        json.loads(line) for line in (bisect / "destinations.jsonl").read_text().splitlines()
    ]
    assert len(produced) == 2
    observed = [produced[0], json.loads(json.dumps(produced[1]))]
    info = observed[1]["KinesisBatchInfo"]
    info["startSequenceNumber"] = str(int(info["startSequenceNumber"]) - 1000)
    info["batchSize"] = 2
    extra = json.loads(json.dumps(produced[0]))
    extra["KinesisBatchInfo"]["startSequenceNumber"] = "1"
    extra["KinesisBatchInfo"]["endSequenceNumber"] = "2"
    observed.append(extra)
    (cap / "observed").mkdir()
    (cap / "observed" / "failures.jsonl").write_text(
        "".join(json.dumps(o) + "\n" for o in observed)
    )
    runs = []
    for src in (retry, bisect):
        dst = tmp_path / src.name
        shutil.copytree(src, dst)
        meta = json.loads((dst / "run.json").read_text())
        meta["capture"]["path"] = str(cap)
        (dst / "run.json").write_text(json.dumps(meta))
        runs.append(dst)
    c = compare([read_run(r) for r in runs])
    assert c.calibration == (
        Calibration(observed=3, produced=0, matched=0, missed=3, extra=0),
        Calibration(observed=3, produced=2, matched=2, missed=1, extra=0),
    )
    assert c.calibration[1] is not None and c.calibration[1].agreement == pytest.approx(66.7)
    out = CliRunner().invoke(app, ["compare", *map(str, runs)])
    golden("compare_calibration.txt", out.output)


def test_calibrate_sqs_messages_by_id_and_kafka_by_offsets() -> None:
    dlq = [
        parse_failure(
            {"messageId": "m1", "body": "x", "attributes": {"ApproximateReceiveCount": "3"}}, 0
        )
    ]
    assert dlq[0].receive_count == 3 and dlq[0].message_id == "m1"
    assert calibrate(dlq, dlq).agreement == 100.0
    kafka = parse_failure(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "KafkaBatchInfo": {
                "batchSize": 2,
                "recordsInfo": {"orders-3": {"firstRecordOffset": "10", "lastRecordOffset": "11"}},
            },
        },
        0,
    )
    assert (kafka.shard, kafka.first_seq, kafka.last_seq) == ("orders-3", "10", "11")
    later = parse_failure(
        {
            "KafkaBatchInfo": {
                "recordsInfo": {"orders-3": {"firstRecordOffset": "11", "lastRecordOffset": "12"}}
            }
        },
        1,
    )
    assert calibrate([kafka], [later]).matched == 1
    assert calibrate([kafka], []).agreement == 0.0


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    out = cli("compare", str(tmp_path))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "not a capture" in out.stderr
