"""Redaction rules on record tables (no server needed): paths, attributes, headers, keys."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from captures.redact import MASK, Redactor, parse_rule
from replay.errors import UserError
from replay.vocabulary import SourceKind


@pytest.mark.parametrize("bad", ["$", "email", "attribute:", "$.a..b", "header:"])
def test_bad_rules_are_one_line_errors(bad: str) -> None:
    with pytest.raises(UserError, match="--redact"):
        parse_rule(bad)


def test_hash_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESM_REPLAY_REDACT_KEY", raising=False)
    with pytest.raises(UserError, match="ESM_REPLAY_REDACT_KEY"):
        Redactor.build(["$.a=hash"])
    assert Redactor.build([]) is None


def test_paths_wildcards_and_stable_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", "k1")
    r = Redactor.build(["$.items[*].card=hash", "$.user.*"], key_env="K")
    assert r is not None
    doc = {
        "items": [{"card": "1"}, {"card": "2"}, {"card": "1"}],
        "user": {"a": 1, "b": [2]},
        "keep": 3,
    }
    table = pa.table(
        {"shard": ["s"], "seq": ["1"], "key": ["k"], "data": [json.dumps(doc).encode()]}
    )
    out = json.loads(r.apply(table, SourceKind.KINESIS).column("data")[0].as_py())
    cards = [i["card"] for i in out["items"]]
    assert cards[0] == cards[2] != cards[1] and cards[0].startswith("hmac-sha256:")
    assert out["user"] == {"a": MASK, "b": MASK} and out["keep"] == 3
    assert "k1" not in json.dumps(r.describe())


def test_dynamodb_nested_attribute_and_key_column() -> None:
    r = Redactor.build(["attribute:ssn"])
    assert r is not None
    ddb = {
        "Keys": {"ssn": {"S": "123"}},
        "NewImage": {"ssn": {"S": "123"}, "m": {"M": {"ssn": {"N": "5"}}}},
    }
    table = pa.table(
        {
            "shard": ["s"],
            "seq": ["1"],
            "key": ['{"ssn":{"S":"123"}}'],
            "data": [json.dumps(ddb).encode()],
        }
    )
    out = r.apply(table, SourceKind.DYNAMODB)
    assert "123" not in out.column("key")[0].as_py()
    data = json.loads(out.column("data")[0].as_py())
    assert data["NewImage"]["m"]["M"]["ssn"] == {"S": MASK} and data["Keys"]["ssn"] == {"S": MASK}


def test_kafka_header_and_key() -> None:
    r = Redactor.build(["header:auth", "key"])
    assert r is not None
    table = pa.table(
        {
            "shard": ["t-0"],
            "seq": ["0"],
            "key": ["user-1"],
            "data": [b"v"],
            "key_bytes": [b"user-1"],
            "headers": [json.dumps([{"auth": list(b"secret")}, {"x": [1]}])],
        }
    )
    out = r.apply(table, SourceKind.KAFKA).to_pylist()[0]
    assert out["key"] == MASK and out["key_bytes"] == MASK.encode()
    assert json.loads(out["headers"]) == [{"auth": list(MASK.encode())}, {"x": [1]}]
    assert out["data"] == b"v"  # a payload no path rule applies to is left alone
