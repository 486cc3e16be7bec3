"""The SQS side of a queue capture: the queue, its typed settings, messages as capture rows, and
the calls that hide, renew, restore and delete them.

Used by ``capture sqs`` (:mod:`captures.sqs`) and ``capture failures`` (an SQS destination is read
the same way). Every receive bumps a message's ``ApproximateReceiveCount``; see
:func:`check_safe`.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from captures.aws import Arn, AwsOptions, aws_errors, named_arn
from captures.common import StopFlag
from replay.errors import UserError
from replay.events import order_message_attributes
from replay.formats.settings import SETTINGS, SettingError, typed_setting
from replay.vocabulary import SourceKind

DEFAULT_VISIBILITY_S = 300
MIN_VISIBILITY_S = 2  # below this a receive could outlive its own lease before it is renewed
MAX_VISIBILITY_S = 43_200  # SQS ChangeMessageVisibility maximum
BATCH = 10  # SQS's maximum per ReceiveMessage and per *Batch call
_VOLATILE = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "LastModifiedTimestamp",
    "CreatedTimestamp",
)
# informative attributes, typed the way capture-format.md says (the ones a replay reads are typed
# by replay.formats.settings)
_INT_SETTINGS = frozenset(
    {
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
        "KmsDataKeyReusePeriodSeconds",
    }
)
_BOOL_SETTINGS = frozenset({"SqsManagedSseEnabled"})
_JSON_SETTINGS = frozenset({"RedriveAllowPolicy", "Policy"})


@dataclass(frozen=True)
class Queue:
    """A resolved queue: URL, name, ARN, region and its attributes (strings, as SQS gives them)."""

    url: str
    name: str
    arn: str
    region: str
    attributes: dict[str, str]

    @property
    def fifo(self) -> bool:
        """FIFO queue (name ends in ``.fifo``)."""
        return self.attributes.get("FifoQueue") == "true" or self.name.endswith(".fifo")

    @property
    def max_receive_count(self) -> int | None:
        """The queue's own ``maxReceiveCount`` (its redrive policy), if it has one."""
        policy = self.attributes.get("RedrivePolicy")
        if not policy:
            return None
        return int(json.loads(policy)["maxReceiveCount"])

    @property
    def depth(self) -> int:
        """Visible messages when the queue was resolved."""
        return int(self.attributes.get("ApproximateNumberOfMessages", "0"))


def resolve_queue(aws: AwsOptions, queue: str) -> tuple[Queue, Any, AwsOptions]:
    """Find a queue by name, URL or ARN; return it, an SQS client and the options used."""
    refusal = "not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"
    arn, aws = named_arn(aws, queue, "sqs", refusal)
    client = aws.client("sqs")
    with aws_errors(f"sqs queue {queue}"):
        if queue.startswith(("https://", "http://")):
            url = queue
        elif arn is not None:
            url = client.get_queue_url(QueueName=arn.resource, QueueOwnerAWSAccountId=arn.account)[
                "QueueUrl"
            ]
        else:
            url = client.get_queue_url(QueueName=queue)["QueueUrl"]
        attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    qarn = attrs.get("QueueArn", "")
    parsed = Arn.parse(qarn)
    name = parsed.resource if parsed else url.rstrip("/").rsplit("/", 1)[-1]
    region = parsed.region if parsed else (aws.region or "")
    return Queue(url, name, qarn, region, dict(attrs)), client, aws


def queue_settings(attributes: dict[str, str]) -> dict[str, Any]:
    """The queue's lasting attributes, typed as capture-format.md says ``source.settings`` holds
    them: counts and seconds as integers, flags as booleans, policies (``RedrivePolicy`` with an
    integer ``maxReceiveCount``) as objects; the rest (ARNs, key ids...) as SQS gives them."""
    out: dict[str, Any] = {}
    known = SETTINGS[SourceKind.SQS]
    for name, value in attributes.items():
        if name in _VOLATILE:
            continue
        if name in known:  # the settings a replay reads: one table types and checks them
            try:
                out[name] = typed_setting(SourceKind.SQS, name, value, f"queue attribute {name}")
            except SettingError as exc:
                raise UserError(str(exc)) from None
            continue
        typed: Any = value
        if name in _INT_SETTINGS and value.strip().lstrip("-").isdigit():
            typed = int(value)
        elif name in _BOOL_SETTINGS and value.lower() in ("true", "false"):
            typed = value.lower() == "true"
        elif name in _JSON_SETTINGS and value:
            with suppress(json.JSONDecodeError):
                typed = json.loads(value)
        out[name] = typed
    return out


