"""Stream response rules: 2.5, B36–B42, B55, K10, K11, D07, D08."""

from typing import Any

import pytest

from replay.responses import Verdict, judge_stream_response

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
