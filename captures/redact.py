"""Redaction: mask or hash chosen values before any record is written (``--redact``).

A rule is ``TARGET`` or ``TARGET=METHOD``, METHOD ``mask`` (the default) or ``hash``:

- ``$.a.b[*].c`` — a JSON path into the payload (Kinesis data, SQS body, Kafka value, the
  DynamoDB ``dynamodb`` object); ``*`` matches any key or index.
- ``attribute:NAME`` — a DynamoDB attribute (in ``Keys``, ``NewImage``, ``OldImage``, at any depth of
  nested maps) or an SQS message attribute.
- ``header:NAME`` — a Kafka header.
- ``key`` — the ordering key (partition key, MessageGroupId, Kafka key; for DynamoDB the ``Keys``
  attributes, wherever they appear). Hashing keeps grouping and per-key order, because equal keys
  hash equally.

The text after the last ``=`` must be a method: ``$.secret=rot13`` is an error, not a path. A target
that itself contains ``=`` is written with its method spelled out: ``$.a=b=mask``.

``mask`` writes ``***``. ``hash`` writes ``hmac-sha256:`` and 32 hex digits of HMAC-SHA256 under a key
taken from an environment variable (``ESM_REPLAY_REDACT_KEY`` by default): stable across captures
with the same key, not reversible without it. The manifest records the rules and the method, never the
key or a redacted value, and lists the rules that matched nothing (``unmatched``): a typo in a path
must not pass for a redaction. A payload that path rules apply to but that is not JSON is replaced
whole (fail closed) and counted in the manifest. Digests that would confirm a guessed secret
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
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from replay.errors import UserError
from replay.formats.capture import MANIFEST, RECORDS_DIR, Manifest, filesystem
from replay.vocabulary import SourceKind

DEFAULT_KEY_ENV = "ESM_REPLAY_REDACT_KEY"
MASK = "***"
METHODS = ("mask", "hash")
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\*|\d+)\]")
# The source kinds each kind of rule can match (for the hint of an unmatched rule).
_APPLIES_TO = {
    "attribute": (SourceKind.DYNAMODB, SourceKind.SQS),
    "header": (SourceKind.KAFKA,),
}


@dataclass(frozen=True)
class Rule:
    """One ``--redact`` rule: what to redact and how (``spec``: the rule as the user wrote it)."""

    target: str
    method: str = "mask"
    spec: str = field(default="", compare=False)

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

    @property
    def text(self) -> str:
        """The rule as written (``TARGET`` or ``TARGET=METHOD``)."""
        return self.spec or f"{self.target}={self.method}"

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
    """Parse one ``--redact`` value: ``TARGET`` or ``TARGET=METHOD``.

    Whatever follows the last ``=`` is the method and must be ``mask`` or ``hash``; a target that
    contains ``=`` itself is written with its method: ``$.a=b=mask``.

    Raises:
        UserError: an unknown method, target form or an empty name.
    """
    spec = text.strip()
    target, sep, method = spec.rpartition("=")
    if not sep:
        target, method = spec, "mask"
    method = method.strip()
    target = target.strip()
    if sep and method not in METHODS:
        raise UserError(
            f"--redact {text!r}: unknown method {method!r} after the last '='; the methods are "
            f"{' and '.join(METHODS)} (a target that contains '=' is written with its method, "
            f"e.g. {spec + '=mask'!r})"
        )
    rule = Rule(target, method, spec)
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
    """Applies redaction rules to record tables.

    ``stats`` counts what was done (for the manifest); ``matches`` counts, per rule, the values it
    replaced, so that a rule that matched nothing is reported (:meth:`unmatched`, :meth:`warnings`).
    """

    rules: tuple[Rule, ...]
    key: bytes | None = None
    key_env: str = DEFAULT_KEY_ENV
    stats: dict[str, int] = field(default_factory=dict)
    matches: dict[Rule, int] = field(default_factory=dict)
    # Records seen, and the source kind they were of (for the warnings' hints).
    seen: dict[str, Any] = field(default_factory=dict)

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
        """The manifest's ``redaction`` object: rules and method, never the key; ``unmatched``
        lists the rules that matched nothing in any record."""
        out: dict[str, Any] = {
            "rules": [{"target": r.target, "method": r.method} for r in self.rules],
            "mask": MASK,
        }
        if any(r.method == "hash" for r in self.rules):
            out["hash"] = f"hmac-sha256, first 128 bits, key from ${self.key_env} (not stored)"
        out.update(self.stats)
        out["unmatched"] = [{"target": r.target, "method": r.method} for r in self.unmatched()]
        return out

    def unmatched(self) -> list[Rule]:
        """The rules that have not replaced a single value."""
        return [r for r in dict.fromkeys(self.rules) if not self.matches.get(r)]

    def warnings(self) -> list[str]:
        """One line per rule that matched nothing, with a hint when its kind cannot match."""
        n = int(self.seen.get("records", 0))
        kind = self.seen.get("kind")
        lines = []
        for rule in self.unmatched():
            hint = ""
            kinds = _APPLIES_TO.get(rule.kind)
            if kinds and kind is not None and kind not in kinds:
                where = " and ".join(k.value for k in kinds)
                hint = f" ({rule.kind}: rules apply to {where} records only)"
            elif rule.kind == "path" and n and self.stats.get("payloads_replaced_whole") == n:
                hint = " (no payload was JSON; every one was replaced whole)"
            lines.append(f"warning: --redact {rule.text!r} matched nothing in {n} record(s){hint}")
        return lines

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

    def _matched(self, rule: Rule, n: int) -> int:
        if n:
            self.matches[rule] = self.matches.get(rule, 0) + n
        return n

    # ----------------------------------------------------------------- tables

    def apply(self, table: pa.Table, kind: SourceKind) -> pa.Table:
        """Redact a batch of records (capture columns) of a source of ``kind``."""
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
        n = table.num_rows
        self.seen["records"] = int(self.seen.get("records", 0)) + n
        self.seen["kind"] = kind
        paths = [r for r in self.rules if r.kind == "path"]
        attrs = [r for r in self.rules if r.kind == "attribute"]
        keys = [r for r in self.rules if r.kind == "key"]
        ddb_keys = keys if kind is SourceKind.DYNAMODB else []
        for i in range(n):
            changed = False
            if paths or (kind is SourceKind.DYNAMODB and (attrs or ddb_keys)):
                changed = self._payload(cols, i, paths, attrs, ddb_keys, kind)
            if attrs and kind is SourceKind.SQS:
                changed = self._message_attributes(cols, i, attrs) or changed
            if kind is SourceKind.KAFKA:
                changed = self._headers(cols, i) or changed
            if changed:
                self._count("records_redacted")
        if kind is not SourceKind.DYNAMODB:
            for rule in keys:
                self._keys(cols, rule)
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
        keys: list[Rule],
        kind: SourceKind,
    ) -> bool:
        raw = cols["data"][i]
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            rules = [*paths, *attrs, *keys]
            method = "hash" if any(r.method == "hash" for r in rules) else "mask"
            cols["data"][i] = self._replace(raw, method).encode("utf-8")
            self._count("payloads_replaced_whole")
            _drop_digest(cols, i, "md5_of_body")
            return True
        hits = 0
        for rule in paths:
            hits += self._matched(rule, _walk(doc, rule.path(), self._replacer(rule.method)))
        if kind is SourceKind.DYNAMODB and isinstance(doc, dict):
            images = [
                doc[k] for k in ("Keys", "NewImage", "OldImage") if isinstance(doc.get(k), dict)
            ]
            for rule in attrs:
                for image in images:
                    hits += self._matched(rule, self._ddb_attribute(image, rule.name, rule.method))
            # ``key``: the item's key attributes, in Keys and in both images.
            names = list(doc["Keys"]) if isinstance(doc.get("Keys"), dict) else []
            for rule in keys:
                replaced = 0
                for image in images:
                    for name in names:
                        if name in image:
                            image[name] = {"S": self._replace(image[name], rule.method)}
                            replaced += 1
                if replaced:
                    self._count("keys_redacted")
                hits += self._matched(rule, replaced)
            if hits and isinstance(doc.get("Keys"), dict) and "key" in cols:
                cols["key"][i] = json.dumps(
                    doc["Keys"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
        if not hits:
            return False
        cols["data"][i] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        _drop_digest(cols, i, "md5_of_body")
        return True

    def _ddb_attribute(self, attrs: dict[str, Any], name: str, method: str) -> int:
        hits = 0
        for attr, value in attrs.items():
            if attr == name:
                attrs[attr] = {"S": self._replace(value, method)}
                hits += 1
            elif isinstance(value, dict) and isinstance(value.get("M"), dict):
                hits += self._ddb_attribute(value["M"], name, method)
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
                hits += self._matched(rule, 1)
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
                        hits += self._matched(rule, 1)
        if hits:
            cols["headers"][i] = _canonical(headers)
        return bool(hits)

    def _keys(self, cols: dict[str, list[Any]], rule: Rule) -> None:
        """The ordering key in every column that holds it: ``key``, ``group_id``, ``key_bytes``,
        and an SQS record's ``MessageGroupId`` system attribute."""

        def replace(value: Any) -> str:
            return self._replace(value, rule.method)

        for name in ("key", "group_id"):
            if name in cols:
                cols[name] = [None if v is None else replace(v) for v in cols[name]]
        if "key_bytes" in cols:
            cols["key_bytes"] = [
                None if v is None else replace(v).encode("utf-8") for v in cols["key_bytes"]
            ]
        if "attributes" in cols:
            cols["attributes"] = [_replace_group(v, replace) for v in cols["attributes"]]
        keys = sum(1 for v in cols.get("key", []) if v is not None)
        self._count("keys_redacted", keys)
        self._matched(rule, keys)


