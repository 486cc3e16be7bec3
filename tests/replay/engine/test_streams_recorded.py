"""Recorded AWS cases K01–K16 (Kinesis) and D01–D09 (DynamoDB) replayed through the stream engine.

Each test rebuilds the inputs of one case of ESM-SEMANTICS.md 13.1 / 13.2 (records put, ESM
configuration, function behaviour) and asserts what the AWS recording shows: invocation counts,
deliveries per record, the exact on-failure record (key order, ``condition``,
``approximateInvokeCount``, ``functionError``, presence of ``responseContext``, batch info) and the
event record shapes. What only the AWS control plane can do is reduced as the brief allows: K02 and
K16 are two replays with two configurations; K05/D02 disabling is ``Enabled: false`` from the start
(and, equivalently for what happens after it, a replay that stops at the moment of the update).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

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

SQS_DLQ = "arn:aws:sqs:us-east-1:123456789012:esm-failures"
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:esm-failures"
S3_BUCKET = "arn:aws:s3:::esm-failures"
RBIF = ["ReportBatchItemFailures"]
DDB = SourceKind.DYNAMODB

Handler = Callable[[dict[str, Any], Any], Any]


# ---------------------------------------------------------------------------------------- helpers
def on_failure(destination: str) -> dict[str, Any]:
    """The DestinationConfig fragment of a CreateEventSourceMapping request."""
    return {"DestinationConfig": {"OnFailure": {"Destination": destination}}}


def filters(*patterns: Mapping[str, Any]) -> dict[str, Any]:
    """The FilterCriteria fragment for ``patterns`` (each serialised as AWS expects)."""
    return {"FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}}


def iso_ms(seconds: float) -> str:
    """ISO-8601 UTC with milliseconds for ``seconds`` after T0 (Kinesis failure records)."""
    d = dt.datetime.fromtimestamp((T0 + round(seconds * 1000)) / 1000, tz=dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso_s(seconds: float) -> str:
    """ISO-8601 UTC without milliseconds for ``seconds`` after T0 (DynamoDB failure records)."""
    d = dt.datetime.fromtimestamp((T0 + round(seconds * 1000)) // 1000, tz=dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def raises(event: dict[str, Any], context: Any) -> Any:
    """A function that always fails with an unhandled exception."""
    raise RuntimeError("boom")


def echo(event: dict[str, Any], context: Any) -> Any:
    """A function that succeeds and returns its event, like the recorded echo functions."""
    return event


def returns(value: Any) -> Handler:
    """A function that always returns ``value``."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        return value

    return handler


def kinesis_payload(record: Mapping[str, Any]) -> Any:
    """The JSON document carried (base64) in a Kinesis event record."""
    return json.loads(base64.b64decode(record["kinesis"]["data"]))


def report_kinesis_should_fail(event: dict[str, Any], context: Any) -> Any:
    """K09's function: report the sequence number of every record whose data says should_fail."""
    failed = [
        r["kinesis"]["sequenceNumber"]
        for r in event["Records"]
        if kinesis_payload(r)["should_fail"]
    ]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


def report_ddb_should_fail(event: dict[str, Any], context: Any) -> Any:
    """D06's function: report the SequenceNumber of every item whose should_fail is true."""
    failed = [
        r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
        if r["dynamodb"]["NewImage"]["should_fail"]["BOOL"]
    ]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


def labels(sim: Simulation) -> list[tuple[str, ...]]:
    """Record labels of every invocation that reached the function."""
    return sim.delivered()


def deliveries(sim: Simulation) -> dict[str, int]:
    """How many times each record was delivered."""
    return {label: d for label, (_, _, d) in sim.outcomes.items()}


def only_destination(sim: Simulation) -> dict[str, Any]:
    """The one on-failure record of a run."""
    assert len(sim.destinations) == 1, sim.destinations
    return sim.destinations[0]


def assert_function_arn(value: str) -> None:
    assert re.fullmatch(r"arn:aws:lambda:us-east-1:\d{12}:function:[\w-]+", value), value


def assert_request_id(value: str) -> None:
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    ), value


