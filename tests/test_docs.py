"""The documents' worked examples are executable, as the README's tour is (tests/test_readme.py).

For each document below, every ``sh`` block runs, in order, in a temporary folder laid out as the
repository root (``docs/examples/`` copied in; the outputs go to ``tour/`` and ``demo-output/``),
through bash at ``COLUMNS=100`` with stdout piped (see tests/docs_support.py). A plain block right
after a shell block is what it printed: the whole block must equal the output, except after
``esm-replay demo``, whose story the documents quote (whitespace aside). Then every claim is
checked: (a fragment the document must contain, a check on what the commands wrote or print). The
commands the prose names inline, the forms table of capture-format.md and the messages config.md
quotes run as claims too.

A shell block that needs live AWS or Kafka (``capture kinesis|dynamodb|sqs|kafka|esm|failures``,
``inject``, ``aws``, ``kcat``, ``sam``) stays documentation: :func:`needs_aws` skips it.

The demos take most of the time: each is built once per session (:func:`demos`) and copied into
the documents' folders that use it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from replay.analysis.text import duration
from tests.docs_support import (
    ROOT,
    blocks,
    copy_examples,
    environment,
    normalised,
    run_shell,
    same_text,
    says,
)

DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
POISON = "shardId-000000000000:49656000000000000000000000000000008537000000000002"
DISABLED = ("2024-11-05T10:05:00Z", "2024-11-05T10:35:00Z")
_AWS = re.compile(
    r"^\s*(aws|kcat|sam)\s|esm-replay\s+(capture\s+(kinesis|dynamodb|sqs|kafka|esm|failures)|inject)\b",
    re.M,
)


def needs_aws(script: str) -> bool:
    """Whether a shell block talks to AWS or a Kafka cluster (left as documentation)."""
    return bool(_AWS.search(script))


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the demos, once
class Demos:
    """``esm-replay demo`` of each incident, built on first use in one folder for the session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.printed: dict[str, str] = {}

    def stdout(self, incident: str) -> str:
        if incident not in self.printed:
            command = "esm-replay demo" + (
                "" if incident == "kinesis" else f" --incident {incident}"
            )
            out = run_shell(command, self.folder)
            assert out.returncode == 0, f"{command}\n{out.stderr}"
            self.printed[incident] = out.stdout
        return self.printed[incident]


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Demos:
    return Demos(tmp_path_factory.mktemp("demos"))


