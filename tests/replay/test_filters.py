"""Scenario tests for Lambda ESM event filtering (replay/filters.py).

Case ids (D09a–i, S12a–i, K16, A06) and rule ids (B52–B54, B71, B72, B80) refer to
/work/shared/ESM-SEMANTICS.md; each test names the one it checks.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replay.filters import (
    INVALID_PATTERN_MESSAGE,
    MAX_DEPTH,
    ArrayPayload,
    BinaryPayload,
    FilterPatternError,
    FilterSet,
    ObjectPayload,
    Pattern,
    TextPayload,
    check_pattern_for_source,
    filter_view,
    match_records,
    parse_pattern,
    pattern_matches,
)
from replay.vocabulary import SourceKind

# --------------------------------------------------------------------------- record builders


def ddb_record(
    event_name: str,
    new_image: Mapping[str, Any] | None,
    *,
    old_image: Mapping[str, Any] | None = None,
    event_source: str = "aws:dynamodb",
    created: Any = 1_786_000_000,
) -> dict[str, Any]:
    """A DynamoDB Streams event record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": {"id": {"S": "id_value_1"}},
        "SequenceNumber": "100000000000000000001",
        "SizeBytes": 42,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        stream["NewImage"] = dict(new_image)
    if old_image is not None:
        stream["OldImage"] = dict(old_image)
    return {
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": event_source,
        "awsRegion": "eu-west-1",
        "dynamodb": stream,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026",
    }