def assert_failure_record(
    record: Mapping[str, Any],
    *,
    condition: str,
    count: int,
    function_error: str | type[KeyError] | None,
    first: int,
    last: int,
    first_at: float,
    last_at: float,
    kind: SourceKind = SourceKind.KINESIS,
    payload: bool = False,
) -> None:
    """Check a stream on-failure record field by field, key order included (K06, D03).

    ``function_error=KeyError`` means the record must have no ``responseContext`` at all (K12–K14).
    """
    info_key = "KinesisBatchInfo" if kind is SourceKind.KINESIS else "DDBStreamBatchInfo"
    fmt = iso_ms if kind is SourceKind.KINESIS else iso_s
    keys = ["requestContext"]
    if function_error is not KeyError:
        keys.append("responseContext")
    keys += ["version", "timestamp", info_key]
    if payload:
        keys.append("payload")
    assert list(record) == keys
    ctx = record["requestContext"]
    assert list(ctx) == ["requestId", "functionArn", "condition", "approximateInvokeCount"]
    assert_request_id(ctx["requestId"])
    assert_function_arn(ctx["functionArn"])
    assert ctx["condition"] == condition
    assert ctx["approximateInvokeCount"] == count
    if function_error is not KeyError:
        assert record["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error,
        }
        assert list(record["responseContext"]) == ["statusCode", "executedVersion", "functionError"]
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"]), record[
        "timestamp"
    ]
    info = record[info_key]
    assert list(info) == [
        "shardId",
        "startSequenceNumber",
        "endSequenceNumber",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
        "batchSize",
        "streamArn",
    ]
    assert info == {
        "shardId": SHARD,
        "startSequenceNumber": seq_of(first),
        "endSequenceNumber": seq_of(last),
        "approximateArrivalOfFirstRecord": fmt(first_at),
        "approximateArrivalOfLastRecord": fmt(last_at),
        "batchSize": last - first + 1,
        "streamArn": KINESIS_ARN if kind is SourceKind.KINESIS else DYNAMODB_ARN,
    }


