"""``manifest.json``: everything about a capture except its records, read strictly.

Every field is checked for its type and range when a manifest is read (docs/capture-format.md), so
a hand-edited or damaged manifest is one :class:`~replay.errors.CaptureError` line naming the
field, never a traceback or a silently different replay. ``parts`` lists each records file with
its row count and sha256: what :func:`replay.formats.capture.read_capture` verifies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from replay import __version__
from replay.errors import CaptureError, UserError
from replay.formats.settings import SettingError, check_settings
from replay.timeutil import iso_ms, parse_time
from replay.vocabulary import SourceKind

CAPTURE_FORMAT = "esm-replay.capture/1"
MANIFEST = "manifest.json"
# the ARN service of each source kind (self-managed Kafka has no ARN)
ARN_SERVICES = {
    SourceKind.KINESIS: "kinesis",
    SourceKind.DYNAMODB: "dynamodb",
    SourceKind.SQS: "sqs",
    SourceKind.KAFKA: "kafka",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_FUNCTION_TIMEOUT_S = 900  # Lambda's limit
T = TypeVar("T")


@dataclass(frozen=True)
class SourceInfo:
    """What was captured: the source's identity and the settings that change ESM behaviour."""

    kind: SourceKind
    arn: str | None = None
    region: str | None = None
    name: str | None = None
    fifo: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShardInfo:
    """One shard (or partition, or queue) of the capture and its lineage."""

    id: str
    parents: tuple[str, ...] = ()
    hash_key_range: tuple[str, str] | None = None
    first_seq: str | None = None
    last_seq: str | None = None
    records: int = 0
    closed: bool = False


@dataclass(frozen=True)
class PartInfo:
    """One records file: its name under ``records/``, rows and sha256 of its bytes."""

    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: everything about a capture except the records themselves."""

    source: SourceInfo
    shards: tuple[ShardInfo, ...] = ()
    window_start_ms: int | None = None
    window_end_ms: int | None = None
    esm: tuple[dict[str, Any], ...] = ()
    function: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    checkpoints: dict[str, str] = field(default_factory=dict)
    redaction: dict[str, Any] | None = None
    created_by: str = "import"
    tool_version: str = __version__
    parts: tuple[PartInfo, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The manifest as the JSON object stored on disk (key order is stable)."""
        src = self.source
        return {
            "format": CAPTURE_FORMAT,
            "source": {
                "kind": src.kind.value,
                "arn": src.arn,
                "region": src.region,
                "name": src.name,
                "fifo": src.fifo,
                "settings": src.settings,
            },
            "shards": [
                {
                    "id": s.id,
                    "parents": list(s.parents),
                    "hash_key_range": list(s.hash_key_range) if s.hash_key_range else None,
                    "first_seq": s.first_seq,
                    "last_seq": s.last_seq,
                    "records": s.records,
                    "closed": s.closed,
                }
                for s in self.shards
            ],
            "window": {
                "start": iso_ms(self.window_start_ms) if self.window_start_ms is not None else None,
                "end": iso_ms(self.window_end_ms) if self.window_end_ms is not None else None,
            },
            "esm": list(self.esm),
            "function": self.function,
            "observed": self.observed,
            "complete": self.complete,
            "checkpoints": self.checkpoints,
            "redaction": self.redaction,
            "created_by": self.created_by,
            "tool": {"name": "esm-replay", "version": self.tool_version},
            "parts": [{"file": p.file, "rows": p.rows, "sha256": p.sha256} for p in self.parts],
        }

    @staticmethod
    def from_json(obj: Any, where: str = MANIFEST) -> Manifest:
        """Parse a manifest object; every problem is a one-line :class:`CaptureError`."""
        doc = _Doc(where)
        obj = doc.typed(obj, dict, "", "an object")
        if obj.get("format") != CAPTURE_FORMAT:
            raise CaptureError(
                f"{where}: format is {obj.get('format')!r}; this version reads {CAPTURE_FORMAT!r}"
            )
        source = _source(doc, doc.typed(obj.get("source"), dict, "source", "an object"))
        shards = tuple(
            _shard(doc, s, i) for i, s in enumerate(doc.get_list(obj, "shards", "shards"))
        )
        window = doc.typed(obj.get("window") or {}, dict, "window", "an object")
        start, end = (doc.time(window.get(k), f"window.{k}") for k in ("start", "end"))
        if start is not None and end is not None and start > end:
            raise CaptureError(f"{where}: window.start is after window.end")
        esm = doc.get_list(obj, "esm", "esm")
        for i, item in enumerate(esm):
            doc.typed(item, dict, f"esm[{i}]", "an object (an ESM configuration)")
        checkpoints = doc.typed(obj.get("checkpoints") or {}, dict, "checkpoints", "an object")
        for shard, seq in checkpoints.items():
            doc.typed(seq, str, f"checkpoints.{shard}", "a sequence number (text)")
        tool = doc.typed(obj.get("tool") or {}, dict, "tool", "an object")
        redaction = obj.get("redaction")
        if redaction is not None:
            doc.typed(redaction, dict, "redaction", "an object or null")
        return Manifest(
            source=source,
            shards=shards,
            window_start_ms=start,
            window_end_ms=end,
            esm=tuple(esm),
            function=_function(
                doc, doc.typed(obj.get("function") or {}, dict, "function", "an object")
            ),
            observed=dict(doc.typed(obj.get("observed") or {}, dict, "observed", "an object")),
            complete=doc.typed(obj.get("complete", True), bool, "complete", "true or false"),
            checkpoints=dict(checkpoints),
            redaction=redaction,
            created_by=doc.typed(obj.get("created_by", "import"), str, "created_by", "text"),
            tool_version=str(tool.get("version", "")),
            parts=tuple(
                _part(doc, p, i) for i, p in enumerate(doc.get_list(obj, "parts", "parts"))
            ),
        )