def kinesis_record(data: bytes, *, partition_key: str = "1", seq: int = 1) -> dict[str, Any]:
    """A Kinesis event record as Lambda delivers it: ``data`` is base64."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": str(49590338271490256608559692538361571095921575989136588898 + seq),
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": 1_545_084_650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000006:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
    }


def kinesis_json(doc: Any, **kwargs: Any) -> dict[str, Any]:
    return kinesis_record(json.dumps(doc).encode(), **kwargs)


def sqs_record(
    body: str, message_id: str = "059f36b4-87a3-44ab-83d2-661975830a7d"
) -> dict[str, Any]:
    """An SQS event record as Lambda delivers it: ``body`` is the raw string."""
    return {
        "messageId": message_id,
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
        "awsRegion": "us-east-2",
    }


def sqs_json(doc: Any) -> dict[str, Any]:
    return sqs_record(json.dumps(doc))


def kafka_record(value: bytes, *, topic: str = "mytopic", offset: int = 15) -> dict[str, Any]:
    """One element of ``records["<topic>-<partition>"]`` in a Kafka event."""
    return {
        "topic": topic,
        "partition": 0,
        "offset": offset,
        "timestamp": 1_545_084_650_987,
        "timestampType": "CREATE_TIME",
        "value": base64.b64encode(value).decode(),
        "headers": [],
    }


def mask(
    kind: SourceKind, patterns: Sequence[Any], records: Sequence[Mapping[str, Any]]
) -> list[bool]:
    """The filter mask for ``records``; patterns may be given as dicts or JSON strings."""
    texts = [p if isinstance(p, str) else json.dumps(p) for p in patterns]
    result = match_records(kind, FilterSet.from_texts(texts), records)
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.bool_
    assert result.shape == (len(records),)
    return [bool(x) for x in result]


def matches(pattern: Any, view: Mapping[str, Any]) -> bool:
    """One pattern (dict or text) against a plain view."""
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return pattern_matches(parse_pattern(text), view)


DDB = SourceKind.DYNAMODB
SQS = SourceKind.SQS
KINESIS = SourceKind.KINESIS
KAFKA = SourceKind.KAFKA


# --------------------------------------------------------------------------- D09: DynamoDB


def test_d09a_insert_same_entry_twice_only_insert_matches() -> None:
    item = {"id": {"S": "id_value"}, "id2": {"S": "id2_value"}}
    records = [ddb_record("INSERT", item), ddb_record("MODIFY", item, old_image=item)]
    assert mask(DDB, [{"eventName": ["INSERT"]}], records) == [True, False]


def test_d09b_content_or_filter_insert_and_modify_match() -> None:
    first = {"id": {"S": "id_value"}}
    second = {"id": {"S": "id_value"}, "id2": {"S": "new"}}
    records = [
        ddb_record("INSERT", first),
        ddb_record("MODIFY", second, old_image=first),
        ddb_record("REMOVE", None, old_image=second),
    ]
    assert mask(DDB, [{"eventName": ["INSERT", "MODIFY"]}], records) == [True, True, False]


def test_d09c_content_multiple_filters_event_source_is_matchable() -> None:
    # LocalStack adds eventSource after filtering (section 14); AWS lets patterns see it.
    first = {"id": {"S": "id_value"}}
    records = [
        ddb_record("INSERT", first),
        ddb_record("MODIFY", first, old_image=first),
        ddb_record("INSERT", first, event_source="aws:somewhere-else"),
    ]
    pattern = {"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]}
    assert mask(DDB, [pattern], records) == [True, False, False]


def test_d09d_content_filter_type_addresses_typed_value() -> None:
    records = [
        ddb_record("INSERT", {"id": {"S": "id_value_1"}, "presentKey": {"S": "presentValue"}}),
        ddb_record("INSERT", {"id": {"S": "id_value_2"}}),
    ]
    typed = {"dynamodb": {"NewImage": {"presentKey": {"S": ["presentValue"]}}}}
    assert mask(DDB, [typed], records) == [True, False]


def test_d09d_without_type_level_the_pattern_never_matches() -> None:
    records = [ddb_record("INSERT", {"id": {"S": "1"}, "presentKey": {"S": "presentValue"}})]
    untyped = {"dynamodb": {"NewImage": {"presentKey": ["presentValue"]}}}
    assert mask(DDB, [untyped], records) == [False]


def test_d09e_exists_filter_type() -> None:
    records = [
        ddb_record("INSERT", {"id": {"S": "id_value_1"}, "presentKey": {"S": "presentValue"}}),
        ddb_record("INSERT", {"id": {"S": "id_value_2"}}),
    ]
    pattern = {"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}}
    assert mask(DDB, [pattern], records) == [True, False]


def test_d09f_exists_false_on_attribute_name_passes_typed_maps() -> None:
    # AWS invoked for BOTH items: the typed map {"S": ...} is not a leaf, so the name "does not
    # exist" for the operator. Only a (malformed) leaf value under that name fails.
    records = [
        ddb_record("INSERT", {"id": {"S": "id_value_1"}}),
        ddb_record("INSERT", {"id": {"S": "id_value_2"}, "presentKey": {"S": "presentValue"}}),
        ddb_record("INSERT", {"id": {"S": "id_value_3"}, "presentKey": "raw-leaf"}),
    ]
    pattern = {"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}}
    assert mask(DDB, [pattern], records) == [True, True, False]


def test_d09g_numeric_never_matches_n_strings_anything_but_does() -> None:
    records = [
        ddb_record("INSERT", {"id": {"S": "1"}, "numericFilter": {"N": "42"}}),
        ddb_record("INSERT", {"id": {"S": "2"}, "numericFilter": {"N": "101"}}),
    ]
    pattern = {
        "dynamodb": {
            "NewImage": {"numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}
        }
    }
    assert mask(DDB, [pattern], records) == [True, False]


def test_d09h_prefix_filter() -> None:
    records = [
        ddb_record("INSERT", {"id": {"S": "1"}, "prefix": {"S": "us-1-other-suffix"}}),
        ddb_record("INSERT", {"id": {"S": "2"}, "prefix": {"S": "other-suffix"}}),
    ]
    pattern = {"dynamodb": {"NewImage": {"prefix": {"S": [{"prefix": "us-1"}]}}}}
    assert mask(DDB, [pattern], records) == [True, False]


def test_d09i_approximate_creation_date_time_is_numeric() -> None:
    item = {"id": {"S": "1"}}
    records = [
        ddb_record("INSERT", item, created=1_786_000_000),
        ddb_record("MODIFY", item, old_image=item, created=1_786_000_001),
        ddb_record("INSERT", item, created=0),
    ]
    pattern = {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}
    assert mask(DDB, [pattern], records) == [True, True, False]


def test_d09i_datetime_in_a_capture_is_seen_as_epoch_seconds() -> None:
    created = datetime(2026, 8, 7, 12, 0, 0, 900_000, tzinfo=UTC)
    record = ddb_record("INSERT", {"id": {"S": "1"}}, created=created)
    view = filter_view(DDB, record)
    assert view["dynamodb"]["ApproximateCreationDateTime"] == int(created.timestamp())
    assert record["dynamodb"]["ApproximateCreationDateTime"] is created  # record untouched
    pattern = {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}
    assert mask(DDB, [pattern], [record]) == [True]


# --------------------------------------------------------------------------- S12: SQS


S12_CASES = [
    pytest.param(
        {"body": {"my-key": ["my-value"]}},
        {"my-key": "my-value"},
        {"my-key": "other-value"},
        id="S12a-single",
    ),
    pytest.param(
        {"body": {"my-key": ["my-value-one", "my-value-two"]}},
        {"my-key": "my-value-two"},
        {"my-key": "other-value"},
        id="S12b-or",
    ),
    pytest.param(
        {"body": {"my-key-one": ["other-filter", "my-value-one"], "my-key-two": ["my-value-two"]}},
        {"my-key-one": "my-value-one", "my-key-two": "my-value-two"},
        {"my-key-one": "my-value-one", "my-key-two": "other-value"},
        id="S12c-and",
    ),
    pytest.param(
        {"body": {"my-key": [{"exists": True}]}},
        {"my-key": "any-value"},
        {"other-key": "any-value"},
        id="S12d-exists",
    ),
    pytest.param(
        {"body": {"my-number": [{"numeric": [">", 100]}]}},
        {"my-number": 101},
        {"my-number": 100},
        id="S12e-numeric-greater",
    ),
    pytest.param(
        {"body": {"my-number": [{"numeric": ["<", 100]}]}},
        {"my-number": 99},
        {"my-number": 100},
        id="S12f-numeric-less",
    ),
    pytest.param(
        {"body": {"my-number": [{"numeric": [">=", 100, "<", 200]}]}},
        {"my-number": 100},
        {"my-number": 200},
        id="S12g-numeric-range",
    ),
    pytest.param(
        {"body": {"my-key": [{"prefix": "yes"}]}},
        {"my-key": "yes-value"},
        {"my-key": "no-value"},
        id="S12h-prefix",
    ),
]


@pytest.mark.parametrize(("pattern", "matching", "non_matching"), S12_CASES)
def test_s12_sqs_filter_criteria(
    pattern: dict[str, Any], matching: dict[str, Any], non_matching: dict[str, Any]
) -> None:
    """S12a–h: exactly the matching message passes; B71: the caller deletes the other."""
    records = [sqs_json(matching), sqs_json(non_matching)]
    assert mask(SQS, [pattern], records) == [True, False]


def test_s12i_valid_json_filter_drops_plain_string_body() -> None:
    records = [sqs_json({"my-key": "my-value"}), sqs_record("plain-string")]
    assert mask(SQS, [{"body": {"my-key": ["my-value"]}}], records) == [True, False]


def test_s12_numeric_filter_against_plain_text_body_drops_it() -> None:
    # The 2024 snapshots of S12 include a numeric filter against a plain-text body.
    records = [sqs_json({"my-number": 150}), sqs_record("150")]
    assert mask(SQS, [{"body": {"my-number": [{"numeric": [">", 100]}]}}], records) == [True, False]


def test_b71_unmatched_sqs_messages_are_marked_false_in_order() -> None:
    bodies = [{"k": "a"}, {"k": "b"}, {"k": "a"}, {"k": "c"}]
    records = [sqs_record(json.dumps(b), message_id=f"m{i}") for i, b in enumerate(bodies)]
    assert mask(SQS, [{"body": {"k": ["a"]}}], records) == [True, False, True, False]


def test_b72_json_body_with_plain_string_pattern_is_dropped() -> None:
    records = [sqs_json({"k": "v"}), sqs_record("v")]
    assert mask(SQS, [{"body": ["v"]}], records) == [False, True]
    # Even operators that would hold on "no leaf" cannot rescue the mismatch.
    assert mask(SQS, [{"body": [{"exists": False}]}], [sqs_json({"k": "v"})]) == [False]


def test_b72_plain_body_with_json_pattern_is_dropped_even_for_exists_false() -> None:
    assert mask(SQS, [{"body": {"k": [{"exists": False}]}}], [sqs_record("plain")]) == [False]
    assert mask(SQS, [{"body": {"k": [{"exists": False}]}}], [sqs_json({"j": 1})]) == [True]


def test_b72_no_body_pattern_filters_on_metadata_only() -> None:
    records = [sqs_json({"k": "v"}), sqs_record("plain")]
    assert mask(SQS, [{"awsRegion": ["us-east-2"]}], records) == [True, True]
    assert mask(SQS, [{"awsRegion": ["eu-west-1"]}], records) == [False, False]


def test_b72_plain_string_pattern_operators_on_plain_body() -> None:
    records = [sqs_record("ERROR: disk full"), sqs_record("INFO: ok")]
    assert mask(SQS, [{"body": [{"prefix": "ERROR"}]}], records) == [True, False]
    assert mask(SQS, [{"body": [{"anything-but": ["INFO: ok"]}]}], records) == [True, False]


def test_sqs_scalar_json_body_is_treated_as_plain_text() -> None:
    # UNCONFIRMED choice: "42" is valid JSON but not a document; string operators still apply.
    assert mask(SQS, [{"body": ["42"]}], [sqs_record("42")]) == [True]
    assert mask(SQS, [{"body": [42]}], [sqs_record("42")]) == [False]
    assert isinstance(filter_view(SQS, sqs_record("42"))["body"], TextPayload)


def test_sqs_json_array_body_is_json() -> None:
    record = sqs_json([{"k": "a"}, {"k": "b"}])
    assert isinstance(filter_view(SQS, record)["body"], ArrayPayload)
    assert mask(SQS, [{"body": {"k": ["b"]}}], [record]) == [True]
    assert mask(SQS, [{"body": ["x"]}], [record]) == [False]


# --------------------------------------------------------------------------- K16, B52, B53: Kinesis


def test_k16_two_esms_with_different_patterns_on_the_same_records() -> None:
    records = [
        kinesis_json({"event_type": "function_1", "message": "foo"}, seq=1),
        kinesis_json({"event_type": "function_2", "message": "bar"}, seq=2),
    ]
    before = copy.deepcopy(records)
    esm1 = mask(KINESIS, [{"data": {"event_type": ["function_1"]}}], records)
    esm2 = mask(KINESIS, [{"data": {"event_type": ["function_2"]}}], records)
    assert esm1 == [True, False]
    assert esm2 == [False, True]
    # The function still receives the original base64 bytes.
    assert records == before


def test_k16_filter_view_flattens_kinesis_and_decodes_data() -> None:
    record = kinesis_json({"event_type": "function_1"}, partition_key="pk-7")
    view = filter_view(KINESIS, record)
    assert view["data"] == {"event_type": "function_1"}
    assert isinstance(view["data"], ObjectPayload)
    assert view["partitionKey"] == "pk-7"
    assert view["eventSource"] == "aws:kinesis"
    assert "kinesis" not in view
    assert record["kinesis"]["data"] == base64.b64encode(b'{"event_type": "function_1"}').decode()


def test_b52_docs_example_partition_key_and_data_location() -> None:
    pattern = {"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}
    records = [
        kinesis_json({"Location": "Los Angeles"}, partition_key="1"),
        kinesis_json({"Location": "Los Angeles"}, partition_key="2"),
        kinesis_json({"Location": "Seattle"}, partition_key="1"),
    ]
    assert mask(KINESIS, [pattern], records) == [True, False, False]


def test_b52_temperature_range_docs_example() -> None:
    pattern = {"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}
    records = [kinesis_json({"Temperature": t}) for t in (50, 51, 60, 61)]
    assert mask(KINESIS, [pattern], records) == [False, True, True, False]


def test_b52_pattern_on_a_key_absent_from_the_view_does_not_match() -> None:
    record = kinesis_json({"a": 1})
    assert mask(KINESIS, [{"kinesis": {"partitionKey": ["1"]}}], [record]) == [False]
    assert mask(KINESIS, [{"shardId": [{"exists": False}]}], [record]) == [True]


def test_b53_non_json_data_with_a_data_pattern_is_dropped() -> None:
    records = [kinesis_record(b"hello world"), kinesis_json({"x": 1})]
    assert mask(KINESIS, [{"data": {"x": [1]}}], records) == [False, True]
    # exists:false cannot rescue a non-JSON payload either.
    assert mask(KINESIS, [{"data": {"x": [{"exists": False}]}}], records) == [False, False]


def test_b53_metadata_only_pattern_still_evaluates_on_non_json_data() -> None:
    records = [
        kinesis_record(b"hello", partition_key="a"),
        kinesis_record(b"hello", partition_key="b"),
    ]
    assert mask(KINESIS, [{"partitionKey": ["a"]}], records) == [True, False]


def test_b53_non_utf8_and_bad_base64_data_are_non_json() -> None:
    binary = kinesis_record(b"\xff\xfe\x00{")
    corrupt = kinesis_record(b"")
    corrupt["kinesis"]["data"] = "%%% not base64 %%%"
    assert isinstance(filter_view(KINESIS, binary)["data"], BinaryPayload)
    assert mask(KINESIS, [{"data": {"x": [{"exists": False}]}}], [binary, corrupt]) == [
        False,
        False,
    ]


def test_b53_json_scalar_data_is_not_a_json_document() -> None:
    assert mask(KINESIS, [{"data": {"x": [{"exists": False}]}}], [kinesis_record(b"42")]) == [False]


def test_b53_trailing_garbage_after_json_is_not_json() -> None:
    record = kinesis_record(b'{"x": 1} trailing')
    assert isinstance(filter_view(KINESIS, record)["data"], TextPayload)
    assert mask(KINESIS, [{"data": {"x": [1]}}], [record]) == [False]
    spaced = kinesis_record(b'  \n{"x": 1}\n  ')
    assert mask(KINESIS, [{"data": {"x": [1]}}], [spaced]) == [True]


def test_kinesis_record_already_flat_is_accepted() -> None:
    flat = {"partitionKey": "1", "data": base64.b64encode(b'{"a": "b"}').decode()}
    assert mask(KINESIS, [{"data": {"a": ["b"]}}], [flat]) == [True]


# --------------------------------------------------------------------------- B54: OR / AND


def test_b54_or_across_filters_and_within_a_filter() -> None:
    patterns = [{"data": {"a": ["1"], "b": ["2"]}}, {"data": {"c": ["3"]}}]
    records = [
        kinesis_json({"a": "1", "b": "2"}),
        kinesis_json({"a": "1"}),
        kinesis_json({"c": "3"}),
        kinesis_json({"a": "1", "b": "9", "c": "9"}),
    ]
    assert mask(KINESIS, patterns, records) == [True, False, True, False]


def test_b54_filter_set_matches_and_empty_set_matches_everything() -> None:
    filters = FilterSet.from_texts(['{"a": ["x"]}', '{"b": ["y"]}'])
    assert filters.matches({"a": "x"})
    assert filters.matches({"b": "y"})
    assert not filters.matches({"a": "y", "b": "x"})
    assert FilterSet().matches({"anything": 1})
    assert FilterSet.from_texts([]).matches({})


def test_b54_empty_filter_set_mask_counts_a_generator() -> None:
    records = (sqs_record("x") for _ in range(3))
    result = match_records(SQS, FilterSet(), records)
    assert result.tolist() == [True, True, True]


# --------------------------------------------------------------------------- B80: Kafka


def test_b80_kafka_value_is_decoded_json() -> None:
    pattern = {"value": {"device_ID": [{"prefix": "AB"}]}}
    records = [
        kafka_record(json.dumps({"device_ID": "AB1234", "session": {"duration": 162}}).encode()),
        kafka_record(json.dumps({"device_ID": "CD5678"}).encode()),
    ]
    assert mask(KAFKA, [pattern], records) == [True, False]


def test_b80_kafka_plain_string_value_with_anything_but() -> None:
    pattern = {"value": [{"anything-but": ["error"]}]}
    records = [kafka_record(b"all good"), kafka_record(b"error")]
    assert mask(KAFKA, [pattern], records) == [True, False]


def test_b80_kafka_format_mismatch_filters_on_metadata_only() -> None:
    # kafka-filtering.html: a mismatch or a non-UTF-8 value → "filters on the other metadata
    # properties only" — the value part is ignored, the rest of the pattern still decides.
    json_pattern = {"topic": ["mytopic"], "value": {"k": ["v"]}}
    plain_pattern = {"topic": ["mytopic"], "value": ["v"]}
    plain = kafka_record(b"just text")
    doc = kafka_record(b'{"k": "other"}')
    binary = kafka_record(b"\xff\xfe")
    other_topic = kafka_record(b"just text", topic="elsewhere")
    assert mask(KAFKA, [json_pattern], [plain, doc, binary, other_topic]) == [
        True,
        False,
        True,
        False,
    ]
    assert mask(KAFKA, [plain_pattern], [plain, doc, binary]) == [False, True, True]


def test_b80_kafka_metadata_pattern_does_not_need_the_value() -> None:
    records = [kafka_record(b"x", offset=1), kafka_record(b"y", offset=2)]
    assert mask(KAFKA, [{"offset": [{"numeric": [">", 1]}]}], records) == [False, True]


# --------------------------------------------------------------------------- A06: validation


INVALID_PATTERNS = [
    pytest.param('"a bare string"', id="A06-bare-json-string"),
    pytest.param("plain-string", id="A06-plain-string"),
    pytest.param('{"eventName": ["INSERT"]', id="A06-malformed-json"),
    pytest.param("null", id="A06-null"),
    pytest.param('{"eventSource": "aws:sqs"}', id="A06-value-not-array"),
    pytest.param('{"eventSource": []}', id="A06-empty-array"),
    pytest.param("", id="empty-text"),
    pytest.param("[]", id="top-level-array"),
    pytest.param("{}", id="empty-object"),
    pytest.param('{"a": {}}', id="nested-empty-object"),
    pytest.param('{"a": 1}', id="number-value"),
    pytest.param('{"a": null}', id="null-value"),
    pytest.param('{"a": [[1]]}', id="nested-array"),
    pytest.param('{"a": [NaN]}', id="nan"),
    pytest.param('{"a": [{"unknown": 1}]}', id="unknown-operator"),
    pytest.param('{"a": [{}]}', id="empty-operator-object"),
    pytest.param('{"a": [{"prefix": "x", "suffix": "y"}]}', id="two-operators-in-one-object"),
    pytest.param('{"a": [{"prefix": 1}]}', id="prefix-not-string"),
    pytest.param('{"a": [{"suffix": null}]}', id="suffix-not-string"),
    pytest.param('{"a": [{"equals-ignore-case": 1}]}', id="equals-ignore-case-not-string"),
    pytest.param('{"a": [{"exists": "true"}]}', id="exists-not-boolean"),
    pytest.param('{"a": [{"numeric": 5}]}', id="numeric-not-array"),
    pytest.param('{"a": [{"numeric": [">"]}]}', id="numeric-missing-operand"),
    pytest.param('{"a": [{"numeric": [">", "1"]}]}', id="numeric-string-operand"),
    pytest.param('{"a": [{"numeric": [">", true]}]}', id="numeric-boolean-operand"),
    pytest.param('{"a": [{"numeric": ["==", 1]}]}', id="numeric-bad-operator"),
    pytest.param('{"a": [{"numeric": ["<", 1, ">", 0]}]}', id="numeric-upper-bound-first"),
    pytest.param('{"a": [{"numeric": [">", 5, "<", 1]}]}', id="numeric-empty-range"),
    pytest.param('{"a": [{"numeric": ["=", 1, "<", 2]}]}', id="numeric-equals-with-bound"),
    pytest.param('{"a": [{"numeric": [">", 0, "<", 1, "<", 2]}]}', id="numeric-three-bounds"),
    pytest.param('{"a": [{"numeric": ["=", 6e9]}]}', id="numeric-above-5e9"),
    pytest.param('{"a": [{"numeric": [">", -5000000001]}]}', id="numeric-below-minus-5e9"),
    pytest.param('{"a": [{"anything-but": []}]}', id="anything-but-empty-list"),
    pytest.param('{"a": [{"anything-but": ["x", 1]}]}', id="anything-but-mixed-types"),
    pytest.param('{"a": [{"anything-but": null}]}', id="anything-but-null"),
    pytest.param('{"a": [{"anything-but": [true]}]}', id="anything-but-boolean"),
    pytest.param('{"a": [{"anything-but": [7e9]}]}', id="anything-but-number-out-of-range"),
    pytest.param('{"a": [{"anything-but": {"prefix": "x"}}]}', id="refused-anything-but-prefix"),
    pytest.param('{"a": [{"anything-but": {"suffix": "x"}}]}', id="refused-anything-but-suffix"),
    pytest.param('{"a": [{"wildcard": "x*"}]}', id="refused-wildcard"),
    pytest.param('{"a": [{"cidr": "10.0.0.0/8"}]}', id="refused-cidr"),
    pytest.param(
        '{"a": [{"prefix": {"equals-ignore-case": "x"}}]}', id="refused-prefix-ignore-case"
    ),
    pytest.param('{"$or": [{"a": ["1"]}]}', id="or-single-branch"),
    pytest.param('{"$or": {"a": ["1"]}}', id="or-not-array"),
    pytest.param('{"$or": [{"a": ["1"]}, "b"]}', id="or-member-not-object"),
    pytest.param('{"$or": [{"a": ["1"]}, {}]}', id="or-empty-branch"),
    pytest.param('{"$or": [{"prefix": ["1"]}, {"b": ["2"]}]}', id="or-operator-name-as-field"),
]


@pytest.mark.parametrize("text", INVALID_PATTERNS)
def test_a06_invalid_patterns_are_rejected_with_aws_message(text: str) -> None:
    with pytest.raises(FilterPatternError) as caught:
        parse_pattern(text)
    assert str(caught.value) == INVALID_PATTERN_MESSAGE
    assert caught.value.detail
    assert isinstance(caught.value, ValueError)


def test_a06_non_string_pattern_is_rejected() -> None:
    with pytest.raises(FilterPatternError):
        parse_pattern(None)  # type: ignore[arg-type]


def test_a06_filter_set_reports_the_first_invalid_pattern() -> None:
    with pytest.raises(FilterPatternError):
        FilterSet.from_texts(['{"a": ["ok"]}', '{"eventSource": []}'])


def test_from_texts_refuses_a_single_string() -> None:
    with pytest.raises(TypeError):
        FilterSet.from_texts('{"a": ["x"]}')


VALID_PATTERNS = [
    pytest.param('{"a": [null]}', id="null"),
    pytest.param('{"a": [""]}', id="empty-string"),
    pytest.param('{"a": [1, "1", true, null]}', id="mixed-exact-values"),
    pytest.param('{"a": [{"numeric": ["=", 5e9]}]}', id="numeric-at-5e9"),
    pytest.param('{"a": [{"numeric": ["<=", -5e9]}]}', id="numeric-at-minus-5e9"),
    pytest.param('{"a": [{"anything-but": 5}]}', id="anything-but-number"),
    pytest.param('{"a": [{"anything-but": [1, 2.5]}]}', id="anything-but-numbers"),
    pytest.param('{"a": [{"prefix": ""}]}', id="empty-prefix"),
    pytest.param('{"a": [123456789012]}', id="exact-number-beyond-numeric-range"),
    pytest.param('{"$or": [{"a": ["1"]}, {"b": ["2"]}, {"c": {"d": ["3"]}}]}', id="or"),
    pytest.param('{"x": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}', id="nested-or"),
    pytest.param('{"prefix": ["x"], "numeric": {"exists": [1]}}', id="operator-names-as-fields"),
]


@pytest.mark.parametrize("text", VALID_PATTERNS)
def test_valid_patterns_are_accepted(text: str) -> None:
    assert isinstance(parse_pattern(text), Pattern)


def test_nesting_beyond_the_depth_limit_is_refused() -> None:
    """esm-replay's own limit (MAX_DEPTH): matching recurses once per level."""

    def nested(levels: int) -> str:
        return '{"a":' * levels + "[1]" + "}" * levels

    deepest = parse_pattern(nested(MAX_DEPTH))
    view: Any = 1
    for _ in range(MAX_DEPTH):
        view = {"a": view}
    assert pattern_matches(deepest, view)
    with pytest.raises(FilterPatternError):
        parse_pattern(nested(MAX_DEPTH + 1))


