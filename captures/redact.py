"""Redaction: mask or hash chosen values before any record is written (``--redact``).

A rule is ``TARGET`` or ``TARGET=mask|hash``:

- ``$.a.b[*].c`` — a JSON path into the payload (Kinesis data, SQS body, Kafka value, the
  DynamoDB ``dynamodb`` object); ``*`` matches any key or index.
- ``attribute:NAME`` — a DynamoDB attribute (in ``Keys``, ``NewImage``, ``OldImage``, at any depth of
  nested maps) or an SQS message attribute.
- ``header:NAME`` — a Kafka header.
- ``key`` — the ordering key (partition key, MessageGroupId, Kafka key). Hashing keeps grouping and
  per-key order, because equal keys hash equally.

``mask`` writes ``***``. ``hash`` writes ``hmac-sha256:`` and 32 hex digits of HMAC-SHA256 under a key
taken from an environment variable (``ESM_REPLAY_REDACT_KEY`` by default): stable across captures
with the same key, not reversible without it. The manifest records the rules and the method, never the
key or a redacted value. A payload that path rules apply to but that is not JSON is replaced whole
(fail closed) and counted in the manifest. Digests that would confirm a guessed secret
(``md5_of_body``, ``md5_of_message_attributes``) are dropped from redacted records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from replay.errors import UserError
from replay.vocabulary import SourceKind

DEFAULT_KEY_ENV = "ESM_REPLAY_REDACT_KEY"
MASK = "***"
METHODS = ("mask", "hash")
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\*|\d+)\]")


@dataclass(frozen=True)
class Rule:
    """One ``--redact`` rule: what to redact and how."""

    target: str
    method: str = "mask"

    @property
    def kind(self) -> str:
        """``path``, ``attribute``, ``header`` or ``key``."""
        if self.target.startswith("$"):
            return "path"
        if self.target == "key":
            return "key"
        return self.target.split(":", 1)[0]

    @property
    def name(self) -> str:
        """The attribute or header name (after ``attribute:`` / ``header:``)."""
        return self.target.split(":", 1)[1] if ":" in self.target else self.target

    def path(self) -> list[str | int | None]:
        """The JSON path's steps: a key, an index, or None for ``*``."""
        steps: list[str | int | None] = []
        rest = self.target[1:]
        for m in _SEGMENT.finditer(rest):
            name, index = m.group(1), m.group(2)
            if name is not None:
                steps.append(None if name == "*" else name)
            else:
                steps.append(None if index == "*" else int(index))
        return steps


def parse_rule(text: str) -> Rule:
    """Parse one ``--redact`` value.

    Raises:
        UserError: an unknown target form or method.
    """
    target, sep, method = text.rpartition("=")
    if not sep or method not in METHODS:
        target, method = text, "mask"
    target = target.strip()
    rule = Rule(target, method)
    if rule.kind == "path":
        if (
            "".join(m.group(0) for m in _SEGMENT.finditer(target[1:])) != target[1:]
            or target == "$"
        ):
            raise UserError(f"--redact {text!r}: a JSON path is $.name, $.a.b, $.items[*].secret")
    elif rule.kind in ("attribute", "header"):
        if not rule.name:
            raise UserError(f"--redact {text!r}: name the {rule.kind} ({rule.kind}:NAME)")
    elif rule.kind != "key":
        raise UserError(
            f"--redact {text!r}: expected $.json.path, attribute:NAME, header:NAME or key "
            f"(optionally =mask or =hash)"
        )
    return rule