def resume_redaction(
    redactor: Redactor | None, uri: str, kind: SourceKind, *, endpoint_url: str | None = None
) -> None:
    """Before ``--resume`` of the capture at ``uri``: check the rules, count what is written.

    The rules must be those the capture was started with, or the records read after the resume
    would be redacted differently from those before (or, without ``--redact``, not at all).
    The records already written are then counted into ``redactor`` as if redacted now: in a part,
    every value a rule replaced is still where the rule finds it, so applying the rules again (and
    dropping the result) gives the counts and matches of the earlier runs. Nothing is written.

    Raises:
        UserError: the rules differ from the stored ones.
    """
    fs, inner = filesystem(uri, endpoint_url=endpoint_url)
    try:
        with fs.open_input_stream(f"{inner}/{MANIFEST}") as fh:
            raw = fh.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return  # nothing to resume: the capture starts afresh
    manifest = Manifest.from_json(json.loads(raw.decode("utf-8")), where=f"{uri}/{MANIFEST}")
    stored = [
        (str(r.get("target")), str(r.get("method")))
        for r in (manifest.redaction or {}).get("rules", [])
        if isinstance(r, dict)
    ]
    given = [(r.target, r.method) for r in (redactor.rules if redactor else ())]
    if stored != given:

        def show(rules: list[tuple[str, str]]) -> str:
            return " ".join(f"--redact '{t}={m}'" for t, m in rules) or "no --redact"

        raise UserError(
            f"{uri}: --resume: the capture was started with {show(stored)}; "
            f"resume it with the same rules (given: {show(given)})"
        )
    if redactor is None:
        return
    infos = fs.get_file_info(pafs.FileSelector(f"{inner}/{RECORDS_DIR}", allow_not_found=True))
    for info in sorted(infos, key=lambda i: i.path):
        name = info.path.rsplit("/", 1)[-1]
        if name.startswith("part-") and name.endswith(".parquet"):
            redactor.apply(pq.read_table(info.path, filesystem=fs), kind)


def _replace_group(text: str | None, replace: Callable[[Any], str]) -> str | None:
    """SQS system attributes (JSON text) with ``MessageGroupId`` replaced."""
    if not text:
        return text
    attrs = json.loads(text)
    if not isinstance(attrs, dict) or attrs.get("MessageGroupId") is None:
        return text
    attrs["MessageGroupId"] = replace(attrs["MessageGroupId"])
    return json.dumps(attrs, separators=(",", ":"), sort_keys=True)


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