# ---------------------------------------------------------------------------------------- Kinesis
def test_k01_one_batch_of_ten_in_put_order_with_aws_record_shape() -> None:
    """K01: LATEST, defaults; 10 records "hello" test_0..test_9 in one put -> 1 invocation of all
    10 in put order, each record shaped exactly like the AWS recording (B90)."""
    records = [rec(f"test_{i}", b"hello", at=1.0) for i in range(10)]
    sim = simulate(records, {"StartingPosition": "LATEST"}, echo)
    assert labels(sim) == [tuple(f"test_{i}" for i in range(10))]
    assert len(sim.events) == 1
    got = sim.events[0]["Records"]
    assert [r["kinesis"]["partitionKey"] for r in got] == [f"test_{i}" for i in range(10)]
    seqs = [int(r["kinesis"]["sequenceNumber"]) for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10
    for i, r in enumerate(got):
        assert set(r) == {
            "awsRegion", "eventID", "eventName", "eventSource", "eventSourceARN", "eventVersion",
            "invokeIdentityArn", "kinesis",
        }  # fmt: skip
        assert r["awsRegion"] == "us-east-1"
        assert r["eventID"] == f"{SHARD}:{seq_of(i)}"
        assert r["eventName"] == "aws:kinesis:record"
        assert r["eventSource"] == "aws:kinesis"
        assert r["eventSourceARN"] == KINESIS_ARN
        assert r["eventVersion"] == "1.0"
        assert re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", r["invokeIdentityArn"])
        k = r["kinesis"]
        assert set(k) == {
            "approximateArrivalTimestamp", "data", "kinesisSchemaVersion", "partitionKey", "sequenceNumber",
        }  # fmt: skip
        assert k["data"] == "aGVsbG8="
        assert k["kinesisSchemaVersion"] == "1.0"
        assert k["sequenceNumber"] == seq_of(i)
        assert isinstance(k["approximateArrivalTimestamp"], float)
        assert k["approximateArrivalTimestamp"] == (T0 + 1000) / 1000
        assert len(str(int(k["approximateArrivalTimestamp"]))) == 10
    assert all(o == ("processed", None, 1) for o in sim.outcomes.values())


def test_k02_two_mappings_each_get_the_same_record_once() -> None:
    """K02: two ESMs (two functions) on one stream, TRIM_HORIZON, 1 record -> each function is
    invoked once with the same record (independent consumers = two replays of one capture)."""
    records = [rec("k")]
    first = simulate(records, {"StartingPosition": "TRIM_HORIZON", "FunctionName": "fn-1"}, echo)
    second = simulate(records, {"StartingPosition": "TRIM_HORIZON", "FunctionName": "fn-2"}, echo)
    assert labels(first) == labels(second) == [("k",)]
    seq1 = [r["kinesis"]["sequenceNumber"] for e in first.events for r in e["Records"]]
    seq2 = [r["kinesis"]["sequenceNumber"] for e in second.events for r in e["Records"]]
    assert seq1 == seq2 == [seq_of(0)]


def test_k03_second_batch_starts_after_the_first_finishes() -> None:
    """K03: LATEST, BatchSize 10; two puts of 10 records in quick succession; the function sleeps
    5 s -> 2 invocations of exactly 10 records, batch 2 = the second put, started > 5 s after batch 1
    started (no concurrency within a shard)."""
    from replay.function import Duration, FunctionModel

    first = [rec("test_0", at=1.0, name=f"a{i}") for i in range(10)]
    second = [rec("test_1", at=1.05, name=f"b{i}") for i in range(10)]
    model = FunctionModel(timeout_s=30, duration=Duration(base_ms=5000, per_record_ms=0))
    sim = simulate(first + second, {"StartingPosition": "LATEST", "BatchSize": 10}, model)
    assert labels(sim) == [tuple(f"a{i}" for i in range(10)), tuple(f"b{i}" for i in range(10))]
    one, two = sim.invocations
    assert two.start >= one.start + 5.0
    assert two.start >= one.end


def test_k04_trim_horizon_backlog_then_live_records_in_put_batches() -> None:
    """K04: TRIM_HORIZON, BatchSize 10; 2 x 10 records before the ESM exists, 10 after -> 3
    invocations of 10 records, in put order, grouped exactly by put call."""
    puts = [
        [rec("test_0", at=0.0, name=f"p0-{i}") for i in range(10)],
        [rec("test_1", at=0.5, name=f"p1-{i}") for i in range(10)],
        [rec("test_3", at=20.0, name=f"p3-{i}") for i in range(10)],
    ]
    sim = simulate(
        [r for p in puts for r in p],
        {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10},
        start=10.0,
    )
    assert labels(sim) == [tuple(r.label for r in p) for p in puts]
    assert all(o == ("processed", None, 1) for o in sim.outcomes.values())


def test_k05_disabled_mapping_invokes_nothing() -> None:
    """K05: a disabled Kinesis ESM delivers nothing (Enabled false from the start)."""
    records = [rec(f"test_{i}", at=1.0) for i in range(10)]
    sim = simulate(records, {"StartingPosition": "LATEST", "BatchSize": 10, "Enabled": False}, echo)
    assert sim.invocations == ()
    assert sim.events == ()
    assert {o[0] for o in sim.outcomes.values()} == {"unprocessed"}
    assert {o[2] for o in sim.outcomes.values()} == {0}


def test_k05_records_put_after_the_mapping_stops_are_not_delivered() -> None:
    """K05: 10 records -> 1 invocation; after the ESM stops (update at 60 s), 10 more records put
    later still leave exactly 1 invocation."""
    before = [rec(f"test_{i}", at=1.0, name=f"a{i}") for i in range(10)]
    after = [rec(f"test_{i}", at=130.0, name=f"b{i}") for i in range(10)]
    sim = simulate(
        before + after, {"StartingPosition": "LATEST", "BatchSize": 10}, echo, until=60.0
    )
    assert labels(sim) == [tuple(r.label for r in before)]
    assert all(sim.outcomes[r.label][0] == "unprocessed" for r in after)


KINESIS_ON_FAILURE_CFG: dict[str, Any] = {
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 1,
    "MaximumBatchingWindowInSeconds": 1,
    "MaximumRetryAttempts": 1,
}


@pytest.mark.parametrize(("case", "destination"), [("K06", SQS_DLQ), ("K07", SNS_TOPIC)])
def test_k06_k07_on_failure_sqs_sns_metadata_only(case: str, destination: str) -> None:
    """K06 (SQS) / K07 (SNS): BatchSize 1, window 1, MRA 1; the function raises -> 2 invocations
    and one metadata-only record: RetryAttemptsExhausted, approximateInvokeCount 2, functionError
    "Unhandled", KinesisBatchInfo start = end, batchSize 1, no payload; AWS key order."""
    sim = simulate(
        [rec("k", at=0.25)], {**KINESIS_ON_FAILURE_CFG, **on_failure(destination)}, raises
    )
    assert labels(sim) == [("k",), ("k",)]
    assert sim.outcomes == {"k": ("discarded", "RetryAttemptsExhausted", 2)}
    record = only_destination(sim)
    assert_failure_record(
        record, condition="RetryAttemptsExhausted", count=2, function_error="Unhandled",
        first=0, last=0, first_at=0.25, last_at=0.25,
    )  # fmt: skip
    assert record["timestamp"] == iso_ms(sim.invocations[-1].end)


def test_k08_on_failure_s3_adds_the_original_event_as_payload() -> None:
    """K08: as K06 with an S3 bucket -> exactly one object: the K06 record plus ``payload`` holding
    {"Records": [the full Kinesis event record]}. The engine's documented choice (options.s3_payload
    "string", 2.6: "as an escaped JSON string") serialises it as a JSON string."""
    sim = simulate([rec("k", at=0.25)], {**KINESIS_ON_FAILURE_CFG, **on_failure(S3_BUCKET)}, raises)
    assert labels(sim) == [("k",), ("k",)]
    record = only_destination(sim)
    assert_failure_record(
        record, condition="RetryAttemptsExhausted", count=2, function_error="Unhandled",
        first=0, last=0, first_at=0.25, last_at=0.25, payload=True,
    )  # fmt: skip
    assert isinstance(record["payload"], str)
    assert json.loads(record["payload"]) == {"Records": sim.events[0]["Records"]}


def test_k09_rbif_checkpoint_and_retry_reset() -> None:
    """K09: BatchSize 3, window 1, MRA 3, RBIF, OnFailure SQS; 6 records, test_5 should fail ->
    test_0..test_4 delivered once, test_5 five times (original batch + 1 + MRA as the shrunken
    batch); failure record RetryAttemptsExhausted, approximateInvokeCount 4, functionError null,
    batchSize 1 covering test_5 only."""
    records = [rec(f"test_{i}", {"should_fail": i == 5}) for i in range(6)]
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 3, "MaximumBatchingWindowInSeconds": 1,
        "MaximumRetryAttempts": 3, "FunctionResponseTypes": RBIF, **on_failure(SQS_DLQ),
    }  # fmt: skip
    sim = simulate(records, cfg, report_kinesis_should_fail)
    assert (
        labels(sim)
        == [("test_0", "test_1", "test_2"), ("test_3", "test_4", "test_5")] + [("test_5",)] * 4
    )
    assert deliveries(sim) == {
        "test_0": 1,
        "test_1": 1,
        "test_2": 1,
        "test_3": 1,
        "test_4": 1,
        "test_5": 5,
    }
    assert sim.outcomes["test_5"][:2] == ("discarded", "RetryAttemptsExhausted")
    assert_failure_record(
        only_destination(sim), condition="RetryAttemptsExhausted", count=4, function_error=None,
        first=5, last=5, first_at=0.0, last_at=0.0,
    )  # fmt: skip


