"""Recorded AWS cases S01–S13 (ESM-SEMANTICS.md 13.3) replayed through the SQS engine.

Each test rebuilds one case's inputs — queue attributes, messages sent, ESM configuration and the
function's behaviour — and asserts what the AWS recording shows: invocation counts, the receive
counts the function saw, what was deleted and what reached the dead-letter queue, and the exact
event record shapes (S01, S03 and B92 through a recording handler). Times come from the engine's
documented queue model (replay/sqs.py): a receive hides a message for VisibilityTimeout, a failed
message reappears when it ends, and the default function takes 20 ms + 0.5 ms per record.

S09's "created disabled, then enabled" is a replay whose ESM starts when the messages are already in
the queue; S13's retarget to a new function version is a function model whose faults end at the
update (``to``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest

from replay import events
from replay.config import parse_config
from replay.engine.sqs import SqsEngine
from replay.function import Duration, Fault, FunctionModel
from replay.testing import (
    FIFO_QUEUE_ARN,
    QUEUE_ARN,
    T0,
    Simulation,
    make_capture,
    message_id,
    msg,
    simulate,
)
from replay.vocabulary import SourceKind

SQS = SourceKind.SQS
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:test-dlq"
FIFO_DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:test-dlq.fifo"
RBIF = ["ReportBatchItemFailures"]
SENDER = "AIDAIT2UOQQY3AUEKVGXU"  # the SenderId replay.testing gives every message

Handler = Callable[[dict[str, Any], Any], Any]


# ---------------------------------------------------------------------------------------- helpers
def queue(vt: int, max_receive: int | None = None, *, fifo: bool = False) -> dict[str, Any]:
    """Queue attributes: VisibilityTimeout and, with ``max_receive``, a RedrivePolicy."""
    attrs: dict[str, Any] = {"VisibilityTimeout": vt}
    if max_receive is not None:
        dlq = FIFO_DLQ_ARN if fifo else DLQ_ARN
        attrs["RedrivePolicy"] = {"deadLetterTargetArn": dlq, "maxReceiveCount": max_receive}
    if fifo:
        attrs["FifoQueue"] = True
    return attrs


def filters(*patterns: Mapping[str, Any]) -> dict[str, Any]:
    """The FilterCriteria fragment for ``patterns``."""
    return {"FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}}


def echo(event: dict[str, Any], context: Any) -> Any:
    """S01's function: returns the event it got (ignored: the ESM has no RBIF)."""
    return event


def raises(event: dict[str, Any], context: Any) -> Any:
    """A function that always fails (function error)."""
    raise RuntimeError("boom")


