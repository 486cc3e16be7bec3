"""Redaction that cannot leak silently: methods are checked, rules that match nothing are reported
(a warning line each, and ``unmatched`` in the manifest), a resumed capture counts what it already
wrote, and ``key`` reaches every copy of the key (DynamoDB images, SQS system attributes)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from captures.redact import MASK, Redactor, parse_rule
from replay.errors import UserError
from replay.formats.capture import Manifest, SourceInfo, write_capture
from replay.vocabulary import SourceKind


def _kinesis(docs: list[object]) -> pa.Table:
    n = len(docs)
    return pa.table(
        {
            "shard": ["shardId-000000000000"] * n,
            "seq": [str(i + 1) for i in range(n)],
            "key": [f"k{i}" for i in range(n)],
            "data": [json.dumps(d).encode() if not isinstance(d, bytes) else d for d in docs],
        }
    )


@pytest.mark.parametrize(
    ("spec", "method"),
    [("$.secret=rot13", "rot13"), ("key=MASK", "MASK"), ("attribute:ssn=", ""), ("$.a=b", "b")],
)
def test_a_word_after_the_last_equals_must_be_a_method(spec: str, method: str) -> None:
    with pytest.raises(UserError) as err:
        parse_rule(spec)
    text = str(err.value)
    assert "\n" not in text
    assert f"unknown method {method!r}" in text and "mask and hash" in text
    assert f"{spec + '=mask'!r}" in text  # how to write a target that contains '='


def test_a_target_containing_equals_is_written_with_its_method() -> None:
    assert parse_rule("$.a=b=mask") == parse_rule("$.a=b=mask ")
    rule = parse_rule("$.a=b=hash")
    assert (rule.target, rule.method, rule.kind) == ("$.a=b", "hash", "path")
    assert (parse_rule("attribute:x=y=mask").name, parse_rule("key").method) == ("x=y", "mask")
    r = Redactor.build(["$.q=1=mask"])
    assert r is not None
    out = r.apply(_kinesis([{"q=1": "secret", "q": "keep"}]), SourceKind.KINESIS)
    assert json.loads(out.column("data")[0].as_py()) == {"q=1": MASK, "q": "keep"}
    assert r.unmatched() == []


def test_rules_that_match_nothing_are_warned_about_and_recorded() -> None:
    r = Redactor.build(["$.user.email", "$.user.emial", "header:auth", "attribute:ssn=mask"])
    assert r is not None
    r.apply(_kinesis([{"user": {"email": "a@x"}}, {"user": {"email": "b@x"}}]), SourceKind.KINESIS)
    r.apply(_kinesis([{"user": {}}]), SourceKind.KINESIS)
    assert [u.target for u in r.unmatched()] == ["$.user.emial", "header:auth", "attribute:ssn"]
    assert r.warnings() == [
        "warning: --redact '$.user.emial' matched nothing in 3 record(s)",
        "warning: --redact 'header:auth' matched nothing in 3 record(s) "
        "(header: rules apply to kafka records only)",
        "warning: --redact 'attribute:ssn=mask' matched nothing in 3 record(s) "
        "(attribute: rules apply to dynamodb and sqs records only)",
    ]
    described = r.describe()
    assert described["unmatched"] == [
        {"target": "$.user.emial", "method": "mask"},
        {"target": "header:auth", "method": "mask"},
        {"target": "attribute:ssn", "method": "mask"},
    ]
    assert described["records_redacted"] == 2


def test_path_rules_over_payloads_that_are_not_json_say_so() -> None:
    r = Redactor.build(["$.secret"])
    assert r is not None
    r.apply(_kinesis([b"plain text", b"\xff\x00"]), SourceKind.KINESIS)
    assert r.describe()["payloads_replaced_whole"] == 2
    assert r.warnings() == [
        "warning: --redact '$.secret' matched nothing in 2 record(s) "
        "(no payload was JSON; every one was replaced whole)"
    ]


def test_dynamodb_key_rule_reaches_keys_and_both_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", "k1")
    r = Redactor.build(["key=hash"], key_env="K")
    assert r is not None
    ddb = {
        "Keys": {"pk": {"S": "user-4711"}},
        "NewImage": {"pk": {"S": "user-4711"}, "n": {"N": "1"}},
        "OldImage": {"pk": {"S": "user-4711"}, "n": {"N": "0"}},
    }
    table = pa.table(
        {
            "shard": ["s", "s"],
            "seq": ["1", "2"],
            "key": ['{"pk":{"S":"user-4711"}}'] * 2,
            "data": [json.dumps(ddb).encode()] * 2,
        }
    )
    out = r.apply(table, SourceKind.DYNAMODB)
    assert b"user-4711" not in repr(out.to_pylist()).encode()
    data = json.loads(out.column("data")[0].as_py())
    hashed = data["Keys"]["pk"]
    assert hashed["S"].startswith("hmac-sha256:")
    assert data["NewImage"]["pk"] == data["OldImage"]["pk"] == hashed
    assert data["NewImage"]["n"] == {"N": "1"}
    # The key column is the redacted Keys, still JSON, equal for equal keys.
    assert out.column("key").to_pylist() == [json.dumps({"pk": hashed}, separators=(",", ":"))] * 2
    assert r.unmatched() == [] and r.describe()["keys_redacted"] == 2


def test_sqs_key_rule_reaches_the_message_group_in_the_system_attributes() -> None:
    r = Redactor.build(["key"])
    assert r is not None
    attrs = {"MessageGroupId": "customer-42", "SentTimestamp": "1"}
    table = pa.table(
        {
            "shard": ["q.fifo"],
            "seq": ["1"],
            "key": ["customer-42"],
            "data": [b"{}"],
            "group_id": ["customer-42"],
            "attributes": [json.dumps(attrs)],
        }
    )
    row = r.apply(table, SourceKind.SQS).to_pylist()[0]
    assert "customer-42" not in json.dumps(row, default=str)
    assert json.loads(row["attributes"]) == {"MessageGroupId": MASK, "SentTimestamp": "1"}


def _written(tmp_path: Path, redactor: Redactor | None) -> Path:
    """A capture (as an interrupted live capture leaves it) of records redacted by ``redactor``."""
    docs: list[object] = [{"secret": f"s{i}", "i": i} for i in range(5)]
    table = _kinesis(docs)
    if redactor is not None:
        table = redactor.apply(table, SourceKind.KINESIS)
    table = table.append_column("pos", pa.array(range(5), type=pa.int64()))
    table = table.append_column("arrival", pa.array([1000 * i for i in range(5)], type=pa.int64()))
    table = table.set_column(
        table.schema.get_field_index("arrival"),
        "arrival",
        table.column("arrival").cast(pa.timestamp("ms", tz="UTC")),
    )
    table = table.append_column("size", pa.array([10] * 5, type=pa.int32()))
    manifest = Manifest(
        source=SourceInfo(SourceKind.KINESIS, arn="arn:aws:kinesis:us-east-1:1:stream/s"),
        redaction=redactor.describe() if redactor is not None else None,
        complete=False,
    )
    path = tmp_path / "cap"
    write_capture(path, manifest, table)
    return path


def test_resume_counts_the_records_already_written(tmp_path: Path) -> None:
    from captures.redact import resume_redaction

    first = Redactor.build(["$.secret"])
    assert first is not None
    path = _written(tmp_path, first)
    # The resumed run reads later records, none with a secret: the rule matched earlier.
    again = Redactor.build(["$.secret=mask"])
    assert again is not None
    resume_redaction(again, str(path), SourceKind.KINESIS)
    again.apply(_kinesis([{"i": 9}]), SourceKind.KINESIS)
    assert again.unmatched() == [] and again.warnings() == []
    assert again.describe()["records_redacted"] == 5
    assert again.seen["records"] == 6
    # A capture that does not exist yet is simply started.
    fresh = Redactor.build(["$.secret"])
    resume_redaction(fresh, str(tmp_path / "none"), SourceKind.KINESIS)
    assert fresh is not None and fresh.seen == {}


@pytest.mark.parametrize("specs", [[], ["$.other"], ["$.secret=hash"], ["$.secret", "key"]])
def test_resume_with_other_rules_is_refused(
    tmp_path: Path, specs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from captures.redact import resume_redaction

    monkeypatch.setenv("ESM_REPLAY_REDACT_KEY", "k")
    path = _written(tmp_path, Redactor.build(["$.secret"]))
    with pytest.raises(UserError, match=r"--resume: the capture was started with --redact") as err:
        resume_redaction(Redactor.build(specs), str(path), SourceKind.KINESIS)
    assert "'$.secret=mask'" in str(err.value) and "\n" not in str(err.value)


def test_resume_without_rules_of_an_unredacted_capture_is_fine(tmp_path: Path) -> None:
    from captures.redact import resume_redaction

    path = _written(tmp_path, None)
    resume_redaction(None, str(path), SourceKind.KINESIS)
    with pytest.raises(UserError, match="started with no --redact"):
        resume_redaction(Redactor.build(["$.secret"]), str(path), SourceKind.KINESIS)
