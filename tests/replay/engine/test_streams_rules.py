"""Scenario tests for the stream engine, one (or more) per rule B14–B59, B90, B91 of ESM-SEMANTICS.md.

Records in, exact invocations / outcomes / on-failure records out. Expectations come from the
specification (sections 1.2, 2, 3, 4 and the B rules) and, where a rule is about time, from the
engine's documented timing model: idle polls every 1000 ms (Kinesis) / 250 ms (DynamoDB) on a grid
anchored where the lane became idle, immediate reads with a backlog, a batching window that opens at
the poll that first sees a record once the lane is free, 20 ms + 0.5 ms per record per invocation,
and the 1, 2, 3, 5, 8, 13, 21, 34, 55, 60 s retry backoff. Where the specification is UNCONFIRMED
the engine's documented choice (replay/options.py) is tested and the docstring says so.

Rules judged not simulatable from a capture are listed in the module-level ``NOT_SIMULATED``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa
import pytest

from replay.engine.options import EngineOptions
from replay.formats.capture import ShardInfo
from replay.function import Duration, Fault, FunctionModel, ThrottlePeriod
from replay.testing import (
    DYNAMODB_ARN,
    KINESIS_ARN,
    SHARD,
    T0,
    Rec,
    Simulation,
    ddb,
    rec,
    seq_of,
    simulate,
)
from replay.vocabulary import SourceKind

NOT_SIMULATED: dict[str, str] = {
    "B51": "KPL de-aggregation on an EFO consumer: captures hold de-aggregated user records, no EFO pipe",
}

SQS_DLQ = "arn:aws:sqs:us-east-1:123456789012:esm-failures"
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:esm-failures"
S3_BUCKET = "arn:aws:s3:::esm-failures"
RBIF = ["ReportBatchItemFailures"]
TRIM: dict[str, Any] = {"StartingPosition": "TRIM_HORIZON"}
DDB = SourceKind.DYNAMODB
SHARD1 = "shardId-000000000001"
DAY = 86_400.0
MB = 1_000_000

Handler = Callable[[dict[str, Any], Any], Any]


# ---------------------------------------------------------------------------------------- helpers
def on_failure(destination: str) -> dict[str, Any]:
    """The DestinationConfig fragment of a CreateEventSourceMapping request."""
    return {"DestinationConfig": {"OnFailure": {"Destination": destination}}}


def filters(*patterns: Mapping[str, Any]) -> dict[str, Any]:
    """The FilterCriteria fragment for ``patterns``."""
    return {"FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}}


def fails(when: str | None = None, **kw: Any) -> FunctionModel:
    """A function model whose batches fail ("Unhandled") when a record matches ``when``."""
    return FunctionModel(faults=(Fault(when=when, error="Unhandled", **kw),))


def reports(when: str, **kw: Any) -> FunctionModel:
    """A function model that reports matching records in batchItemFailures."""
    return FunctionModel(faults=(Fault(when=when, report=True, **kw),))


def returns(value: Any) -> Handler:
    """A handler that always returns ``value``."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        return value

    return handler


def reporting(*labels: str, times: int = 1) -> Handler:
    """A handler reporting the sequence numbers of the records keyed ``labels`` (highest first),
    on its first ``times`` calls; later calls succeed."""
    calls = [0]

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls[0] += 1
        if calls[0] > times:
            return None
        seqs = [
            r["kinesis"]["sequenceNumber"]
            for r in event["Records"]
            if r["kinesis"]["partitionKey"] in labels
        ]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in sorted(seqs, reverse=True)]}

    return handler


def keys(*names: str, at: float = 0.0, shard: str = SHARD) -> list[Rec]:
    """One record per name, all arriving at ``at``."""
    return [rec(n, at=at, shard=shard) for n in names]


def attempts(sim: Simulation) -> list[tuple[str, ...]]:
    """Records of every attempt that reached the function."""
    return sim.delivered()


def results(sim: Simulation) -> list[str]:
    """The result of every attempt, throttled ones included."""
    return [i.result for i in sim.invocations]


def deliveries(sim: Simulation) -> dict[str, int]:
    """Deliveries per record label."""
    return {label: d for label, (_, _, d) in sim.outcomes.items()}


def done_at(sim: Simulation) -> dict[str, float]:
    """Seconds after T0 at which each record got its disposition (by record order)."""
    done = sim.run.records.column("done").cast(pa.int64()).to_pylist()
    return {label: (ms - T0) / 1000 for label, ms in zip(sim.outcomes, done, strict=True)}