def test_duplicate_keys_keep_the_last_value() -> None:
    pattern = parse_pattern('{"k": ["hello"], "u": ["t"], "k": ["world"]}')
    assert pattern_matches(pattern, {"k": "world", "u": "t"})
    assert not pattern_matches(pattern, {"k": "hello", "u": "t"})


def test_pattern_equality_ignores_formatting_and_key_order() -> None:
    one = parse_pattern('{"a": ["x"], "b": {"c": [1]}}')
    two = parse_pattern('{ "b" : { "c" : [ 1 ] } ,\n "a": ["x"] }')
    assert one == two
    assert hash(one) == hash(two)
    assert one.top_keys == frozenset({"a", "b"})
    assert one.top_leaf_keys == frozenset({"a"})


def test_top_keys_look_through_top_level_or() -> None:
    pattern = parse_pattern('{"$or": [{"data": {"a": ["1"]}}, {"partitionKey": ["p"]}]}')
    assert pattern.top_keys == frozenset({"data", "partitionKey"})


@pytest.mark.parametrize(
    ("kind", "text", "ok"),
    [
        pytest.param(KINESIS, '{"data": ["x"]}', False, id="kinesis-plain-data-pattern"),
        pytest.param(KINESIS, '{"data": {"a": ["x"]}}', True, id="kinesis-json-data-pattern"),
        pytest.param(DDB, '{"dynamodb": [{"exists": true}]}', False, id="ddb-plain-pattern"),
        pytest.param(SQS, '{"body": ["x"]}', True, id="sqs-plain-body-pattern"),
        pytest.param(KAFKA, '{"value": ["x"]}', True, id="kafka-plain-value-pattern"),
        pytest.param(KINESIS, '{"partitionKey": ["x"]}', True, id="kinesis-metadata-only"),
    ],
)
def test_check_pattern_for_source(kind: SourceKind, text: str, ok: bool) -> None:
    """2022 docs: a non-JSON data pattern fails stream ESM creation; SQS/Kafka accept it."""
    pattern = parse_pattern(text)
    if ok:
        check_pattern_for_source(kind, pattern)
    else:
        with pytest.raises(FilterPatternError):
            check_pattern_for_source(kind, pattern)


