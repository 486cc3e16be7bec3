"""Failure records: what an ESM sends to its on-failure destination, and SQS dead-letter messages.

Two files hold them, one JSON object per line: a run's ``destinations.jsonl`` (what the replay
sent) and a capture's ``observed/failures.jsonl`` (:data:`FAILURES_FILE`, what production sent, as
``esm-replay capture failures`` stored it). Both are read here, by one parser for every source
family, so that the query views, compare's calibration, explain and the capture's own
``failure_view`` agree on what a record says:

- Kinesis (``KinesisBatchInfo``), DynamoDB (``DDBStreamBatchInfo``) and Kafka (``KafkaBatchInfo``
  with ``recordsInfo`` per topic-partition) envelopes name shards and sequence/offset ranges;
- an SQS dead-letter message (``messageId``, ``body``, ``attributes``) names one message.

A record that reached the destination through SNS, or that is read back from a queue as a message,
carries the envelope as text; :func:`unwrap` opens it. Local paths and ``s3://`` URIs are read alike.
Nothing here imports the engine, boto3 or the capture agents.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from replay.errors import UserError
from replay.formats.capture import filesystem
from replay.timeutil import parse_iso_ms

FAILURES_FILE = "observed/failures.jsonl"
"""Where a capture keeps production's failure records (relative to the capture)."""

# The columns of the views built from failure records (destinations, observed failures): one shape
# for every source family, so a query over a Kinesis run also runs over an SQS one.
FAILURE_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("line", pa.int64()),
    ("condition", pa.string()),
    ("shard", pa.string()),
    ("first_seq", pa.string()),
    ("last_seq", pa.string()),
    ("batch_size", pa.int64()),
    ("approximate_invoke_count", pa.int64()),
    ("function_error", pa.string()),
    ("timestamp", pa.timestamp("ms", tz="UTC")),
    ("message_id", pa.string()),
    ("body", pa.string()),
    ("receive_count", pa.int64()),
    ("record", pa.string()),
)

# Keys of a message or notification that may carry a failure record as JSON text: SNS's
# ``Message``, and an SQS message's body in the API's and the Lambda event's spelling.
_CARRIERS = ("Message", "Body", "body")


@dataclass(frozen=True)
class SeqRange:
    """One shard (or Kafka topic-partition) and the first and last sequence number or offset of
    the records a failure record names there, as text (None where the record leaves it out)."""

    shard: str | None
    first_seq: str | None
    last_seq: str | None


@dataclass(frozen=True)
class FailureRecord:
    """What one failure record (on-failure envelope or DLQ message) says, in any source family.

    ``shard``, ``first_seq`` and ``last_seq`` are the first of ``ranges`` (a Kafka record may name
    several partitions); all three are None for an SQS message, which ``message_id`` names instead.
    ``line`` is the 0-based line of the file; ``record`` the object itself, unwrapped.
    """

    line: int
    condition: str | None
    shard: str | None
    first_seq: str | None
    last_seq: str | None
    batch_size: int | None
    approximate_invoke_count: int | None
    function_error: str | None
    timestamp_ms: int | None
    message_id: str | None
    body: str | None
    receive_count: int | None
    record: dict[str, Any]
    ranges: tuple[SeqRange, ...]

    def record_json(self) -> str:
        """The record as compact JSON (the ``record`` column of the views)."""
        return json.dumps(self.record, separators=(",", ":"))


def _names_batch(obj: dict[str, Any]) -> bool:
    """An on-failure envelope names its batch under ``<Family>BatchInfo``."""
    return any(k.endswith("BatchInfo") for k in obj)


def unwrap(obj: Any) -> Any:
    """The failure record inside an SNS notification or a queue message; anything else unchanged.

    An SNS notification (``"Type": "Notification"``, from a topic subscribed without raw delivery)
    gives whatever JSON its ``Message`` holds. Any other object gives the on-failure envelope (an
    object naming a ``...BatchInfo``) held as text in its ``Message``, ``Body`` or ``body``. An
    object that already names a batch, or whose text is not such JSON, is the record itself.
    """
    if not isinstance(obj, dict) or _names_batch(obj):
        return obj
    notification = obj.get("Type") == "Notification"
    for key in _CARRIERS:
        text = obj.get(key)
        if not isinstance(text, str):
            continue
        sns_message = notification and key == "Message"
        # Only text that can be an object is parsed: DLQ bodies are often large and not JSON.
        if not sns_message and not text.lstrip().startswith("{"):
            continue
        try:
            inner = json.loads(text)
        except json.JSONDecodeError:
            continue
        if sns_message or (isinstance(inner, dict) and _names_batch(inner)):
            return inner
    return obj