WHOLE_BATCH_FAILURES: list[tuple[str, Any]] = [
    ("a-item-identifier-not-present", {"batchItemFailures": [{"itemIdentifier": 123}]}),
    ("b-empty-string-item-identifier", {"batchItemFailures": [{"itemIdentifier": ""}]}),
    ("c-null-item-identifier", {"batchItemFailures": [{"itemIdentifier": None}]}),
    ("d-invalid-key-foo", {"batchItemFailures": [{"foo": 123}]}),
    ("e-invalid-key-foo-null-value", {"batchItemFailures": [{"foo": None}]}),
]


def zero_division(event: dict[str, Any], context: Any) -> Any:
    """K10f / D07f: the function raises ZeroDivisionError."""
    return 1 / 0


@pytest.mark.parametrize(
    ("case", "handler", "function_error"),
    [(c, returns(v), None) for c, v in WHOLE_BATCH_FAILURES]
    + [("f-unhandled-exception", zero_division, "Unhandled")],
)
def test_k10_invalid_rbif_responses_fail_the_whole_batch(
    case: str, handler: Handler, function_error: str | None
) -> None:
    """K10a..f: BatchSize 1, window 1, RBIF, MRA 2, OnFailure SQS; 1 record -> exactly 3
    invocations; failure record RetryAttemptsExhausted, approximateInvokeCount 3, batchSize 1,
    statusCode 200; functionError null for the five bad responses, "Unhandled" for the exception."""
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 2, **on_failure(SQS_DLQ),
    }  # fmt: skip
    sim = simulate([rec("k")], cfg, handler)
    assert labels(sim) == [("k",)] * 3
    assert sim.outcomes == {"k": ("discarded", "RetryAttemptsExhausted", 3)}
    assert_failure_record(
        only_destination(sim), condition="RetryAttemptsExhausted", count=3, function_error=function_error,
        first=0, last=0, first_at=0.0, last_at=0.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "response",
    ["", [], None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}],
    ids=[
        "a-empty-string",
        "b-empty-list",
        "c-none",
        "d-empty-dict",
        "e-empty-failures",
        "f-null-failures",
    ],
)
def test_k11_rbif_success_responses_invoke_once(response: Any) -> None:
    """K11a..f: BatchSize 1, window 1, RBIF, MRA 2; each of the six "success" responses -> exactly
    1 invocation, no retry, no failure record."""
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": RBIF, "MaximumRetryAttempts": 2, **on_failure(SQS_DLQ),
    }  # fmt: skip
    sim = simulate([rec("k")], cfg, returns(response))
    assert labels(sim) == [("k",)]
    assert sim.outcomes == {"k": ("processed", None, 1)}
    assert sim.destinations == ()