def summary(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """(condition, approximateInvokeCount, functionError or "absent", batchSize, start, end)."""
    info = record.get("KinesisBatchInfo") or record["DDBStreamBatchInfo"]
    response = record.get("responseContext")
    return (
        record["requestContext"]["condition"],
        record["requestContext"]["approximateInvokeCount"],
        "absent" if response is None else response["functionError"],
        info["batchSize"],
        info["startSequenceNumber"],
        info["endSequenceNumber"],
    )


def max_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of half-open intervals [start, end) that overlap."""
    spans = list(intervals)
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = best = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best


def iso_s(seconds: float) -> str:
    """ISO-8601 UTC, whole seconds, ``seconds`` after T0."""
    return dt.datetime.fromtimestamp((T0 + round(seconds * 1000)) // 1000, tz=dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


# ---------------------------------------------------------------------------------------- batching
def test_b14_window_of_40s_opened_at_7s_invokes_at_47s_with_5_records() -> None:
    """B14: BatchSize 10, a 40 s window opening at t=7 s (the poll that first sees a record) and 5
    records arriving -> one invocation at t=47 s with the 5 records, although the last of them
    is the capture's last record (running out of records does not fill a batch)."""
    records = [rec("a", at=6.5), rec("b", at=10), rec("c", at=20), rec("d", at=30), rec("e", at=40)]
    sim = simulate(records, {**TRIM, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 40})
    assert [(i.start, i.records) for i in sim.invocations] == [(47.0, ("a", "b", "c", "d", "e"))]


def test_b14_window_gathers_until_it_elapses_when_more_records_follow() -> None:
    """B14: the same 40 s window, with a later record in the capture after the window -> the
    window's 5 records are sent at t=47 s, the later one on its own afterwards."""
    records = [
        rec("a", at=6.5),
        rec("b", at=10),
        rec("c", at=20),
        rec("d", at=30),
        rec("e", at=40),
        rec("z", at=500),
    ]
    sim = simulate(records, {**TRIM, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 40})
    assert [i.records for i in sim.invocations] == [("a", "b", "c", "d", "e"), ("z",)]
    assert sim.invocations[0].start == 47.0


def test_b15_batch_size_reached_before_the_window_ends() -> None:
    """B15: a 300 s window and records arriving fast -> the invocation happens at the poll where
    BatchSize (3) records are visible (t=1 s), not at the end of the window."""
    records = [rec("a", at=0.0), rec("b", at=0.2), rec("c", at=0.4), rec("d", at=0.6)]
    sim = simulate(records, {**TRIM, "BatchSize": 3, "MaximumBatchingWindowInSeconds": 300})
    first, second = sim.invocations
    assert (first.start, first.records) == (1.0, ("a", "b", "c"))
    assert second.records == ("d",)


def test_b15_six_mb_reached_before_the_window_ends() -> None:
    """B15: with a 300 s window and BatchSize 100, six 1 MB records (1.33 MB each base64-encoded)
    visible at once -> the batch is sent at once with the 4 records that fit under 6 MB."""
    records = [rec(f"r{i}", b"x" * MB) for i in range(6)]
    sim = simulate(records, {**TRIM, "BatchSize": 100, "MaximumBatchingWindowInSeconds": 300})
    first, second = sim.invocations
    assert (first.start, first.records) == (0.0, ("r0", "r1", "r2", "r3"))
    assert second.records == ("r4", "r5")


def test_b16_next_window_opens_only_after_the_invocation_completes() -> None:
    """B16: window 5 s, a 10 s function; a record arriving during the invocation is gathered in a
    window that opens when the invocation completes (t=15 s) and is sent at t=20 s."""
    records = [rec("a", at=0.0), rec("b", at=2.0), rec("c", at=6.0)]
    model = FunctionModel(timeout_s=15, duration=Duration(base_ms=10_000, per_record_ms=0))
    sim = simulate(records, {**TRIM, "MaximumBatchingWindowInSeconds": 5}, model)
    assert [(i.start, i.end, i.records) for i in sim.invocations] == [
        (5.0, 15.0, ("a", "b")),
        (20.0, 30.0, ("c",)),
    ]


def test_b16_next_window_opens_after_completion_when_more_records_follow() -> None:
    """B16: as above with a later record in the capture -> c is sent at t=20 s (window opened at
    the completion, 15 s), not at 11 s (a window opened at its arrival); z gets its own window,
    opened by the poll at t=100 s that sees it, and is sent at t=105 s."""
    records = [rec("a", at=0.0), rec("b", at=2.0), rec("c", at=6.0), rec("z", at=100.0)]
    model = FunctionModel(timeout_s=15, duration=Duration(base_ms=10_000, per_record_ms=0))
    sim = simulate(records, {**TRIM, "MaximumBatchingWindowInSeconds": 5}, model)
    assert [(i.start, i.end, i.records) for i in sim.invocations] == [
        (5.0, 15.0, ("a", "b")),
        (20.0, 30.0, ("c",)),
        (105.0, 115.0, ("z",)),
    ]


def test_b16_lone_last_record_waits_for_its_whole_window() -> None:
    """B15/B16: after a full batch (BatchSize 3 at t=1 s), the fourth record is gathered in a new
    300 s window opened when that invocation completes and is sent when it elapses."""
    records = [rec("a", at=0.0), rec("b", at=0.2), rec("c", at=0.4), rec("d", at=0.6)]
    sim = simulate(records, {**TRIM, "BatchSize": 3, "MaximumBatchingWindowInSeconds": 300})
    first, second = sim.invocations
    assert second.records == ("d",)
    assert second.start == pytest.approx(first.end + 300)


def test_b19_never_two_shards_in_one_invocation() -> None:
    """B19 / 2.1: each batch holds records of a single shard; shards are read independently."""
    records = [
        rec(f"{s}{i}", at=0.1 * i, shard=shard)
        for i in range(3)
        for s, shard in (("a", SHARD), ("b", SHARD1))
    ]
    sim = simulate(records, {**TRIM, "MaximumBatchingWindowInSeconds": 1})
    assert sorted((i.shard, i.records) for i in sim.invocations) == [
        (SHARD, ("a0", "a1", "a2")),
        (SHARD1, ("b0", "b1", "b2")),
    ]
    assert {i.start for i in sim.invocations} == {1.0}


def test_b20_six_mb_counts_the_event_size_not_the_raw_bytes() -> None:
    """B20 / 1.2: five 950 kB records are 4.75 MB raw but 6.3 MB as base64 event records, over the
    6 MB payload -> the first batch holds 4 records although BatchSize is 10."""
    records = [rec(f"r{i}", b"y" * 950_000) for i in range(5)]
    sim = simulate(records, {**TRIM, "BatchSize": 10})
    assert attempts(sim) == [("r0", "r1", "r2", "r3"), ("r4",)]
    assert all(o == ("processed", None, 1) for o in sim.outcomes.values())


def test_b20_six_one_mb_records_split_four_and_two() -> None:
    """B20: six 1 MB records with BatchSize 10 and no window -> batches of 4 and 2."""
    records = [rec(f"r{i}", b"x" * MB) for i in range(6)]
    sim = simulate(records, {**TRIM, "BatchSize": 10})
    assert attempts(sim) == [("r0", "r1", "r2", "r3"), ("r4", "r5")]


def test_sec2_1_kinesis_polls_once_a_second_dynamodb_four_times() -> None:
    """2.1: an idle Kinesis shard is polled about once a second, a DynamoDB shard 4 times a
    second: a record written at 0.1 s is seen at the 1 s poll (Kinesis) / the 0.25 s poll
    (DynamoDB)."""
    kinesis = simulate([rec("a", at=0.1)], TRIM)
    item = ddb({"id": {"S": "a"}}, {"id": {"S": "a"}}, at=0.1, name="a")
    dynamodb = simulate([item], TRIM, kind=DDB)
    assert [(i.start, i.records) for i in kinesis.invocations] == [(1.0, ("a",))]
    assert [(i.start, i.records) for i in dynamodb.invocations] == [(0.25, ("a",))]


# ---------------------------------------------------------------------------------------- retries
@pytest.mark.parametrize("hours", [24, 48])
def test_b21_always_failing_batch_blocks_the_shard_until_retention(hours: int) -> None:
    """B21 / 2.2: defaults (MRA -1, MaxAge -1) and a function that always fails on "a" -> the same
    batch is retried until it leaves the stream (RetentionExpired, no failure record even with a
    destination); the shard makes no progress meanwhile and then continues with "c"."""
    records = [rec("a", at=0.0), rec("c", at=3600.0)]
    sim = simulate(
        records,
        {**TRIM, **on_failure(SQS_DLQ)},
        fails("key = 'a'"),
        settings={"RetentionPeriodHours": hours},
    )
    tried = attempts(sim)
    assert tried[:-1] == [("a",)] * (len(tried) - 1)
    assert tried[-1] == ("c",)
    assert len(tried) > 100
    assert sim.outcomes["a"] == ("discarded", "RetentionExpired", len(tried) - 1)
    assert sim.outcomes["c"] == ("processed", None, 1)
    assert sim.destinations == ()
    done = done_at(sim)
    assert done["a"] >= hours * 3600
    last_a = [i for i in sim.invocations if i.records == ("a",)][-1]
    assert last_a.start < hours * 3600
    assert sim.invocations[-1].start >= done["a"]


def test_sec2_2_retry_backoff_restarts_after_a_discard() -> None:
    """2.2 (backoff UNCONFIRMED; engine choice ``retry_backoff_ms`` 1, 2, 3, 5 ... s, calibrated on
    K12): retries of a failing batch wait 1 s, then 2 s; after a discard moves the checkpoint the
    next batch is read at once and its retries start again from 1 s."""
    sim = simulate(keys("a", "b"), {**TRIM, "BatchSize": 1, "MaximumRetryAttempts": 2}, fails())
    assert [(i.start, i.records) for i in sim.invocations] == [
        (0.0, ("a",)),
        (1.021, ("a",)),
        (3.042, ("a",)),
        (3.063, ("b",)),
        (4.084, ("b",)),
        (6.105, ("b",)),
    ]


def test_sec2_2_retry_backoff_restarts_after_partial_progress() -> None:
    """2.2/2.5 (engine choice): a partial response that advances the checkpoint restarts the
    backoff: the remaining record is retried 1 s later, then 2 s, then 3 s (fresh 1 + MRA)."""
    cfg = {**TRIM, "MaximumRetryAttempts": 2, "FunctionResponseTypes": RBIF}
    sim = simulate(keys("a", "b", "c"), cfg, reports("key = 'c'"))
    assert [(i.start, i.records) for i in sim.invocations] == [
        (0.0, ("a", "b", "c")),
        (1.022, ("c",)),
        (3.043, ("c",)),
        (6.064, ("c",)),
    ]


def test_b22_throttles_do_not_consume_retries() -> None:
    """B22: MRA 0 and invocations throttled for the first 10 s -> the batch is retried (throttled,
    never reaching the function) until the throttling ends, then delivered once and processed."""
    model = FunctionModel(throttles=(ThrottlePeriod(T0, T0 + 10_000),))
    sim = simulate([rec("a")], {**TRIM, "MaximumRetryAttempts": 0}, model)
    got = results(sim)
    assert len(got) > 2
    assert got == ["throttled"] * (len(got) - 1) + ["ok"]
    assert sim.invocations[-1].start >= 10.0
    assert sim.outcomes == {"a": ("processed", None, 1)}


def test_b20_poison_blocks_its_shard_until_the_fix_is_deployed() -> None:
    """B20 with a fault that ends at a deploy (``to``, the S13 rule for a new version): with
    default retries the poison batch fails until the fix is live, then the next retry processes
    it and the shard moves on; no record is lost, nothing is discarded."""
    fix = T0 + 30_000
    model = FunctionModel(faults=(Fault(when="key = 'poison'", error="Unhandled", to_ms=fix),))
    sim = simulate([rec("a"), rec("poison", at=1), rec("b", at=2)], {**TRIM, "BatchSize": 1}, model)
    got = results(sim)
    assert got[0] == "ok" and got[-2:] == ["ok", "ok"] and set(got[1:-2]) == {"error"}
    first_ok_after = next(i for i in sim.invocations[1:] if i.result == "ok")
    assert first_ok_after.records == ("poison",) and first_ok_after.start >= 30.0
    assert all(i.start < 30.0 for i in sim.invocations if i.result == "error")
    assert {k: v[0] for k, v in sim.outcomes.items()} == dict.fromkeys(
        ["a", "poison", "b"], "processed"
    )


def test_b29_disabled_then_re_enabled_resumes_from_the_checkpoint() -> None:
    """B29: records a (t=0), b (t=20 s) and c (t=40 s), the mapping disabled from 10 s to 60 s ->
    a is processed before; nothing is read while disabled; on re-enabling at 60 s the ESM reads
    from its checkpoint (b, then c — not from the starting position: a is not read again)."""
    sim = simulate([rec("a"), rec("b", at=20), rec("c", at=40)], TRIM, None, disabled=[(10, 60)])
    assert [(i.records, i.result) for i in sim.invocations] == [(("a",), "ok"), (("b", "c"), "ok")]
    assert sim.invocations[0].start < 10 and sim.invocations[1].start == 60
    assert deliveries(sim) == {"a": 1, "b": 1, "c": 1}


def test_b29_a_failing_batch_waits_out_the_disabled_span() -> None:
    """B29 with B21: the poison batch retries until the mapping is disabled at 10 s; no attempt
    starts while disabled; re-enabled at 100 s (the fix deployed meanwhile: the fault ends at 50 s,
    S13) the batch from the checkpoint succeeds."""
    model = FunctionModel(faults=(Fault(error="Unhandled", to_ms=T0 + 50_000),))
    sim = simulate([rec("a"), rec("b", at=1)], TRIM, model, disabled=[(10, 100)])
    starts = [i.start for i in sim.invocations]
    assert not [t for t in starts if 10 <= t < 100]
    assert [i.result for i in sim.invocations if i.start < 10] and all(
        i.result == "error" for i in sim.invocations if i.start < 10
    )
    resumed = [(i.records, i.result) for i in sim.invocations if i.start >= 100]
    assert resumed == [(("a",), "ok"), (("b",), "ok")]  # the pending batch first, then on
    assert min(i.start for i in sim.invocations if i.start >= 100) == 100
    assert {k: v[0] for k, v in sim.outcomes.items()} == {"a": "processed", "b": "processed"}


def test_b22_throttled_batch_stops_only_at_record_age() -> None:
    """B22: MRA 0, MaxAge 60 and a function throttled throughout -> retried without consuming the
    retry budget until the record is older than 60 s, then discarded (RecordAgeExceeded), never
    delivered."""
    model = FunctionModel(throttles=(ThrottlePeriod(T0, T0 + 10**9),))
    cfg = {
        **TRIM,
        "MaximumRetryAttempts": 0,
        "MaximumRecordAgeInSeconds": 60,
        **on_failure(SQS_DLQ),
    }
    sim = simulate([rec("a")], cfg, model)
    assert len(results(sim)) > 2
    assert set(results(sim)) == {"throttled"}
    assert sim.outcomes == {"a": ("discarded", "RecordAgeExceeded", 0)}
    assert done_at(sim)["a"] > 60
    assert summary(sim.destinations[0])[0] == "RecordAgeExceeded"


def test_b22_reserved_concurrency_throttles_without_consuming_retries() -> None:
    """B22: reserved concurrency 1 and two shards -> the second shard's invocation is throttled
    while the first runs, and is retried (MRA 0 notwithstanding) until it gets through."""
    model = FunctionModel(
        reserved_concurrency=1, timeout_s=10, duration=Duration(base_ms=2000, per_record_ms=0)
    )
    records = [rec("a"), rec("b", shard=SHARD1)]
    sim = simulate(records, {**TRIM, "MaximumRetryAttempts": 0}, model)
    by_shard = {s: [i.result for i in sim.invocations if i.shard == s] for s in (SHARD, SHARD1)}
    assert by_shard[SHARD] == ["ok"]
    assert by_shard[SHARD1][-1] == "ok"
    assert set(by_shard[SHARD1][:-1]) == {"throttled"} and len(by_shard[SHARD1]) > 1
    assert max_concurrency((i.start, i.end) for i in sim.invocations if i.result == "ok") == 1
    assert sim.outcomes == {"a": ("processed", None, 1), "b": ("processed", None, 1)}


@pytest.mark.parametrize("retries", [0, 1, 2, 3])
def test_b23_retries_then_discard(retries: int) -> None:
    """B23 / 2.2: MaximumRetryAttempts N and an always-failing record -> N+1 invocations, then the
    batch is discarded with a failure record (RetryAttemptsExhausted, approximateInvokeCount N+1)
    and the shard continues with the next record."""
    cfg = {**TRIM, "BatchSize": 1, "MaximumRetryAttempts": retries, **on_failure(SQS_DLQ)}
    sim = simulate(keys("a", "b"), cfg, fails("key = 'a'"))
    assert attempts(sim) == [("a",)] * (retries + 1) + [("b",)]
    assert sim.outcomes == {
        "a": ("discarded", "RetryAttemptsExhausted", retries + 1),
        "b": ("processed", None, 1),
    }
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", retries + 1, "Unhandled", 1, seq_of(0), seq_of(0))
    ]


