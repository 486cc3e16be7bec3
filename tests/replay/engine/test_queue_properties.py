"""Hypothesis properties of the SQS and Kafka engines over random small captures, configs and faults.

SQS (standard or FIFO): 0–40 messages in up to 3 message groups with random gaps and timers, a
random queue (VisibilityTimeout, optional RedrivePolicy and MessageRetentionPeriod), a random ESM
configuration (BatchSize, window on standard queues, ReportBatchItemFailures, MaximumConcurrency,
an optional filter) and a random function (failing, reporting or timing-out keys, a seeded
probabilistic failure, a throttle period, a slow duration). Kafka: 0–40 records on 1–3
partitions, on-demand or provisioned (retries, age, bisect, partial responses, a destination),
optional filter and retention.

1. no message is lost: every one ends with exactly one disposition — processed, dead-lettered,
   filtered, discarded (SQS: only by retention) or unprocessed at the horizon — and its deliveries
   match the invocations that reached the function (B60, B65, B71, 5);
2. FIFO: within a message group, first deliveries follow send order when no partial batch
   responses are used (6, B74, B76; B77 is why RBIF is excluded);
3. Kafka: within a partition, first deliveries follow offset order (7);
4. the same inputs and seed give identical tables (invocations, records, queue metrics,
   destinations), duplicates and probabilistic faults included.

Every replay stops at a horizon :data:`HORIZON_S` after the last arrival, so endless retries stay
short.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from replay.engine.options import EngineOptions
from replay.function import Duration, Fault, FunctionModel, ThrottlePeriod
from replay.testing import T0, Rec, Simulation, krec, msg, simulate
from replay.vocabulary import SourceKind
from tests.replay.engine.test_streams_properties import disabled_spans

KEYS = ("a", "b", "c", "d")
GROUPS = ("g1", "g2", "g3")
DISPOSITIONS = {"processed", "discarded", "filtered", "dead-lettered", "unprocessed"}
HORIZON_S = 600.0
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:prop-dlq"
KAFKA_DLQ = "arn:aws:sqs:us-east-1:123456789012:kafka-dlq"
RBIF = ["ReportBatchItemFailures"]
GAPS = (0.0, 0.0, 0.1, 0.5, 1.0, 3.0, 12.0, 45.0)
SETTINGS = settings(max_examples=30, deadline=None)


@dataclass(frozen=True)
class Scenario:
    """One random replay of either family."""

    kind: SourceKind
    records: tuple[Rec, ...]
    config: dict[str, Any]
    model: FunctionModel
    queue: dict[str, Any]
    options: EngineOptions
    seed: int
    until: float
    disabled: tuple[tuple[float, float], ...] = ()  # B29 spans, seconds after T0

    @property
    def rbif(self) -> bool:
        """Whether partial batch responses are on."""
        return "FunctionResponseTypes" in self.config

    def run(self) -> Simulation:
        """Replay the scenario."""
        return simulate(
            self.records,
            self.config,
            self.model,
            kind=self.kind,
            seed=self.seed,
            options=self.options,
            settings=self.queue,
            until=self.until,
            disabled=self.disabled,
        )


# ---------------------------------------------------------------------------------------- strategies
def sql_keys(column: str, keys: frozenset[str]) -> str:
    """A DuckDB predicate: ``column`` holds one of ``keys`` (SQS: the body's "k" field)."""
    listed = ", ".join(f"'{k}'" for k in sorted(keys))
    return f"{column} IN ({listed})"


def arrivals(draw: st.DrawFn, n: int) -> list[float]:
    """``n`` arrival times (seconds after T0) with random gaps."""
    at, out = 0.0, []
    for gap in draw(st.lists(st.sampled_from(GAPS), min_size=n, max_size=n)):
        at += gap
        out.append(round(at, 3))
    return out


def fault_model(draw: st.DrawFn, column: str, *, rbif: bool, vt: int | None) -> FunctionModel:
    """Faults on random keys: errors, reports (with RBIF), timeouts; a probabilistic failure; a
    throttle period; a slow or default duration. The function timeout never exceeds ``vt``."""
    key_sets = st.frozensets(st.sampled_from(KEYS), max_size=2)
    faults: list[Fault] = []
    kinds = ["error", "timeout"] + (["report"] if rbif else [])
    for kind in kinds:
        keys = draw(key_sets)
        if keys:
            extra: dict[str, Any] = {"error": "Unhandled"} if kind == "error" else {kind: True}
            times = draw(st.sampled_from([None, 1, 2]))
            faults.append(Fault(when=sql_keys(column, keys), times=times, **extra))
    probability = draw(st.sampled_from([None, 0.2, 0.5]))
    if probability is not None:
        faults.append(Fault(error="Unhandled", probability=probability))
    throttles: tuple[ThrottlePeriod, ...] = ()
    if draw(st.booleans()):
        start = draw(st.integers(0, 30_000))
        throttles = (ThrottlePeriod(T0 + start, T0 + start + draw(st.integers(1_000, 40_000))),)
    duration = draw(st.sampled_from([Duration(), Duration(base_ms=1500, per_record_ms=10)]))
    return FunctionModel(
        timeout_s=min(3, vt) if vt is not None else 3,
        duration=duration,
        faults=tuple(faults),
        throttles=throttles,
    )


@st.composite
def sqs_scenarios(
    draw: st.DrawFn, *, fifo: bool | None = None, rbif: bool | None = None
) -> Scenario:
    """A random SQS queue, messages, ESM configuration and function."""
    fifo = draw(st.booleans()) if fifo is None else fifo
    n = draw(st.integers(0, 40))
    records = []
    for i, at in enumerate(arrivals(draw, n)):
        key = draw(st.sampled_from(KEYS))
        delay = draw(st.sampled_from([None, None, None, 5])) if not fifo else None
        group = draw(st.sampled_from(GROUPS)) if fifo else None
        records.append(msg({"k": key, "i": i}, at=at, group=group, name=f"m{i:02d}", delay=delay))
    vt = draw(st.sampled_from([5, 10, 30]))
    queue: dict[str, Any] = {"VisibilityTimeout": vt}
    if fifo:
        queue["FifoQueue"] = True
    if draw(st.booleans()):
        queue["RedrivePolicy"] = {
            "deadLetterTargetArn": DLQ_ARN + (".fifo" if fifo else ""),
            "maxReceiveCount": draw(st.integers(1, 4)),
        }
    if draw(st.booleans()):
        queue["MessageRetentionPeriod"] = draw(st.sampled_from([60, 120, 345_600]))
    window = 0 if fifo else draw(st.integers(0, 3))
    config: dict[str, Any] = {
        "BatchSize": draw(st.integers(1, 10 if fifo or window == 0 else 25)),
        "MaximumBatchingWindowInSeconds": window,
    }
    rbif = draw(st.booleans()) if rbif is None else rbif
    if rbif:
        config["FunctionResponseTypes"] = RBIF
    if draw(st.booleans()):
        config["ScalingConfig"] = {"MaximumConcurrency": draw(st.integers(2, 5))}
    passing = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(KEYS), min_size=1)))
    if passing is not None:
        pattern = {"body": {"k": sorted(passing)}}
        config["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(pattern)}]}
    model = fault_model(draw, "json_extract_string(data, '$.k')", rbif=rbif, vt=vt)
    options = EngineOptions(sqs_duplicate_rate=draw(st.sampled_from([0.0, 0.0, 0.3])))
    until = (records[-1].at if records else 0.0) + HORIZON_S
    seed = draw(st.integers(0, 2**31 - 1))
    disabled = draw(st.one_of(st.just(()), disabled_spans()))
    return Scenario(
        SourceKind.SQS, tuple(records), config, model, queue, options, seed, until, disabled
    )


@st.composite
def kafka_scenarios(draw: st.DrawFn) -> Scenario:
    """A random Kafka topic, records, ESM configuration (on-demand or provisioned) and function."""
    n = draw(st.integers(0, 40))
    partitions = draw(st.integers(1, 3))
    records = [
        krec(
            draw(st.sampled_from(KEYS)),
            {"i": i},
            at=at,
            partition=draw(st.integers(0, partitions - 1)),
            name=f"r{i:02d}",
        )
        for i, at in enumerate(arrivals(draw, n))
    ]
    config: dict[str, Any] = {
        "StartingPosition": "TRIM_HORIZON",
        "Topics": ["orders"],
        "BatchSize": draw(st.integers(1, 20)),
    }
    if draw(st.booleans()):
        config["MaximumBatchingWindowInSeconds"] = draw(st.integers(0, 2))
    provisioned = draw(st.booleans())
    rbif = False
    if provisioned:
        config["ProvisionedPollerConfig"] = {"MinimumPollers": 1, "MaximumPollers": 2}
        config["MaximumRetryAttempts"] = draw(st.integers(-1, 3))
        config["MaximumRecordAgeInSeconds"] = draw(st.one_of(st.just(-1), st.integers(60, 300)))
        config["BisectBatchOnFunctionError"] = draw(st.booleans())
        rbif = draw(st.booleans())
        if rbif:
            config["FunctionResponseTypes"] = RBIF
        destination = draw(st.sampled_from([None, KAFKA_DLQ, "kafka://orders-failures"]))
        if destination is not None:
            config["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
    passing = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(KEYS), min_size=1)))
    if passing is not None:
        pattern = {"value": {"key": sorted(passing)}}
        config["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(pattern)}]}
    topic: dict[str, Any] = {}
    if draw(st.booleans()):
        topic["retention.ms"] = draw(st.sampled_from([60_000, 180_000]))
    model = fault_model(draw, "key", rbif=rbif, vt=None)
    until = (records[-1].at if records else 0.0) + HORIZON_S
    seed = draw(st.integers(0, 2**31 - 1))
    disabled = draw(st.one_of(st.just(()), disabled_spans()))
    return Scenario(
        SourceKind.KAFKA, tuple(records), config, model, topic, EngineOptions(), seed, until,
        disabled,
    )  # fmt: skip


def any_scenarios() -> st.SearchStrategy[Scenario]:
    """SQS (standard or FIFO) or Kafka."""
    return st.one_of(sqs_scenarios(), kafka_scenarios())


# ---------------------------------------------------------------------------------------- helpers
def first_deliveries(sim: Simulation) -> dict[str, tuple[float, int, int]]:
    """label -> (start, invocation index, position in the batch) of its first delivery."""
    first: dict[str, tuple[float, int, int]] = {}
    reached = [i for i in sim.invocations if i.result not in ("throttled", "rejected")]
    order = sorted(range(len(reached)), key=lambda k: (reached[k].start, k))
    for k in order:
        for pos, label in enumerate(reached[k].records):
            first.setdefault(label, (reached[k].start, k, pos))
    return first


def logged_deliveries(sim: Simulation) -> dict[str, int]:
    """How many logged attempts that reached the function held each record."""
    count: dict[str, int] = {}
    for inv in sim.invocations:
        if inv.result in ("throttled", "rejected"):
            continue
        for label in inv.records:
            count[label] = count.get(label, 0) + 1
    return count


def assert_in_order(
    first: Mapping[str, tuple[float, int, int]], lanes: Mapping[str, list[str]]
) -> None:
    """Within each lane (group / partition, labels in send order), first deliveries ascend: a
    later message is first delivered in a later invocation, or later in the same batch."""
    for lane, labels in lanes.items():
        delivered = [label for label in labels if label in first]
        for a, b in itertools.pairwise(delivered):
            (start_a, inv_a, pos_a), (start_b, inv_b, pos_b) = first[a], first[b]
            ordered = start_a < start_b or (inv_a == inv_b and pos_a < pos_b)
            assert ordered, (lane, a, first[a], b, first[b])


# ---------------------------------------------------------------------------------------- properties
@SETTINGS
@given(any_scenarios())
def test_prop1_no_message_lost_exactly_one_disposition(scenario: Scenario) -> None:
    """(1) Every message/record has exactly one disposition from the allowed set; processed ones
    were delivered (per the invocation log), filtered ones never; SQS discards only by retention
    and dead-letters only with a RedrivePolicy."""
    sim = scenario.run()
    labels = [r.label for r in scenario.records]
    assert sim.run.records.num_rows == len(labels)
    assert sorted(sim.outcomes) == sorted(labels)
    logged = logged_deliveries(sim)
    for label, (disposition, reason, _) in sim.outcomes.items():
        assert disposition in DISPOSITIONS, (label, disposition)
        if disposition == "processed":
            assert logged.get(label, 0) >= 1, label
        if disposition == "filtered":
            assert label not in logged and "FilterCriteria" in scenario.config, label
        if scenario.kind is SourceKind.SQS:
            if disposition == "discarded":
                assert reason == "RetentionExpired", (label, reason)
            if disposition == "dead-lettered":
                assert "RedrivePolicy" in scenario.queue, label


# A standard queue where the batch at t=10 s holds rows [0, 3, 2] (m0 and m3 returned after a
# failure, m2 fresh after its timer): the smallest case Hypothesis found of a batch whose rows are
# a contiguous run out of order, which once had m1 counted for m3's delivery.
RETURNED_OUT_OF_ORDER = Scenario(
    kind=SourceKind.SQS,
    records=(
        msg("m0", at=0, delay=5, name="m0"),
        msg("m1", at=1, name="m1"),
        msg("m2", at=5, delay=5, name="m2"),
        msg("m3", at=5, name="m3"),
    ),
    config={"BatchSize": 3},
    model=FunctionModel(
        timeout_s=4, faults=(Fault(when="data IN ('m0', 'm1')", error="Unhandled", times=1),)
    ),
    queue={"VisibilityTimeout": 5},
    options=EngineOptions(),
    seed=0,
    until=HORIZON_S,
)


@SETTINGS
@example(RETURNED_OUT_OF_ORDER)
@given(any_scenarios())
def test_prop1b_deliveries_match_the_invocation_log(scenario: Scenario) -> None:
    """(1b) A record's ``deliveries`` equals the logged invocations that held it (an attempt in
    flight at the horizon may add one). In RETURNED_OUT_OF_ORDER m3 is delivered at 5 s and 10 s
    and m1 at 1 s and 6 s: 2 each."""
    sim = scenario.run()
    logged = logged_deliveries(sim)
    for label, (disposition, reason, deliveries) in sim.outcomes.items():
        in_flight = 1 if (disposition, reason) == ("unprocessed", "HorizonReached") else 0
        assert logged.get(label, 0) <= deliveries <= logged.get(label, 0) + in_flight, (
            label,
            deliveries,
            logged.get(label, 0),
        )


@SETTINGS
@given(sqs_scenarios(fifo=True, rbif=False))
def test_prop2_fifo_group_order_of_first_deliveries(scenario: Scenario) -> None:
    """(2) 6 / B74 / B76: without partial batch responses, a FIFO group's messages are first
    delivered in send order (a batch may hold several, in order)."""
    sim = scenario.run()
    groups: dict[str, list[str]] = {}
    for r in scenario.records:
        groups.setdefault(r.key, []).append(r.label)
    assert_in_order(first_deliveries(sim), groups)


@SETTINGS
@given(kafka_scenarios())
def test_prop3_kafka_partition_order_of_first_deliveries(scenario: Scenario) -> None:
    """(3) 7: a partition's records are first delivered in offset order."""
    sim = scenario.run()
    partitions: dict[str, list[str]] = {}
    for r in scenario.records:  # list order = offset order within each partition
        partitions.setdefault(r.shard, []).append(r.label)
    assert_in_order(first_deliveries(sim), partitions)


@settings(max_examples=20, deadline=None)
@given(any_scenarios())
def test_prop4_same_inputs_and_seed_give_identical_tables(scenario: Scenario) -> None:
    """(4) Determinism: two replays of one scenario and seed give identical invocation, record
    and queue-metric tables and identical destination lines."""
    one, two = scenario.run(), scenario.run()
    assert one.run.invocations.equals(two.run.invocations)
    assert one.run.records.equals(two.run.records)
    assert one.run.queue_metrics.equals(two.run.queue_metrics)
    assert one.destinations == two.destinations
    assert one.invocations == two.invocations