AGE_CFG: dict[str, Any] = {
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 1,
    "MaximumBatchingWindowInSeconds": 1,
    "MaximumRecordAgeInSeconds": 60,
    **on_failure(SQS_DLQ),
}


def test_k12_record_age_exceeded_while_retrying() -> None:
    """K12: MRA -1, MaxAge 60, always raising -> 8 invocations fit in the 60 s (AWS backoff), then
    RecordAgeExceeded with approximateInvokeCount 8 and NO responseContext."""
    sim = simulate([rec("k")], {**AGE_CFG, "MaximumRetryAttempts": -1}, raises)
    assert labels(sim) == [("k",)] * 8
    assert sim.outcomes == {"k": ("discarded", "RecordAgeExceeded", 8)}
    assert_failure_record(
        only_destination(sim), condition="RecordAgeExceeded", count=8, function_error=KeyError,
        first=0, last=0, first_at=0.0, last_at=0.0,
    )  # fmt: skip


def test_k13_record_expired_before_the_mapping_starts() -> None:
    """K13: MRA 0, MaxAge 60; the record was put more than 60 s before the ESM is created -> never
    sent; RecordAgeExceeded, approximateInvokeCount 1, no responseContext, batchSize 1."""
    sim = simulate([rec("k")], {**AGE_CFG, "MaximumRetryAttempts": 0}, echo, start=65.0)
    assert sim.invocations == ()
    assert sim.events == ()
    assert sim.outcomes == {"k": ("discarded", "RecordAgeExceeded", 0)}
    assert_failure_record(
        only_destination(sim), condition="RecordAgeExceeded", count=1, function_error=KeyError,
        first=0, last=0, first_at=0.0, last_at=0.0,
    )  # fmt: skip


def test_k14_expired_record_split_out_of_a_fresh_batch() -> None:
    """K14: BatchSize 10, window 1, MRA 0, MaxAge 60; 1 record, 80 s later 5 records, then the ESM
    -> the function receives exactly the 5 fresh records; the expired one leaves in a failure
    record RecordAgeExceeded, approximateInvokeCount 1, batchSize 1, no responseContext."""
    old = rec("k", "stream-data", at=0.0, name="stream-data")
    fresh = [rec("k", f"stream-data-{i}", at=80.0, name=f"stream-data-{i}") for i in range(1, 6)]
    cfg = {**AGE_CFG, "BatchSize": 10, "MaximumRetryAttempts": 0}
    sim = simulate([old, *fresh], cfg, echo, start=85.0)
    assert labels(sim) == [tuple(r.label for r in fresh)]
    got = [
        base64.b64decode(r["kinesis"]["data"]).decode() for e in sim.events for r in e["Records"]
    ]
    assert got == [f"stream-data-{i}" for i in range(1, 6)]
    assert sim.outcomes["stream-data"] == ("discarded", "RecordAgeExceeded", 0)
    assert all(sim.outcomes[r.label] == ("processed", None, 1) for r in fresh)
    assert_failure_record(
        only_destination(sim), condition="RecordAgeExceeded", count=1, function_error=KeyError,
        first=0, last=0, first_at=0.0, last_at=0.0,
    )  # fmt: skip


def test_k15_empty_response_counts_as_success() -> None:
    """K15: BatchSize 1, window 1, MRA 2; a function returning nothing -> exactly 1 invocation."""
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumBatchingWindowInSeconds": 1,
        "MaximumRetryAttempts": 2,
    }  # fmt: skip
    sim = simulate([rec("k")], cfg, returns(None))
    assert labels(sim) == [("k",)]
    assert sim.outcomes == {"k": ("processed", None, 1)}