def test_b24_timeout_is_a_function_error() -> None:
    """B24: a timeout counts as a function error: retried (MRA 1 -> 2 attempts), discarded, and the
    failure record's functionError is "Unhandled" (the assumed value, UNCONFIRMED)."""
    model = FunctionModel(timeout_s=2, faults=(Fault(when="key = 'a'", timeout=True),))
    sim = simulate([rec("a")], {**TRIM, "MaximumRetryAttempts": 1, **on_failure(SQS_DLQ)}, model)
    assert [(i.records, i.result) for i in sim.invocations] == [(("a",), "timeout")] * 2
    assert all(i.end - i.start == pytest.approx(2.0) for i in sim.invocations)
    assert sim.outcomes == {"a": ("discarded", "RetryAttemptsExhausted", 2)}
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 2, "Unhandled", 1, seq_of(0), seq_of(0))
    ]


def test_b24_duration_over_the_timeout_is_a_timeout() -> None:
    """B24: a function that needs longer than its timeout times out (a function error)."""
    model = FunctionModel(timeout_s=1, duration=Duration(base_ms=1500))
    sim = simulate([rec("a")], {**TRIM, "MaximumRetryAttempts": 0}, model)
    assert [(i.result, i.end - i.start) for i in sim.invocations] == [
        ("timeout", pytest.approx(1.0))
    ]
    assert sim.outcomes == {"a": ("discarded", "RetryAttemptsExhausted", 1)}