def _int(value: Any) -> int | None:
    """An integer or integer text as int; None when absent or not an integer."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _ranges(info: dict[str, Any]) -> tuple[SeqRange, ...]:
    """The ranges a ``...BatchInfo`` names: one per Kafka ``recordsInfo`` partition, else its
    ``shardId`` with the start and end sequence numbers; none for an empty (or absent) one."""
    per_partition = info.get("recordsInfo")
    if isinstance(per_partition, dict) and per_partition:
        out = []
        for shard, part in per_partition.items():
            part = part if isinstance(part, dict) else {}
            first, last = part.get("firstRecordOffset"), part.get("lastRecordOffset")
            out.append(SeqRange(shard, _text(first), _text(last)))
        return tuple(out)
    if not info:
        return ()
    return (
        SeqRange(
            info.get("shardId"),
            _text(info.get("startSequenceNumber")),
            _text(info.get("endSequenceNumber")),
        ),
    )


def parse_failure(obj: Any, line: int) -> FailureRecord:
    """Read the fields every family shares from one failure record (opened with :func:`unwrap`).

    Kinesis (``KinesisBatchInfo``), DynamoDB (``DDBStreamBatchInfo``) and Kafka (``KafkaBatchInfo``
    with ``recordsInfo`` per topic-partition) envelopes name a shard and a sequence/offset range;
    an SQS dead-letter message (``messageId``, ``body``, ``attributes``) names one message. A line
    that is not an object is kept as ``{"value": ...}``.
    """
    obj = unwrap(obj)
    record = obj if isinstance(obj, dict) else {"value": obj}
    info = next(
        (v for k, v in record.items() if k.endswith("BatchInfo") and isinstance(v, dict)), {}
    )
    ranges = _ranges(info)
    first = ranges[0] if ranges else SeqRange(None, None, None)
    request = record.get("requestContext") or {}
    response = record.get("responseContext") or {}
    attrs = record.get("attributes") or record.get("Attributes") or {}
    message_id = record.get("messageId") or record.get("MessageId")
    body = record.get("body", record.get("Body"))
    return FailureRecord(
        line=line,
        condition=request.get("condition"),
        shard=first.shard,
        first_seq=first.first_seq,
        last_seq=first.last_seq,
        batch_size=_int(info.get("batchSize")),
        approximate_invoke_count=_int(request.get("approximateInvokeCount")),
        function_error=response.get("functionError"),
        timestamp_ms=parse_iso_ms(record.get("timestamp")),
        message_id=_text(message_id),
        body=body if isinstance(body, str) else None,
        receive_count=_int(attrs.get("ApproximateReceiveCount"))
        if isinstance(attrs, dict)
        else None,
        record=record,
        ranges=ranges,
    )


def _read(fs: pafs.FileSystem, inner: str, where: str) -> list[FailureRecord] | None:
    """The records of one JSON Lines file; None when there is no such file."""
    if fs.get_file_info(inner).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(inner) as fh:
        raw: bytes = fh.read()
    out: list[FailureRecord] = []
    # Universal newlines, as a file opened in text mode reads: line numbers count "\r" endings too.
    for i, text in enumerate(io.StringIO(raw.decode("utf-8"), newline=None)):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: line {i + 1}: not valid JSON ({exc.msg})") from None
        out.append(parse_failure(obj, i))
    return out


def read_failures(path: str | os.PathLike[str]) -> list[FailureRecord]:
    """The failure records of a JSON Lines file (destinations.jsonl, observed/failures.jsonl), local
    or ``s3://``; empty when the file does not exist.

    Raises:
        UserError: a line is not valid JSON (one line naming the file and the line).
    """
    fs, inner = filesystem(path)
    return _read(fs, inner, os.fspath(path)) or []


def observed_failures(capture: str | os.PathLike[str] | None) -> list[FailureRecord] | None:
    """The production failure records a capture holds (:data:`FAILURES_FILE`); None when it holds
    none (no capture, or ``capture failures`` never ran on it)."""
    if capture is None:
        return None
    fs, inner = filesystem(capture)
    return _read(fs, f"{inner}/{FAILURES_FILE}", os.path.join(os.fspath(capture), FAILURES_FILE))


def _failure_cell(r: FailureRecord, name: str) -> Any:
    """One ``FAILURE_FIELDS`` column of a failure record (most are its attribute of that name)."""
    if name == "timestamp":
        return r.timestamp_ms
    if name == "record":
        return r.record_json()
    return getattr(r, name)


def failures_table(label: str, value: str, records: Sequence[FailureRecord]) -> pa.Table:
    """The rows of the ``destinations`` / ``observed_failures`` views for one run or capture:
    a ``label`` column holding ``value`` (the run's or capture's name), then ``FAILURE_FIELDS``."""
    cols = {name: [_failure_cell(r, name) for r in records] for name, _ in FAILURE_FIELDS}
    arrays = [pa.array([value] * len(records), pa.string())]
    for name, typ in FAILURE_FIELDS:
        if name == "timestamp":
            arrays.append(pa.array(cols[name], pa.int64()).cast(typ))
        else:
            arrays.append(pa.array(cols[name], typ))
    return pa.Table.from_arrays(arrays, names=[label, *(n for n, _ in FAILURE_FIELDS)])
