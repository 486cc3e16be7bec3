"""How figures read in every printed output (compare, explain, sweep, report, the TUI): durations
and money, one spelling each; and the words of each source family, one table.

A stream has shards, an iterator age and on-failure destination records; a queue has an age of
oldest message, a depth and a dead-letter queue; a Kafka topic has partitions and an offset lag.
:data:`WORDS` holds those words per :class:`~replay.vocabulary.SourceKind`; compare's row labels,
the report's figure titles and axes and the CLI's run summary all read them from here, so a queue
is never described as a stream. Runs of different families shown together (a compare of a
Kinesis run with an SQS run) use :data:`MIXED`, words that fit both, and compare adds a
``source`` row naming each run's family.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from replay.vocabulary import SourceKind


def duration(value: int | None) -> str:
    """Milliseconds as a person reads them: ``8.2 s``, ``4.5 min``, ``24.0 h``; ``-`` for none."""
    if value is None:
        return "-"
    seconds = value / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def usd(value: float) -> str:
    """Dollars with the precision a small cost needs."""
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


# ---------------------------------------------------------------------- the families' words
@dataclass(frozen=True)
class Words:
    """The words of one source family.

    Attributes:
        family: what the source is (``stream``, ``queue``, ``topic``).
        shard, shards: what ``shard`` of the run tables is (shard, queue, partition).
        age: what ``iterator_age_ms`` of the summary measures (its p50/p99/max).
        blocked: the summary's ``blocked_ms`` (a shard, partition or FIFO message group that
            waited on a failing batch).
        destination: where records go on failure: the ESM's OnFailure destination, or for SQS the
            queue's own dead-letter queue (RedrivePolicy).
        destination_records: the summary's ``destination_records`` (lines of destinations.jsonl).
        backlog: what waits to be read, per minute (metrics.parquet): the queue depth, the offset
            lag; None for streams (their backlog is the iterator age).
    """

    family: str
    shard: str
    shards: str
    age: str
    blocked: str
    destination: str
    destination_records: str
    backlog: str | None = None


STREAM_WORDS = Words(
    family="stream",
    shard="shard",
    shards="shards",
    age="iterator age",
    blocked="time blocked",
    destination="OnFailure destination",
    destination_records="on-failure destination records",
)
QUEUE_WORDS = Words(
    family="queue",
    shard="queue",
    shards="queues",
    age="age of oldest message",
    blocked="message groups blocked",
    destination="dead-letter queue",
    destination_records="DLQ messages (dead-lettered)",
    backlog="queue depth",
)
TOPIC_WORDS = Words(
    family="topic",
    shard="partition",
    shards="partitions",
    age="record age at read",
    blocked="time blocked",
    destination="OnFailure destination",
    destination_records="on-failure records",
    backlog="offset lag",
)
# Runs of different families side by side: words true of each.
MIXED = Words(
    family="source",
    shard="shard, queue or partition",
    shards="shards, queues or partitions",
    age="iterator / message age",
    blocked="time blocked",
    destination="OnFailure destination or DLQ",
    destination_records="on-failure or DLQ records",
)
WORDS: dict[SourceKind, Words] = {
    SourceKind.KINESIS: STREAM_WORDS,
    SourceKind.DYNAMODB: STREAM_WORDS,
    SourceKind.SQS: QUEUE_WORDS,
    SourceKind.KAFKA: TOPIC_WORDS,
}


def run_kind(meta: Mapping[str, Any]) -> SourceKind:
    """The source family of a run (``run.json``'s ``capture.kind``; Kinesis when absent)."""
    kind = (meta.get("capture") or {}).get("kind") or SourceKind.KINESIS
    return SourceKind(kind)


def is_fifo(meta: Mapping[str, Any]) -> bool:
    """Whether a run read an SQS FIFO queue (its ARN ends in ``.fifo``)."""
    capture = meta.get("capture") or {}
    settings = meta.get("source_settings") or {}
    arn = str(capture.get("arn") or "")
    return run_kind(meta) is SourceKind.SQS and (
        arn.endswith(".fifo") or str(settings.get("FifoQueue", "")).lower() == "true"
    )


def words_for(kinds: Iterable[SourceKind | str]) -> Words:
    """The words of runs of ``kinds``: their family's, or :data:`MIXED` when the families differ."""
    found = {WORDS[SourceKind(k)] for k in kinds}
    if len(found) == 1:
        return found.pop()
    return MIXED if found else STREAM_WORDS


def redrive_policy(meta: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS run's RedrivePolicy (source settings hold it as an object or as JSON text)."""
    raw = (meta.get("source_settings") or {}).get("RedrivePolicy")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return dict(raw) if isinstance(raw, Mapping) else {}


def summary_rows(summary: Mapping[str, Any], kind: SourceKind | str) -> list[tuple[str, str]]:
    """The CLI's run summary after ``replay`` as (label, value) rows, in the family's words."""
    words = WORDS[SourceKind(kind)]
    s = summary
    disp = s["dispositions"]
    rows = [("records", str(s["records"]))]
    for name in ("processed", "filtered", "discarded", "dead-lettered", "unprocessed"):
        if disp.get(name):
            rows.append((f"  {name}", str(disp[name])))
    rows += [(f"    {name}", str(count)) for name, count in s["reasons"].items()]
    rows.append(("duplicate deliveries", str(s["duplicates"])))
    rows.append(("invocations", str(s["invocations"])))
    rows += [(f"  {name}", str(count)) for name, count in s["results"].items() if name != "ok"]
    rows.append((f"max {words.age}", duration(s["iterator_age_ms"]["max"])))
    rows.append((words.destination_records, str(s["destination_records"])))
    for shard, info in s["shards"].items():
        if info["blocked_ms"]:
            rows.append((f"  {shard} blocked", duration(info["blocked_ms"])))
    groups = s.get("groups") or {}
    for group in sorted(groups, key=lambda g: (-groups[g]["blocked_ms"], g))[:10]:
        rows.append((f"  message group {group} blocked", duration(groups[group]["blocked_ms"])))
    if len(groups) > 10:
        rows.append((f"  ({len(groups) - 10} more groups blocked)", ""))
    return rows