def test_k16_filter_on_decoded_data_two_mappings() -> None:
    """K16: two ESMs filtering data.event_type function_1 / function_2 -> each function is invoked
    exactly once with only its record; data is still the base64 of the original bytes."""
    raw_a = b'{"event_type":"function_1","message":"foo"}'
    raw_b = b'{"event_type":"function_2","message":"bar"}'
    records = [rec("pk", raw_a, name="A"), rec("pk", raw_b, at=0.1, name="B")]
    base = {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumBatchingWindowInSeconds": 1,
            "MaximumRetryAttempts": 1}  # fmt: skip
    for wanted, other, raw in (("A", "B", raw_a), ("B", "A", raw_b)):
        event_type = json.loads(raw)["event_type"]
        sim = simulate(records, {**base, **filters({"data": {"event_type": [event_type]}})}, echo)
        assert labels(sim) == [(wanted,)]
        assert [r["kinesis"]["data"] for r in sim.events[0]["Records"]] == [
            base64.b64encode(raw).decode()
        ]
        assert sim.outcomes[wanted] == ("processed", None, 1)
        assert sim.outcomes[other][0] == "filtered"
        assert sim.outcomes[other][2] == 0


# ---------------------------------------------------------------------------------------- DynamoDB
HELLO_KEYS = {"my_partition_key": {"S": "hello world"}}
DDB_BASE: dict[str, Any] = {
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 1,
    "MaximumBatchingWindowInSeconds": 1,
    "MaximumRetryAttempts": 1,
}