# --------------------------------------------------------------------------- operator edge cases


def test_exact_strings_are_case_sensitive_equals_ignore_case_is_not() -> None:
    assert matches({"Name": ["Alice"]}, {"Name": "Alice"})
    assert not matches({"Name": ["Alice"]}, {"Name": "alice"})
    assert matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"})
    assert matches({"Name": [{"equals-ignore-case": "ÉCOLE"}]}, {"Name": "école"})
    assert not matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "alicia"})


def test_suffix_and_prefix_only_match_strings() -> None:
    assert matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "cat.png"})
    assert not matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "cat.PNG"})
    assert not matches({"n": [{"prefix": "1"}]}, {"n": 123})
    assert matches({"n": [{"prefix": ""}]}, {"n": "anything"})


def test_null_matches_only_null() -> None:
    pattern = {"UserID": [None]}
    assert matches(pattern, {"UserID": None})
    assert not matches(pattern, {})
    assert not matches(pattern, {"UserID": "null"})
    assert not matches({"UserID": ["null"]}, {"UserID": None})


def test_empty_string_matches_only_empty_string() -> None:
    assert matches({"LastName": [""]}, {"LastName": ""})
    assert not matches({"LastName": [""]}, {"LastName": None})
    assert not matches({"LastName": [""]}, {})