def test_b24_timeout_is_eligible_for_bisect() -> None:
    """B24 / B31: a timeout bisects the batch like any other function error."""
    model = FunctionModel(faults=(Fault(when="key = 'b'", timeout=True),))
    cfg = {**TRIM, "MaximumRetryAttempts": 0, "BisectBatchOnFunctionError": True}
    sim = simulate(keys("a", "b"), cfg, model)
    assert [(i.records, i.result) for i in sim.invocations] == [
        (("a", "b"), "timeout"),
        (("a",), "ok"),
        (("b",), "timeout"),
    ]
    assert sim.outcomes == {
        "a": ("processed", None, 2),
        "b": ("discarded", "RetryAttemptsExhausted", 2),
    }


def test_b25_record_older_than_max_age_when_read_is_never_sent() -> None:
    """B25: MaxAge 60 and a record 90 s old when first read -> discarded without invoking,
    RecordAgeExceeded, no responseContext, approximateInvokeCount 1."""
    cfg = {
        **TRIM,
        "MaximumRecordAgeInSeconds": 60,
        "MaximumRetryAttempts": 0,
        **on_failure(SQS_DLQ),
    }
    sim = simulate([rec("a")], cfg, start=90.0)
    assert sim.invocations == ()
    assert sim.outcomes == {"a": ("discarded", "RecordAgeExceeded", 0)}
    assert [summary(d) for d in sim.destinations] == [
        ("RecordAgeExceeded", 1, "absent", 1, seq_of(0), seq_of(0))
    ]
    assert "responseContext" not in sim.destinations[0]


def test_b26_only_the_expired_record_of_a_batch_is_discarded() -> None:
    """B26: MaxAge 60, BatchSize 10; the first record is 90 s old, five are fresh -> one failure
    record with batchSize 1 for the old one, the other five delivered normally in one batch."""
    records = [rec("old", at=0.0)] + [rec(f"f{i}", at=85.0) for i in range(5)]
    cfg = {**TRIM, "BatchSize": 10, "MaximumRecordAgeInSeconds": 60, **on_failure(SQS_DLQ)}
    sim = simulate(records, cfg, start=90.0)
    assert attempts(sim) == [("f0", "f1", "f2", "f3", "f4")]
    assert sim.outcomes["old"] == ("discarded", "RecordAgeExceeded", 0)
    assert [summary(d) for d in sim.destinations] == [
        ("RecordAgeExceeded", 1, "absent", 1, seq_of(0), seq_of(0))
    ]


def test_b27_retries_until_the_record_is_older_than_max_age() -> None:
    """B27: MRA -1, MaxAge 60, always failing -> retried while younger than 60 s, then discarded
    with RecordAgeExceeded (no responseContext); approximateInvokeCount = the attempts made."""
    cfg = {**TRIM, "MaximumRecordAgeInSeconds": 60, **on_failure(SQS_DLQ)}
    sim = simulate([rec("a")], cfg, fails())
    n = len(attempts(sim))
    assert n > 1
    assert all(i.start <= 60 for i in sim.invocations)
    assert sim.outcomes == {"a": ("discarded", "RecordAgeExceeded", n)}
    assert done_at(sim)["a"] > 60
    assert [summary(d) for d in sim.destinations] == [
        ("RecordAgeExceeded", n, "absent", 1, seq_of(0), seq_of(0))
    ]


def test_b27_expiry_is_per_record_while_retrying() -> None:
    """B27 / 2.3: a failing batch of an old and a young record -> the old one ages out first and
    leaves alone (batchSize 1); the young one keeps being retried until it ages out too."""
    records = [rec("old", at=0.0), rec("young", at=30.0)]
    cfg = {**TRIM, "MaximumRecordAgeInSeconds": 60, **on_failure(SQS_DLQ)}
    sim = simulate(records, cfg, fails(), start=30.0)
    tried = attempts(sim)
    both = tried.count(("old", "young"))
    assert both >= 1
    assert tried == [("old", "young")] * both + [("young",)] * (len(tried) - both)
    assert len(tried) > both
    done = done_at(sim)
    assert 60 < done["old"] < done["young"]
    assert done["young"] > 90
    assert sim.outcomes["old"] == ("discarded", "RecordAgeExceeded", both)
    assert sim.outcomes["young"] == ("discarded", "RecordAgeExceeded", len(tried))
    assert [summary(d)[0::3] for d in sim.destinations] == [
        ("RecordAgeExceeded", 1),
        ("RecordAgeExceeded", 1),
    ]
    assert [summary(d)[4] for d in sim.destinations] == [seq_of(0), seq_of(1)]


def test_b28_dynamodb_retries_at_most_until_24h_retention() -> None:
    """B28: a DynamoDB ESM with MaxAge -1 and an always-failing item retries it until it leaves
    the 24 h stream retention; the item is then lost without a failure record."""
    item = ddb({"id": {"S": "a"}}, {"id": {"S": "a"}}, name="a")
    sim = simulate([item], {**TRIM, **on_failure(SQS_DLQ)}, fails(), kind=DDB)
    n = len(attempts(sim))
    assert n > 100
    assert sim.outcomes == {"a": ("discarded", "RetentionExpired", n)}
    assert max(i.start for i in sim.invocations) < DAY <= done_at(sim)["a"]
    assert sim.destinations == ()


# ---------------------------------------------------------------------------------------- starting position
def test_b30_latest_starts_at_the_mapping_start() -> None:
    """B30 / 1.1: LATEST reads only records written after the ESM starts; older ones are never
    delivered (unprocessed)."""
    records = [rec("before", at=5.0), rec("after", at=15.0)]
    sim = simulate(records, {"StartingPosition": "LATEST"}, start=10.0)
    assert attempts(sim) == [("after",)]
    assert sim.outcomes["before"][0::2] == ("unprocessed", 0)
    assert sim.outcomes["after"] == ("processed", None, 1)


def test_b30_latest_misses_records_in_the_startup_gap() -> None:
    """B30 (UNCONFIRMED duration, engine option ``startup_gap_ms``): with a 2-minute start-up gap,
    a record written 30 s after the start is never delivered; one written at 200 s is."""
    records = [rec("early", at=30.0), rec("late", at=200.0)]
    sim = simulate(
        records, {"StartingPosition": "LATEST"}, options=EngineOptions(startup_gap_ms=120_000)
    )
    assert attempts(sim) == [("late",)]
    assert sim.outcomes["early"][0::2] == ("unprocessed", 0)


def test_sec1_1_at_timestamp_starts_at_the_timestamp() -> None:
    """1.1 StartingPosition AT_TIMESTAMP: records before StartingPositionTimestamp are skipped,
    records from it onward are read (the backlog at once)."""
    records = [rec("r10", at=10), rec("r40", at=40), rec("r60", at=60), rec("r90", at=90)]
    cfg = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": T0 / 1000 + 50}
    sim = simulate(records, cfg, start=100.0)
    assert attempts(sim) == [("r60", "r90")]
    assert sim.invocations[0].start == 100.0
    assert {k: v[0] for k, v in sim.outcomes.items()} == {
        "r10": "unprocessed", "r40": "unprocessed", "r60": "processed", "r90": "processed",
    }  # fmt: skip