def test_d01_dynamodb_event_record_shape() -> None:
    """D01: TRIM_HORIZON, BatchSize 1, window 1, MRA 1; one PutItem with a string key and a binary
    attribute -> 1 invocation whose record matches the AWS recording, SizeBytes 70."""
    item = ddb(
        HELLO_KEYS,
        {**HELLO_KEYS, "binary_key": {"B": base64.b64encode(b"foobar").decode()}},
        at=0.5,
    )
    sim = simulate([item], DDB_BASE, echo, kind=DDB)
    assert labels(sim) == [("INSERT",)]
    (record,) = sim.events[0]["Records"]
    assert list(record) == [
        "eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN",
    ]  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == DYNAMODB_ARN
    body = record["dynamodb"]
    assert set(body) == {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    assert isinstance(body["ApproximateCreationDateTime"], int | float)
    assert len(str(int(body["ApproximateCreationDateTime"]))) == 10
    assert body["Keys"] == {"my_partition_key": {"S": "hello world"}}
    assert body["NewImage"] == {
        "binary_key": {"B": "Zm9vYmFy"},
        "my_partition_key": {"S": "hello world"},
    }
    assert body["SequenceNumber"] == seq_of(0)
    assert body["SizeBytes"] == 70
    assert body["StreamViewType"] == "NEW_IMAGE"


def test_d02_disabled_dynamodb_mapping_invokes_nothing() -> None:
    """D02: a disabled DynamoDB ESM delivers nothing (Enabled false from the start)."""
    sim = simulate([ddb(HELLO_KEYS, HELLO_KEYS)], {**DDB_BASE, "Enabled": False}, echo, kind=DDB)
    assert sim.invocations == ()
    assert sim.outcomes == {"INSERT": ("unprocessed", "Disabled", 0)}


def test_d02_item_written_after_disabling_is_not_delivered() -> None:
    """D02: item 1 -> 1 invocation; after the update to Enabled=false, item 2 -> still 1."""
    one = ddb({"k": {"S": "1"}}, {"k": {"S": "1"}}, at=0.0, name="item-1")
    two = ddb({"k": {"S": "2"}}, {"k": {"S": "2"}}, at=90.0, name="item-2")
    sim = simulate([one, two], DDB_BASE, echo, kind=DDB, until=30.0)
    assert labels(sim) == [("item-1",)]
    assert sim.outcomes["item-2"][0] == "unprocessed"


@pytest.mark.parametrize(
    ("case", "destination"), [("D03", SQS_DLQ), ("D04", SNS_TOPIC), ("D05", S3_BUCKET)]
)
def test_d03_d04_d05_dynamodb_on_failure_record(case: str, destination: str) -> None:
    """D03/D04/D05: BatchSize 1, window 1, MRA 1, OnFailure SQS | SNS | S3; the function raises ->
    2 invocations; DDBStreamBatchInfo with second-precision arrival times, approximateInvokeCount 2,
    functionError "Unhandled"; S3 adds the payload {"Records": [full record, SizeBytes 54]}."""
    item = ddb(HELLO_KEYS, HELLO_KEYS, at=0.75)
    sim = simulate([item], {**DDB_BASE, **on_failure(destination)}, raises, kind=DDB)
    assert labels(sim) == [("INSERT",), ("INSERT",)]
    is_s3 = destination == S3_BUCKET
    record = only_destination(sim)
    assert_failure_record(
        record, condition="RetryAttemptsExhausted", count=2, function_error="Unhandled",
        first=0, last=0, first_at=0.75, last_at=0.75, kind=DDB, payload=is_s3,
    )  # fmt: skip
    assert record["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] == "2023-11-14T22:13:20Z"
    if is_s3:
        payload = json.loads(record["payload"])
        assert payload == {"Records": sim.events[0]["Records"]}
        assert payload["Records"][0]["dynamodb"]["SizeBytes"] == 54


def test_d06_dynamodb_rbif_one_failing_item() -> None:
    """D06: BatchSize 3, window 1, MRA 3, OnFailure SQS, RBIF; 6 items 0.1 s apart, testId5 should
    fail -> testId0..4 delivered once, testId5 five times; failure record RetryAttemptsExhausted,
    approximateInvokeCount 4, functionError null, batchSize 1."""
    items = [
        ddb(
            {"my_partition_key": {"S": f"testId{i}"}},
            {"my_partition_key": {"S": f"testId{i}"}, "should_fail": {"BOOL": i == 5}},
            at=0.1 * i,
            name=f"testId{i}",
        )
        for i in range(6)
    ]
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 3, "MaximumBatchingWindowInSeconds": 1,
        "MaximumRetryAttempts": 3, "FunctionResponseTypes": RBIF, **on_failure(SQS_DLQ),
    }  # fmt: skip
    sim = simulate(items, cfg, report_ddb_should_fail, kind=DDB)
    assert deliveries(sim) == {f"testId{i}": 5 if i == 5 else 1 for i in range(6)}
    assert labels(sim)[-4:] == [("testId5",)] * 4
    assert len(sim.delivered()) == 6
    assert_failure_record(
        only_destination(sim), condition="RetryAttemptsExhausted", count=4, function_error=None,
        first=5, last=5, first_at=0.5, last_at=0.5, kind=DDB,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("case", "handler", "function_error"),
    [(c, returns(v), None) for c, v in WHOLE_BATCH_FAILURES]
    + [("f-unhandled-exception", zero_division, "Unhandled")],
)
def test_d07_dynamodb_invalid_rbif_responses(
    case: str, handler: Handler, function_error: str | None
) -> None:
    """D07a..f: BatchSize 3, window 1, MRA 3, RBIF, OnFailure SQS; 1 item -> exactly 4 invocations of
    1 record; failure record approximateInvokeCount 4, batchSize 1, functionError null (a..e) /
    "Unhandled" (f)."""
    cfg = {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 3, "MaximumBatchingWindowInSeconds": 1,
        "MaximumRetryAttempts": 3, "FunctionResponseTypes": RBIF, **on_failure(SQS_DLQ),
    }  # fmt: skip
    sim = simulate([ddb(HELLO_KEYS, HELLO_KEYS)], cfg, handler, kind=DDB)
    assert labels(sim) == [("INSERT",)] * 4
    assert_failure_record(
        only_destination(sim), condition="RetryAttemptsExhausted", count=4, function_error=function_error,
        first=0, last=0, first_at=0.0, last_at=0.0, kind=DDB,
    )  # fmt: skip


@pytest.mark.parametrize(
    "response",
    [[], None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}],
    ids=["a-empty-list", "b-none", "c-empty-dict", "d-empty-failures", "e-null-failures"],
)
def test_d08_dynamodb_rbif_success_responses(response: Any) -> None:
    """D08a..e: BatchSize 1, window 0, MRA 2, RBIF; each success response -> exactly 1 invocation."""
    cfg = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 1,
        "MaximumRetryAttempts": 2,
        "FunctionResponseTypes": RBIF,
    }
    sim = simulate([ddb(HELLO_KEYS, HELLO_KEYS)], cfg, returns(response), kind=DDB)
    assert labels(sim) == [("INSERT",)]
    assert sim.outcomes == {"INSERT": ("processed", None, 1)}


def item(keys: Mapping[str, Any], new: Mapping[str, Any], *, name: str, at: float,
         event: str = "INSERT", old: Mapping[str, Any] | None = None) -> Rec:  # fmt: skip
    """A NEW_AND_OLD_IMAGES stream record (the view of the D09 table)."""
    return ddb(keys, new, event=event, old=old, at=at, view="NEW_AND_OLD_IMAGES", name=name)