def test_exact_numbers_compare_numerically_but_never_as_strings_or_booleans() -> None:
    assert matches({"n": [1]}, {"n": 1.0})
    assert matches({"n": [300]}, {"n": 3.0e2})
    assert not matches({"n": [1]}, {"n": "1"})
    assert not matches({"n": ["1"]}, {"n": 1})
    assert not matches({"n": [1]}, {"n": True})
    assert matches({"b": [True]}, {"b": True})
    assert not matches({"b": [True]}, {"b": 1})
    assert not matches({"b": [True]}, {"b": "true"})
    assert matches({"n": [0]}, {"n": -0.0})


def test_numeric_equals_and_range_bounds() -> None:
    assert matches({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100.0})
    assert not matches({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100.5})
    assert matches({"p": [{"numeric": [">=", 1]}]}, {"p": 1})
    assert not matches({"p": [{"numeric": [">", 1]}]}, {"p": 1})
    assert matches({"p": [{"numeric": ["<=", 1]}]}, {"p": 1})
    assert matches({"p": [{"numeric": [">", 10, "<=", 20]}]}, {"p": 20})
    assert not matches({"p": [{"numeric": [">", 10, "<=", 20]}]}, {"p": 10})


def test_numeric_ignores_strings_booleans_and_values_beyond_5e9() -> None:
    pattern = {"n": [{"numeric": [">", 0]}]}
    assert not matches(pattern, {"n": "5"})
    assert not matches(pattern, {"n": True})
    assert not matches(pattern, {"n": 6_000_000_000})
    assert matches(pattern, {"n": 5_000_000_000})


