"""Live capture of an SQS queue (often a dead-letter queue): SQS has no non-destructive read.

Two explicit modes:

- **hide-and-restore** (default): receive with a long visibility timeout until the queue answers
  empty, never delete, then make every received message visible again
  (``ChangeMessageVisibilityBatch`` to 0). Nothing leaves the queue, but every message's
  ``ApproximateReceiveCount`` goes up by one — so when the queue has a ``RedrivePolicy``, the
  extra receive could push a message past its ``maxReceiveCount`` into the next dead-letter queue
  (now, or on the next consumer's receive). The capture refuses such a queue unless ``--force``.
  If the process dies (``kill -9``) before restoring, the messages reappear on their own when the
  visibility timeout (``--visibility-timeout``, default 300 s) expires. A read that outlasts half
  the timeout extends it for the messages already hidden (a lease renewal).
- **move** (``--move``): receive, write the records durably, then delete them: for draining a
  dead-letter queue into a capture. A message is deleted only after the part holding it is on
  disk; a message received twice (a crash between the two) is recognised by its id and not
  recorded again.

FIFO queues: a message group with messages in flight yields nothing more, so hide-and-restore sees
only the first messages of each group; ``--move`` captures all of them. Queue attributes (visibility
timeout, redrive policy, retention, FIFO settings) go to ``source.settings``.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from captures.aws import Arn, AwsOptions, aws_errors, named_arn
from captures.common import ProgressFn, ShardProgress, StopFlag, no_progress
from captures.redact import Redactor
from captures.writer import CaptureComplete, CaptureWriter
from replay.errors import UserError
from replay.events import EventContext
from replay.formats.capture import Capture, Manifest, ShardInfo, SourceInfo, read_capture
from replay.vocabulary import SourceKind

DEFAULT_VISIBILITY_S = 300
MIN_VISIBILITY_S = 2  # below this a receive could outlive its own lease before it is renewed
MAX_VISIBILITY_S = 43_200  # SQS ChangeMessageVisibility maximum
_VOLATILE = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "LastModifiedTimestamp",
    "CreatedTimestamp",
)


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
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


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


@dataclass(frozen=True)
class SqsCaptureResult:
    """What an SQS capture did."""

    capture: Capture
    received: int
    restored: int
    deleted: int
    notes: tuple[str, ...]


def receive_all(
    client: Any,
    queue: Queue,
    *,
    visibility_s: int,
    wait_s: int,
    empty_polls: int,
    on_batch: Any,
    stop: StopFlag,
    handles: dict[str, str] | None = None,
    stats: dict[str, int] | None = None,
) -> dict[str, str]:
    """Receive until ``empty_polls`` answers in a row bring nothing new; return message id →
    receipt handle (the latest one: an older handle of a re-received message is stale).

    ``on_batch(messages)`` is called with each non-empty answer, in order. ``handles`` is filled
    as messages arrive, so a caller interrupted mid-way (Ctrl-C, network error) still holds every
    receipt handle it must restore.

    Hide-and-restore is complete only if nothing read reappears before the read ends, so a read
    that outlasts half of ``visibility_s`` extends the hidden messages' timeout (a lease renewal,
    one ChangeMessageVisibilityBatch per 10 messages). Should a message come back anyway (a
    stalled process), an answer made only of such messages counts as empty, or the loop would
    never end; ``stats["reappeared"]`` counts them and the caller warns.
    """
    handles = {} if handles is None else handles
    stats = {} if stats is None else stats
    stats.setdefault("reappeared", 0)
    stats.setdefault("extended", 0)
    leases: deque[tuple[float, str]] = deque()  # (received or extended at, message id), in order
    empty = 0
    while empty < empty_polls and not stop.is_set:
        stats["extended"] += _renew(client, queue, handles, leases, visibility_s)
        resp = client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=min(wait_s, max(0, visibility_s // 2 - 1)),
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
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


def _renew(
    client: Any,
    queue: Queue,
    handles: dict[str, str],
    leases: deque[tuple[float, str]],
    visibility_s: int,
) -> int:
    """Extend the timeout of messages hidden for half of ``visibility_s`` or more; how many."""
    now = time.monotonic()
    due: list[str] = []
    while leases and leases[0][0] + visibility_s / 2 <= now:
        due.append(leases.popleft()[1])
    due = [m for m in dict.fromkeys(due) if m in handles]
    if due:
        _change_visibility(client, queue, [(m, handles[m]) for m in due], visibility_s)
        leases.extend((now, m) for m in due)
    return len(due)


def _change_visibility(
    client: Any, queue: Queue, items: list[tuple[str, str]], seconds: int
) -> int:
    """ChangeMessageVisibilityBatch for (message id, receipt handle) pairs; how many succeeded."""
    done = 0
    for i in range(0, len(items), 10):
        chunk = items[i : i + 10]
        resp = client.change_message_visibility_batch(
            QueueUrl=queue.url,
            Entries=[
                {"Id": str(j), "ReceiptHandle": h, "VisibilityTimeout": seconds}
                for j, (_, h) in enumerate(chunk)
            ],
        )
        done += len(resp.get("Successful", []))
    return done


def restore(client: Any, queue: Queue, handles: dict[str, str]) -> int:
    """Make received messages visible again (visibility timeout 0); return how many."""
    return _change_visibility(client, queue, list(handles.items()), 0)


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


def capture_sqs(
    aws: AwsOptions,
    queue_ref: str,
    out: str,
    *,
    move: bool = False,
    force: bool = False,
    visibility_s: int = DEFAULT_VISIBILITY_S,
    wait_s: int = 1,
    empty_polls: int = 2,
    resume: bool = False,
    overwrite: bool = False,
    redactor: Redactor | None = None,
    progress: ProgressFn = no_progress,
) -> SqsCaptureResult:
    """Capture every message of a queue into ``out`` (hide-and-restore, or ``move``).

    Raises:
        UserError: the queue is unsafe to read without ``--force``, or an AWS failure.
    """
    if not MIN_VISIBILITY_S <= visibility_s <= MAX_VISIBILITY_S:
        raise UserError(
            f"--visibility-timeout {visibility_s}: allowed {MIN_VISIBILITY_S}..{MAX_VISIBILITY_S} "
            "seconds (SQS's maximum is 12 hours; messages must stay hidden while being read)"
        )
    queue, client, aws = resolve_queue(aws, queue_ref)
    notes = [] if move else check_safe(queue, force=force)
    with aws_errors(f"sqs queue {queue.name}"):
        sources = client.list_dead_letter_source_queues(QueueUrl=queue.url).get("queueUrls", [])
    settings: dict[str, Any] = {k: v for k, v in queue.attributes.items() if k not in _VOLATILE}
    if sources:
        settings["DeadLetterSourceQueues"] = sources
    manifest = Manifest(
        source=SourceInfo(
            kind=SourceKind.SQS,
            arn=queue.arn,
            region=queue.region,
            name=queue.name,
            fifo=queue.fifo,
            settings=settings,
        ),
        shards=(ShardInfo(id=queue.name),),
        redaction=redactor.describe() if redactor else None,
        created_by="capture sqs --move" if move else "capture sqs",
        observed={"queue_depth_at_capture": queue.depth},
    )
    ctx = EventContext(SourceKind.SQS, queue.arn, queue.region)
    try:
        writer = CaptureWriter.open(
            out,
            manifest,
            ctx,
            resume=resume,
            overwrite=overwrite,
            redactor=redactor,
            flush_rows=10_000,
            flush_seconds=3600,
            endpoint_url=aws.endpoint_url,
        )
    except CaptureComplete:
        return SqsCaptureResult(read_capture(out), 0, 0, 0, ("already complete",))
    known = set(writer.state.ids)
    received = deleted = 0
    stop = StopFlag()

    def on_batch(msgs: list[dict[str, Any]]) -> None:
        nonlocal received, deleted
        received += len(msgs)
        fresh = [m for m in msgs if _seq(queue, m) not in known]
        known.update(_seq(queue, m) for m in fresh)
        writer.add(queue.name, rows(queue, fresh))
        if move:
            writer.flush()  # on disk before the messages leave the queue
            deleted += delete(client, queue, msgs)
        progress(ShardProgress(queue.name, writer.count(queue.name)))

    handles: dict[str, str] = {}
    stats: dict[str, int] = {}
    restored = 0
    try:
        with aws_errors(f"sqs queue {queue.name}"):
            receive_all(
                client,
                queue,
                visibility_s=visibility_s,
                wait_s=wait_s,
                empty_polls=empty_polls,
                on_batch=on_batch,
                stop=stop,
                handles=handles,
                stats=stats,
            )
    except (KeyboardInterrupt, UserError) as exc:
        writer.checkpoint()
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        restore_note = "" if move else restore_after_failure(client, queue, handles, visibility_s)
        raise UserError(
            f"{why}; messages read so far are saved in {out}{restore_note}; run again with --resume"
        ) from None
    if not move and handles:
        with aws_errors(f"sqs queue {queue.name}: restoring visibility"):
            restored = restore(client, queue, handles)
    if stats.get("reappeared"):
        notes.append(
            f"{stats['reappeared']} receive(s) returned a message already read by this capture "
            f"(its --visibility-timeout {visibility_s} s ran out before it was extended): those "
            "messages' receive counts rose more than once, and messages may have been missed; "
            "capture again with a longer timeout"
        )
    if queue.fifo and not move and queue.depth > writer.count(queue.name):
        notes.append(
            f"FIFO queue: {writer.count(queue.name)} of ~{queue.depth} messages were reachable "
            "(messages behind in-flight ones of the same group stay hidden); --move captures all"
        )
    progress(ShardProgress(queue.name, writer.count(queue.name), None, True))
    observed = {
        **writer.manifest.observed,
        "capture_receives": received,
        "visibility_extended": stats.get("extended", 0),
        "restored": restored,
        "deleted": deleted,
    }
    updates: dict[str, Any] = {"observed": observed}
    if redactor is not None:
        updates["redaction"] = redactor.describe()
    capture = writer.finish(**updates)
    return SqsCaptureResult(capture, received, restored, deleted, tuple(notes))


def _seq(queue: Queue, m: dict[str, Any]) -> str:
    seq = m.get("Attributes", {}).get("SequenceNumber") if queue.fifo else None
    return str(seq or m["MessageId"])
