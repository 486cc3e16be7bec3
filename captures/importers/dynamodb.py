"""DynamoDB stream records, from a Lambda event or ``aws dynamodbstreams get-records`` output.

:func:`parse_dynamodb_record` also serves the live capture (:mod:`captures.stream_apis`), which
reads the same API records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from captures.importers.fields import (
    CLI,
    LAMBDA,
    check_event_source,
    compact_json,
    decimal_string,
    json_object,
    optional_string,
)
from captures.importers.sink import Sink
from replay.errors import ImportFormatError
from replay.events import dynamodb_size_bytes
from replay.vocabulary import SourceKind

_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


def detect_dynamodb(first: Mapping[str, Any], top: Any) -> str | None:
    """A ``dynamodb`` object means a stream record; a CLI page (``NextShardIterator``) or a record
    without ``eventSourceARN`` means ``get-records`` output (the two forms parse alike)."""
    if "dynamodb" not in first:
        return None
    cli_page = isinstance(top, dict) and "NextShardIterator" in top
    return CLI if cli_page or "eventSourceARN" not in first else LAMBDA


def parse_dynamodb_record(rec: Mapping[str, Any], where: str, sink: Sink) -> None:
    """A DynamoDB stream record, from a Lambda event or ``aws dynamodbstreams get-records``.

    The ``dynamodb`` object is stored verbatim (key order kept) except where the event AWS sends
    differs from the input: an ISO-8601 ``ApproximateCreationDateTime`` (CLI v2) becomes epoch
    seconds, a missing ``SizeBytes`` is computed (D01's derived fact), and a missing
    ``ApproximateCreationDateTime`` (old sample events) is the assumed one of
    :meth:`Sink.arrival_ms`, when the sink assumes any (the live capture's does not).
    """
    check_event_source(rec, SourceKind.DYNAMODB, where)
    ddb = dict(json_object(rec, "dynamodb", "dynamodb", where))
    seq = decimal_string(ddb, "SequenceNumber", "dynamodb.SequenceNumber", where)
    stated = ddb.get("ApproximateCreationDateTime")
    arrival = sink.arrival_ms(
        ddb, "ApproximateCreationDateTime", "dynamodb.ApproximateCreationDateTime", where
    )
    if stated is None:
        # An assumed time (old sample events): first, where AWS puts it, as every event has one.
        ddb = {"ApproximateCreationDateTime": arrival / 1000, **ddb}
    elif isinstance(stated, str):
        ddb["ApproximateCreationDateTime"] = arrival / 1000
    keys = json_object(ddb, "Keys", "dynamodb.Keys", where)
    ddb, size_bytes = _with_size_bytes(ddb, where, sink)
    name = optional_string(rec, "eventName", "eventName", where)
    if name is not None and name not in _EVENT_NAMES:
        raise ImportFormatError(
            f"{where}: eventName is {name!r}; allowed: {', '.join(_EVENT_NAMES)}"
        )
    identity = rec.get("userIdentity")
    if identity is not None and not isinstance(identity, dict):
        raise ImportFormatError(f"{where}: userIdentity must be a JSON object")
    extras = {
        "event_id": optional_string(rec, "eventID", "eventID", where),
        "event_name": name,
        "event_version": optional_string(rec, "eventVersion", "eventVersion", where),
        "stream_view_type": optional_string(
            ddb, "StreamViewType", "dynamodb.StreamViewType", where
        ),
        "user_identity": compact_json(_lambda_identity(identity)) if identity is not None else None,
        "size_bytes": size_bytes,
    }
    sink.saw(rec, where)
    # Keys canonical (sorted, compact): the item identity that orders records (B49).
    key = json.dumps(keys, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sink.add(None, seq, arrival, key, compact_json(ddb).encode("utf-8"))
    sink.add_extra(**extras)


def _with_size_bytes(ddb: dict[str, Any], where: str, sink: Sink) -> tuple[dict[str, Any], int]:
    given = ddb.get("SizeBytes")
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 0:
            raise ImportFormatError(f"{where}: dynamodb.SizeBytes must be a non-negative integer")
        return ddb, given
    try:
        computed = dynamodb_size_bytes(ddb)
    except ValueError as exc:
        raise ImportFormatError(f"{where}: dynamodb.{exc}") from None
    sink.computed_size_bytes.append(where)
    # Put it where AWS does: just before StreamViewType (the last key), else at the end.
    out: dict[str, Any] = {}
    for k, v in ddb.items():
        if k == "StreamViewType":
            out["SizeBytes"] = computed
        out[k] = v
    out.setdefault("SizeBytes", computed)
    return out, computed


def _lambda_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The Lambda event's ``userIdentity`` (B91): camelCase ``{type, principalId}``.

    The DynamoDB Streams API (and so the CLI) spells it ``{PrincipalId, Type}``.
    """
    if "Type" in identity or "PrincipalId" in identity:
        out = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
        return {k: v for k, v in out.items() if v is not None}
    return dict(identity)