def check_safe(queue: Queue, *, force: bool) -> list[str]:
    """Refuse a hide-and-restore read that could push messages into another dead-letter queue.

    Returns:
        Notes for the user (what ``--force`` accepted).

    Raises:
        UserError: the queue has a redrive policy and ``force`` is not set.
    """
    mrc = queue.max_receive_count
    if mrc is None:
        return []
    target = json.loads(queue.attributes["RedrivePolicy"]).get("deadLetterTargetArn")
    if not force:
        raise UserError(
            f"sqs queue {queue.name}: has a redrive policy (maxReceiveCount {mrc} to {target}); "
            "the capture's receive adds 1 to every message's receive count and could move "
            "messages there. Use --move to drain it, or --force to accept the risk"
        )
    return [f"--force: every message's receive count went up by 1 (maxReceiveCount {mrc})"]


def message_seq(queue: Queue, m: dict[str, Any]) -> str:
    """A received message's ``seq``: its FIFO SequenceNumber, else its MessageId."""
    seq = m.get("Attributes", {}).get("SequenceNumber") if queue.fifo else None
    return str(seq or m["MessageId"])


def _message_attributes(attrs: dict[str, Any] | None) -> str | None:
    """``messageAttributes`` in the Lambda event's shape (camelCase, binaries base64)."""
    if not attrs:
        return None
    out: dict[str, Any] = {}
    for name, a in attrs.items():
        entry: dict[str, Any] = {}
        if "StringValue" in a:
            entry["stringValue"] = a["StringValue"]
        if "BinaryValue" in a:
            entry["binaryValue"] = base64.b64encode(a["BinaryValue"]).decode("ascii")
        entry["stringListValues"] = list(a.get("StringListValues") or [])
        entry["binaryListValues"] = [
            base64.b64encode(b).decode("ascii") for b in a.get("BinaryListValues") or []
        ]
        entry["dataType"] = a.get("DataType")
        out[name] = entry
    # SQS answers in its own order; Lambda delivers them in another (order_message_attributes)
    return json.dumps(order_message_attributes(out), separators=(",", ":"), ensure_ascii=False)


def rows(queue: Queue, msgs: list[dict[str, Any]]) -> pa.Table:
    """Capture columns (all but ``pos`` and ``size``) for received messages, in receive order.

    ``receive_count`` is the count before this capture's own receive (one less than SQS reports).
    """
    cols: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for m in msgs:
        a = m.get("Attributes", {})
        count = int(a.get("ApproximateReceiveCount", "1")) - 1
        seq = a.get("SequenceNumber") if queue.fifo else None
        cols["shard"].append(queue.name)
        cols["seq"].append(seq or m["MessageId"])
        cols["arrival"].append(int(a.get("SentTimestamp", "0")))
        cols["key"].append(a.get("MessageGroupId"))
        cols["data"].append(m.get("Body", "").encode("utf-8"))
        cols["message_id"].append(m["MessageId"])
        cols["md5_of_body"].append(m.get("MD5OfBody"))
        cols["sender_id"].append(a.get("SenderId"))
        cols["group_id"].append(a.get("MessageGroupId"))
        cols["dedup_id"].append(a.get("MessageDeduplicationId"))
        cols["sequence_number"].append(a.get("SequenceNumber"))
        cols["trace_header"].append(a.get("AWSTraceHeader"))
        cols["receive_count"].append(count)
        first = a.get("ApproximateFirstReceiveTimestamp")
        cols["first_receive"].append(int(first) if first and count > 0 else None)
        cols["delay_seconds"].append(None)
        cols["attributes"].append(json.dumps(a, separators=(",", ":"), sort_keys=True))
        cols["message_attributes"].append(_message_attributes(m.get("MessageAttributes")))
        cols["md5_of_message_attributes"].append(m.get("MD5OfMessageAttributes"))
    return pa.table({name: pa.array(values, type=_COLUMNS[name]) for name, values in cols.items()})


