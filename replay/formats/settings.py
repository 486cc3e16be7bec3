"""The source settings that change ESM behaviour, with their types and ranges, one table per
source family.

A capture's ``manifest.json`` records them under ``source.settings`` (docs/capture-format.md);
``--set Source.NAME=VALUE`` overrides one for a replay; ``capture import --source-setting`` and
``--queue-attributes`` give them for an import. All three read values through this table, so a
typo or an out-of-range value is refused with the same words wherever it is written, and a value
given as text (SQS returns every attribute as text) is typed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from replay.assignments import closest
from replay.vocabulary import SourceKind


class SettingError(ValueError):
    """A setting's value is not allowed; the text says why (callers add where it was given)."""


Parser = Callable[[Any, str], Any]


def _integer(low: int, high: int) -> Parser:
    def parse(value: Any, what: str) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(f"{what}: {value!r} is not an integer from {low} to {high}")
        return value

    return parse


def _number(low: float, high: float) -> Parser:
    def parse(value: Any, what: str) -> float | int:
        if isinstance(value, str):
            with suppress(ValueError):
                value = float(value)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not low <= value <= high:
            raise SettingError(f"{what}: {value!r} is not a number from {low:g} to {high:g}")
        return value

    return parse


def _boolean(value: Any, what: str) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise SettingError(f"{what}: {value!r} is not true or false")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SettingError(f"{what}: {value!r} is not text")
    return value


def _object(value: Any, what: str, shape: str) -> dict[str, Any]:
    """An object, or JSON text of one (SQS returns its policies as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SettingError(f"{what}: {value!r} is not JSON") from None
    if not isinstance(value, dict):
        raise SettingError(f"{what}: must be {shape}")
    return value


def _redrive(value: Any, what: str) -> dict[str, Any]:
    """``{"deadLetterTargetArn": ARN, "maxReceiveCount": 1..1000}``; SQS returns it as JSON text,
    sometimes with the count as a string."""
    value = _object(value, what, "a JSON object")
    target = value.get("deadLetterTargetArn")
    if not isinstance(target, str) or not target.startswith("arn:"):
        raise SettingError(f"{what}: deadLetterTargetArn must be a queue ARN")
    count = _integer(1, 1000)(value.get("maxReceiveCount"), f"{what}: maxReceiveCount")
    return {**value, "deadLetterTargetArn": target, "maxReceiveCount": count}


def _offsets(value: Any, what: str) -> dict[str, int]:
    """Kafka committed offsets: ``{"topic-0": 42, ...}`` (B86)."""
    value = _object(value, what, "an object of partition: offset")
    return {str(k): _integer(0, 2**63 - 1)(v, f"{what}.{k}") for k, v in value.items()}


_SQS: dict[str, Parser] = {
    "VisibilityTimeout": _integer(0, 43_200),
    "RedrivePolicy": _redrive,
    "FifoQueue": _boolean,
    "DelaySeconds": _integer(0, 900),
    "MessageRetentionPeriod": _integer(60, 1_209_600),
    "ContentBasedDeduplication": _boolean,
}
_STREAM: dict[str, Parser] = {
    "RetentionPeriodHours": _number(24, 8760),
    "retention_hours": _number(1, 8760),
    "StreamMode": _text,
    "OpenShardCount": _integer(0, 1_000_000),
    "EncryptionType": _text,
    "StreamViewType": _text,
}
_KAFKA: dict[str, Parser] = {
    "BootstrapServers": _text,
    "SelfManaged": _boolean,
    "CommittedOffsets": _offsets,
    "retention.ms": _integer(-1, 2**63 - 1),
    "RetentionMs": _integer(-1, 2**63 - 1),
    "retention.hours": _number(0, 10**6),
}
SETTINGS: Mapping[SourceKind, Mapping[str, Parser]] = {
    SourceKind.KINESIS: _STREAM,
    SourceKind.DYNAMODB: _STREAM,
    SourceKind.SQS: _SQS,
    SourceKind.KAFKA: _KAFKA,
}


_NOUNS = {
    SourceKind.KINESIS: "stream",
    SourceKind.DYNAMODB: "stream",
    SourceKind.SQS: "queue",
    SourceKind.KAFKA: "topic",
}


def typed_setting(kind: SourceKind, name: str, value: Any, what: str) -> Any:
    """``value`` of setting ``name`` typed and range-checked; None stays None (it removes the
    override).

    Raises:
        SettingError: ``name`` is not a setting of the family (naming the closest), or the value
            is not allowed.
    """
    known = SETTINGS[kind]
    parse = known.get(name)
    if parse is None:
        # Compared as written (not case-blind): the hint names AWS's exact attribute names.
        guess = closest(name, known, blind=False)
        hint = f"did you mean {guess}? " if guess else ""
        noun = _NOUNS[kind]
        raise SettingError(
            f"{what}: not a {noun} setting esm-replay uses; {hint}known: {', '.join(known)}"
        )
    return None if value is None else parse(value, what)


def check_settings(kind: SourceKind, settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A manifest's ``source.settings``: the known ones typed and checked, others kept as they are
    (a live capture records informative attributes too)."""
    known = SETTINGS[kind]
    return {
        k: typed_setting(kind, k, v, f"{where}.{k}") if k in known and v is not None else v
        for k, v in settings.items()
    }