def test_arrays_in_records_match_when_any_element_matches() -> None:
    view = {"tags": ["a", "b", ["c", None]]}
    assert matches({"tags": ["b"]}, view)
    assert matches({"tags": ["c"]}, view)
    assert matches({"tags": [None]}, view)
    assert not matches({"tags": ["z"]}, view)
    # anything-but on an array: any element outside the set is enough (EventBridge semantics).
    assert matches({"tags": [{"anything-but": "a"}]}, view)
    assert not matches({"tags": [{"anything-but": "a"}]}, {"tags": ["a", "a"]})


def test_exists_on_arrays_and_intermediate_nodes() -> None:
    assert not matches({"a": [{"exists": True}]}, {"a": []})
    assert matches({"a": [{"exists": False}]}, {"a": []})
    assert matches({"a": [{"exists": True}]}, {"a": None})
    # Lambda docs: exists only works on leaf nodes; "address" is an intermediate node.
    person = {"person": {"name": "John Doe", "address": {"street": "123 Main St"}}}
    assert not matches({"person": {"address": [{"exists": True}]}}, person)
    assert matches({"person": {"address": [{"exists": False}]}}, person)
    assert not matches({"person": {"address": [{"exists": False}]}}, {"person": {"address": "x"}})


def test_arrays_of_objects_match_one_element_as_a_whole() -> None:
    view = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    assert matches({"items": {"sku": ["a"], "qty": [1]}}, view)
    assert not matches({"items": {"sku": ["a"], "qty": [2]}}, view)