_COLUMNS: dict[str, pa.DataType] = {
    "shard": pa.string(),
    "seq": pa.string(),
    "arrival": pa.timestamp("ms", tz="UTC"),
    "key": pa.string(),
    "data": pa.binary(),
    "message_id": pa.string(),
    "md5_of_body": pa.string(),
    "sender_id": pa.string(),
    "group_id": pa.string(),
    "dedup_id": pa.string(),
    "sequence_number": pa.string(),
    "trace_header": pa.string(),
    "receive_count": pa.int32(),
    "first_receive": pa.timestamp("ms", tz="UTC"),
    "delay_seconds": pa.int32(),
    "attributes": pa.string(),
    "message_attributes": pa.string(),
    "md5_of_message_attributes": pa.string(),
}


def queue_counts(client: Any, queue: Queue) -> tuple[int, int]:
    """(visible, in flight): ApproximateNumberOfMessages and ...NotVisible, now."""
    attrs = client.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attrs.get("ApproximateNumberOfMessages", "0")),
        int(attrs.get("ApproximateNumberOfMessagesNotVisible", "0")),
    )


def receive_all(
    client: Any,
    queue: Queue,
    *,
    visibility_s: int,
    wait_s: int,
    empty_polls: int,
    on_batch: Callable[[list[dict[str, Any]]], None],
    stop: StopFlag,
    handles: dict[str, str] | None = None,
    stats: dict[str, int] | None = None,
    leases: deque[tuple[float, str]] | None = None,
    before_call: Callable[[], None] | None = None,
    on_renew: Callable[[list[str]], None] | None = None,
) -> dict[str, str]:
    """Receive until ``empty_polls`` answers in a row bring nothing new; return message id →
    receipt handle (the latest one: an older handle of a re-received message is stale).

    ``on_batch(messages)`` is called with each non-empty answer, in order, even when ``stop`` was
    set while the call was in flight (its messages are hidden: the caller must know them). The
    loop checks ``stop`` before each call. ``handles`` is filled as messages arrive, so a caller
    interrupted mid-way (Ctrl-C, network error) still holds every receipt handle it must restore.

    Hide-and-restore is complete only if nothing read reappears before the read ends, so a read
    that outlasts half of ``visibility_s`` extends the hidden messages' timeout (a lease renewal,
    one ChangeMessageVisibilityBatch per 10 messages; ``leases`` may hold (monotonic time, id)
    of messages already hidden before the loop, ``on_renew`` hears the ids renewed). Should a
    message come back anyway (a stalled process), an answer made only of such messages counts as
    empty, or the loop would never end; ``stats["reappeared"]`` counts them and the caller warns.
    ``before_call()`` runs before every renewal and receive (the caller's write-ahead state);
    ``stats["in_receive"]`` is 1 while a ReceiveMessage call is in flight.
    """
    handles = {} if handles is None else handles
    stats = {} if stats is None else stats
    stats.setdefault("reappeared", 0)
    stats.setdefault("extended", 0)
    leases = deque() if leases is None else leases  # (received or extended at, id), in order
    empty = 0
    while empty < empty_polls and not stop.is_set:
        if before_call is not None:
            before_call()
        renewed = renew_leases(client, queue, handles, leases, visibility_s)
        stats["extended"] += len(renewed)
        if renewed and on_renew is not None:
            on_renew(renewed)
        stats["in_receive"] = 1  # an error now may leave the call's messages hidden, unseen
        resp = client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=BATCH,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=min(wait_s, max(0, visibility_s // 2 - 1)),
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        stats["in_receive"] = 0
        msgs = resp.get("Messages", [])
        at = time.monotonic()
        again = sum(m["MessageId"] in handles for m in msgs)
        stats["reappeared"] += again
        for m in msgs:
            handles[m["MessageId"]] = m["ReceiptHandle"]
            leases.append((at, m["MessageId"]))
        if msgs:
            on_batch(msgs)
        empty = empty + 1 if again == len(msgs) else 0
    return handles


def renew_leases(
    client: Any,
    queue: Queue,
    handles: dict[str, str],
    leases: deque[tuple[float, str]],
    visibility_s: int,
) -> list[str]:
    """Extend the timeout of messages hidden for half of ``visibility_s`` or more; their ids."""
    now = time.monotonic()
    due: list[str] = []
    while leases and leases[0][0] + visibility_s / 2 <= now:
        due.append(leases.popleft()[1])
    due = [m for m in dict.fromkeys(due) if m in handles]
    if due:
        done = change_visibility(client, queue, [(m, handles[m]) for m in due], visibility_s)
        due = [m for m in due if done.get(m) is None]
        leases.extend((now, m) for m in due)
    return due


def change_visibility(
    client: Any, queue: Queue, items: Sequence[tuple[str, str]], seconds: int
) -> dict[str, str | None]:
    """ChangeMessageVisibilityBatch for (message id, receipt handle) pairs: id → None where it
    succeeded, else the error code SQS gave (``ReceiptHandleIsInvalid``, ``...MessageNotInflight``)."""
    return _per_entry(
        client.change_message_visibility_batch, queue, items, VisibilityTimeout=seconds
    )


def delete_handles(
    client: Any, queue: Queue, items: Sequence[tuple[str, str]]
) -> dict[str, str | None]:
    """DeleteMessageBatch for (message id, receipt handle) pairs: id → None or the error code."""
    return _per_entry(client.delete_message_batch, queue, items)


def _per_entry(
    call: Callable[..., Any], queue: Queue, items: Sequence[tuple[str, str]], **entry: Any
) -> dict[str, str | None]:
    """One ``*Batch`` call per 10 (message id, receipt handle) pairs; id → None or error code."""
    out: dict[str, str | None] = {}
    for i in range(0, len(items), BATCH):
        chunk = items[i : i + BATCH]
        resp = call(
            QueueUrl=queue.url,
            Entries=[{"Id": str(j), "ReceiptHandle": h, **entry} for j, (_, h) in enumerate(chunk)],
        )
        for ok in resp.get("Successful", []):
            out[chunk[int(ok["Id"])][0]] = None
        for failed in resp.get("Failed", []):
            out[chunk[int(failed["Id"])][0]] = str(failed.get("Code") or "Failed")
    return out


def restore(client: Any, queue: Queue, handles: dict[str, str]) -> int:
    """Make received messages visible again (visibility timeout 0); return how many."""
    done = change_visibility(client, queue, list(handles.items()), 0)
    return sum(code is None for code in done.values())


def restore_after_failure(
    client: Any, queue: Queue, handles: dict[str, str], visibility_s: int
) -> str:
    """Try to make the messages received so far visible again; say what became of them.

    When the endpoint is unreachable (the reason the capture stopped, often) the messages stay
    hidden until their visibility timeout ends: the user must know, since consumers cannot see
    them meanwhile.
    """
    if not handles:
        return ""
    try:
        with aws_errors(f"sqs queue {queue.name}: restoring visibility"):
            done = restore(client, queue, handles)
    except UserError:
        done = 0
    if done == len(handles):
        return f"; the {done} received message(s) are visible again"
    return (
        f"; {len(handles) - done} received message(s) could not be made visible again and stay "
        f"hidden until their {visibility_s} s visibility timeout ends"
    )


def delete(client: Any, queue: Queue, msgs: list[dict[str, Any]]) -> int:
    """Delete received messages; return how many were deleted."""
    resp = client.delete_message_batch(
        QueueUrl=queue.url,
        Entries=[{"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(msgs)],
    )
    failed = resp.get("Failed", [])
    if failed:
        raise UserError(
            f"sqs queue {queue.name}: could not delete {len(failed)} message(s): {failed[0]}"
        )
    return len(resp.get("Successful", []))