def returns(value: Any) -> Handler:
    """A handler that always returns ``value``."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        return value

    return handler


def receive_counts(sim: Simulation) -> list[list[tuple[str, str]]]:
    """(body, ApproximateReceiveCount) of each record of each event the function received."""
    return [
        [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in e["Records"]]
        for e in sim.events
    ]


def dispositions(sim: Simulation) -> dict[str, tuple[str, int]]:
    """label -> (disposition, deliveries)."""
    return {label: (d, n) for label, (d, _, n) in sim.outcomes.items()}


def max_concurrency(sim: Simulation) -> int:
    """The largest number of invocations running at the same instant (half-open spans)."""
    points = sorted(
        [(i.start, 1) for i in sim.invocations] + [(i.end, -1) for i in sim.invocations]
    )
    level = best = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best


def record_keys(record: Mapping[str, Any]) -> list[str]:
    """The keys of an event record, in order."""
    return list(record)


# ---------------------------------------------------------------------------------------- S01
def test_s01_basic_event_shape_and_deletion() -> None:
    """S01: window 1 s, default BatchSize, one message {"foo":"bar"}, echo function -> exactly one
    invocation whose record has the recorded keys in order, the body verbatim, ARC "1", the four
    standard attributes, ``messageAttributes`` {} and ``md5OfMessageAttributes`` null; afterwards
    the queue is empty (the message was deleted on success)."""
    body = '{"foo":"bar"}'
    sim = simulate(
        [msg(body, name="m")],
        {"MaximumBatchingWindowInSeconds": 1},
        echo,
        kind=SQS,
        settings=queue(30),
    )
    assert len(sim.invocations) == 1
    (event,) = sim.events
    assert list(event) == ["Records"]
    (record,) = event["Records"]
    assert record_keys(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["messageId"] == message_id(0)
    assert record["body"] == body
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(T0),
        "SenderId": SENDER,
        # the long-polling receive that opens the 1 s window takes the message as it is sent
        "ApproximateFirstReceiveTimestamp": str(T0),
    }
    assert sim.invocations[0].start == 1.0
    assert record["messageAttributes"] == {}
    assert record["md5OfMessageAttributes"] is None
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        QUEUE_ARN,
        "us-east-1",
    )
    assert isinstance(record["receiptHandle"], str) and record["receiptHandle"]
    assert dispositions(sim) == {"m": ("processed", 1)}


# ---------------------------------------------------------------------------------------- S02
def test_s02_retry_after_visibility_timeout_with_new_receipt_handle() -> None:
    """S02: VisibilityTimeout 5, BatchSize 1, the function fails while ARC <= 1 -> invocation 1
    (ARC "1") fails, invocation 2 (ARC "2", same messageId, new receiptHandle) comes >= 5 s later
    and succeeds; no third delivery; the message is deleted."""

    def fails_first(event: dict[str, Any], context: Any) -> Any:
        if int(event["Records"][0]["attributes"]["ApproximateReceiveCount"]) <= 1:
            raise RuntimeError("first receive fails")
        return None

    sim = simulate(
        [msg("hello", name="m")], {"BatchSize": 1}, fails_first, kind=SQS, settings=queue(5)
    )
    first, second = sim.invocations
    assert (first.result, second.result) == ("error", "ok")
    assert second.start - first.start >= 5
    r1, r2 = (e["Records"][0] for e in sim.events)
    assert (
        r1["attributes"]["ApproximateReceiveCount"],
        r2["attributes"]["ApproximateReceiveCount"],
    ) == ("1", "2")
    assert r1["messageId"] == r2["messageId"]
    assert r1["receiptHandle"] != r2["receiptHandle"]
    assert dispositions(sim) == {"m": ("processed", 2)}


# ---------------------------------------------------------------------------------------- S03
def _message_attributes() -> dict[str, Any]:
    """S03's attributes in the Lambda event shape (what a capture stores)."""

    def attr(value: str, kind: str) -> dict[str, Any]:
        return {
            "stringValue": value,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": kind,
        }

    return {
        "Title": attr("The Whistler", "String"),
        "Author": attr("John Grisham", "String"),
        "WeeksOn": attr("6", "Number"),
    }


def test_s03_message_attributes_shape() -> None:
    """S03: attributes Title/Author (String) and WeeksOn (Number "6") -> each
    ``messageAttributes.<name>`` is {stringValue, stringListValues: [], binaryListValues: [],
    dataType} and ``md5OfMessageAttributes`` is present (a real MD5 hex)."""
    attrs = _message_attributes()
    md5 = "d25a6aea97eb8f585bfa92d314504a92"
    capture = make_capture([msg("book")], kind=SQS, settings=queue(30))
    table = capture.records
    for name, value in (
        ("message_attributes", json.dumps(attrs, separators=(",", ":"))),
        ("md5_of_message_attributes", md5),
    ):
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.array([value], pa.string())
        )
    ctx = events.EventContext(kind=SQS, source_arn=QUEUE_ARN, region="us-east-1")
    table = table.set_column(
        table.schema.get_field_index("size"), "size", events.record_sizes(table, ctx)
    )
    capture = replace(capture, records=table)
    cfg, _ = parse_config({}, kind=SQS, where="test config")
    seen: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        seen.append(json.loads(json.dumps(event)))
        return None

    engine = SqsEngine(capture, cfg, FunctionModel())
    engine.handler = recording
    engine.run()
    (record,) = seen[0]["Records"]
    assert record["messageAttributes"] == attrs
    for value in record["messageAttributes"].values():
        assert list(value) == ["stringValue", "stringListValues", "binaryListValues", "dataType"]
    assert record["md5OfMessageAttributes"] == md5


