"""The receipt state of a hide-and-restore SQS capture, persisted beside its records.

A hide-and-restore capture hides every message it receives. A process killed with ``kill -9``
cannot make them visible again, so what it holds hidden must be on disk for the resume:

- ``sqs-receipts/head.json``: the **horizon** (``hidden_until_ms``), a bound on the visibility
  deadline of every message this capture may hold hidden, written *before* each ReceiveMessage or
  lease renewal that could push a deadline past it. Messages received after the last flush are
  not in any segment, but they are hidden no longer than the horizon. Also the visibility
  timeout and the counters summed over every run.
- ``sqs-receipts/NNNNNN.json``: segments, one per flush (written just before the records part of
  the same flush): for each message received or renewed since the previous flush, its id, its
  ``seq``, its latest receipt handle and its visibility deadline (epoch ms). An entry without a
  handle says the message is no longer held (made visible again, or deleted). A *base* segment
  replaces everything before it (a resume writes one once it has settled the earlier runs'
  messages; older segments are then deleted, but a leftover one is harmless).

Every file is written whole under a temporary name and renamed into place (on S3 an object appears
whole), so a kill at any instant leaves either the old file or the new one. The directory is
deleted once the capture is complete: a finished capture holds no receipt handle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs

from captures.writer import read_bytes, write_bytes_atomic
from replay.errors import CaptureError
from replay.formats.capture import filesystem

STATE_DIR = "sqs-receipts"
HEAD = "head.json"
VERSION = 1


def now_ms() -> int:
    """Wall-clock time, epoch milliseconds (visibility deadlines outlive the process)."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Receipt:
    """One message this capture received: what it takes to make it visible again.

    Attributes:
        message_id: the SQS MessageId.
        seq: the record's ``seq`` (MessageId, or a FIFO queue's SequenceNumber).
        handle: the latest receipt handle; None once the message is no longer held.
        deadline_ms: when its visibility timeout ends (epoch ms), as last set by this capture.
    """

    message_id: str
    seq: str
    handle: str | None
    deadline_ms: int

    def to_json(self) -> list[Any]:
        return [self.message_id, self.seq, self.handle, self.deadline_ms]

    @staticmethod
    def from_json(item: Any, where: str) -> Receipt:
        if (
            not isinstance(item, list)
            or len(item) != 4
            or not all(isinstance(x, str) for x in item[:2])
            or not (item[2] is None or isinstance(item[2], str))
            or not isinstance(item[3], int)
        ):
            raise CaptureError(f"{where}: malformed receipt entry {item!r}")
        return Receipt(item[0], item[1], item[2], item[3])


@dataclass
class Head:
    """``head.json``: the horizon, the visibility timeout, and counters over every run."""

    visibility_s: int
    hidden_until_ms: int = 0
    runs: int = 0
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to a counter."""
        self.counters[name] = self.counters.get(name, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "visibility_s": self.visibility_s,
            "hidden_until_ms": self.hidden_until_ms,
            "runs": self.runs,
            "counters": dict(sorted(self.counters.items())),
        }

    @staticmethod
    def from_json(obj: Any, where: str) -> Head:
        if not isinstance(obj, dict) or obj.get("version") != VERSION:
            raise CaptureError(f"{where}: not a receipt state of version {VERSION}")
        counters = obj.get("counters", {})
        try:
            return Head(
                visibility_s=int(obj["visibility_s"]),
                hidden_until_ms=int(obj["hidden_until_ms"]),
                runs=int(obj.get("runs", 0)),
                counters={str(k): int(v) for k, v in counters.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise CaptureError(f"{where}: malformed receipt state") from None


class ReceiptStore:
    """The ``sqs-receipts/`` directory of one capture (local or ``s3://``)."""

    def __init__(self, uri: str, *, endpoint_url: str | None = None) -> None:
        self.uri = uri
        self._fs, inner = filesystem(uri, endpoint_url=endpoint_url)
        self._dir = f"{inner}/{STATE_DIR}"
        self._next = 0

    def load(self) -> tuple[Head | None, dict[str, Receipt]]:
        """The head (None if there is none) and, per message id, what the segments say it holds.

        Temporaries left by a killed writer are deleted. Segments are read in order; a later entry
        for a message replaces an earlier one, an entry without a handle drops it, and a base
        segment starts afresh.
        """
        infos = self._fs.get_file_info(pafs.FileSelector(self._dir, allow_not_found=True))
        segments: list[tuple[int, str]] = []
        for info in infos:
            name = info.path.rsplit("/", 1)[-1]
            if name.endswith(".tmp"):
                self._fs.delete_file(info.path)
            elif name.endswith(".json") and name[: -len(".json")].isdigit():
                segments.append((int(name[: -len(".json")]), info.path))
        segments.sort()
        self._next = segments[-1][0] + 1 if segments else 0
        held: dict[str, Receipt] = {}
        for _, path in segments:
            doc = self._read(path)
            if doc.get("base"):
                held.clear()
            for item in doc.get("entries", []):
                r = Receipt.from_json(item, f"{self.uri}/{STATE_DIR}")
                if r.handle is None:
                    held.pop(r.message_id, None)
                else:
                    held[r.message_id] = r
        raw = read_bytes(self._fs, f"{self._dir}/{HEAD}")
        head = None
        if raw is not None:
            head = Head.from_json(_parse(raw, f"{self.uri}/{STATE_DIR}/{HEAD}"), HEAD)
        return head, held

    def write_head(self, head: Head) -> None:
        """Replace ``head.json`` whole."""
        self._write(HEAD, head.to_json())

    def append(self, receipts: Iterable[Receipt]) -> None:
        """Add a segment with these entries (nothing when there are none)."""
        entries = [r.to_json() for r in receipts]
        if entries:
            self._write(f"{self._next:06d}.json", {"entries": entries})
            self._next += 1

    def replace(self, receipts: Iterable[Receipt]) -> None:
        """Make these the only messages held: a base segment, then the older segments deleted."""
        base = self._next
        self._write(f"{base:06d}.json", {"base": True, "entries": [r.to_json() for r in receipts]})
        self._next += 1
        infos = self._fs.get_file_info(pafs.FileSelector(self._dir, allow_not_found=True))
        for info in infos:
            name = info.path.rsplit("/", 1)[-1]
            stem = name[: -len(".json")]
            if name.endswith(".json") and stem.isdigit() and int(stem) < base:
                self._fs.delete_file(info.path)

    def remove(self) -> None:
        """Delete the whole state (the capture is complete)."""
        info = self._fs.get_file_info(self._dir)
        if info.type != pafs.FileType.NotFound:
            self._fs.delete_dir(self._dir)

    def _write(self, name: str, doc: dict[str, Any]) -> None:
        self._fs.create_dir(self._dir, recursive=True)
        data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        write_bytes_atomic(self._fs, f"{self._dir}/{name}", data)

    def _read(self, path: str) -> dict[str, Any]:
        raw = read_bytes(self._fs, path)
        doc = _parse(raw or b"{}", path)
        if not isinstance(doc, dict):
            raise CaptureError(f"{path}: malformed receipt segment")
        return doc


def _parse(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaptureError(f"{where}: unreadable ({exc})") from None
