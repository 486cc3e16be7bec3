"""Each source family in its own words: compare's labels, the CLI summary rows and the report's
figures of a queue speak of queues, of a topic of partitions, of a stream of shards."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.analysis.compare import compare
from replay.analysis.figures import run_figures
from replay.analysis.text import (
    MIXED,
    QUEUE_WORDS,
    STREAM_WORDS,
    TOPIC_WORDS,
    summary_rows,
    words_for,
)
from replay.formats.runfiles import read_run
from replay.vocabulary import SourceKind
from tests.replay.analysis.families import DLQ, family_runs
from tests.replay.support import small_demo

STREAM_ONLY = ("iterator age", "time blocked", "shard", "OnFailure destination")


def _labels(paths: list[Path]) -> dict[str, tuple[object, ...]]:
    return {r.label.strip(): r.values for r in compare([read_run(p) for p in paths]).rows}


def test_sqs_compare_speaks_of_a_queue(tmp_path_factory: pytest.TempPathFactory) -> None:
    runs = family_runs(tmp_path_factory)
    c = compare([read_run(runs["sqs-a"]), read_run(runs["sqs-b"])])
    rows = {r.label.strip(): r for r in c.rows}
    labels = list(rows)
    assert not [x for x in labels if any(w in x for w in STREAM_ONLY)], labels
    # the DLQ is the queue's RedrivePolicy, not an OnFailure destination the ESM does not have
    assert rows["dead-letter queue"].values == (True, True)
    assert rows["dead-letter queue"].raw == (DLQ, DLQ)
    assert rows["dead-letter queue"].key == "source.deadLetterQueue"
    by_key = {r.key: r for r in c.rows}
    assert by_key["source.maxReceiveCount"].values == (2, 2)
    assert rows["DLQ messages (dead-lettered)"].values == (1, 1)
    assert rows["DLQ messages (dead-lettered)"].key == "destination_records"  # keys stay
    for stat in ("max", "p50", "p99"):
        assert rows[f"age of oldest message {stat}"].key == f"iterator_age_ms.{stat}"
    assert rows["queue depth max (messages visible)"].key == "queue_depth.max"
    assert "in flight max (not visible)" in rows
    # a standard queue never blocks: no blocked-time rows of zeros
    assert not [r for r in c.rows if r.key.startswith("blocked")]


def test_fifo_compare_names_the_stalled_message_groups(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rows = _labels([family_runs(tmp_path_factory)["fifo"]])
    assert rows["message groups blocked"] == ("10.0 s",)
    assert rows["message groups stalled"] == (1,)
    assert rows["group g2"] == ("10.0 s",)
    assert "test-queue.fifo" not in rows  # the queue itself does not block, its groups do


def test_kafka_compare_speaks_of_partitions_and_offset_lag(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    runs = family_runs(tmp_path_factory)
    rows = _labels([runs["kafka-a"], runs["kafka-b"]])
    assert "on-failure records" in rows and "offset lag max (records)" in rows
    assert "record age at read max" in rows and "iterator age max" not in rows
    assert {"orders-0", "orders-1"} <= set(rows) and "time blocked" in rows


def test_stream_compare_keeps_its_words(tmp_path_factory: pytest.TempPathFactory) -> None:
    d = small_demo(tmp_path_factory)
    rows = _labels([d / "run-production", d / "run-safer"])
    assert rows["on-failure destination records"] == (0, 1)
    assert rows["OnFailure destination"] == (False, True)
    assert "iterator age max" in rows and "time blocked" in rows
    assert not [x for x in rows if "queue" in x or "DLQ" in x]


def test_mixed_families_get_neutral_words_and_a_source_row(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    runs = family_runs(tmp_path_factory)
    d = small_demo(tmp_path_factory)
    c = compare([read_run(runs["sqs-a"]), read_run(runs["kafka-a"]), read_run(d / "run-safer")])
    rows = {r.label.strip(): r for r in c.rows}
    assert rows["source"].values == ("sqs", "kafka", "kinesis")
    assert rows[MIXED.destination_records].values == (1, 0, 1)
    assert rows[f"{MIXED.age} max"].key == "iterator_age_ms.max"
    # a family's own rows, with "-" for the runs they do not apply to
    assert rows["queue depth max (messages visible)"].values[1:] == ("-", "-")
    assert rows["offset lag max (records)"].values[0] == "-"
    assert rows["shardId-000000000000"].values[:2] == ("-", "-")
    assert words_for([SourceKind.KINESIS, SourceKind.DYNAMODB]) is STREAM_WORDS


def test_cli_summary_rows_use_the_family_words(tmp_path_factory: pytest.TempPathFactory) -> None:
    runs = family_runs(tmp_path_factory)
    queue = dict(summary_rows(read_run(runs["fifo"]).summary, SourceKind.SQS))
    assert f"max {QUEUE_WORDS.age}" in queue
    assert queue["DLQ messages (dead-lettered)"] == "1"
    assert queue["  message group g2 blocked"] == "10.0 s"
    assert not [k for k in queue if "iterator" in k or k.strip() == "destination records"]
    topic = dict(summary_rows(read_run(runs["kafka-a"]).summary, "kafka"))
    assert f"max {TOPIC_WORDS.age}" in topic and "on-failure records" in topic
    assert "  orders-0 blocked" in topic


def test_report_draws_each_family_its_own_figures(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    runs = family_runs(tmp_path_factory)

    def names(*keys: str) -> list[str]:
        chosen = [read_run(runs[k]) for k in keys]
        return [f.name for f in run_figures(chosen, list(keys))]

    assert names("sqs-a", "sqs-b") == ["oldest-message-age", "queue-depth", "invocations"]
    assert names("fifo") == ["oldest-message-age", "queue-depth", "groups-blocked", "invocations"]
    assert names("kafka-a", "kafka-b") == ["offset-lag", "blocked", "invocations"]
    figs = {f.name: f for f in run_figures([read_run(runs["kafka-a"])], ["k"])}
    assert figs["blocked"].title == "Blocked time, per partition"
    d = small_demo(tmp_path_factory)
    stream = [read_run(d / "run-production")]
    assert [f.name for f in run_figures(stream, ["p"])] == [
        "iterator-age",
        "blocked",
        "invocations",
    ]
