"""Kinesis and DynamoDB stream records, rebuilt field for field from capture rows (B90, K01, B91, D01).

Both take a capture table already cut down to the batch's rows and columns (see
:func:`replay.events.records.build_records`) and return the records in the key order AWS uses.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from replay.events.envelope import EventContext, json_values

KINESIS_SCHEMA_VERSION = "1.0"
KINESIS_EVENT_VERSION = "1.0"
KINESIS_EVENT_SOURCE = "aws:kinesis"
KINESIS_EVENT_NAME = "aws:kinesis:record"
DYNAMODB_EVENT_SOURCE = "aws:dynamodb"
# "1.0" in the docs' examples, "1.1" in every record recorded against AWS (D01); used only when a
# capture row has no event_version of its own.
DEFAULT_DYNAMODB_EVENT_VERSION = "1.1"


def _arrival_seconds(table: pa.Table) -> list[float]:
    ms = table.column("arrival").cast(pa.int64()).to_numpy()
    # Correctly rounded ms/1000: its repr is the decimal with at most 3 fractional digits (K01).
    seconds: list[float] = (ms / 1000).tolist()
    return seconds


def kinesis_records(t: pa.Table, ctx: EventContext) -> list[dict[str, Any]]:
    """Kinesis records (B90, K01) from the ``shard``, ``seq``, ``key``, ``data`` and ``arrival``
    columns; ``data`` is base64, the arrival epoch seconds with millisecond precision."""
    b64 = binascii.b2a_base64
    region, arn, role = ctx.region, ctx.source_arn, ctx.invoke_identity_arn
    return [
        {
            "kinesis": {
                "kinesisSchemaVersion": KINESIS_SCHEMA_VERSION,
                "partitionKey": key,
                "sequenceNumber": seq,
                "data": str(b64(data, newline=False), "ascii"),
                "approximateArrivalTimestamp": ts,
            },
            "eventSource": KINESIS_EVENT_SOURCE,
            "eventVersion": KINESIS_EVENT_VERSION,
            "eventID": f"{shard}:{seq}",
            "eventName": KINESIS_EVENT_NAME,
            "invokeIdentityArn": role,
            "awsRegion": region,
            "eventSourceARN": arn,
        }
        for shard, seq, key, data, ts in zip(
            t.column("shard").to_pylist(),
            t.column("seq").to_pylist(),
            t.column("key").to_pylist(),
            t.column("data").to_pylist(),
            _arrival_seconds(t),
            strict=True,
        )
    ]


def dynamodb_records(t: pa.Table, ctx: EventContext) -> list[dict[str, Any]]:
    """DynamoDB stream records (D01, B91): the captured ``dynamodb`` object with its key order
    kept, and ``userIdentity`` only where the row has one (TTL deletions)."""
    region, arn = ctx.region, ctx.source_arn
    identities = t.column("user_identity").to_pylist()
    present = [i for i, ui in enumerate(identities) if ui is not None]
    parsed = json_values([identities[i].encode("utf-8") for i in present])
    for i, value in zip(present, parsed, strict=True):
        identities[i] = value
    out: list[dict[str, Any]] = []
    for shard, seq, ddb, eid, name, version, ui in zip(
        t.column("shard").to_pylist(),
        t.column("seq").to_pylist(),
        json_values(t.column("data").to_pylist()),
        t.column("event_id").to_pylist(),
        t.column("event_name").to_pylist(),
        t.column("event_version").to_pylist(),
        identities,
        strict=True,
    ):
        rec: dict[str, Any] = {
            "eventID": eid if eid is not None else _fallback_event_id(shard, seq),
            "eventName": name if name is not None else _infer_event_name(ddb),
            "eventVersion": version if version is not None else DEFAULT_DYNAMODB_EVENT_VERSION,
            "eventSource": DYNAMODB_EVENT_SOURCE,
            "awsRegion": region,
            "dynamodb": ddb,
            "eventSourceARN": arn,
        }
        if ui is not None:
            rec["userIdentity"] = ui
        out.append(rec)
    return out


def _fallback_event_id(shard: str, seq: str) -> str:
    # AWS event ids are 32 hex digits; a capture without them gets a stable stand-in.
    return hashlib.md5(f"{shard}:{seq}".encode(), usedforsecurity=False).hexdigest()


def _infer_event_name(ddb: Mapping[str, Any]) -> str:
    new, old = "NewImage" in ddb, "OldImage" in ddb
    if new and not old:
        return "INSERT"
    if old and not new:
        return "REMOVE"
    return "MODIFY"