@dataclass(frozen=True)
class Redactor:
    """Applies redaction rules to record tables; ``stats`` counts what was done (for the manifest)."""

    rules: tuple[Rule, ...]
    key: bytes | None = None
    key_env: str = DEFAULT_KEY_ENV
    stats: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def build(specs: list[str], *, key_env: str = DEFAULT_KEY_ENV) -> Redactor | None:
        """The redactor for ``--redact`` values, or None when there are none.

        Raises:
            UserError: a bad rule, or a ``hash`` rule without a key in ``key_env``.
        """
        if not specs:
            return None
        rules = tuple(parse_rule(s) for s in specs)
        key = os.environ.get(key_env)
        if any(r.method == "hash" for r in rules) and not key:
            raise UserError(
                f"--redact ...=hash needs a secret key in the environment variable {key_env}"
            )
        return Redactor(rules, key.encode("utf-8") if key else None, key_env)

    def describe(self) -> dict[str, Any]:
        """The manifest's ``redaction`` object: rules and method, never the key."""
        out: dict[str, Any] = {
            "rules": [{"target": r.target, "method": r.method} for r in self.rules],
            "mask": MASK,
        }
        if any(r.method == "hash" for r in self.rules):
            out["hash"] = f"hmac-sha256, first 128 bits, key from ${self.key_env} (not stored)"
        out.update(self.stats)
        return out

    # ----------------------------------------------------------------- values

    def _replace(self, value: Any, method: str) -> str:
        if method == "mask":
            return MASK
        assert self.key is not None
        raw = value if isinstance(value, bytes) else _canonical(value).encode("utf-8")
        return "hmac-sha256:" + hmac.new(self.key, raw, hashlib.sha256).hexdigest()[:32]

    def _replacer(self, method: str) -> Callable[[Any], str]:
        def replace(value: Any) -> str:
            return self._replace(value, method)

        return replace

    def _count(self, name: str, n: int = 1) -> None:
        self.stats[name] = self.stats.get(name, 0) + n

    # ----------------------------------------------------------------- tables

    def apply(self, table: pa.Table, kind: SourceKind) -> pa.Table:
        """Redact a batch of records (capture columns) of a source of ``kind``."""
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
        n = table.num_rows
        paths = [r for r in self.rules if r.kind == "path"]
        attrs = [r for r in self.rules if r.kind == "attribute"]
        for i in range(n):
            changed = False
            if paths or (attrs and kind is SourceKind.DYNAMODB):
                changed = self._payload(cols, i, paths, attrs, kind)
            if attrs and kind is SourceKind.SQS:
                changed = self._message_attributes(cols, i, attrs) or changed
            if kind is SourceKind.KAFKA:
                changed = self._headers(cols, i) or changed
            if changed:
                self._count("records_redacted")
        for rule in self.rules:
            if rule.kind == "key":
                self._keys(cols, rule.method)
        arrays = {
            name: pa.array(cols[name], type=table.schema.field(name).type)
            for name in table.column_names
        }
        return pa.table(arrays, schema=table.schema)

    def _payload(
        self,
        cols: dict[str, list[Any]],
        i: int,
        paths: list[Rule],
        attrs: list[Rule],
        kind: SourceKind,
    ) -> bool:
        raw = cols["data"][i]
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            method = "hash" if any(r.method == "hash" for r in paths) else "mask"
            cols["data"][i] = self._replace(raw, method).encode("utf-8")
            self._count("payloads_replaced_whole")
            _drop_digest(cols, i, "md5_of_body")
            return True
        hits = 0
        for rule in paths:
            hits += _walk(doc, rule.path(), self._replacer(rule.method))
        if kind is SourceKind.DYNAMODB:
            for rule in attrs:
                for image in ("Keys", "NewImage", "OldImage"):
                    if isinstance(doc.get(image), dict):
                        hits += self._ddb_attribute(doc[image], rule)
            if hits and isinstance(doc.get("Keys"), dict) and "key" in cols:
                cols["key"][i] = json.dumps(
                    doc["Keys"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
        if not hits:
            return False
        cols["data"][i] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        _drop_digest(cols, i, "md5_of_body")
        return True

    def _ddb_attribute(self, attrs: dict[str, Any], rule: Rule) -> int:
        hits = 0
        for name, value in attrs.items():
            if name == rule.name:
                attrs[name] = {"S": self._replace(value, rule.method)}
                hits += 1
            elif isinstance(value, dict) and isinstance(value.get("M"), dict):
                hits += self._ddb_attribute(value["M"], rule)
        return hits

    def _message_attributes(self, cols: dict[str, list[Any]], i: int, attrs: list[Rule]) -> bool:
        text = cols.get("message_attributes", [None] * (i + 1))[i]
        if not text:
            return False
        doc = json.loads(text)
        hits = 0
        for rule in attrs:
            attr = doc.get(rule.name)
            if isinstance(attr, dict):
                original = attr.get("stringValue") or attr.get("binaryValue")
                doc[rule.name] = {
                    "stringValue": self._replace(original, rule.method),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                }
                hits += 1
        if hits:
            cols["message_attributes"][i] = _canonical(doc)
            _drop_digest(cols, i, "md5_of_message_attributes")
        return bool(hits)

    def _headers(self, cols: dict[str, list[Any]], i: int) -> bool:
        rules = [r for r in self.rules if r.kind == "header"]
        text = cols.get("headers", [None] * (i + 1))[i]
        if not rules or not text:
            return False
        headers = json.loads(text)
        hits = 0
        for entry in headers:
            for name in list(entry):
                for rule in rules:
                    if name == rule.name:
                        entry[name] = list(self._replace(bytes(entry[name]), rule.method).encode())
                        hits += 1
        if hits:
            cols["headers"][i] = _canonical(headers)
        return bool(hits)

    def _keys(self, cols: dict[str, list[Any]], method: str) -> None:
        def replace(value: Any) -> str:
            return self._replace(value, method)

        for name in ("key", "group_id"):
            if name in cols:
                cols[name] = [None if v is None else replace(v) for v in cols[name]]
        if "key_bytes" in cols:
            cols["key_bytes"] = [
                None if v is None else replace(v).encode("utf-8") for v in cols["key_bytes"]
            ]
        self._count("keys_redacted", sum(1 for v in cols.get("key", []) if v is not None))


def _walk(doc: Any, steps: list[str | int | None], fn: Callable[[Any], str]) -> int:
    """Replace every value ``steps`` reaches in ``doc`` with ``fn(value)``; return how many."""
    if not steps:
        return 0
    step, rest = steps[0], steps[1:]
    if isinstance(doc, dict):
        keys = list(doc) if step is None else ([step] if step in doc else [])
    elif isinstance(doc, list):
        if step is None:
            keys = list(range(len(doc)))
        elif isinstance(step, int) and step < len(doc):
            keys = [step]
        else:
            keys = []
    else:
        return 0
    hits = 0
    for k in keys:
        if rest:
            hits += _walk(doc[k], rest, fn)
        else:
            doc[k] = fn(doc[k])
            hits += 1
    return hits


def _canonical(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _drop_digest(cols: dict[str, list[Any]], i: int, name: str) -> None:
    if name in cols:
        cols[name][i] = None