# ---------------------------------------------------------------------- a document's folder
@dataclass
class Workspace:
    """The folder a document's commands run in, and what they printed."""

    root: Path
    doc: str
    demos: Demos
    printed: list[tuple[str, str]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def demo(self, incident: str) -> str:
        """Put the demo of ``incident`` in ``demo-output/`` (as ``esm-replay demo`` would) and
        return what it printed."""
        stdout = self.demos.stdout(incident)
        target = self.root / "demo-output" / incident
        if not target.exists():
            shutil.copytree(self.demos.folder / "demo-output" / incident, target)
        return stdout

    def run(self, command: str, *, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a command as the document's reader would; ``ok``: it must succeed."""
        out = run_shell(command, self.root, {**environment(), **env})
        if ok:
            assert out.returncode == 0, f"{command}\n{out.stderr}"
        return out

    def output(self, command: str) -> str:
        """What ``command`` prints (run once: claims share it)."""
        if command not in self.cache:
            self.cache[command] = self.run(command).stdout
        return str(self.cache[command])

    def out(self, fragment: str) -> str:
        """What the document's shell block holding ``fragment`` printed."""
        found = [stdout for script, stdout in self.printed if fragment in script]
        assert len(found) == 1, f"{len(found)} shell blocks hold {fragment!r}"
        return found[0]

    def summary(self, run: str) -> dict[str, Any]:
        meta = json.loads((self.root / run / "run.json").read_text(encoding="utf-8"))
        return dict(meta["summary"])

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """DuckDB over the folder's files: ``'@/path'`` is ``path`` in the folder."""
        return duckdb.sql(query.replace("'@/", f"'{self.root}/")).fetchall()

    def lines(self, path: str) -> list[str]:
        return (self.root / path).read_text(encoding="utf-8").splitlines()


def payment(ws: Workspace, capture: str, run: str) -> tuple[Any, ...]:
    """The bank-rejected payment's fate in a run of the docs/examples capture."""
    (row,) = ws.sql(
        f"""select o.disposition, o.reason, o.deliveries
            from '@/{capture}/records/*.parquet' c join '@/{run}/records.parquet' o using (shard, seq)
            where json_extract_string(decode(c.data), '$.status') = 'rejected-by-bank'"""
    )
    return row


def run_blocks(ws: Workspace) -> tuple[list[str], int]:
    """Run the document's shell blocks in order: the failures of the output blocks that follow
    them, and how many such blocks there are."""
    failures: list[str] = []
    compared = 0
    found = blocks(ws.doc)
    for i, block in enumerate(found):
        if block.lang != "sh" or needs_aws(block.text):
            continue
        demo = re.fullmatch(r"esm-replay demo(?: --incident (\w+))?", block.text.strip())
        incident = (demo.group(1) or "kinesis") if demo else None
        stdout = ws.demo(incident) if incident else ws.run(block.text).stdout
        ws.printed.append((block.text, stdout))
        after = found[i + 1] if i + 1 < len(found) else None
        if after is None or after.lang or after.before.strip():
            continue
        compared += 1
        shown = says(stdout, after.text) if incident else same_text(after.text, stdout)
        if not shown:
            failures.append(f"the output of\n{block.text}is now\n{stdout}\nnot\n{after.text}")
    return failures, compared


Check = Callable[[Workspace], bool]


@dataclass(frozen=True)
class Doc:
    """A document: the demos its commands read before any of them runs, and its claims."""

    claims: list[tuple[str, Check]]
    outputs: int = 0  # the output blocks that follow its shell blocks, each compared
    demos: tuple[str, ...] = ()
    setup: str = ""  # commands the claims need that the document does not show


# ---------------------------------------------------------------------- post-incident.md
def _kafka_words(ws: Workspace) -> bool:
    """A Kafka run of docs/examples/import/kafka-events.jsonl, compared and reported."""
    ws.output(
        "esm-replay capture import docs/examples/import/kafka-events.jsonl --source kafka -o tour/kafka\n"
        "esm-replay replay tour/kafka -o tour/kafka-run\n"
        "esm-replay replay tour/kafka --set BatchSize=1 -o tour/kafka-run-1"
    )
    table = ws.output("esm-replay compare tour/kafka-run tour/kafka-run-1")
    report = ws.output("esm-replay report tour/kafka-run tour/kafka-run-1 -o tour/kafka.html")
    labels = (
        "on-failure records",
        "record age at read max",
        "offset lag max (records)",
        "time blocked",
    )
    return (
        all(label in table for label in labels)
        and "\n  orders-0 " in table
        and "kafka-offset-lag.png" in report
        and "kafka-blocked.png" in report
    )


def _sqs_report(ws: Workspace) -> bool:
    ws.demo("sqs")
    out = ws.output(
        "esm-replay report demo-output/sqs/run-production demo-output/sqs/run-safer -o tour/sqs.html"
    )
    return "sqs-oldest-message-age.png" in out and "sqs-queue-depth.png" in out


def _sqs_ages(ws: Workspace) -> bool:
    ws.demo("sqs")
    ages = [
        ws.summary(f"demo-output/sqs/{r}")["iterator_age_ms"]["max"]
        for r in ("run-production", "run-safer")
    ]
    return ages[0] > 60_000 > ages[1]


def _per_minute(ws: Workspace, column: str, run: str, where: str) -> list[int]:
    rows = ws.sql(
        f"select minute, coalesce(sum({column}), 0) from '@/{run}/metrics.parquet'"
        f" where {where} group by all"
    )
    return [int(n) for _, n in rows]


PROD, SAFER = "demo-output/kinesis/run-production", "demo-output/kinesis/run-safer"

POST_INCIDENT: list[tuple[str, Check]] = [
    ("the batch that failed 1,446 times", lambda ws: ws.summary(PROD)["results"]["error"] == 1446),
    ("24-hour retention (rule B28), which took 18 records with it",
     lambda ws: ws.summary(PROD)["reasons"] == {"RetentionExpired": 18}),
    ("`esm-replay explain RUN --record shardId-000000000000#8534` (or `SHARD:SEQUENCE`)",
     lambda ws: ws.run(f"esm-replay explain {PROD} --record 'shardId-000000000000#8534'").stdout
     == ws.run(f"esm-replay explain {PROD} --record {POISON.replace('8537', '8534')}").stdout),
    ("bisect (B31), retry (B21),\ndiscard after MaximumRetryAttempts (B23)",
     lambda ws: all(r in ws.out("run-safer --record") for r in ("[B31]", "[B21]", "[B23]"))),
    ("The on-failure record in `destinations.jsonl` names it",
     lambda ws: json.loads(ws.lines(f"{SAFER}/destinations.jsonl")[0])["KinesisBatchInfo"]
     ["startSequenceNumber"] == POISON.split(":")[1]),
    ("a note naming it (`1 column(s) not shown at 100 columns: payload`)",
     lambda ws: "1 column(s) not shown at 100 columns: payload" in ws.run(
         "esm-replay query \"select o.run, o.reason, decode(r.data) payload from run_records o join"
         " capture_records r using (shard, seq) where o.disposition = 'discarded' limit 3\""
         f" {PROD} {SAFER}").stdout),
    ("`esm-replay compare demo-output/kinesis/run-production demo-output/kinesis/run-safer` puts every\n"
     "figure in one table, with an estimated cost and the first record whose fate differs",
     lambda ws: all(row in ws.output(f"esm-replay compare {PROD} {SAFER}")
                    for row in ("estimated cost", "first divergence"))),
    ("`esm-replay compare ...\n--format json` gives the raw figures",
     lambda ws: bool(json.loads(ws.run(f"esm-replay compare {PROD} {SAFER} --format json").stdout))),
    ("so safer's 8-second block cannot pass for production's 24 hours",
     lambda ws: round(ws.summary(SAFER)["blocked_ms"] / 1000) == 8
     and round(ws.summary(PROD)["blocked_ms"] / 3_600_000) == 24),
    ("shard 0 ages for 24 h in production, 8.5 s in safer",
     lambda ws: round(ws.summary(PROD)["iterator_age_ms"]["max"] / 3_600_000) == 24
     and duration(ws.summary(SAFER)["iterator_age_ms"]["max"]) == "8.5 s"),
    ("Blocked intervals: 24.0 h in production, 8.2 s in safer",
     lambda ws: [duration(ws.summary(r)["blocked_ms"]) for r in (PROD, SAFER)] == ["24.0 h", "8.2 s"]),
    ("one\nfailed retry a minute for a day shows beside 250 invocations a minute",
     lambda ws: round(median(_per_minute(ws, "invocations", PROD, "minute < '2024-11-05T09:41:00Z'")), -1) == 250
     and max(_per_minute(ws, "errors", PROD, "minute >= '2024-11-05T11:00:00Z'")) == 1),
    ("the report of the SQS demo (`esm-replay demo --incident sqs`, then `esm-replay report\n"
     "demo-output/sqs/run-production demo-output/sqs/run-safer -o tour/sqs.html`) shows the age of the\n"
     "oldest message and the queue depth", _sqs_report),
    ("over a minute during the flash sale in production, seconds in safer", _sqs_ages),
    ("for a\nstream, `on-failure destination records`, `iterator age` and `time blocked` per shard",
     lambda ws: all(label in ws.output(f"esm-replay compare {PROD} {SAFER}") for label in (
         "on-failure destination records", "iterator age max", "time blocked", "\n  shardId-000000000000 "))),
    ("for a\nqueue, the `dead-letter queue` (its RedrivePolicy) and `maxReceiveCount`, `DLQ messages\n"
     "(dead-lettered)`, `age of oldest message max` and `queue depth max (messages visible)`",
     lambda ws: all(label in ws.demo("sqs") for label in (
         "dead-letter queue", "  maxReceiveCount", "DLQ messages (dead-lettered)",
         "age of oldest message max", "queue depth max (messages visible)"))),
    ("for a\ntopic, `on-failure records`, `record age at read`, `offset lag max (records)` and `time blocked`\n"
     "per partition", _kafka_words),
    ("A Kafka run shows the offset lag per partition\nand the blocked partitions", _kafka_words),
    ("a function with reserved\nconcurrency 2, the ESM's 5 starting pollers, `maxReceiveCount` 2",
     lambda ws: yaml.safe_load((ws.root / "docs/examples/fn-throttled.yaml").read_text())["reserved_concurrency"] == 2
     and max(_per_minute(ws, "concurrency_target", "tour/sqs-default", "true")) == 5
     and json.loads((ws.root / "tour/sqs-cap/manifest.json").read_text())["source"]["settings"]
     ["RedrivePolicy"]["maxReceiveCount"] == 2),
    ("Four messages reached the DLQ without the function ever seeing them (`deliveries` 0)",
     lambda ws: ws.sql("select count(*) from '@/tour/sqs-default/records.parquet'"
                       " where disposition = 'dead-lettered' and deliveries = 0") == [(4,)]),
    ("after two receives SQS moved the message to the DLQ (B65)",
     lambda ws: "received 2 time(s)" in ws.out("--message") and "[B65]" in ws.out("--message")),
    ("`--set\nScalingConfig.MaximumConcurrency=2` (the guide's second run) ends it",
     lambda ws: ws.run("esm-replay replay tour/sqs-cap -f docs/examples/fn-throttled.yaml --set BatchSize=1"
                       " --set ScalingConfig.MaximumConcurrency=2 -o tour/sqs-capped").returncode == 0
     and "dead-lettered" not in ws.summary("tour/sqs-capped")["dispositions"]),
    ("Nothing was lost, and the shard was blocked for 54 minutes",
     lambda ws: ws.summary("tour/run-as-it-happened")["dispositions"] == {"processed": 100_000}
     and round(ws.summary("tour/run-as-it-happened")["blocked_ms"] / 60_000) == 54),
    ("The 124 duplicate deliveries are the\npoison batch's 4 records, each sent 32 times: 31 failed attempts",
     lambda ws: ws.summary("tour/run-as-it-happened")["duplicates"] == 124
     and ws.summary("tour/run-as-it-happened")["results"]["error"] == 31
     and ws.sql("select deliveries from '@/tour/run-as-it-happened/records.parquet' where deliveries > 1")
     == [(32,)] * 4),
    ("No shard read anything in the 30 disabled minutes",
     lambda ws: ws.sql(f"select count(*) from '@/tour/run-as-it-happened/invocations.parquet' where start >="
                       f" '{DISABLED[0]}' and start < '{DISABLED[1]}'") == [(0,)]
     and ws.sql(f"select count(distinct shard) from '@/tour/run-as-it-happened/invocations.parquet'"
                f" where start >= '{DISABLED[1]}' and start < '2024-11-05T10:36:00Z'") == [(4,)]),
]  # fmt: skip


# ---------------------------------------------------------------------- what-if.md
def _points(ws: Workspace, sweep: str) -> list[dict[str, Any]]:
    return list(pq.read_table(ws.root / sweep / "results.parquet").to_pylist())


def _rate(ws: Workspace) -> bool:
    (shards, records, seconds) = ws.sql(
        "select count(distinct shard), count(*), epoch(max(arrival) - min(arrival))"
        " from '@/demo-output/kinesis/capture/records/*.parquet'"
    )[0]
    return round(records / seconds / shards, 1) == 3.5 and round(records / seconds) == 14


ORDERS = "tour/orders-sweep"
WHAT_IF: list[tuple[str, Check]] = [
    ("discarded with it (4 instead of 1) and delivered more often",
     lambda ws: sorted({(p["param.BisectBatchOnFunctionError"], p["discarded"], p["duplicates"])
                        for p in _points(ws, ORDERS)}) == [(False, 4, 12), (True, 1, 9)]),
    ("at ~3.5 records/s per shard (~14/s on the stream)", _rate),
    ("a batch rarely holds more than a\nfew records",
     lambda ws: ws.sql(f"select quantile_cont(records, 0.99) from '@/{ORDERS}/p6b00f5df70/invocations.parquet'")
     [0][0] <= 10),
    ("The front is the two bisect points, alike in every figure",
     lambda ws: [p["param.BisectBatchOnFunctionError"] for p in _points(ws, ORDERS) if p["pareto"]] == [True, True]),
    ("`esm-replay compare tour/orders-sweep/p6b00f5df70 tour/orders-sweep/pc71b918ed1`",
     lambda ws: "BisectBatchOnFunctionError" in ws.run(
         f"esm-replay compare {ORDERS}/p6b00f5df70 {ORDERS}/pc71b918ed1").stdout),
    ("`esm-replay query \"select * from runs\" tour/orders-sweep` all work on\nthem",
     lambda ws: all(p["point"] in ws.run(f"esm-replay query \"select * from runs\" {ORDERS}").stdout
                    for p in _points(ws, ORDERS))),
    ("holds one row per point: `param.<Key>` columns, records\ndiscarded, duplicates, invocations, errors,"
     " iterator age and latency percentiles, blocked time,\nGB-seconds, requests, estimated cost and `pareto`",
     lambda ws: {"param.BatchSize", "param.BisectBatchOnFunctionError", "discarded", "duplicates",
                 "invocations", "errors", "iterator_age_p99_ms", "latency_p99_ms", "blocked_ms",
                 "gb_seconds", "requests", "cost_usd", "pareto"} <= set(_points(ws, ORDERS)[0])
     and len(_points(ws, ORDERS)) == 4),
    ("Run the same command again: finished points are reused",
     lambda ws: "0 point(s) run, 4 reused" in ws.run(
         next(s for s, _ in ws.printed if "-o tour/orders-sweep" in s)).stdout),
    ("`esm-replay report tour/orders-sweep -o tour/sweep.html` gives each objective's recommendation",
     lambda ws: all(name in ws.run(f"esm-replay report {ORDERS} -o tour/sweep.html").stdout
                    for name in ("sweep-pareto", "sweep-tradeoffs"))),
    ("is \"safest\" here only because nothing in the model ever succeeds on a\nretry",
     lambda ws: len({p["processed"] for p in _points(ws, "tour/retry-sweep")}) == 1),
]  # fmt: skip


# ---------------------------------------------------------------------- guide.md
def _sqs_explain(ws: Workspace) -> bool:
    line = re.search(
        r"esm-replay explain demo-output/sqs/run-production --message \S+", ws.demo("sqs")
    )
    assert line, "the SQS demo names no message to explain"
    return "throttled" in ws.run(line.group(0)).stdout


GUIDE: list[tuple[str, Check]] = [
    ("Builds the embedded sample incident (a 4-shard stream, 100,000 order events, one poison record)",
     lambda ws: "100,000 order events on a 4-shard Kinesis stream" in ws.demo("kinesis")),
    ("ends with the commands to try next on those files: `explain` of the\npoison record in both runs,"
     " a `query`, and a `report`",
     lambda ws: all(says(ws.demo("kinesis"), c) for c in (
         f"esm-replay explain {PROD} --record {POISON}", f"esm-replay explain {SAFER} --record {POISON}",
         "esm-replay query ", f"esm-replay report {PROD} {SAFER}"))),
    ("`DIR` is `demo-output/kinesis` (or `demo-output/sqs`) unless given",
     lambda ws: "Files: capture demo-output/kinesis/capture" in ws.demo("kinesis")
     and "Files: capture demo-output/sqs/capture" in ws.demo("sqs")),
    ("34,800 orders on a standard queue over an hour,\nwith a ten-minute flash sale at 40 messages/s",
     lambda ws: all(f in ws.demo("sqs") for f in (
         "34,800 orders", "over 1 h", "40/s during a flash sale from 2024-11-05T09:30:00.000Z to"
         " 2024-11-05T09:40:00.000Z"))),
    ("The worker has reserved concurrency 10, and the queue\nsends a message to its DLQ after 3 receives",
     lambda ws: "reserved concurrency 10" in ws.demo("sqs") and "DLQ after 3 receives" in ws.demo("sqs")),
    ("4,166 valid orders are dead-lettered. With `ScalingConfig.MaximumConcurrency` 10 (B69), none are.",
     lambda ws: "4,166 valid orders dead-lettered" in ws.demo("sqs")
     and "safer (ScalingConfig.MaximumConcurrency 10): 0 dead-lettered" in ws.demo("sqs")),
    ("The demo ends with `esm-replay explain DIR/run-production --message ID` for one of those orders:\n"
     "its throttled receives, one by one", _sqs_explain),
    ("the single record retried three times (`retry`, B21) and discarded\n(`discard`, B23)",
     lambda ws: ws.sql(f"select cause, next, rule from '@/{SAFER}/invocations.parquet' where result = 'error'"
                       " order by invocation") == [
         ("new", "bisect", "B31"), ("bisect", "bisect", "B31"), ("bisect", "retry", "B21"),
         ("retry", "retry", "B21"), ("retry", "retry", "B21"), ("retry", "discard", "B23")]),
    ("`\"condition\":\"RetryAttemptsExhausted\",\"approximateInvokeCount\":4`",
     lambda ws: '"condition":"RetryAttemptsExhausted","approximateInvokeCount":4' in ws.lines(
         f"{SAFER}/destinations.jsonl")[0]),
    ("`without` counts the bank-rejected payment as processed; `with` retries it from the reported\n"
     "sequence number and discards it after three attempts",
     lambda ws: payment(ws, "tour/cap", "tour/without") == ("processed", None, 1)
     and payment(ws, "tour/cap", "tour/with") == ("discarded", "RetryAttemptsExhausted", 3)),
    ("40 orders arrive in 10 seconds; the function has\nreserved concurrency 2 and takes 3 s per message;"
     " the queue redrives after 2 receives",
     lambda ws: ws.sql("select count(*), epoch(max(arrival) - min(arrival)) < 10"
                       " from '@/tour/sqs-cap/records/*.parquet'") == [(40, True)]
     and ws.sql("select distinct epoch_ms(\"end\") - epoch_ms(start)"
                " from '@/tour/sqs-capped/invocations.parquet'") == [(3000,)]
     and json.loads((ws.root / "tour/sqs-cap/manifest.json").read_text())["source"]["settings"]
     ["RedrivePolicy"]["maxReceiveCount"] == 2),
    ("With the default scaling the ESM starts 5 pollers for a function that can run 2: 96 throttled\n"
     "invokes, and 4 messages that nothing was wrong with end up in the DLQ",
     lambda ws: max(_per_minute(ws, "concurrency_target", "tour/sqs-default", "true")) == 5
     and ws.summary("tour/sqs-default")["results"]["throttled"] == 96
     and ws.summary("tour/sqs-default")["dispositions"]["dead-lettered"] == 4),
    ("no throttles, all 40 processed",
     lambda ws: ws.summary("tour/sqs-capped")["dispositions"] == {"processed": 40}
     and "throttled" not in ws.summary("tour/sqs-capped")["results"]),
    ("-- records discarded, with their payloads (join a run to its capture)",
     lambda ws: _reading_the_outputs(ws)),
]  # fmt: skip


def _reading_the_outputs(ws: Workspace) -> bool:
    """The guide's SQL over ``run/`` and ``capture/`` (here the ReportBatchItemFailures run)."""
    folder = ws.root / "reading"
    folder.mkdir()
    (folder / "run").symlink_to(ws.root / "tour" / "with")
    (folder / "capture").symlink_to(ws.root / "tour" / "cap")
    sql = next(b.text for b in blocks(ws.doc) if b.lang == "sql")
    con = duckdb.connect()
    results = []
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        for statement in (s for s in sql.split(";") if s.strip()):
            results.append(con.sql(statement).fetchall())
    finally:
        os.chdir(cwd)
    return len(results[0]) == 2 and results[1] == [(1, 58), (3, 2)]


# ---------------------------------------------------------------------- query.md
QUERY_SETUP = """
esm-replay capture import docs/examples/kinesis-events.jsonl --source kinesis -o tour/capture
esm-replay replay tour/capture -c docs/examples/esm-production.json -f docs/examples/handler.py:handler \
    -o tour/run-production
esm-replay replay tour/capture -c docs/examples/esm-production.json -f docs/examples/handler.py:handler \
    --set BisectBatchOnFunctionError=true --set MaximumRetryAttempts=2 \
    --set FunctionResponseTypes=ReportBatchItemFailures \
    --set DestinationConfig.OnFailure.Destination=arn:aws:sqs:us-east-1:123456789012:payments-failures \
    -o tour/run-safer
esm-replay sweep tour/capture -c docs/examples/esm-production.json -f docs/examples/handler.py:handler \
    --vary BatchSize=10,100 -o tour/sweep
"""
RUNS = "tour/run-production tour/run-safer"


def _prompt_example(ws: Workspace) -> bool:
    """query.md's ``$ esm-replay query ... RUN`` block: the error it prints, exactly."""
    block = next(b.text for b in blocks(ws.doc) if b.text.startswith("$ esm-replay query"))
    command, expected = block.split("\n", 1)
    out = ws.run(command[2:].replace(" RUN", " tour/run-safer"), ok=False)
    return out.returncode == 2 and same_text(expected, out.stderr)


def _view_columns(ws: Workspace) -> bool:
    """Every view's table of columns names the view's columns, in order (``runs`` then carries
    the configuration's fields)."""
    from replay.analysis.query import connect

    con = connect([ws.root / "tour/run-production", ws.root / "tour/run-safer"])
    views = re.findall(r"^### (`\w+`(?: / `\w+`)?)\n(.*?)(?=^### |^## )", ws.doc, re.M | re.S)
    for names, table in views:
        documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
        for view in re.findall(r"`(\w+)`", names):
            actual = [row[0] for row in con.sql(f"describe {view}").fetchall()]
            if (actual[: len(documented)] if view == "runs" else actual) != documented:
                raise AssertionError(f"view {view}: {actual} documented as {documented}")
    return len(views) == 7


def _examples(ws: Workspace) -> bool:
    sql = next(b.text for b in blocks(ws.doc) if b.lang == "sql")
    statements = [s.strip() for s in sql.split(";") if s.strip()]
    for statement in statements:
        paths = "tour/sweep" if "from runs" in statement else RUNS
        # the comment above each example goes: SQL that starts with "--" reads as an option
        statement = "\n".join(ln for ln in statement.splitlines() if not ln.startswith("--"))
        ws.run(f"esm-replay query {shlex.quote(statement)} {paths}")
    return len(statements) == 3


def _json_format(ws: Workspace) -> bool:
    out = ws.run(
        f'esm-replay query "select run, start from invocations limit 2" {RUNS} --format json'
    )
    lines = out.stdout.strip().splitlines()
    rows = json.loads(out.stdout)
    return (
        len(lines) == 4
        and lines[0] == "["
        and re.fullmatch(r".*T.*\.\d{3}Z", rows[0]["start"]) is not None
    )


QUERY: list[tuple[str, Check]] = [
    ("error: query: Binder Error: Referenced column \"disposition\" not found in FROM clause!",
     _prompt_example),
    ("SQL that reads one of them is refused (`error: query: no capture, run or sweep given, ...`, exit\n2)",
     lambda ws: ws.run("esm-replay query 'select * from run_records'", ok=False).stderr.startswith(
         "error: query: no capture, run or sweep given, ")),
    ("while SQL that reads files itself (`from 'run/records.parquet'`) runs",
     lambda ws: ws.run("esm-replay query \"select count(*) n from 'tour/run-safer/records.parquet'\"")
     .returncode == 0),
    ("`replay.analysis.query.connect(paths)` returns the DuckDB\nconnection,"
     " `replay.analysis.query.run_query(sql, paths)` an Arrow table",
     lambda ws: __import__("replay.analysis.query", fromlist=["run_query"]).run_query(
         "select count(*) n from run_records", [ws.root / "tour/run-safer"]).to_pylist() == [{"n": 60}]),
    ("Line numbers of `destinations` and `observed_failures` count from 1",
     lambda ws: ws.run("esm-replay query 'select line from destinations order by line' tour/run-safer"
                       " --format csv").stdout.split() == ["line", "1", "2"]),
    ("`json` is one JSON array with one object per line; times are\nISO-8601 UTC with milliseconds",
     _json_format),
    ("Every run view has a `run` column and every capture view a `capture` column", _view_columns),
    ("-- deliveries per record, side by side", _examples),
]  # fmt: skip


# ---------------------------------------------------------------------- capture-format.md
IMPORTS = {  # a row of the forms table (how its form cell starts) -> the files its command reads
    "A Lambda event as a function receives it": {"event.json": "import/kinesis-event.json"},
    "A JSON array of such events": {"events.json": "import/dynamodb-events.json"},
    "JSON Lines: one event, or one record, per line": {"handler-log.jsonl": "kinesis-events.jsonl"},
    "`aws kinesis get-records` output": {"page1.json": "import/kinesis-get-records.json"},
    "`aws dynamodbstreams get-records` output": {"page1.json": "import/dynamodbstreams-get-records.json"},
    "SQS Lambda events": {"handler-log.jsonl": "import/sqs-events.jsonl",
                          "attrs.json": "import/sqs-queue-attributes.json"},
    "`aws sqs receive-message` output": {"page1.json": "import/sqs-receive-message.json"},
    "Kafka Lambda events": {"events.jsonl": "import/kafka-events.jsonl"},
    "Sample events": {"sam.json": "import/sam-kinesis-get-records.json"},
    "`kcat -C -J` output": {"orders.jsonl": "import/kcat.jsonl"},
}  # fmt: skip
BROKERS = "b-1.prod.abc123.c2.kafka.us-east-1.amazonaws.com:9098"


def import_rows(markdown: str) -> list[tuple[str, str]]:
    """The forms table of capture-format.md: (form, the esm-replay command of its example)."""
    table = markdown[markdown.index("| form | example command |") :].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        form, example = (c.strip() for c in line.strip().strip("|").split(" | ", 1))
        command = re.findall(r"`([^`]*)`", example)[0].split("; ")[-1]
        rows.append((form, command))
    return rows


def _import(ws: Workspace, form: str, command: str, inputs: dict[str, str] | None = None) -> str:
    """Run a forms-table command in a folder of its own holding its inputs; its stderr."""
    folder = ws.root / "imports" / re.sub(r"\W+", "-", form)[:40].strip("-")
    folder.mkdir(parents=True)
    for name, sample in (
        inputs or next(v for k, v in IMPORTS.items() if form.startswith(k))
    ).items():
        shutil.copy(EXAMPLES / sample, folder / name)
    out = run_shell(command, folder, {**environment(), "BROKERS": BROKERS})
    assert out.returncode == 0, f"{command}\n{out.stderr}"
    assert out.stdout.startswith("capture written to cap: "), out.stdout
    return out.stderr


def _table_is_covered(ws: Workspace) -> bool:
    forms = [form for form, _ in import_rows(ws.doc)]
    assert all(any(f.startswith(k) for f in forms) for k in IMPORTS), "a sample for a row that went"
    assert all(any(f.startswith(k) for k in IMPORTS) for f in forms), "a row without a sample"
    return True


def _refused(ws: Workspace, command: str, message: str) -> bool:
    out = ws.run(command, ok=False)
    return out.returncode == 2 and message in out.stderr


def _capture_format_claims() -> list[tuple[str, Check]]:
    claims: list[tuple[str, Check]] = [("| form | example command |", _table_is_covered)]
    for form, command in import_rows(read("capture-format.md")):
        claims.append((command, lambda ws, f=form, c=command: _import(ws, f, c) is not None))
    sam_kinesis = "esm-replay capture import sam.json --source kinesis -o cap"
    sam_dynamodb = "esm-replay capture import sam.json --source dynamodb -o cap"
    claims += [
        ("`note: eventSourceARN 'arn:aws:kinesis:EXAMPLE' (sam.json: record 0) is a\nplaceholder: assumed"
         " arn:aws:kinesis:us-east-1:123456789012:stream/sam-example (give the real\none with --arn ARN)`",
         lambda ws: "note: eventSourceARN 'arn:aws:kinesis:EXAMPLE' (sam.json: record 0) is a placeholder:"
         " assumed arn:aws:kinesis:us-east-1:123456789012:stream/sam-example (give the real one with"
         " --arn ARN)" in _import(ws, "sam kinesis", sam_kinesis, IMPORTS["Sample events"])),
        ("`note: 3 records have no\ndynamodb.ApproximateCreationDateTime (first: sam.json: record 0): given\n"
         "2015-04-09T00:00:00.000Z onward, 1 ms apart in file order (set the time with --arrival T)`",
         lambda ws: "note: 3 records have no dynamodb.ApproximateCreationDateTime (first: sam.json: record"
         " 0): given 2015-04-09T00:00:00.000Z onward, 1 ms apart in file order (set the time with"
         " --arrival T)" in _import(ws, "sam dynamodb arrival", sam_dynamodb,
                                    {"sam.json": "import/sam-dynamodb-update.json"})),
        ("(also `dynamodb update`, `sqs receive-message`, `kafka msk`)", _other_templates),
        ("`events.json: record 3: kinesis.sequenceNumber is missing`", _missing_sequence_number),
        ("`--arrival` is refused for SQS and Kafka",
         lambda ws: _refused(ws, "esm-replay capture import docs/examples/import/sqs-events.jsonl --source sqs"
                             " --arrival 2024-11-05T09:00:00Z -o tour/refused", "--arrival")),
        ("(a `--source-setting` wins over the file)",
         lambda ws: _import(ws, "setting wins", "esm-replay capture import handler-log.jsonl --source sqs"
                            " --queue-attributes attrs.json --source-setting VisibilityTimeout=60 -o cap",
                            IMPORTS["SQS Lambda events"]) is not None
         and json.loads((ws.root / "imports/setting-wins/cap/manifest.json").read_text())["source"]
         ["settings"]["VisibilityTimeout"] == 60),
        ("An unknown name is refused, naming the closest known one",
         lambda ws: _refused(ws, "esm-replay capture import docs/examples/import/sqs-events.jsonl --source sqs"
                             " --source-setting VisibilityTimout=60 -o tour/refused", "VisibilityTimeout")),
    ]  # fmt: skip
    return claims


def _other_templates(ws: Workspace) -> bool:
    for template, source in (("dynamodb-update", "dynamodb"), ("sqs-receive-message", "sqs"),
                             ("kafka-msk", "kafka")):  # fmt: skip
        command = f"esm-replay capture import sam.json --source {source} -o cap"
        _import(ws, f"sam {template}", command, {"sam.json": f"import/sam-{template}.json"})
    return True


def _missing_sequence_number(ws: Workspace) -> bool:
    event = json.loads((EXAMPLES / "kinesis-events.jsonl").read_text().splitlines()[0])
    del event["Records"][3]["kinesis"]["sequenceNumber"]
    (ws.root / "events.json").write_text(json.dumps(event))
    out = ws.run("esm-replay capture import events.json --source kinesis -o tour/bad", ok=False)
    return (
        out.returncode == 2
        and out.stderr.strip()
        == ("error: events.json: record 3: kinesis.sequenceNumber is missing")
        and not (ws.root / "tour/bad").exists()
    )


# ---------------------------------------------------------------------- function-model.md
def _yaml_model(ws: Workspace) -> bool:
    """The model of the page, handler and all, replays the docs/examples capture."""
    model = next(b.text for b in blocks(ws.doc) if b.lang == "yaml")
    (ws.root / "fn.yaml").write_text(model)
    (ws.root / "handlers").mkdir()
    (ws.root / "handlers" / "orders.py").write_text(
        "def handler(event, context):\n    return None\n"
    )
    ws.run("esm-replay replay tour/capture -f fn.yaml -o tour/run-model")
    return ws.summary("tour/run-model")["results"]["error"] > 0


def _misspelt(ws: Workspace) -> bool:
    model = yaml.safe_load((EXAMPLES / "fn.yaml").read_text())
    model["faults"][1]["whne"] = model["faults"][1].pop("when")
    folder = ws.root / "misspelt"
    folder.mkdir()
    (folder / "fn.yaml").write_text(yaml.safe_dump(model))
    out = run_shell(f"esm-replay replay {ws.root}/tour/capture -f fn.yaml -o run", folder)
    quoted = re.search(r"e\.g\.\n?`(fn\.yaml: [^`]*)`", ws.doc)
    assert quoted, "the page quotes no error"
    return out.returncode == 2 and out.stderr.strip() == f"error: {normalised(quoted.group(1))}"


def _default_function(ws: Workspace) -> bool:
    ws.run("esm-replay replay tour/capture -o tour/run-default")
    rows = ws.sql(
        'select records, epoch_ms("end") - epoch_ms(start) from'
        " '@/tour/run-default/invocations.parquet'"
    )
    return all(abs(ms - (20 + 0.5 * n)) <= 0.5 for n, ms in rows) and ws.summary(
        "tour/run-default"
    )["dispositions"] == {"processed": 60}


def _package_handler(ws: Workspace) -> bool:
    (ws.root / "myapp").mkdir()
    (ws.root / "myapp" / "__init__.py").write_text("")
    (ws.root / "myapp" / "consumers.py").write_text(
        "def handle(event, context):\n    return None\n"
    )
    return (
        ws.run(
            "esm-replay replay tour/capture -f myapp.consumers:handle -o tour/run-package",
            PYTHONPATH=".",
        ).returncode
        == 0
    )


FUNCTION_MODEL: list[tuple[str, Check]] = [
    ("handler: handlers/orders.py:handler   # optional; relative to this file", _yaml_model),
    ("Every mistake is reported in one line naming the field, e.g.", _misspelt),
    ("a function that always succeeds in 20 ms + 0.5 ms per record", _default_function),
    ("| a handler in a package | `myapp.consumers:handle` | the same, imported from `sys.path` |",
     _package_handler),
]  # fmt: skip


# ---------------------------------------------------------------------- config.md
def _message(obj: Any, kind: str = "kinesis", **kw: Any) -> str:
    from replay.config import parse_config
    from replay.errors import ConfigError
    from replay.vocabulary import SourceKind

    try:
        parse_config(obj, kind=SourceKind(kind), **kw)
    except ConfigError as exc:
        return str(exc)
    return "accepted"


STREAM = {"FunctionName": "f", "StartingPosition": "LATEST"}
CONFIG_MESSAGES: list[tuple[str, Callable[[], str]]] = [
    ('`ParamValidationError: Unknown parameter in input: "BatchSise"; did you mean "BatchSize"?`',
     lambda: _message({**STREAM, "BatchSise": 10})),
    ("`ParamValidationError: Invalid type for parameter BatchSize, value: ten, type: <class 'str'>, valid"
     " types: <class 'int'>`", lambda: _message({**STREAM, "BatchSize": "ten"})),
    ("`ValidationException: 1 validation error detected: Value '20000' at 'batchSize' failed to satisfy"
     " constraint: Member must have value less than or equal to 10000`",
     lambda: _message({**STREAM, "BatchSize": 20000})),
    ("Value 'EARLIEST' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value"
     " set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]", lambda: _message({**STREAM, "StartingPosition": "EARLIEST"})),
    ("at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must"
     " satisfy enum value set: [ReportBatchItemFailures]]",
     lambda: _message({**STREAM, "FunctionResponseTypes": ["Report"]})),
    ("`InvalidParameterValueException: Unsupported DestinationConfig parameter for given event source"
     " mapping type.`", lambda: _message({**STREAM, "DestinationConfig": {"OnSuccess": {
         "Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}})),
    ("`InvalidParameterValueException: StartingPosition is not valid for SQS event sources.`",
     lambda: _message({"FunctionName": "f", "StartingPosition": "LATEST"}, "sqs")),
    ("`InvalidParameterValueException: 1 validation error detected: Value null at 'startingPosition' failed"
     " to satisfy constraint: Member must not be null.`", lambda: _message({"FunctionName": "f"})),
    ("`InvalidParameterValueException: Batching window is not supported for FIFO queues`",
     lambda: _message({"FunctionName": "f", "MaximumBatchingWindowInSeconds": 1}, "sqs", fifo=True)),
    ("`InvalidParameterValueException: Maximum batch size must be between 1 and 10 inclusive`",
     lambda: _message({"FunctionName": "f", "BatchSize": 20}, "sqs", fifo=True)),
    ("`InvalidParameterValueException: Maximum batch window in seconds must be greater than 0 if maximum"
     " batch size is greater than 10`", lambda: _message({"FunctionName": "f", "BatchSize": 50}, "sqs")),
    ("`InvalidParameterValueException: MaximumRecordAgeInSeconds must be either -1 (forever) or between 60"
     " and 604800 (inclusive)`", lambda: _message({**STREAM, "MaximumRecordAgeInSeconds": 30})),
    ("`InvalidParameterValueException: 6 filters exceed the limit of 5 per event source mapping (a quota;"
     " it can be raised to 10).`",
     lambda: _message({**STREAM, "FilterCriteria": {"Filters": [{"Pattern": '{"a": [1]}'}] * 6}})),
    ("`EventSourceArn: ConfigError: arn:aws:sqs:… is an SQS queue but the capture holds a Kinesis stream`",
     lambda: _message({"FunctionName": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"})),
    ("`EventSourceMappings: ConfigError: 2 event source mappings; choose one by UUID: …`",
     lambda: _message({"EventSourceMappings": [{**STREAM, "UUID": "a"}, {**STREAM, "UUID": "b"}]})),
    ("`esm.json: not valid JSON: … (line 3, column 5)`", lambda: _message("esm.json")),
]  # fmt: skip


def _config_message(quote: str, message: Callable[[], str]) -> Check:
    def check(ws: Workspace) -> bool:
        (ws.root / "esm.json").write_text('{\n  "FunctionName": "f",\n    x\n}\n')
        cwd = Path.cwd()
        os.chdir(ws.root)
        try:
            text = message()
        finally:
            os.chdir(cwd)
        pieces = [normalised(p) for p in quote.strip("`").split("…") if p.strip()]
        at = 0
        for piece in pieces:  # the quote's pieces, in order, around its ellipses
            at = normalised(text).find(piece, at)
            if at < 0:
                raise AssertionError(f"{text!r} does not say {piece!r}")
        return True

    return check


def _set_typo(ws: Workspace) -> bool:
    ws.run(
        "esm-replay capture import docs/examples/kinesis-events.jsonl --source kinesis -o tour/capture"
    )
    out = ws.run("esm-replay replay tour/capture --set BatchSise=10 -o tour/run-typo", ok=False)
    return out.returncode == 2 and out.stderr.strip() == (
        'error: --set: BatchSise: ParamValidationError: Unknown parameter in input: "BatchSise"; did you'
        ' mean "BatchSize"?'
    )


def _source_settings(ws: Workspace) -> bool:
    from replay.config import parse_config
    from replay.vocabulary import SourceKind

    _, settings = parse_config(
        {"FunctionName": "f"},
        kind=SourceKind.SQS,
        overrides=["Source.VisibilityTimeout=30", "Source.RedrivePolicy.maxReceiveCount=3"],
    )
    return settings == {"VisibilityTimeout": 30, "RedrivePolicy": {"maxReceiveCount": 3}}


CONFIG: list[tuple[str, Check]] = [
    *[(quote, _config_message(quote, message)) for quote, message in CONFIG_MESSAGES],
    ('`--set: BatchSise: ParamValidationError: Unknown parameter in input: "BatchSise"; did you mean'
     ' "BatchSize"?`', _set_typo),
    ("`Source.VisibilityTimeout=30` →\n`{\"VisibilityTimeout\": 30}`, `Source.RedrivePolicy.maxReceiveCount=3` →\n"
     "`{\"RedrivePolicy\": {\"maxReceiveCount\": 3}}`", _source_settings),
]  # fmt: skip


# ---------------------------------------------------------------------- filters.md
def _matches(pattern: str, view: Any) -> bool:
    from replay.filters import FilterSet

    return FilterSet.from_texts([pattern]).matches(view)


OPERATORS: dict[str, tuple[list[Any], list[Any]]] = {  # a row's pattern -> (matching, not matching)
    '{"Name": ["Alice"]}': ([{"Name": "Alice"}], [{"Name": "alice"}]),
    '{"Price": [100]}': ([{"Price": 100}, {"Price": 100.0}, json.loads('{"Price": 1e2}')], [{"Price": "100"}]),
    '{"Active": [true]}': ([{"Active": True}], [{"Active": 1}, {"Active": "true"}]),
    '{"UserID": [null]}': ([{"UserID": None}], [{}, {"UserID": "null"}]),
    '{"LastName": [""]}': ([{"LastName": ""}], [{"LastName": "x"}]),
    '{"PaymentType": ["Credit", "Debit"]}': ([{"PaymentType": "Credit"}, {"PaymentType": "Debit"}],
                                             [{"PaymentType": "Cash"}]),
    '{"Location": ["New York"], "Day": ["Monday"]}': ([{"Location": "New York", "Day": "Monday"}],
                                                      [{"Location": "New York", "Day": "Friday"}]),
    '{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}': (
        [{"Location": "New York"}, {"Day": "Monday"}], [{"Location": "Paris", "Day": "Friday"}]),
    '{"Name": [{"equals-ignore-case": "alice"}]}': ([{"Name": "ALICE"}, {"Name": "Alice"}], [{"Name": "Bob"}]),
    '{"Region": [{"prefix": "us-"}]}': ([{"Region": "us-east-1"}], [{"Region": "eu-west-1"}]),
    '{"FileName": [{"suffix": ".png"}]}': ([{"FileName": "a.png"}], [{"FileName": "a.jpg"}]),
    '{"Weather": [{"anything-but": ["Raining"]}]}': ([{"Weather": "Sunny"}], [{"Weather": "Raining"}, {}]),
    '{"State": [{"anything-but": "initializing"}]}': ([{"State": "running"}], [{"State": "initializing"}]),
    '{"Price": [{"numeric": ["=", 100]}]}': ([{"Price": 100}], [{"Price": 101}, {"Price": "100"}]),
    '{"Price": [{"numeric": [">", 10, "<=", 20]}]}': ([{"Price": 11}, {"Price": 20}],
                                                      [{"Price": 10}, {"Price": 21}]),
    '{"ProductName": [{"exists": true}]}': ([{"ProductName": "x"}], [{}]),
    '{"ProductName": [{"exists": false}]}': ([{}], [{"ProductName": "x"}]),
}  # fmt: skip
MATCHING: list[tuple[str, str, Any, bool]] = [  # (the page's words, pattern, record, matches)
    ('`{"person": {"address": [{"exists": true}]}}` does not match when `address` is\nan object',
     '{"person": {"address": [{"exists": true}]}}', {"person": {"address": {"city": "x"}}}, False),
    ("and `exists: false` *does* match it",
     '{"person": {"address": [{"exists": false}]}}', {"person": {"address": {"city": "x"}}}, True),
    ('`{"tags": ["b"]}` matches `{"tags": ["a", "b"]}`', '{"tags": ["b"]}', {"tags": ["a", "b"]}, True),
    ('and `{"tags": [{"anything-but": "a"}]}`\nmatches it too', '{"tags": [{"anything-but": "a"}]}',
     {"tags": ["a", "b"]}, True),
    ('`{"anything-but": "101"}` matches `{"N": "42"}` (D09g)', '{"count": {"N": [{"anything-but": "101"}]}}',
     {"count": {"N": "42"}}, True),
    ("so `numeric` never matches them", '{"count": {"N": [{"numeric": [">", 0]}]}}', {"count": {"N": "42"}},
     False),
    ("Exact number values compare\nnumerically (`[1]` matches `1.0`)", '{"n": [1]}', {"n": 1.0}, True),
]  # fmt: skip


def _operator_table(ws: Workspace) -> bool:
    table = ws.doc[ws.doc.index("| Operator | Pattern | Matches |") :].split("\n\n", 1)[0]
    patterns = [
        re.findall(r"`([^`]*)`", line.split(" | ")[1])[0] for line in table.splitlines()[2:]
    ]
    assert patterns == list(OPERATORS), "the table's patterns are not the ones this test knows"
    for pattern, (hits, misses) in OPERATORS.items():
        for record in hits:
            assert _matches(pattern, record), (pattern, record)
        for record in misses:
            assert not _matches(pattern, record), (pattern, record)
    return True


def _kinesis_view(ws: Workspace) -> bool:
    """The page's Kinesis record, matched as the page says, by the page's pattern."""
    from replay.filters import filter_view
    from replay.vocabulary import SourceKind

    record, view = (
        {k: v for k, v in json.loads(b.text).items() if k != "..."}
        for b in blocks(ws.doc)
        if b.lang == "json"
    )
    seen = filter_view(SourceKind.KINESIS, record)
    return seen == view and _matches(
        '{"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}', seen
    )


def _developers(ws: Workspace) -> bool:
    """The page's Python block runs as it is, given a configuration and records."""
    from replay.config import parse_config
    from replay.vocabulary import SourceKind

    code = next(b.text for b in blocks(ws.doc) if b.lang == "python")
    esm_config, _ = parse_config(
        {
            **STREAM,
            "FilterCriteria": {"Filters": [{"Pattern": '{"data": {"Location": ["Los Angeles"]}}'}]},
        },
        kind=SourceKind.KINESIS,
    )
    record = json.loads((EXAMPLES / "sqs-events.json").read_text())["Records"][0]
    kinesis = json.loads((EXAMPLES / "kinesis-events.jsonl").read_text().splitlines()[0])["Records"]
    scope: dict[str, Any] = {"esm_config": esm_config, "event_records": kinesis, "record": record}
    exec(compile(code, "filters.md", "exec"), scope)  # the page's own example
    return (
        scope["mask"].dtype == bool
        and len(scope["mask"]) == len(kinesis)
        and not scope["mask"].any()
    )


FILTERS: list[tuple[str, Check]] = [
    ("| Operator | Pattern | Matches |", _operator_table),
    ('so `{"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}` matches it', _kinesis_view),
    ("filters = FilterSet.from_texts(esm_config.filter_patterns)", _developers),
    *[(quote, lambda ws, p=pattern, r=record, m=hit: _matches(p, r) is m)
      for quote, pattern, record, hit in MATCHING],
]  # fmt: skip

CAPTURE = (
    "esm-replay capture import docs/examples/kinesis-events.jsonl --source kinesis -o tour/capture"
)
SPECS: dict[str, Doc] = {
    "post-incident.md": Doc(POST_INCIDENT, outputs=9),
    "what-if.md": Doc(WHAT_IF, outputs=3, demos=("kinesis",)),
    "guide.md": Doc(GUIDE, outputs=1),
    "query.md": Doc(QUERY, setup=QUERY_SETUP),
    "capture-format.md": Doc(_capture_format_claims()),
    "function-model.md": Doc(FUNCTION_MODEL, setup=CAPTURE),
    "config.md": Doc(CONFIG),
    "filters.md": Doc(FILTERS),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_the_examples_run_and_the_doc_says_what_they_print(
    name: str, demos: Demos, tmp_path: Path
) -> None:
    spec = SPECS[name]
    ws = Workspace(tmp_path, read(name), demos)
    copy_examples(tmp_path)
    for incident in spec.demos:
        ws.demo(incident)
    if spec.setup:
        ws.run(spec.setup)
    failures, compared = run_blocks(ws)
    if compared != spec.outputs:
        failures.append(
            f"{compared} output blocks follow {name}'s shell blocks, not {spec.outputs}"
        )
    for quote, holds in spec.claims:
        if not says(ws.doc, quote):
            failures.append(f"{name} no longer says {quote!r}")
            continue
        try:
            if not holds(ws):
                failures.append(f"not so: {quote!r}")
        except AssertionError as exc:
            failures.append(f"not so: {quote!r}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_only_blocks_that_need_aws_are_left_unrun() -> None:
    assert needs_aws("esm-replay capture kinesis --stream orders -o cap")
    assert needs_aws("aws kinesis get-records --shard-iterator x > page1.json")
    assert not needs_aws("esm-replay capture import events.json --source kinesis -o tour/cap")
