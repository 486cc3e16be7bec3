"""Response rules: streams (2.5, B36–B42, B55, K10, K11, D07, D08), SQS (B60–B64, S05–S08) and
Kafka (7, B83)."""

from typing import Any

import pytest

from replay.engine.responses import (
    Verdict,
    judge_kafka_response,
    judge_sqs_response,
    judge_stream_response,
)

SEQS = ["101", "102", "103"]


@pytest.mark.parametrize(
    "response", ["", [], None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}]
)
def test_k11_d08_b38_success_shapes(response: Any) -> None:
    assert judge_stream_response(response, SEQS, rbif=True).verdict is Verdict.SUCCESS


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": 123}]},  # K10a / B40
        {"batchItemFailures": [{"itemIdentifier": ""}]},  # K10b / B39
        {"batchItemFailures": [{"itemIdentifier": None}]},  # K10c / B39
        {"batchItemFailures": [{"foo": 123}]},  # K10d
        {"batchItemFailures": [{"foo": None}]},  # K10e
        {"batchItemFailures": [{"itemIdentifier": "999"}]},  # B40: not in the batch
    ],
)
def test_k10_d07_b39_b40_complete_failure_shapes(response: Any) -> None:
    assert judge_stream_response(response, SEQS, rbif=True).verdict is Verdict.FAILURE


def test_b37_checkpoint_is_the_lowest_reported_sequence_number() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "102"}]}
    verdict = judge_stream_response(response, SEQS, rbif=True)
    assert verdict.verdict is Verdict.PARTIAL
    assert verdict.first_failed == 1


def test_b36_partial_body_ignored_without_report_batch_item_failures() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert judge_stream_response(response, SEQS, rbif=False).verdict is Verdict.SUCCESS


def test_b55_tumbling_window_response_without_state_fails() -> None:
    assert judge_stream_response({}, SEQS, rbif=False, tumbling=True).verdict is Verdict.FAILURE
    ok = judge_stream_response({"state": {"n": 3}}, SEQS, rbif=False, tumbling=True)
    assert ok.verdict is Verdict.SUCCESS
    assert ok.state == {"n": 3}


# --------------------------------------------------------------------------- SQS

IDS = ["id1", "id2", "id3", "id4", "id5"]


def failures(*identifiers: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


@pytest.mark.parametrize(
    "response",
    ["", [], None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}],
)
def test_b64_s08_sqs_success_shapes(response: Any) -> None:
    """B64, S08: an empty or null list, an empty or null response: every message is deleted."""
    verdict = judge_sqs_response(response, IDS, rbif=True)
    assert (verdict.verdict, verdict.failed) == (Verdict.SUCCESS, ())


def test_b62_reported_messages_stay_the_others_are_deleted() -> None:
    """B62: id2 and id4 reported out of id1–id5: exactly positions 1 and 3 fail."""
    verdict = judge_sqs_response(failures("id4", "id2"), IDS, rbif=True)
    assert verdict.verdict is Verdict.PARTIAL
    assert (verdict.failed, verdict.first_failed) == ((1, 3), 1)


def test_s05_fifo_progressive_partial_failures() -> None:
    """S05: [1,2,3,4] reports [2,3,4]; the retry [2,3,4] reports [4]."""
    first = judge_sqs_response(failures("m2", "m3", "m4"), ["m1", "m2", "m3", "m4"], rbif=True)
    assert first.failed == (1, 2, 3)
    second = judge_sqs_response(failures("m4"), ["m2", "m3", "m4"], rbif=True)
    assert second.failed == (2,)


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (failures(""), "invalid itemIdentifier"),  # B63: empty string
        (failures(None), "invalid itemIdentifier"),  # B63: null
        ({"batchItemFailures": [{"foo": "notvalid"}]}, "invalid itemIdentifier"),  # S07
        (failures(123), "invalid itemIdentifier"),
        (failures("id2", "id9"), "'id9' is not in the batch"),  # B63: not in the batch
        ({"batchItemFailures": ["id2"]}, "invalid itemIdentifier"),
        ({"batchItemFailures": {"itemIdentifier": "id2"}}, "batchItemFailures is not a list"),
        ("{not json", "response is a str, not an object"),  # B63: invalid JSON
        ([{"itemIdentifier": "id2"}], "response is a list, not an object"),
    ],
)
def test_b63_s07_malformed_responses_fail_the_whole_batch(response: Any, why: str) -> None:
    verdict = judge_sqs_response(response, IDS, rbif=True)
    assert (verdict.verdict, verdict.failed) == (Verdict.FAILURE, ())
    assert why in verdict.reason


def test_b60_without_report_batch_item_failures_any_response_is_success() -> None:
    """B60 (and B36's rule for SQS): the body is ignored; the batch is deleted."""
    for response in (failures("id1"), "{not json", failures("nope")):
        assert judge_sqs_response(response, IDS, rbif=False).verdict is Verdict.SUCCESS


def test_b73_a_duplicate_message_in_one_batch_fails_at_every_position() -> None:
    verdict = judge_sqs_response(failures("a", "a"), ["a", "b", "a"], rbif=True)
    assert verdict.failed == (0, 2)


# --------------------------------------------------------------------------- Kafka

ITEMS = [("orders-0", 99), ("orders-0", 100), ("orders-0", 101), ("orders-1", 100)]


def test_b83_only_the_reported_records_are_retried() -> None:
    """B83: orders-0/100 reported: only it fails; orders-0/101 after it is not retried."""
    response = failures({"partition": "orders-0", "offset": 100})
    verdict = judge_kafka_response(response, ITEMS, rbif=True)
    assert verdict.verdict is Verdict.PARTIAL
    assert (verdict.failed, verdict.first_failed) == ((1,), 1)


def test_b83_records_of_two_partitions() -> None:
    response = failures(
        {"partition": "orders-1", "offset": 100}, {"partition": "orders-0", "offset": "99"}
    )
    assert judge_kafka_response(response, ITEMS, rbif=True).failed == (0, 3)


@pytest.mark.parametrize(
    "identifier",
    [
        {"partition": "orders-2", "offset": 100},  # B83: topic-partition absent from the event
        {"partition": "orders-0", "offset": 102},  # B83: offset absent
        {"partition": "orders-0"},
        {"offset": 100},
        {"partition": "", "offset": 100},
        {"partition": "orders-0", "offset": True},
        {"partition": "orders-0", "offset": 100.5},
        "orders-0:100",
        None,
    ],
)
def test_b83_an_identifier_not_in_the_batch_fails_the_whole_batch(identifier: Any) -> None:
    verdict = judge_kafka_response(failures(identifier), ITEMS, rbif=True)
    assert verdict.verdict is Verdict.FAILURE
    assert "B83" in verdict.reason


@pytest.mark.parametrize("response", [None, {}, "", {"batchItemFailures": []}])
def test_kafka_success_shapes_and_rbif_off(response: Any) -> None:
    """Section 7: empty valid JSON or null is success; without RBIF any response is."""
    assert judge_kafka_response(response, ITEMS, rbif=True).verdict is Verdict.SUCCESS
    bad = failures({"partition": "nope-0", "offset": 1})
    assert judge_kafka_response(bad, ITEMS, rbif=False).verdict is Verdict.SUCCESS