class _Doc:
    """Typed access to a manifest's fields, each failure one line naming the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, what: str, value: Any) -> CaptureError:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return CaptureError(f"{self.where}: {name or 'the manifest'} must be {what}, not {shown}")

    def typed(self, value: Any, kind: type[T], name: str, what: str) -> T:
        # bool is an int in Python: a count or a number must not be true/false
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(name, what, value)
        return value

    def optional(self, value: Any, kind: type[T], name: str, what: str) -> T | None:
        return None if value is None else self.typed(value, kind, name, what)

    def get_list(self, obj: Mapping[str, Any], key: str, name: str) -> list[Any]:
        return list(self.typed(obj.get(key) or [], list, name, "a list"))

    def count(self, value: Any, name: str) -> int:
        number = self.typed(value, int, name, "a whole number ≥ 0")
        if number < 0:
            raise self.fail(name, "a whole number ≥ 0", value)
        return number

    def time(self, value: Any, name: str) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(name, "an ISO-8601 time", value)
        try:
            return parse_time(value, field=f"{self.where}: {name}")
        except UserError as exc:  # a damaged capture is a CaptureError, like every other fault
            raise CaptureError(str(exc)) from None


def _source(doc: _Doc, src: dict[str, Any]) -> SourceInfo:
    try:
        kind = SourceKind(str(src.get("kind")))
    except ValueError:
        allowed = ", ".join(k.value for k in SourceKind)
        raise CaptureError(
            f"{doc.where}: source.kind is {src.get('kind')!r}; allowed: {allowed}"
        ) from None
    arn = doc.optional(src.get("arn"), str, "source.arn", "an ARN (text) or null")
    if arn:
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn":
            raise doc.fail("source.arn", "an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)", arn)
        if parts[2] != ARN_SERVICES[kind]:
            raise CaptureError(
                f"{doc.where}: source.kind is {kind.value} but source.arn is a {parts[2]} ARN"
            )
    return SourceInfo(
        kind=kind,
        arn=arn,
        region=doc.optional(src.get("region"), str, "source.region", "text or null"),
        name=doc.optional(src.get("name"), str, "source.name", "text or null"),
        fifo=doc.typed(src.get("fifo", False), bool, "source.fifo", "true or false"),
        settings=_settings(
            doc, kind, doc.typed(src.get("settings") or {}, dict, "source.settings", "an object")
        ),
    )


def _shard(doc: _Doc, s: Any, i: int) -> ShardInfo:
    name = f"shards[{i}]"
    if not isinstance(s, dict) or not isinstance(s.get("id"), str):
        raise CaptureError(f"{doc.where}: {name} must be an object with a string 'id'")
    hkr = s.get("hash_key_range")
    if hkr is not None and (
        not isinstance(hkr, list) or len(hkr) != 2 or not all(isinstance(h, str) for h in hkr)
    ):
        raise doc.fail(f"{name}.hash_key_range", "two numbers as text, or null", hkr)
    parents = doc.get_list(s, "parents", f"{name}.parents")
    for j, parent in enumerate(parents):
        doc.typed(parent, str, f"{name}.parents[{j}]", "a shard id (text)")
    return ShardInfo(
        id=s["id"],
        parents=tuple(parents),
        hash_key_range=(hkr[0], hkr[1]) if hkr else None,
        first_seq=doc.optional(s.get("first_seq"), str, f"{name}.first_seq", "text or null"),
        last_seq=doc.optional(s.get("last_seq"), str, f"{name}.last_seq", "text or null"),
        records=doc.count(s.get("records", 0), f"{name}.records"),
        closed=doc.typed(s.get("closed", False), bool, f"{name}.closed", "true or false"),
    )


def _part(doc: _Doc, p: Any, i: int) -> PartInfo:
    name = f"parts[{i}]"
    p = doc.typed(p, dict, name, "an object")
    file = doc.typed(p.get("file"), str, f"{name}.file", "a file name under records/")
    if "/" in file or "\\" in file or not file.endswith(".parquet"):
        raise doc.fail(f"{name}.file", "a .parquet file name under records/", file)
    sha = doc.typed(p.get("sha256"), str, f"{name}.sha256", "64 hex digits")
    if not _SHA256.fullmatch(sha):
        raise doc.fail(f"{name}.sha256", "64 hex digits", sha)
    return PartInfo(file, doc.count(p.get("rows"), f"{name}.rows"), sha)


_FUNCTION_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "Timeout": (
        lambda v: 0 < v <= _MAX_FUNCTION_TIMEOUT_S,
        f"a number of seconds, 1 to {_MAX_FUNCTION_TIMEOUT_S}",
    ),
    "MemorySize": (lambda v: 128 <= v <= 10240, "a number of MB, 128 to 10240"),
    "ReservedConcurrentExecutions": (lambda v: v >= 0, "a whole number ≥ 0"),
}


def _function(doc: _Doc, fn: dict[str, Any]) -> dict[str, Any]:
    """The captured function configuration: the fields a replay uses must be in range."""
    for key, (ok, what) in _FUNCTION_FIELDS.items():
        value = fn.get(key)
        if value is None:
            continue
        integral = key != "Timeout"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (integral and not isinstance(value, int)) or not ok(value):
            raise doc.fail(f"function.{key}", what, value)
    return dict(fn)


def _settings(doc: _Doc, kind: SourceKind, settings: dict[str, Any]) -> dict[str, Any]:
    """The source settings a replay reads, typed and range-checked (others kept as they are)."""
    try:
        return check_settings(kind, settings, "source.settings")
    except SettingError as exc:
        raise CaptureError(f"{doc.where}: {exc}") from None