def test_sec1_1_trim_horizon_reads_the_whole_retained_backlog() -> None:
    """1.1 StartingPosition TRIM_HORIZON: every retained record is read, oldest first, at once."""
    records = [rec("r10", at=10), rec("r40", at=40), rec("r90", at=90)]
    sim = simulate(records, TRIM, start=100.0)
    assert [(i.start, i.records) for i in sim.invocations] == [(100.0, ("r10", "r40", "r90"))]


# ---------------------------------------------------------------------------------------- bisect
def test_b31_bisect_splits_and_does_not_consume_retries() -> None:
    """B31: bisect on, MRA 0, c always fails in a batch of 4 -> halves are retried separately
    (first half first: the engine's order, 2.4 "presumably"), splitting costs no retry: a, b, d
    are processed and only c is discarded."""
    cfg = {**TRIM, "MaximumRetryAttempts": 0, "BisectBatchOnFunctionError": True}
    sim = simulate(keys("a", "b", "c", "d"), cfg, fails("key = 'c'"))
    assert attempts(sim) == [("a", "b", "c", "d"), ("a", "b"), ("c", "d"), ("c",), ("d",)]
    assert sim.outcomes == {
        "a": ("processed", None, 2),
        "b": ("processed", None, 2),
        "c": ("discarded", "RetryAttemptsExhausted", 3),
        "d": ("processed", None, 3),
    }


def test_b32_bisect_with_rbif_splits_at_the_reported_record() -> None:
    """B32: bisect and RBIF on; a valid partial response naming c -> only c and what follows are
    retried."""
    cfg = {
        **TRIM,
        "MaximumRetryAttempts": 2,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": RBIF,
    }
    sim = simulate(keys("a", "b", "c", "d"), cfg, reports("key = 'c'", times=1))
    assert attempts(sim) == [("a", "b", "c", "d"), ("c", "d")]
    assert deliveries(sim) == {"a": 1, "b": 1, "c": 2, "d": 2}
    assert {o[0] for o in sim.outcomes.values()} == {"processed"}


def test_b33_bisect_on_exception_even_with_rbif() -> None:
    """B33: bisect on, RBIF on, the invocation throws -> the batch is bisected."""
    cfg = {**TRIM, "MaximumRetryAttempts": 0, "BisectBatchOnFunctionError": True, "FunctionResponseTypes": RBIF,
           **on_failure(SQS_DLQ)}  # fmt: skip
    sim = simulate(keys("a", "b"), cfg, fails("key = 'b'"))
    assert attempts(sim) == [("a", "b"), ("a",), ("b",)]
    assert sim.outcomes == {
        "a": ("processed", None, 2),
        "b": ("discarded", "RetryAttemptsExhausted", 2),
    }
    assert [summary(d)[2:4] for d in sim.destinations] == [("Unhandled", 1)]


def test_b34_bisect_failure_record_may_cover_several_records() -> None:
    """B34: with bisect on, a failure record may have batchSize > 1: here a batch answered with an
    invalid partial response (not a function error, so not split: engine choice
    ``bisect_on_invalid_response`` false) is discarded whole, in one record of batchSize 2."""
    cfg = {
        **TRIM,
        "FunctionResponseTypes": RBIF,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 0,
        **on_failure(SQS_DLQ),
    }
    sim = simulate(keys("a", "b"), cfg, returns({"batchItemFailures": [{"itemIdentifier": None}]}))
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 1, None, 2, seq_of(0), seq_of(1))
    ]


def test_b35_bisect_recurses_down_to_a_single_record() -> None:
    """B35 (UNCONFIRMED; engine: halves split again until one record is left): d fails in a
    batch of 4 -> abcd, ab, cd, c, d; only d is discarded, in a failure record of batchSize 1."""
    cfg = {
        **TRIM,
        "MaximumRetryAttempts": 0,
        "BisectBatchOnFunctionError": True,
        **on_failure(SQS_DLQ),
    }
    sim = simulate(keys("a", "b", "c", "d"), cfg, fails("key = 'd'"))
    assert attempts(sim) == [("a", "b", "c", "d"), ("a", "b"), ("c", "d"), ("c",), ("d",)]
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 1, "Unhandled", 1, seq_of(3), seq_of(3))
    ]


@pytest.mark.parametrize(("budget", "count"), [("fresh", 2), ("inherit", 3)])
def test_b35_half_retry_budget_is_an_engine_choice(budget: str, count: int) -> None:
    """B35 (UNCONFIRMED; option ``bisect_half_budget``): MRA 1, b fails in (a, b). "fresh" (the
    default): the half (b) starts a new count, approximateInvokeCount 2; "inherit": it carries
    the parent's invocation, 3. Either way b gets 1 + MRA attempts of its own."""
    cfg = {
        **TRIM,
        "MaximumRetryAttempts": 1,
        "BisectBatchOnFunctionError": True,
        **on_failure(SQS_DLQ),
    }
    sim = simulate(
        keys("a", "b"), cfg, fails("key = 'b'"), options=EngineOptions(bisect_half_budget=budget)
    )
    assert attempts(sim) == [("a", "b"), ("a",), ("b",), ("b",)]
    assert [summary(d)[:4] for d in sim.destinations] == [
        ("RetryAttemptsExhausted", count, "Unhandled", 1)
    ]


# ---------------------------------------------------------------------------------------- partial batch response
def test_b36_partial_body_is_ignored_without_rbif() -> None:
    """B36: RBIF not enabled and a function returning batchItemFailures -> full success."""
    sim = simulate(keys("a", "b"), TRIM, reporting("a", times=10))
    assert attempts(sim) == [("a", "b")]
    assert sim.outcomes == {"a": ("processed", None, 1), "b": ("processed", None, 1)}


def test_b37_checkpoint_before_the_lowest_reported_record() -> None:
    """B37 / 2.5: RBIF on, 10 records, the response lists s7 and s3 -> checkpoint before s3 and
    s3..s10 are re-delivered (later successes included)."""
    names = [f"r{i}" for i in range(1, 11)]
    sim = simulate(keys(*names), {**TRIM, "FunctionResponseTypes": RBIF}, reporting("r3", "r7"))
    assert attempts(sim) == [tuple(names), tuple(names[2:])]
    assert deliveries(sim) == {n: 1 if n in ("r1", "r2") else 2 for n in names}
    assert {o[0] for o in sim.outcomes.values()} == {"processed"}


@pytest.mark.parametrize(
    "response",
    [{}, None, {"batchItemFailures": []}, {"batchItemFailures": None}],
    ids=["empty-object", "null", "empty-list", "null-list"],
)
def test_b38_success_responses_checkpoint_the_whole_batch(response: Any) -> None:
    """B38: RBIF on and {} / null / {"batchItemFailures": []} / {"batchItemFailures": null} ->
    checkpoint at the highest sequence number; the next read starts after the batch."""
    records = [*keys("a", "b", "c"), rec("d", at=5.0)]
    sim = simulate(records, {**TRIM, "FunctionResponseTypes": RBIF}, returns(response))
    assert attempts(sim) == [("a", "b", "c"), ("d",)]
    assert all(o == ("processed", None, 1) for o in sim.outcomes.values())


@pytest.mark.parametrize(
    "failure",
    [{"itemIdentifier": ""}, {"itemIdentifier": None}, {"foo": "x"}],
    ids=["empty-string", "null", "wrong-key"],
)
def test_b39_invalid_identifier_fails_the_whole_batch(failure: dict[str, Any]) -> None:
    """B39: RBIF on and an itemIdentifier "" / null / under a wrong key -> the whole batch is
    retried, counting against MRA (1 -> 2 attempts); failure record functionError null."""
    cfg = {**TRIM, "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 1, **on_failure(SQS_DLQ)}
    sim = simulate(keys("a", "b"), cfg, returns({"batchItemFailures": [failure]}))
    assert attempts(sim) == [("a", "b")] * 2
    assert sim.outcomes == {k: ("discarded", "RetryAttemptsExhausted", 2) for k in ("a", "b")}
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 2, None, 2, seq_of(0), seq_of(1))
    ]


