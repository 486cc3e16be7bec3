"""One run of an SQS capture (:func:`captures.sqs.capture_sqs`): take over or wait out what an
interrupted run left hidden, receive while persisting records and receipts, then finish (complete
only if every message is accounted for) or give up (save, make visible, say what stays hidden).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as with_fields
from typing import Any

from captures.aws import aws_errors
from captures.common import ProgressFn, ShardProgress, StopFlag
from captures.redact import Redactor
from captures.sqs_api import (
    BATCH,
    Queue,
    change_visibility,
    delete,
    delete_handles,
    message_seq,
    queue_counts,
    receive_all,
    renew_leases,
    rows,
)
from captures.sqs_state import Head, Receipt, ReceiptStore, now_ms
from captures.writer import CaptureWriter
from replay.errors import UserError
from replay.formats.capture import Capture
from replay.timeutil import iso_ms

_ROUNDS = 3  # receive passes while the queue still shows visible messages after answering empty
_THIS_RUN = {"capture_receives": "received", "restored": "restored", "deleted": "deleted"}


class _Incomplete(UserError):
    """The run ended normally but cannot be sure it holds every message (one line, exit 2)."""


@dataclass(frozen=True)
class SqsCaptureResult:
    """What an SQS capture did (this run)."""

    capture: Capture
    received: int
    restored: int
    deleted: int
    notes: tuple[str, ...]


def _not_in_flight(code: str | None) -> bool:
    """SQS's answer for a message that is visible already (its timeout ran out)."""
    return code is not None and code.endswith("MessageNotInflight")