def test_nested_pattern_over_a_leaf_sees_no_fields() -> None:
    assert matches({"a": {"b": [{"exists": False}]}}, {"a": 5})
    assert not matches({"a": {"b": [5]}}, {"a": 5})
    assert matches({"a": {"b": [{"exists": False}]}}, {})


def test_anything_but_needs_a_present_value_and_respects_types() -> None:
    assert not matches({"Weather": [{"anything-but": ["Raining"]}]}, {})
    assert matches({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"})
    assert not matches({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Raining"})
    numbers = {"x": [{"anything-but": [100, 200]}]}
    assert not matches(numbers, {"x": 100.0})
    assert matches(numbers, {"x": 150})
    assert matches(numbers, {"x": "100"})
    assert matches({"x": [{"anything-but": "101"}]}, {"x": 101})
    assert matches({"x": [{"anything-but": "x"}]}, {"x": None})


def test_or_across_fields() -> None:
    pattern = {"source": ["s"], "$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
    assert matches(pattern, {"source": "s", "Location": "New York"})
    assert matches(pattern, {"source": "s", "Day": "Monday"})
    assert not matches(pattern, {"source": "s", "Day": "Sunday"})
    assert not matches(pattern, {"source": "t", "Day": "Monday"})
    nested = {"detail": {"$or": [{"a": [1]}, {"b": {"$or": [{"c": [2]}, {"d": [3]}]}}]}}
    assert matches(nested, {"detail": {"b": {"d": 3}}})
    assert not matches(nested, {"detail": {"b": {"d": 4}}})


def test_or_on_sqs_body_applies_the_format_rule_per_branch() -> None:
    pattern = {"$or": [{"body": {"k": ["v"]}}, {"messageId": ["m1"]}]}
    records = [sqs_record("plain", message_id="m1"), sqs_record("plain", message_id="m2")]
    assert mask(SQS, [pattern], records) == [True, False]


def test_filter_view_does_not_modify_records() -> None:
    records = [
        kinesis_json({"a": 1}),
        sqs_json({"a": 1}),
        kafka_record(b'{"a": 1}'),
        ddb_record("INSERT", {"id": {"S": "1"}}),
    ]
    kinds = [KINESIS, SQS, KAFKA, DDB]
    before = copy.deepcopy(records)
    for kind, record in zip(kinds, records, strict=True):
        filter_view(kind, record)
    assert records == before


def test_payload_views_are_json_serialisable() -> None:
    view = filter_view(SQS, sqs_json({"a": [1, {"b": None}]}))
    assert json.loads(json.dumps(view))["body"] == {"a": [1, {"b": None}]}


# --------------------------------------------------------------------------- properties

_KEYS = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P")), min_size=1, max_size=8
).filter(lambda k: k != "$or")
_SCALARS = st.one_of(
    st.text(max_size=10),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_VALUES = st.recursive(
    st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)),
    lambda children: st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=12,
)
_RECORDS = st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=5)


def _pattern_from(record: Mapping[str, Any], *, use_exists: bool) -> dict[str, Any]:
    """A pattern naming every leaf path of ``record`` with the record's own value."""
    pattern: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            sub = _pattern_from(value, use_exists=use_exists)
            if sub:
                pattern[key] = sub
        elif isinstance(value, list):
            if not value:
                pattern[key] = [{"exists": False}]
            else:
                pattern[key] = [{"exists": True}] if use_exists else [value[-1]]
        else:
            pattern[key] = [{"exists": True}] if use_exists else [value]
    return pattern


@settings(max_examples=200, deadline=None)
@given(record=_RECORDS, use_exists=st.booleans())
def test_property_pattern_built_from_own_values_matches(
    record: dict[str, Any], use_exists: bool
) -> None:
    pattern = _pattern_from(record, use_exists=use_exists)
    if not pattern:
        return
    assert matches(pattern, record)
    # The same holds through an SQS body (JSON payload) view.
    assert mask(SQS, [{"body": pattern}], [sqs_json(record)]) == [True]


_IN_RANGE_NUMBERS = st.one_of(
    st.integers(min_value=-5_000_000_000, max_value=5_000_000_000),
    st.floats(min_value=-5e9, max_value=5e9, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(st.text(max_size=5), _IN_RANGE_NUMBERS, st.booleans(), st.none()),
    operand=st.one_of(st.text(max_size=5), _IN_RANGE_NUMBERS),
    same=st.booleans(),
)
def test_property_anything_but_is_the_negation_of_exact_match_for_scalars(
    value: Any, operand: Any, same: bool
) -> None:
    if same and not isinstance(value, bool | type(None)):
        operand = value  # make equal values common, not left to chance
    view = {"f": value}
    exact = matches({"f": [operand]}, view)
    but = matches({"f": [{"anything-but": operand}]}, view)
    assert but == (not exact)