def test_b39_invalid_response_is_retried_whole_even_with_bisect() -> None:
    """B39 / 2.4 (engine choice ``bisect_on_invalid_response`` false): bisect applies to function
    errors; an invalid partial response (functionError null) retries the whole batch unsplit."""
    cfg = {
        **TRIM,
        "FunctionResponseTypes": RBIF,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 1,
    }
    sim = simulate(keys("a", "b"), cfg, returns({"batchItemFailures": [{"itemIdentifier": ""}]}))
    assert [(i.records, i.result) for i in sim.invocations] == [
        (("a", "b"), "invalid-response")
    ] * 2
    assert sim.outcomes == {k: ("discarded", "RetryAttemptsExhausted", 2) for k in ("a", "b")}


@pytest.mark.parametrize(
    "identifier", [123, "49000000000000999001"], ids=["number", "unknown-sequence"]
)
def test_b40_identifier_not_in_the_batch_is_a_complete_failure(identifier: Any) -> None:
    """B40 (UNCONFIRMED, LS obs): an itemIdentifier that is no sequence number of the batch ->
    complete failure of the batch."""
    cfg = {**TRIM, "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 1, **on_failure(SQS_DLQ)}
    sim = simulate(
        keys("a", "b"), cfg, returns({"batchItemFailures": [{"itemIdentifier": identifier}]})
    )
    assert attempts(sim) == [("a", "b")] * 2
    assert [summary(d)[:4] for d in sim.destinations] == [("RetryAttemptsExhausted", 2, None, 2)]


def test_b41_permanently_failing_last_record() -> None:
    """B41: RBIF, MRA 3, the last record of a batch always reported -> re-invoked from that record
    until 4 attempts, then one failure record with batchSize 1 covering only it."""
    cfg = {**TRIM, "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 3, **on_failure(SQS_DLQ)}
    sim = simulate(keys("a", "b", "c"), cfg, reports("key = 'c'"))
    assert attempts(sim) == [("a", "b", "c")] + [("c",)] * 4
    assert sim.outcomes == {
        "a": ("processed", None, 1),
        "b": ("processed", None, 1),
        "c": ("discarded", "RetryAttemptsExhausted", 5),
    }
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 4, None, 1, seq_of(2), seq_of(2))
    ]


