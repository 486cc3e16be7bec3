"""Throughput of Lambda ESM filtering (replay/filters.py): prints records/s, asserts nothing.

Scenario: Kinesis event records whose ``data`` is a ~300-byte JSON document, one filter pattern
with two fields on ``data``; plus, for comparison, a metadata-only pattern (no payload decoding),
an SQS JSON body and a five-filter FilterCriteria. Run with ``python benchmarks/bench_filters.py``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from replay.filters import FilterSet, match_records
from replay.vocabulary import SourceKind

N_RECORDS = 200_000


def _payload(i: int) -> bytes:
    """A ~300-byte JSON document, typical of an order event."""
    doc = {
        "event_type": "order_created" if i % 3 else "order_cancelled",
        "order_id": f"ord-{i:010d}",
        "customer": {"id": f"cus-{i % 9973:06d}", "tier": "gold" if i % 7 == 0 else "standard"},
        "amount": (i % 1000) + 0.5,
        "currency": "EUR",
        "items": [{"sku": f"sku-{i % 311:04d}", "qty": 1 + i % 4}],
        "created_at": "2026-08-07T12:34:56.789Z",
        "source": "checkout-service",
        "note": "x" * 40,
    }
    return json.dumps(doc).encode()


def _kinesis_record(i: int) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": f"pk-{i % 64}",
            "sequenceNumber": f"{49590338271490256608559692538361571095921575989136588898 + i}",
            "data": base64.b64encode(_payload(i)).decode(),
            "approximateArrivalTimestamp": 1_786_000_000.123 + i / 1000,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{i}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "eu-west-1",
        "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
    }


def _sqs_record(i: int) -> dict[str, Any]:
    return {
        "messageId": f"m-{i}",
        "receiptHandle": "AQEB...",
        "body": _payload(i).decode(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1786000000000"},
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
        "awsRegion": "eu-west-1",
    }


def _measure(
    label: str,
    kind: SourceKind,
    filters: FilterSet,
    records: Sequence[Mapping[str, Any]],
    run: Callable[[SourceKind, FilterSet, Sequence[Mapping[str, Any]]], Any] = match_records,
) -> None:
    """Best of three runs, printed as records per second."""
    best = float("inf")
    matched = 0
    for _ in range(3):
        start = time.perf_counter()
        mask = run(kind, filters, records)
        best = min(best, time.perf_counter() - start)
        matched = int(mask.sum())
    rate = len(records) / best
    print(
        f"{label:<58} {rate:>12,.0f} records/s  "
        f"({best * 1e6 / len(records):.2f} µs/record, {matched:,} matched)"
    )


def main() -> None:
    """Build the records once, then time each scenario."""
    kinesis = [_kinesis_record(i) for i in range(N_RECORDS)]
    sqs = [_sqs_record(i) for i in range(N_RECORDS)]
    size = len(_payload(1))
    print(f"{N_RECORDS:,} records, payload {size} bytes of JSON\n")

    two_fields = FilterSet.from_texts(
        ['{"data": {"event_type": ["order_created"], "amount": [{"numeric": [">", 100]}]}}']
    )
    _measure("Kinesis, 1 pattern, 2 fields on data", SourceKind.KINESIS, two_fields, kinesis)

    metadata_only = FilterSet.from_texts(['{"partitionKey": [{"prefix": "pk-1"}]}'])
    _measure(
        "Kinesis, metadata-only pattern (no decoding)", SourceKind.KINESIS, metadata_only, kinesis
    )

    five = FilterSet.from_texts(
        [
            '{"data": {"event_type": ["order_refunded"]}}',
            '{"data": {"customer": {"tier": ["platinum"]}}}',
            '{"data": {"currency": [{"anything-but": ["EUR", "USD"]}]}}',
            '{"data": {"items": {"sku": [{"prefix": "sku-9999"}]}}}',
            '{"data": {"event_type": ["order_created"], "amount": [{"numeric": [">", 100]}]}}',
        ]
    )
    _measure("Kinesis, 5 patterns (last one matches)", SourceKind.KINESIS, five, kinesis)

    body = FilterSet.from_texts(
        ['{"body": {"event_type": ["order_created"], "amount": [{"numeric": [">", 100]}]}}']
    )
    _measure("SQS, 1 pattern, 2 fields on body", SourceKind.SQS, body, sqs)


if __name__ == "__main__":
    main()
