"""Live capture of an SQS queue (often a dead-letter queue): SQS has no non-destructive read.

Two explicit modes:

- **hide-and-restore** (default): receive with a long visibility timeout until the queue answers
  empty, never delete, then make every received message visible again
  (``ChangeMessageVisibilityBatch`` to 0). Nothing leaves the queue, but every receive adds one
  to a message's ``ApproximateReceiveCount``, so when the queue has a ``RedrivePolicy`` the
  capture could push messages past ``maxReceiveCount``: it refuses such a queue unless
  ``--force``. A read that outlasts half the timeout (``--visibility-timeout``, default 300 s)
  extends it for the messages already hidden (a lease renewal).
- **move** (``--move``): receive, write the records durably, then delete them: for draining a
  dead-letter queue into a capture. A message is deleted only after the part holding it is on
  disk.

Interruptions. Every ``--flush-records`` records or ``--flush-seconds`` (10 s), the records go to a
part and, just before, the receipt state (:mod:`captures.sqs_state`: message ids, receipt handles,
visibility deadlines, and a write-ahead bound on every deadline) goes beside it. ``--resume``
keeps hidden, with the recorded handles, the messages the killed run held and already saved (so
they are not received again), makes visible those it held but had not saved, waits until the
messages of the killed run's last receives (whose handles died with it) are visible again, and
only then receives; a message received again is recorded once (by ``seq``). The capture is
complete only when every message the queue held at the first run's start is captured or
accounted for (left the queue; a FIFO group's messages behind hidden ones); otherwise it exits 2
saying what is missing. Ctrl-C lets the receive in flight finish, keeps its messages, and makes
every hidden message visible again.

FIFO queues: a message group with messages in flight yields nothing more, so hide-and-restore sees
only the first messages of each group; ``--move`` captures all of them. Queue attributes go to
``source.settings`` typed (:func:`captures.sqs_api.queue_settings`).

Modules: :mod:`captures.sqs_api` (the queue, rows, the SQS calls; re-exported here for
``capture failures``), :mod:`captures.sqs_state` (the receipt state), :mod:`captures.sqs_run` (one
run: settle, receive, finish or give up).
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace as with_fields
from typing import Any

from captures.aws import AwsOptions, aws_errors
from captures.common import ProgressFn, StopFlag, no_progress
from captures.redact import Redactor
from captures.sqs_api import (
    DEFAULT_VISIBILITY_S,
    MAX_VISIBILITY_S,
    MIN_VISIBILITY_S,
    Queue,
    check_safe,
    delete,
    queue_settings,
    receive_all,
    resolve_queue,
    restore,
    restore_after_failure,
    rows,
)
from captures.sqs_run import CaptureRun, SqsCaptureResult
from captures.sqs_state import Head, Receipt, ReceiptStore
from captures.writer import CaptureComplete, CaptureWriter, read_bytes
from replay.errors import CaptureError, UserError
from replay.events import EventContext
from replay.formats.capture import (
    MANIFEST,
    Manifest,
    ShardInfo,
    SourceInfo,
    filesystem,
    read_capture,
)
from replay.vocabulary import SourceKind

__all__ = [
    "DEFAULT_FLUSH_RECORDS",
    "DEFAULT_FLUSH_SECONDS",
    "DEFAULT_VISIBILITY_S",
    "Queue",
    "SqsCaptureResult",
    "capture_sqs",
    "check_safe",
    "delete",
    "queue_settings",
    "receive_all",
    "resolve_queue",
    "restore",
    "restore_after_failure",
    "rows",
]

DEFAULT_FLUSH_RECORDS = 1_000
DEFAULT_FLUSH_SECONDS = 10.0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
    flush_records: int = DEFAULT_FLUSH_RECORDS,
    flush_seconds: float = DEFAULT_FLUSH_SECONDS,
    say: Callable[[str], None] = _say,
) -> SqsCaptureResult:
    """Capture every message of a queue into ``out`` (hide-and-restore, or ``move``).

    ``say`` hears progress lines (a resume waiting for hidden messages); stderr by default.

    Raises:
        UserError: the queue is unsafe to read without ``--force``, an AWS failure, an
            interruption, or a capture that cannot be sure it holds every message (all one line,
            the capture resumable).
    """
    if not MIN_VISIBILITY_S <= visibility_s <= MAX_VISIBILITY_S:
        raise UserError(
            f"--visibility-timeout {visibility_s}: allowed {MIN_VISIBILITY_S}..{MAX_VISIBILITY_S} "
            "seconds (SQS's maximum is 12 hours; messages must stay hidden while being read)"
        )
    if flush_records < 1 or not flush_seconds > 0:
        raise UserError("--flush-records must be at least 1 and --flush-seconds more than 0")
    queue, client, aws = resolve_queue(aws, queue_ref)
    notes = [] if move else check_safe(queue, force=force)
    with aws_errors(f"sqs queue {queue.name}"):
        sources = client.list_dead_letter_source_queues(QueueUrl=queue.url).get("queueUrls", [])
    settings = queue_settings(queue.attributes)
    if sources:
        settings["DeadLetterSourceQueues"] = sources
    earlier = _earlier_observed(out, aws.endpoint_url) if resume else {}
    # The depth is the first run's: a resume sees fewer (the killed run's are hidden).
    depth = earlier.get("queue_depth_at_capture", queue.depth)
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
        observed={**earlier, "queue_depth_at_capture": depth},
    )
    store = ReceiptStore(out, endpoint_url=aws.endpoint_url)
    # What an earlier run left hidden; read before --overwrite deletes it (its messages are then
    # made visible again or waited out like unsaved ones, so the new capture can receive them).
    head, earlier_receipts = _earlier_receipts(store, resume=resume, overwrite=overwrite)
    if head is not None and not resume:
        head = Head(visibility_s=visibility_s, hidden_until_ms=head.hidden_until_ms)
    try:
        writer = CaptureWriter.open(
            out,
            manifest,
            EventContext(SourceKind.SQS, queue.arn, queue.region),
            resume=resume,
            overwrite=overwrite,
            redactor=redactor,
            flush_rows=sys.maxsize,  # this module decides when to flush: receipts go first
            flush_seconds=math.inf,
            endpoint_url=aws.endpoint_url,
        )
    except CaptureComplete:
        store.remove()  # a run killed right after completing leaves its receipt state
        return SqsCaptureResult(read_capture(out), 0, 0, 0, ("already complete",))
    run = CaptureRun(
        client, queue, writer, store, head or Head(visibility_s=visibility_s), earlier_receipts,
        out=out, move=move,
        visibility_s=visibility_s, wait_s=wait_s, empty_polls=empty_polls,
        flush_records=flush_records, flush_seconds=flush_seconds, say=say, progress=progress,
        redactor=redactor,
    )  # fmt: skip
    with _deferred_interrupt(run.stop):
        result = run.capture()
    return with_fields(result, notes=(*notes, *result.notes))


def _earlier_receipts(
    store: ReceiptStore, *, resume: bool, overwrite: bool
) -> tuple[Head | None, dict[str, Receipt]]:
    """The receipt state an earlier run left (nothing for a new capture; on ``--overwrite``, an
    unreadable state is ignored rather than blocking the replacement)."""
    if resume:
        return store.load()
    if overwrite:
        try:
            return store.load()
        except CaptureError:
            return None, {}
    return None, {}


def _earlier_observed(out: str, endpoint_url: str | None) -> dict[str, Any]:
    """The ``observed`` of the capture at ``out`` (empty when there is none yet)."""
    fs, inner = filesystem(out, endpoint_url=endpoint_url)
    raw = read_bytes(fs, f"{inner}/{MANIFEST}")
    try:
        observed = json.loads(raw.decode("utf-8")).get("observed") if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        observed = None  # the writer reports a corrupt manifest
    return dict(observed) if isinstance(observed, dict) else {}


@contextmanager
def _deferred_interrupt(stop: StopFlag) -> Iterator[None]:
    """Ctrl-C sets ``stop``: the call in flight finishes and its answer is processed (a receive's
    messages are hidden by then). A second Ctrl-C raises KeyboardInterrupt (abandons the call).

    Only in the main thread, and not when the parent had SIGINT ignored (a background job).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