# ---------------------------------------------------------------------------------------- S04
def test_s04_redrive_to_dlq_after_two_failed_receives() -> None:
    """S04: VisibilityTimeout 5, maxReceiveCount 2, BatchSize 1, the function always fails ->
    exactly 2 invocations (ARC "1", "2"); the DLQ is empty after the first and then holds the
    message with the original MessageId and the body verbatim."""
    body = '{"order": 17}'
    sim = simulate([msg(body, name="m")], {"BatchSize": 1}, raises, kind=SQS, settings=queue(5, 2))
    assert [i.result for i in sim.invocations] == ["error", "error"]
    assert receive_counts(sim) == [[(body, "1")], [(body, "2")]]
    (line,) = sim.destinations
    assert (line["messageId"], line["body"]) == (message_id(0), body)
    assert dispositions(sim) == {"m": ("dead-lettered", 2)}
    done = sim.run.records.column("done").cast(pa.int64()).to_pylist()[0]
    assert (done - T0) / 1000 >= sim.invocations[1].start  # not in the DLQ before the 2nd receive


# ---------------------------------------------------------------------------------------- S05
def test_s05_rbif_on_fifo_progressive_success() -> None:
    """S05: FIFO, VisibilityTimeout 8, maxReceiveCount 2, messages 1..4 in group "1" sent before
    the ESM, BatchSize 10, RBIF; message k fails while ARC <= {1:0, 2:1, 3:1, 4:2}[k] ->
    invocation 1 = [1,2,3,4] all ARC "1" returning failures [2,3,4]; invocation 2 = [2,3,4] ARC
    "2" returning [4]; no third invocation; message 4 lands in the DLQ. FIFO records carry
    MessageGroupId, MessageDeduplicationId and SequenceNumber."""
    fail_attempts = {"1": 0, "2": 1, "3": 1, "4": 2}
    returned: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        failed = [
            r
            for r in event["Records"]
            if int(r["attributes"]["ApproximateReceiveCount"]) <= fail_attempts[r["body"]]
        ]
        returned.append([r["body"] for r in failed])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}

    records = [msg(str(k), group="1") for k in range(1, 5)]
    sim = simulate(
        records,
        {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": RBIF},
        handler,
        kind=SQS,
        settings=queue(8, 2, fifo=True),
    )
    assert receive_counts(sim) == [
        [("1", "1"), ("2", "1"), ("3", "1"), ("4", "1")],
        [("2", "2"), ("3", "2"), ("4", "2")],
    ]
    assert returned == [["2", "3", "4"], ["4"]]
    for record in sim.events[0]["Records"]:
        assert {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} <= set(
            record["attributes"]
        )
    assert [line["body"] for line in sim.destinations] == ["4"]
    assert dispositions(sim) == {
        "1": ("processed", 1),
        "2": ("processed", 2),
        "3": ("processed", 2),
        "4": ("dead-lettered", 2),
    }


# ---------------------------------------------------------------------------------------- S06
def test_s06_rbif_configured_but_function_raises_dead_letters_both() -> None:
    """S06: VisibilityTimeout 2, maxReceiveCount 2, one non-JSON and one valid message sent before
    the ESM, RBIF on, the function raises -> the whole batch fails twice and both messages end up
    in the DLQ (the good one too). The function timeout is 2 s: a longer one is refused with this
    queue (B9)."""
    records = [msg("{not a json body", name="bad"), msg({"ok": True}, name="good")]
    model = FunctionModel(timeout_s=2, faults=(Fault(error="Unhandled"),))
    sim = simulate(records, {"FunctionResponseTypes": RBIF}, model, kind=SQS, settings=queue(2, 2))
    assert [i.records for i in sim.invocations] == [("bad", "good"), ("bad", "good")]
    assert sorted(line["messageId"] for line in sim.destinations) == [message_id(0), message_id(1)]
    assert dispositions(sim) == {"bad": ("dead-lettered", 2), "good": ("dead-lettered", 2)}


# ---------------------------------------------------------------------------------------- S07
def test_s07_malformed_rbif_response_is_a_whole_batch_failure() -> None:
    """S07: VisibilityTimeout 4, maxReceiveCount 2, BatchSize 10, window 0, RBIF; the function
    returns {"batchItemFailures":[{"foo":"notvalid"}]} -> 2 invocations (ARC "1", "2"), then the
    message is in the DLQ."""
    sim = simulate(
        [msg("x", name="m")],
        {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": RBIF},
        returns({"batchItemFailures": [{"foo": "notvalid"}]}),
        kind=SQS,
        settings=queue(4, 2),
    )
    assert receive_counts(sim) == [[("x", "1")], [("x", "2")]]
    assert [line["messageId"] for line in sim.destinations] == [message_id(0)]
    assert dispositions(sim) == {"m": ("dead-lettered", 2)}


# ---------------------------------------------------------------------------------------- S08
def test_s08_empty_json_rbif_response_is_success() -> None:
    """S08: VisibilityTimeout 4, maxReceiveCount 1, RBIF; the function returns {} -> 1 invocation
    and the DLQ stays empty."""
    sim = simulate(
        [msg("x", name="m")],
        {"FunctionResponseTypes": RBIF},
        returns({}),
        kind=SQS,
        settings=queue(4, 1),
    )
    assert len(sim.invocations) == 1
    assert sim.destinations == ()
    assert dispositions(sim) == {"m": ("processed", 1)}


# ---------------------------------------------------------------------------------------- S09
def test_s09_fifo_single_group_is_processed_serially() -> None:
    """S09: FIFO (VisibilityTimeout 60), BatchSize 1, 5 messages in one group, the function takes
    5 s -> never two invocations overlapping (one execution environment), in send order, every
    message processed once. (AWS created the ESM disabled and enabled it after sending; here the
    replay starts with the messages already queued, which is the same thing for the function.)"""
    records = [msg(f"m{i}", group="g") for i in range(5)]
    model = FunctionModel(timeout_s=10, duration=Duration(base_ms=5000, per_record_ms=0))
    sim = simulate(records, {"BatchSize": 1}, model, kind=SQS, settings=queue(60, fifo=True))
    spans = sorted((i.start, i.end, i.records) for i in sim.invocations)
    assert [r for _, _, r in spans] == [(f"m{i}",) for i in range(5)]
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    assert max_concurrency(sim) == 1
    assert dispositions(sim) == {f"m{i}": ("processed", 1) for i in range(5)}


# ---------------------------------------------------------------------------------------- S10
@pytest.mark.parametrize(
    "batch_size", [15, 100, 1000, 10000], ids=["a15", "b100", "c1000", "d10000"]
)
def test_s10_large_batch_size_with_window_delivers_all_15(batch_size: int) -> None:
    """S10a–d: BatchSize 15/100/1000/10000 with a 10 s window; SendMessageBatch of 10, then of 5
    -> all 15 messages delivered, each exactly once (batch boundaries were not recorded)."""
    records = [msg(f"a{i}") for i in range(10)] + [msg(f"b{i}", at=0.5) for i in range(5)]
    sim = simulate(
        records, {"BatchSize": batch_size, "MaximumBatchingWindowInSeconds": 10}, kind=SQS
    )
    delivered = [label for batch in sim.delivered() for label in batch]
    assert sorted(delivered) == sorted(r.label for r in records)
    assert {d for d, _ in dispositions(sim).values()} == {"processed"}


# ---------------------------------------------------------------------------------------- S11
def test_s11_maximum_concurrency_and_reserved_concurrency_two_invocations() -> None:
    """S11: reserved concurrency 2; 30 messages (3 x SendMessageBatch of 10) sent before the ESM;
    BatchSize 20, window 1, MaximumConcurrency 2 -> all 30 delivered in exactly 2 invocations,
    none throttled (the split between the two was not recorded)."""
    records = [msg(f"m{i:02d}") for i in range(30)]
    sim = simulate(
        records,
        {
            "BatchSize": 20,
            "MaximumBatchingWindowInSeconds": 1,
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
        FunctionModel(reserved_concurrency=2),
        kind=SQS,
    )
    assert [i.result for i in sim.invocations] == ["ok", "ok"]
    assert sorted(label for batch in sim.delivered() for label in batch) == [
        f"m{i:02d}" for i in range(30)
    ]


# ---------------------------------------------------------------------------------------- S12
S12_CASES: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "a-single": (
        {"body": {"my-key": ["my-value"]}},
        {"my-key": "my-value"},
        {"my-key": "other-value"},
    ),
    "b-or": (
        {"body": {"my-key": ["my-value-one", "my-value-two"]}},
        {"my-key": "my-value-two"},
        {"my-key": "my-value-three"},
    ),
    "c-and": (
        {"body": {"my-key-one": ["other-filter", "my-value-one"], "my-key-two": ["my-value-two"]}},
        {"my-key-one": "my-value-one", "my-key-two": "my-value-two"},
        {"my-key-one": "my-value-one", "my-key-two": "other-value"},
    ),
    "d-exists": ({"body": {"my-key": [{"exists": True}]}}, {"my-key": "any"}, {"other-key": "any"}),
    "e-numeric-gt": (
        {"body": {"my-number": [{"numeric": [">", 100]}]}},
        {"my-number": 101},
        {"my-number": 100},
    ),
    "f-numeric-lt": (
        {"body": {"my-number": [{"numeric": ["<", 100]}]}},
        {"my-number": 99},
        {"my-number": 100},
    ),
    "g-range": (
        {"body": {"my-number": [{"numeric": [">=", 100, "<", 200]}]}},
        {"my-number": 100},
        {"my-number": 200},
    ),
    "h-prefix": (
        {"body": {"my-key": [{"prefix": "yes"}]}},
        {"my-key": "yes-value"},
        {"my-key": "no-value"},
    ),
    "i-valid-json-filter": (
        {"body": {"my-key": ["my-value"]}},
        {"my-key": "my-value"},
        "plain-string",
    ),
}


@pytest.mark.parametrize("case", sorted(S12_CASES))
def test_s12_filter_delivers_the_match_and_deletes_the_other(case: str) -> None:
    """S12a–i: window 1, default BatchSize, one matching and one non-matching message sent before
    the ESM -> exactly 1 invocation holding exactly the matching record; the non-matching message
    is deleted (filtered, never delivered), so the queue ends empty."""
    pattern, match, other = S12_CASES[case]
    records = [msg(match, name="match"), msg(other, name="other")]
    sim = simulate(
        records, {"MaximumBatchingWindowInSeconds": 1, **filters(pattern)}, echo, kind=SQS
    )
    assert sim.delivered() == [("match",)]
    assert [r["body"] for r in sim.events[0]["Records"]] == [records[0].data.decode()]
    assert dispositions(sim) == {"match": ("processed", 1), "other": ("filtered", 0)}


# ---------------------------------------------------------------------------------------- B92
def test_b92_fifo_record_attributes_exact_shape() -> None:
    """B92 (and S05's observation): a FIFO record's attributes are the standard four plus
    SequenceNumber, MessageGroupId and MessageDeduplicationId, every value a string."""
    body = "payload"
    sim = simulate([msg(body, group="g1")], {}, echo, kind=SQS, settings=queue(30, fifo=True))
    (record,) = sim.events[0]["Records"]
    start_ms = T0 + round(sim.invocations[0].start * 1000)
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(T0),
        "SenderId": SENDER,
        "ApproximateFirstReceiveTimestamp": str(start_ms),
        "SequenceNumber": "18850000000000000000",
        "MessageGroupId": "g1",
        "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
    }
    assert all(isinstance(v, str) for v in record["attributes"].values())
    assert record["eventSourceARN"] == FIFO_QUEUE_ARN


def test_s13_retarget_to_a_new_function_version_takes_the_next_invocation() -> None:
    """S13: the ESM is updated to version 2 mid-run; the message sent before the update reached
    v1, the next one reaches only v2. A replay models the update as fault rules bounded in time
    (``to``: v1's behaviour ends at the update): v1 raises on everything, v2 does not."""
    update = T0 + 3_000
    v1_fails = Fault(error="Unhandled", to_ms=update)
    sim = simulate(
        [msg("before", at=0.0, name="m1"), msg("after", at=8.0, name="m2")],
        {"BatchSize": 1},
        FunctionModel(faults=(v1_fails,)),
        kind=SQS,
        settings=queue(5),
    )
    assert [(i.records, i.result) for i in sim.invocations] == [
        (("m1",), "error"),  # v1, before the update
        (("m1",), "ok"),  # back after VisibilityTimeout 5 s: the update is done, v2 runs it
        (("m2",), "ok"),  # the next message: only v2
    ]
    assert sim.invocations[1].start >= 5
    assert {k: v[0] for k, v in sim.outcomes.items()} == {"m1": "processed", "m2": "processed"}