def test_b42_exception_with_rbif_fails_the_entire_batch() -> None:
    """B42 / 2.5: RBIF on and the function throws -> the entire batch fails (nothing checkpointed)."""
    cfg = {**TRIM, "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 0, **on_failure(SQS_DLQ)}
    sim = simulate(keys("a", "b", "c"), cfg, fails("key = 'b'"))
    assert attempts(sim) == [("a", "b", "c")]
    assert sim.outcomes == {k: ("discarded", "RetryAttemptsExhausted", 1) for k in ("a", "b", "c")}
    assert [summary(d) for d in sim.destinations] == [
        ("RetryAttemptsExhausted", 1, "Unhandled", 3, seq_of(0), seq_of(2))
    ]


# ---------------------------------------------------------------------------------------- destinations
@pytest.mark.parametrize("destination", [SQS_DLQ, SNS_TOPIC], ids=["sqs", "sns"])
def test_b43_sqs_and_sns_get_metadata_only(destination: str) -> None:
    """B43: an SQS or SNS destination receives metadata only, never the record data."""
    data = b"secret-payload-bytes"
    cfg = {**TRIM, "MaximumRetryAttempts": 0, **on_failure(destination)}
    sim = simulate([rec("a", data), rec("b", data)], cfg, fails())
    (record,) = sim.destinations
    assert list(record) == [
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KinesisBatchInfo",
    ]
    text = json.dumps(record)
    assert base64.b64encode(data).decode() not in text
    assert "Records" not in text
    assert record["KinesisBatchInfo"] == {
        "shardId": SHARD,
        "startSequenceNumber": seq_of(0),
        "endSequenceNumber": seq_of(1),
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20.000Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:20.000Z",
        "batchSize": 2,
        "streamArn": KINESIS_ARN,
    }


@pytest.mark.parametrize(("choice", "as_string"), [("string", True), ("object", False)])
def test_b44_s3_gets_metadata_plus_the_original_event(choice: str, as_string: bool) -> None:
    """B44: an S3 destination receives the same metadata plus ``payload``, the whole original
    event; as an escaped JSON string (the default, 2.6) or an object (option ``s3_payload``)."""
    cfg = {**TRIM, "MaximumRetryAttempts": 0, **on_failure(S3_BUCKET)}
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        raise RuntimeError("boom")

    sim = simulate(keys("a", "b"), cfg, handler, options=EngineOptions(s3_payload=choice))
    (record,) = sim.destinations
    assert list(record) == [
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "KinesisBatchInfo",
        "payload",
    ]
    assert isinstance(record["payload"], str) is as_string
    payload = json.loads(record["payload"]) if as_string else record["payload"]
    assert payload == sim.events[0]
    assert [r["kinesis"]["partitionKey"] for r in payload["Records"]] == ["a", "b"]


def test_b45_dynamodb_uses_ddbstreambatchinfo_with_second_precision() -> None:
    """B45: a DynamoDB on-failure record carries DDBStreamBatchInfo (not KinesisBatchInfo) with
    arrival times to the second."""
    items = [
        ddb({"id": {"S": "a"}}, {"id": {"S": "a"}}, at=0.999, name="a"),
        ddb({"id": {"S": "b"}}, {"id": {"S": "b"}}, at=1.5, name="b"),
    ]
    cfg = {**TRIM, "MaximumRetryAttempts": 0, **on_failure(SQS_DLQ)}
    sim = simulate(items, cfg, fails(), kind=DDB, start=2.0)
    (record,) = sim.destinations
    assert "KinesisBatchInfo" not in record
    assert record["DDBStreamBatchInfo"] == {
        "shardId": SHARD,
        "startSequenceNumber": seq_of(0),
        "endSequenceNumber": seq_of(1),
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:21Z",
        "batchSize": 2,
        "streamArn": DYNAMODB_ARN,
    }


def test_b46_without_destination_discarded_records_are_dropped_silently() -> None:
    """B46: no OnFailure destination -> the discarded records leave no record anywhere and the
    checkpoint moves on."""
    sim = simulate(
        keys("a", "b"), {**TRIM, "BatchSize": 1, "MaximumRetryAttempts": 0}, fails("key = 'a'")
    )
    assert attempts(sim) == [("a",), ("b",)]
    assert sim.outcomes == {
        "a": ("discarded", "RetryAttemptsExhausted", 1),
        "b": ("processed", None, 1),
    }
    assert sim.destinations == ()


def test_b47_sns_record_of_large_records_stays_small() -> None:
    """B47: an SNS message is limited to 256 KB and Lambda drops the payload part of a bigger
    failure record; stream records sent to SNS carry no payload at all (B43), so even a batch of
    large records yields a small metadata-only record."""
    records = [rec(f"r{i}", b"z" * 300_000) for i in range(3)]
    cfg = {**TRIM, "MaximumRetryAttempts": 0, **on_failure(SNS_TOPIC)}
    sim = simulate(records, cfg, fails())
    (record,) = sim.destinations
    assert "payload" not in record
    assert len(json.dumps(record).encode()) < 2048
    assert record["KinesisBatchInfo"]["batchSize"] == 3


# ---------------------------------------------------------------------------------------- parallelization
def slow(seconds: float) -> FunctionModel:
    """A function taking ``seconds`` per invocation."""
    return FunctionModel(
        timeout_s=seconds * 2, duration=Duration(base_ms=seconds * 1000, per_record_ms=0)
    )


@pytest.mark.parametrize(("factor", "expected"), [(1, 2), (2, 4), (3, 6)])
def test_b48_concurrency_is_at_most_shards_times_factor(factor: int, expected: int) -> None:
    """B48 / 2.1: ParallelizationFactor k on 2 shards -> at most 2 x k concurrent invocations (and,
    with enough keys and a backlog, exactly that many)."""
    records = [rec(f"k{i}", at=0.0, shard=shard) for shard in (SHARD, SHARD1) for i in range(24)]
    sim = simulate(records, {**TRIM, "BatchSize": 1, "ParallelizationFactor": factor}, slow(5))
    assert max_concurrency((i.start, i.end) for i in sim.invocations) == expected
    assert all(len({sim.invocations[0].shard}) == 1 for _ in sim.invocations)


def test_b49_same_key_never_concurrent_nor_out_of_order() -> None:
    """B49: with PF 4, records sharing a partition key are never processed concurrently and are
    first delivered in sequence order, even with retries; different keys do run concurrently."""
    names = [f"k{i % 6}" for i in range(30)]
    records = [rec(k, at=0.2 * i, name=f"{k}-{i}") for i, k in enumerate(names)]
    model = FunctionModel(
        timeout_s=10, duration=Duration(base_ms=1500, per_record_ms=0),
        faults=(Fault(when="key = 'k1'", error="Unhandled", times=2),),
    )  # fmt: skip
    sim = simulate(records, {**TRIM, "BatchSize": 2, "ParallelizationFactor": 4}, model)
    by_key: dict[str, list[tuple[float, float]]] = {}
    for inv in sim.invocations:
        for key in {label.split("-")[0] for label in inv.records}:
            by_key.setdefault(key, []).append((inv.start, inv.end))
    for spans in by_key.values():
        assert max_concurrency(spans) == 1
    first = sim.run.records.column("first_delivered").cast(pa.int64()).to_pylist()
    for key in set(names):
        times = [t for t, r in zip(first, records, strict=True) if r.key == key]
        assert times == sorted(times)
    assert max_concurrency((i.start, i.end) for i in sim.invocations) > 1
    assert all(o[0] == "processed" for o in sim.outcomes.values())


def test_b50_a_key_always_maps_to_the_same_lane() -> None:
    """B50 (UNCONFIRMED; engine: MD5 of the key modulo PF): every record of a key is read by one
    lane, lanes number at most PF, and several lanes are used."""
    records = [rec(f"k{i % 10}", at=0.1 * i, name=f"r{i}") for i in range(40)]
    sim = simulate(records, {**TRIM, "BatchSize": 3, "ParallelizationFactor": 3})
    lanes = sim.run.invocations.column("lane").to_pylist()
    key_lanes: dict[str, set[int]] = {}
    label_key = {r.label: r.key for r in records}
    for inv, lane in zip(sim.invocations, lanes, strict=True):
        for label in inv.records:
            key_lanes.setdefault(label_key[label], set()).add(lane)
    assert all(len(v) == 1 for v in key_lanes.values())
    used = set(lanes)
    assert 1 < len(used) <= 3


# ---------------------------------------------------------------------------------------- filters
def test_b52_unmatched_record_is_skipped_without_invoking_or_reporting() -> None:
    """B52 / 2.8: a record the filter does not match is passed over: never delivered, no failure
    record, and it does not hold up the records after it."""
    records = [rec("a", {"t": "x"}), rec("b", {"t": "y"}), rec("c", {"t": "x"})]
    cfg = {**TRIM, "BatchSize": 1, **filters({"data": {"t": ["x"]}}), **on_failure(SQS_DLQ)}
    sim = simulate(records, cfg)
    assert attempts(sim) == [("a",), ("c",)]
    assert sim.outcomes["b"] == ("filtered", "FilterCriteria", 0)
    assert sim.destinations == ()


def test_b52_batch_size_counts_only_matching_records() -> None:
    """B52 / 2.8: filtering is applied to each record as it is considered for the batch, so an
    unmatched record takes no place in it: BatchSize 2 over x, y, x, x -> batches (a, c), (d)."""
    records = [
        rec("a", {"t": "x"}),
        rec("b", {"t": "y"}),
        rec("c", {"t": "x"}),
        rec("d", {"t": "x"}),
    ]
    cfg = {
        **TRIM,
        "BatchSize": 2,
        "MaximumBatchingWindowInSeconds": 1,
        **filters({"data": {"t": ["x"]}}),
    }
    sim = simulate(records, cfg)
    assert attempts(sim) == [("a", "c"), ("d",)]
    assert sim.invocations[0].start == 0.0


def test_b53_non_json_data_with_a_data_pattern_is_dropped() -> None:
    """B53: a record whose data is not JSON cannot match a data pattern and is dropped."""
    records = [rec("a", b"plain text, not json"), rec("b", {"t": "x"})]
    sim = simulate(records, {**TRIM, **filters({"data": {"t": ["x"]}})})
    assert attempts(sim) == [("b",)]
    assert sim.outcomes["a"] == ("filtered", "FilterCriteria", 0)


def test_b54_filters_or_together_and_fields_and_together() -> None:
    """B54: a record passes if any filter matches; a filter matches only if all its fields do."""
    records = [
        rec("both", {"t": "x", "n": 1}),
        rec("only-t", {"t": "x", "n": 2}),
        rec("second", {"t": "z", "n": 5}),
        rec("neither", {"t": "y"}),
    ]
    cfg = {**TRIM, **filters({"data": {"t": ["x"], "n": [1]}}, {"data": {"t": ["z"]}})}
    sim = simulate(records, cfg)
    assert attempts(sim) == [("both", "second")]
    assert {k: v[0] for k, v in sim.outcomes.items()} == {
        "both": "processed", "only-t": "filtered", "second": "processed", "neither": "filtered",
    }  # fmt: skip


# ---------------------------------------------------------------------------------------- tumbling windows
WINDOW = 100  # T0 is a multiple of 100 s, so windows are [T0 + 100 k, T0 + 100 (k + 1))


def counting(event: dict[str, Any], context: Any) -> Any:
    """A tumbling-window function: counts the records of its window in ``state``."""
    count = event["state"].get("count", 0) + len(event["Records"])
    return {"state": {"count": count}}


def window_view(e: Mapping[str, Any]) -> tuple[Any, ...]:
    """(keys, state, final, terminated early, shard, window start, window end) of one event."""
    return (
        tuple(r["kinesis"]["partitionKey"] for r in e["Records"]),
        e["state"],
        e["isFinalInvokeForWindow"],
        e["isWindowTerminatedEarly"],
        e["shardId"],
        e["window"]["start"],
        e["window"]["end"],
    )


def test_sec2_7_window_boundaries_come_from_arrival_times() -> None:
    """2.7: windows are cut by record arrival time, not by when records are read: a backlog of a
    record from each of two windows, read at once at t=120 s, is processed as two windows."""
    records = [rec("a", at=90.0), rec("b", at=110.0)]
    sim = simulate(records, {**TRIM, "TumblingWindowInSeconds": WINDOW}, counting, start=120.0)
    w0, w1, w2 = iso_s(0), iso_s(100), iso_s(200)
    assert [window_view(e)[:3] + window_view(e)[5:] for e in sim.events] == [
        (("a",), {}, False, w0, w1),
        ((), {"count": 1}, True, w0, w1),
        (("b",), {}, False, w1, w2),
        ((), {"count": 1}, True, w1, w2),
    ]


def test_b55_response_without_state_is_a_failure() -> None:
    """B55: a tumbling-window function whose response has no ``state`` key fails; the retry policy
    applies (MRA 1 -> 2 attempts, then discarded)."""
    cfg = {**TRIM, "TumblingWindowInSeconds": WINDOW, "MaximumRetryAttempts": 1, "BatchSize": 1}
    sim = simulate([rec("a", at=10.0)], cfg, returns({"batchItemFailures": []}))
    assert [r for r in attempts(sim) if r] == [("a",), ("a",)]
    assert sim.outcomes == {"a": ("discarded", "RetryAttemptsExhausted", 2)}


def test_b56_final_invocation_carries_the_state_then_drops_it() -> None:
    """B56 / 2.7: records of a window are invoked with the state returned so far; when the window
    ends a final invocation (isFinalInvokeForWindow, no records) gets the accumulated state; the
    next window starts with an empty state. Window bounds are whole-second ISO times."""
    records = [rec("a", at=10.0), rec("b", at=20.0), rec("c", at=150.0)]
    sim = simulate(records, {**TRIM, "TumblingWindowInSeconds": WINDOW, "BatchSize": 1}, counting)
    w0, w1, w2 = iso_s(0), iso_s(100), iso_s(200)
    assert [window_view(e) for e in sim.events] == [
        (("a",), {}, False, False, SHARD, w0, w1),
        (("b",), {"count": 1}, False, False, SHARD, w0, w1),
        ((), {"count": 2}, True, False, SHARD, w0, w1),
        (("c",), {}, False, False, SHARD, w1, w2),
        ((), {"count": 1}, True, False, SHARD, w1, w2),
    ]
    assert all(e["eventSourceARN"] == KINESIS_ARN for e in sim.events)
    finals = [i for i in sim.invocations if not i.records]
    assert finals[0].start >= 100.0
    assert all(o == ("processed", None, 1) for o in sim.outcomes.values())


def test_b56_failed_final_invocation_halts_the_shard() -> None:
    """B56: the shard does not move on until the window's final invocation succeeds."""
    failures = [2]

    def handler(event: dict[str, Any], context: Any) -> Any:
        if event["isFinalInvokeForWindow"] and failures[0]:
            failures[0] -= 1
            raise RuntimeError("final failed")
        return counting(event, context)

    records = [rec("a", at=10.0), rec("c", at=150.0)]
    sim = simulate(records, {**TRIM, "TumblingWindowInSeconds": WINDOW, "BatchSize": 1}, handler)
    assert [(window_view(e)[0], window_view(e)[2]) for e in sim.events][:5] == [
        (("a",), False),
        ((), True),
        ((), True),
        ((), True),
        (("c",), False),
    ]
    assert sim.events[4]["state"] == {}
    assert sim.outcomes["c"] == ("processed", None, 1)


def test_b57_state_over_1mb_ends_the_window_early() -> None:
    """B57: a returned state over 1 MB ends the window early: the final invocation comes next with
    isWindowTerminatedEarly true, and the following records start again with an empty state."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        if any(r["kinesis"]["partitionKey"] == "a" for r in event["Records"]):
            return {"state": {"blob": "x" * 2_000_000}}
        return {"state": {"n": len(event["Records"])}}

    records = [rec("a", at=10.0), rec("b", at=10.5)]
    sim = simulate(records, {**TRIM, "TumblingWindowInSeconds": WINDOW, "BatchSize": 1}, handler)
    views = [window_view(e) for e in sim.events]
    assert [(v[0], v[2], v[3]) for v in views] == [
        (("a",), False, False),
        ((), True, True),
        (("b",), False, False),
        ((), True, False),
    ]
    assert len(sim.events[1]["state"]["blob"]) == 2_000_000
    assert sim.events[2]["state"] == {}
    assert sim.invocations[1].start < WINDOW


def test_b58_idle_window_closes_within_two_minutes_of_its_end() -> None:
    """B58: no new records -> the window is treated as over at most 2 minutes after its end (the
    engine's documented choice, ``tumbling_idle_close_ms``: exactly 2 minutes)."""
    sim = simulate([rec("a", at=10.0)], {**TRIM, "TumblingWindowInSeconds": WINDOW}, counting)
    final = sim.invocations[-1]
    assert final.records == ()
    assert WINDOW <= final.start <= WINDOW + 120
    assert final.start == WINDOW + 120
    assert sim.events[-1]["state"] == {"count": 1}


def test_b59_shard_end_closes_the_window_and_children_start_fresh() -> None:
    """B59 / 2.7: a parent shard that ends mid-window closes its window at once (before the window's
    end); the child shard's records open a new window with an empty state."""
    shards = [ShardInfo(id=SHARD, closed=True), ShardInfo(id=SHARD1, parents=(SHARD,))]
    records = [rec("p", at=10.0), rec("ch", at=20.0, shard=SHARD1)]
    sim = simulate(records, {**TRIM, "TumblingWindowInSeconds": WINDOW}, counting, shards=shards)
    views = [window_view(e)[:5] for e in sim.events]
    assert views[:3] == [
        (("p",), {}, False, False, SHARD),
        ((), {"count": 1}, True, False, SHARD),
        (("ch",), {}, False, False, SHARD1),
    ]
    parent_final = [i for i in sim.invocations if i.shard == SHARD and not i.records]
    assert len(parent_final) == 1 and parent_final[0].start < WINDOW


# ---------------------------------------------------------------------------------------- payload shapes
def test_b90_kinesis_record_shape() -> None:
    """B90: Records[].kinesis with base64 data, eventID "<shardId>:<sequenceNumber>", eventName
    "aws:kinesis:record" — on every shard."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)

    records = [rec("a", b"\x00\xffbinary"), rec("b", b"text", shard=SHARD1)]
    simulate(records, TRIM, handler)
    got = sorted((r for e in seen for r in e["Records"]), key=lambda r: r["eventID"])
    assert [
        (r["eventID"], r["eventName"], r["kinesis"]["data"], r["kinesis"]["partitionKey"])
        for r in got
    ] == [
        (
            f"{SHARD}:{seq_of(0)}",
            "aws:kinesis:record",
            base64.b64encode(b"\x00\xffbinary").decode(),
            "a",
        ),
        (f"{SHARD1}:{seq_of(0)}", "aws:kinesis:record", base64.b64encode(b"text").decode(), "b"),
    ]


def test_b91_ttl_remove_carries_user_identity() -> None:
    """B91: a DynamoDB TTL deletion arrives as a REMOVE record with userIdentity
    {type "Service", principalId "dynamodb.amazonaws.com"}; an ordinary REMOVE has none."""
    expired = {"id": {"S": "expired"}}
    deleted = {"id": {"S": "deleted"}}
    items = [
        ddb(expired, None, event="REMOVE", old={**expired, "ttl": {"N": "1700000000"}},
            view="NEW_AND_OLD_IMAGES", name="ttl", ttl_delete=True),
        ddb(deleted, None, event="REMOVE", old=deleted, view="NEW_AND_OLD_IMAGES", name="user", at=0.1),
    ]  # fmt: skip
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)

    simulate(items, TRIM, handler, kind=DDB)
    ttl, user = (r for e in seen for r in e["Records"])
    assert (ttl["eventName"], user["eventName"]) == ("REMOVE", "REMOVE")
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert list(ttl)[-1] == "userIdentity"
    assert "userIdentity" not in user
    assert ttl["dynamodb"]["OldImage"] == {**expired, "ttl": {"N": "1700000000"}}