ID = {"id": {"S": "id_value"}}
ID1 = {"id": {"S": "id_value_1"}}
ID2 = {"id": {"S": "id_value_2"}}
D09_CASES: list[tuple[str, dict[str, Any], list[Rec], list[str]]] = [
    (
        "a-insert-same-entry-twice",
        {"eventName": ["INSERT"]},
        # The second, identical PutItem changes nothing, so DynamoDB writes no stream record for it.
        [item(ID, {**ID, "id2": {"S": "id2_value"}}, name="first-put", at=0.0)],
        ["first-put"],
    ),
    (
        "b-content-or-filter",
        {"eventName": ["INSERT", "MODIFY"]},
        [
            item(ID, ID, name="insert", at=0.0),
            item(
                ID,
                {**ID, "id2": {"S": "id2_new_value"}},
                name="modify",
                event="MODIFY",
                old=ID,
                at=1.0,
            ),
        ],
        ["insert", "modify"],
    ),
    (
        "c-content-multiple-filters",
        {"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]},
        [
            item(ID, ID, name="insert", at=0.0),
            item(
                ID,
                {**ID, "id2": {"S": "id2_new_value"}},
                name="modify",
                event="MODIFY",
                old=ID,
                at=1.0,
            ),
        ],
        ["insert"],
    ),
    (
        "d-content-filter-type",
        {"dynamodb": {"NewImage": {"presentKey": {"S": ["presentValue"]}}}},
        [
            item(ID1, {**ID1, "presentKey": {"S": "presentValue"}}, name="one", at=0.0),
            item(ID2, ID2, name="two", at=1.0),
        ],
        ["one"],
    ),
    (
        "e-exists-filter-type",
        {"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}},
        [
            item(ID1, {**ID1, "presentKey": {"S": "presentValue"}}, name="one", at=0.0),
            item(ID2, ID2, name="two", at=1.0),
        ],
        ["one"],
    ),
    (
        "f-exists-false-filter",
        {"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}},
        [
            item(ID1, ID1, name="one", at=0.0),
            item(ID2, {**ID2, "presentKey": {"S": "presentValue"}}, name="two", at=1.0),
        ],
        ["one", "two"],
    ),
    (
        "g-numeric-filter",
        {
            "dynamodb": {
                "NewImage": {
                    "numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}
                }
            }
        },
        [
            item(ID1, {**ID1, "numericFilter": {"N": "42"}}, name="n42", at=0.0),
            item(ID2, {**ID2, "numericFilter": {"N": "101"}}, name="n101", at=1.0),
        ],
        ["n42"],
    ),
    (
        "h-prefix-filter",
        {"dynamodb": {"NewImage": {"prefix": {"S": [{"prefix": "us-1"}]}}}},
        [
            item(ID1, {**ID1, "prefix": {"S": "us-1-other-suffix"}}, name="us-1", at=0.0),
            item(ID2, {**ID2, "prefix": {"S": "other-suffix"}}, name="other", at=1.0),
        ],
        ["us-1"],
    ),
    (
        "i-date-time-conversion",
        {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}},
        [item(ID1, ID1, name="one", at=0.0), item(ID2, ID2, name="two", at=1.0)],
        ["one", "two"],
    ),
]


@pytest.mark.parametrize(
    ("case", "pattern", "items", "expected"), D09_CASES, ids=[c[0] for c in D09_CASES]
)
def test_d09_dynamodb_filter_criteria(
    case: str, pattern: dict[str, Any], items: list[Rec], expected: list[str]
) -> None:
    """D09a..i: view NEW_AND_OLD_IMAGES, BatchSize 1, window 1, MRA 1 -> exactly the recorded
    invocations, one record each; unmatched records are filtered (never delivered, no failure record)."""
    sim = simulate(items, {**DDB_BASE, **filters(pattern), **on_failure(SQS_DLQ)}, echo, kind=DDB)
    assert labels(sim) == [(name,) for name in expected]
    for r in items:
        want = ("processed", None, 1) if r.label in expected else ("filtered", "FilterCriteria", 0)
        assert sim.outcomes[r.label] == want
    assert sim.destinations == ()
    if case.startswith("b-"):
        modify = sim.events[1]["Records"][0]
        assert modify["eventName"] == "MODIFY"
        assert modify["dynamodb"]["NewImage"] == {**ID, "id2": {"S": "id2_new_value"}}
        assert modify["dynamodb"]["OldImage"] == ID