class CaptureRun:
    """One run of a capture: settle what earlier runs left hidden, receive, finish or give up.

    ``earlier`` holds the receipts the earlier runs left (a message saved in a part is kept
    hidden with its handle, one not saved is made visible), ``head`` their horizon (when every
    message they hid without a recorded receipt is visible again at the latest).
    """

    def __init__(
        self, client: Any, queue: Queue, writer: CaptureWriter, store: ReceiptStore,
        head: Head, earlier: dict[str, Receipt], *,
        out: str, move: bool, visibility_s: int, wait_s: int, empty_polls: int,
        flush_records: int, flush_seconds: float, say: Callable[[str], None],
        progress: ProgressFn, redactor: Redactor | None,
    ) -> None:  # fmt: skip
        self.client, self.queue, self.writer, self.store = client, queue, writer, store
        self.out, self.move, self.visibility_s = out, move, visibility_s
        self.wait_s, self.empty_polls = wait_s, empty_polls
        self.flush_records, self.flush_seconds = flush_records, flush_seconds
        self.say, self.progress, self.redactor = say, progress, redactor
        self.stop = StopFlag()
        self.handles: dict[str, str] = {}  # what this run holds hidden: id → receipt handle
        self.receipts: dict[str, Receipt] = {}
        self.leases: deque[tuple[float, str]] = deque()
        self.pending: list[Receipt] = []  # receipt entries not yet in a segment
        self.known: set[str] = set(writer.state.ids)
        self.unflushed = 0
        self.last_flush = time.monotonic()
        self.stats: dict[str, int] = {}
        self.run: dict[str, int] = {"received": 0, "restored": 0, "deleted": 0}
        # Deadlines of saved messages an earlier run hides where this one cannot reach them.
        self.elsewhere: list[int] = []
        self.unsettled_ms = 0  # an earlier run's horizon not yet waited out
        self.head = head  # the horizon and counters, over every run
        self.earlier = earlier  # what the earlier runs held hidden, by message id
        self.mrc = queue.max_receive_count

    # ------------------------------------------------------------------ the run

    def capture(self) -> SqsCaptureResult:
        self.head.runs += 1
        abandoned = False
        why = "interrupted"
        try:
            with aws_errors(f"sqs queue {self.queue.name}"):
                if self.earlier or self.head.hidden_until_ms > now_ms():
                    self._settle()
                self._receive()
                if not self.stop.is_set:
                    return self._finish()
        except KeyboardInterrupt:
            abandoned = True
        except _Incomplete:
            raise
        except UserError as exc:
            why, abandoned = str(exc), bool(self.stats.get("in_receive"))
        raise self._give_up(why, abandoned) from None

    def _settle(self) -> None:
        """Take over what the earlier run left hidden; wait for what it hid unrecorded."""
        horizon = self.head.hidden_until_ms
        saved = [r for r in self.earlier.values() if r.seq in self.known]
        unsaved = [r for r in self.earlier.values() if r.seq not in self.known]
        self._extend_horizon()
        now = now_ms()
        kept = 0
        if self.move:
            done = delete_handles(self.client, self.queue, _pairs(saved))
            self._count("deleted", sum(code is None for code in done.values()))
        else:
            done = change_visibility(self.client, self.queue, _pairs(saved), self.visibility_s)
            at, deadline = time.monotonic(), now + self.visibility_s * 1000
            for r in saved:
                code = done.get(r.message_id, "Failed")
                if code is None:
                    self._hold(with_fields(r, deadline_ms=deadline), at)
                    kept += 1
                elif not _not_in_flight(code) and r.deadline_ms > now:
                    self.elsewhere.append(r.deadline_ms)
        back = change_visibility(self.client, self.queue, _pairs(unsaved), 0)
        shown = sum(code is None or _not_in_flight(code) for code in back.values())
        self.store.replace(self.receipts.values())
        self.store.write_head(self.head)
        if saved or unsaved:
            took = "deleted" if self.move else f"{kept} kept hidden, not to be received again"
            self.say(
                f"sqs queue {self.queue.name}: resuming: {len(saved)} message(s) already saved by "
                f"the interrupted run: {took}; {shown} it held unsaved made visible again"
            )
        if horizon > now_ms():
            self.unsettled_ms = horizon
            self._wait(horizon)

    def _wait(self, until_ms: int) -> None:
        """Until ``until_ms``, or until nothing is hidden but what this run holds."""
        started, told = time.monotonic(), False
        while not self.stop.is_set:
            left = until_ms - now_ms()
            _, in_flight = queue_counts(self.client, self.queue)
            extra = in_flight - len(self.handles) - self._elsewhere()
            if left <= 0 or extra <= 0:
                self.unsettled_ms = 0
                break
            if not told:
                self.say(
                    f"sqs queue {self.queue.name}: waiting up to {math.ceil(left / 1000)} s for "
                    f"{extra} message(s) the interrupted run held hidden without saving their "
                    f"receipt to become visible again (their visibility timeout ends by "
                    f"{iso_ms(until_ms)})"
                )
                told = True
            self._extend_horizon()
            self._on_renew(
                renew_leases(self.client, self.queue, self.handles, self.leases, self.visibility_s)
            )
            self.stop.sleep(min(1.0, left / 1000))
        self._count("waited_s", round(time.monotonic() - started))

    def _receive(self) -> None:
        for round_ in range(_ROUNDS):
            receive_all(
                self.client, self.queue, visibility_s=self.visibility_s, wait_s=self.wait_s,
                empty_polls=self.empty_polls, on_batch=self._on_batch, stop=self.stop,
                handles=self.handles, stats=self.stats, leases=self.leases,
                before_call=self._before_call, on_renew=self._on_renew,
            )  # fmt: skip
            if self.stop.is_set or (self.queue.fifo and not self.move) or round_ == _ROUNDS - 1:
                return
            visible, _ = queue_counts(self.client, self.queue)
            if visible == 0:
                return

    # ------------------------------------------------------------------ bookkeeping

    def _count(self, name: str, n: int = 1) -> None:
        """Add to a counter summed over every run (and to this run's, for the summary line)."""
        self.head.add(name, n)
        if name in _THIS_RUN:
            self.run[_THIS_RUN[name]] += n

    def _elsewhere(self) -> int:
        now = now_ms()
        return sum(deadline > now for deadline in self.elsewhere)

    def _hold(self, r: Receipt, at: float) -> None:
        assert r.handle is not None
        self.handles[r.message_id] = r.handle
        self.receipts[r.message_id] = r
        self.leases.append((at, r.message_id))

    def _release(self, message_id: str, seq: str) -> None:
        self.handles.pop(message_id, None)
        self.receipts.pop(message_id, None)
        self.pending.append(Receipt(message_id, seq, None, 0))

    def _extend_horizon(self) -> None:
        """Write ahead a bound on every deadline this run may set before its next head write."""
        need = now_ms() + self.visibility_s * 1000
        if need > self.head.hidden_until_ms:
            self.head.hidden_until_ms = need + int(max(self.flush_seconds, 1.0) * 1000)
            self.store.write_head(self.head)

    def _before_call(self) -> None:
        self._extend_horizon()
        due = time.monotonic() - self.last_flush >= self.flush_seconds
        if self.unflushed >= self.flush_records or (due and (self.pending or self.unflushed)):
            self._flush()

    def _flush(self) -> None:
        """Receipts first, then the records part: a kill between leaves receipts of unsaved
        messages (the resume makes them visible), never saved messages without receipts."""
        if self.pending:
            self.store.append(self.pending)
            self.pending = []
        self.store.write_head(self.head)
        self.writer.flush()
        self.unflushed = 0
        self.last_flush = time.monotonic()

    def _on_batch(self, msgs: list[dict[str, Any]]) -> None:
        deadline = now_ms() + self.visibility_s * 1000
        fresh = []
        for m in msgs:
            seq = message_seq(self.queue, m)
            r = Receipt(m["MessageId"], seq, m["ReceiptHandle"], deadline)
            self.receipts[r.message_id] = r  # receive_all holds the handle and the lease
            self.pending.append(r)
            if seq in self.known:
                self._count("received_again")
            else:
                self.known.add(seq)
                fresh.append(m)
            count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            if self.mrc is not None and count >= self.mrc:
                self._count("at_max_receive_count")
        self._count("capture_receives", len(msgs))
        self.writer.add(self.queue.name, rows(self.queue, fresh))
        self.unflushed += len(fresh)
        if self.move:
            self._flush()  # on disk before the messages leave the queue
            self._count("deleted", delete(self.client, self.queue, msgs))
            for m in msgs:
                self._release(m["MessageId"], message_seq(self.queue, m))
        elif self.unflushed >= self.flush_records:
            self._flush()
        self.progress(ShardProgress(self.queue.name, self.writer.count(self.queue.name)))

    def _on_renew(self, ids: list[str]) -> None:
        deadline = now_ms() + self.visibility_s * 1000
        for i in ids:
            r = with_fields(self.receipts[i], deadline_ms=deadline)
            self.receipts[i] = r
            self.pending.append(r)
        self._count("visibility_extended", len(ids))

    def _restore_all(self) -> list[Receipt]:
        """Make every message this run holds visible again; the receipts of those that failed."""
        if self.move or not self.handles:
            return list(self.receipts.values())
        done = change_visibility(self.client, self.queue, list(self.handles.items()), 0)
        failed = []
        for i, r in self.receipts.items():
            code = done.get(i, "Failed")
            if code is None or _not_in_flight(code):
                self._count("restored")
            else:
                failed.append(r)
        self.handles.clear()
        self.receipts = {r.message_id: r for r in failed}
        return failed

    # ------------------------------------------------------------------ the end

    def _finish(self) -> SqsCaptureResult:
        name = self.queue.name
        self._flush()
        captured = self.writer.count(name)
        depth = int(self.writer.manifest.observed.get("queue_depth_at_capture", 0))
        visible, in_flight = queue_counts(self.client, self.queue)
        held = len(self.handles) + self._elsewhere()
        failed = self._restore_all()
        missing = max(0, depth - captured)
        observed = dict(self.writer.manifest.observed)
        notes: list[str] = []
        if missing and self.queue.fifo and not self.move:
            observed["unreachable_fifo"] = missing
            notes.append(
                f"FIFO queue: {captured} of ~{depth} messages were reachable "
                "(messages behind in-flight ones of the same group stay hidden); --move captures all"
            )
        elif missing and visible == 0 and in_flight <= held:
            observed["left_queue"] = missing
            notes.append(
                f"{missing} of the {depth} messages the queue held at the start left it during the "
                "capture (deleted by a consumer, expired or moved): nothing else is in the queue"
            )
        elif missing:
            self.head.hidden_until_ms = max([*(r.deadline_ms for r in failed), self.unsettled_ms])
            self.store.replace(failed)
            self.store.write_head(self.head)
            raise _Incomplete(
                f"sqs queue {name}: {captured} of the {depth} messages it held at the start are "
                f"saved in {self.out}; {missing} are missing, and SQS reports "
                f"{max(0, in_flight - held)} message(s) hidden by another consumer or an earlier "
                f"capture, {visible} visible; run again with --resume once they are visible to "
                "capture them"
            )
        notes += self._notes(failed)
        observed.update(self.head.counters)
        observed["runs"] = self.head.runs
        updates: dict[str, Any] = {"observed": observed}
        if self.redactor is not None:
            updates["redaction"] = self.redactor.describe()
        self.progress(ShardProgress(name, captured, None, True))
        capture = self.writer.finish(**updates)
        self.store.remove()
        run = self.run
        return SqsCaptureResult(
            capture, run["received"], run["restored"], run["deleted"], tuple(notes)
        )

    def _notes(self, failed: list[Receipt]) -> list[str]:
        notes = []
        if self.stats.get("reappeared"):
            notes.append(
                f"{self.stats['reappeared']} receive(s) returned a message already read by this "
                f"capture (its --visibility-timeout {self.visibility_s} s ran out before it was "
                "extended): those messages' receive counts rose more than once, and messages may "
                "have been missed; capture again with a longer timeout"
            )
        again = self.head.counters.get("received_again", 0)
        if again:
            notes.append(
                f"{again} receive(s) after an interruption returned a message already saved: "
                "those messages' receive counts rose by one more"
            )
        at_max = self.head.counters.get("at_max_receive_count", 0)
        if at_max:
            notes.append(
                f"{at_max} message(s) reached their maxReceiveCount {self.mrc}: the next receive "
                "moves them to the dead-letter queue"
            )
        if failed:
            notes.append(
                f"{len(failed)} message(s) could not be made visible again (their receipt handle "
                f"is no longer valid) and stay hidden until their {self.visibility_s} s "
                "visibility timeout ends"
            )
        return notes

    def _give_up(self, why: str, abandoned: bool) -> UserError:
        """Save what was received, make the hidden messages visible again, say what became of
        them; the receipts of those still hidden stay for ``--resume``."""
        note = ""
        try:
            self._flush()
        except (UserError, OSError) as exc:
            note = f"; the last messages received could not be saved ({exc})"
        held = len(self.receipts)
        try:
            with aws_errors(f"sqs queue {self.queue.name}: restoring visibility"):
                failed = self._restore_all()
        except UserError:
            failed = list(self.receipts.values())
        if not self.move and held:
            if not failed:
                note += f"; the {held} received message(s) are visible again"
            else:
                note += (
                    f"; {len(failed)} received message(s) could not be made visible again and "
                    f"stay hidden until their {self.visibility_s} s visibility timeout ends"
                )
        if abandoned:
            note += (
                f"; up to {BATCH} message(s) of the receive in flight stay hidden until their "
                f"{self.visibility_s} s visibility timeout ends"
            )
        elif not self.stats.get("in_receive"):
            # Nothing this run hid is without a receipt: the next run waits only for the rest.
            deadlines = [r.deadline_ms for r in failed]
            self.head.hidden_until_ms = max([*deadlines, self.unsettled_ms])
        try:
            self.store.replace(failed)
            self.store.write_head(self.head)
        except (UserError, OSError):
            pass  # the horizon written ahead still bounds what stays hidden
        captured = self.writer.count(self.queue.name)
        return UserError(
            f"{why}; {captured} message(s) read so far are saved in {self.out}{note}; "
            "run again with --resume"
        )


def _pairs(receipts: list[Receipt]) -> list[tuple[str, str]]:
    return [(r.message_id, r.handle) for r in receipts if r.handle is not None]
