"""Hypothesis properties of the stream engine over random small captures, configs and faults.

For 1–3 shards, 0–60 records with keys from a small set and random arrival gaps, a random ESM
configuration (BatchSize, window, ParallelizationFactor, MaximumRetryAttempts,
MaximumRecordAgeInSeconds, bisect, ReportBatchItemFailures, an optional filter) and a random fault
model (keys that always fail, report or time out, plus a seeded probabilistic failure):

1. every record ends with exactly one disposition, and its deliveries match the invocations;
2. first deliveries of records sharing a key within a shard follow sequence order, for any PF (B49);
3. the same inputs and seed give identical invocation, record and destination outputs;
4. no record is delivered after the time of its disposition;
5. processed records were delivered at least once, filtered ones never (B52).

Every replay stops at a horizon 15 minutes after the last arrival, so infinite retries stay short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from replay.function import Fault, FunctionModel
from replay.testing import T0, Rec, Simulation, rec, simulate

KEYS = ("a", "b", "c", "d", "e")
SHARDS = tuple(f"shardId-00000000000{i}" for i in range(3))
DISPOSITIONS = {"processed", "discarded", "filtered", "dead-lettered", "unprocessed"}
HORIZON_S = 900.0
SETTINGS = settings(max_examples=40, deadline=None)


@dataclass(frozen=True)
class Scenario:
    """One random replay: records, ESM configuration, function model, seed and horizon."""

    records: tuple[Rec, ...]
    config: dict[str, Any]
    model: FunctionModel
    seed: int
    until: float
    disabled: tuple[tuple[float, float], ...] = ()  # B29 spans, seconds after T0

    def run(self) -> Simulation:
        """Replay the scenario."""
        return simulate(
            self.records,
            self.config,
            self.model,
            seed=self.seed,
            until=self.until,
            disabled=self.disabled,
        )


def sql_in(keys: frozenset[str]) -> str:
    """A DuckDB predicate: the record's key is one of ``keys``."""
    return "key IN (" + ", ".join(f"'{k}'" for k in sorted(keys)) + ")"


key_sets = st.frozensets(st.sampled_from(KEYS), max_size=2)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random capture, configuration and fault model."""
    shards = SHARDS[: draw(st.integers(1, 3))]
    n = draw(st.integers(0, 60))
    gaps = draw(
        st.lists(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0, 2.5, 7.0, 30.0]), min_size=n, max_size=n)
    )
    at = 0.0
    records = []
    for i, gap in enumerate(gaps):
        at += gap
        key = draw(st.sampled_from(KEYS))
        records.append(rec(key, at=round(at, 3), shard=draw(st.sampled_from(shards)), name=f"r{i}"))
    config: dict[str, Any] = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": draw(st.integers(1, 20)),
        "MaximumBatchingWindowInSeconds": draw(st.integers(0, 3)),
        "ParallelizationFactor": draw(st.integers(1, 4)),
        "MaximumRetryAttempts": draw(st.integers(-1, 3)),
        "MaximumRecordAgeInSeconds": draw(st.one_of(st.just(-1), st.integers(60, 600))),
        "BisectBatchOnFunctionError": draw(st.booleans()),
        "DestinationConfig": {
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
        },
    }
    if draw(st.booleans()):
        config["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    passing = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(KEYS), min_size=1)))
    if passing is not None:
        pattern = {"data": {"key": sorted(passing)}}
        config["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(pattern)}]}
    faults = []
    for kind in ("error", "report", "timeout"):
        keys = draw(key_sets)
        if keys:
            extra: dict[str, Any] = {"error": "Unhandled"} if kind == "error" else {kind: True}
            faults.append(Fault(when=sql_in(keys), **extra))
    probability = draw(st.sampled_from([None, 0.2, 0.5]))
    if probability is not None:
        faults.append(Fault(error="Unhandled", probability=probability))
    model = FunctionModel(faults=tuple(faults))
    until = (records[-1].at if records else 0.0) + HORIZON_S
    disabled = draw(st.one_of(st.just(()), disabled_spans()))
    seed = draw(st.integers(0, 2**31 - 1))
    return Scenario(tuple(records), config, model, seed, until, disabled)


@st.composite
def disabled_spans(draw: st.DrawFn) -> tuple[tuple[float, float], ...]:
    """One B29 span: the mapping disabled a while, then re-enabled."""
    start = draw(st.sampled_from([0.0, 0.5, 3.0, 20.0, 60.0]))
    return ((start, start + draw(st.sampled_from([0.5, 5.0, 45.0, 300.0]))),)


def done_times(sim: Simulation) -> dict[str, float]:
    """Seconds after T0 at which each record got its disposition."""
    done = sim.run.records.column("done").cast(pa.int64()).to_pylist()
    return {label: (ms - T0) / 1000 for label, ms in zip(sim.outcomes, done, strict=True)}


def delivery_starts(sim: Simulation) -> dict[str, list[float]]:
    """Start times of every invocation that reached the function, per record."""
    starts: dict[str, list[float]] = {}
    for inv in sim.invocations:
        if inv.result in ("throttled", "rejected"):
            continue
        for label in inv.records:
            starts.setdefault(label, []).append(inv.start)
    return starts


@SETTINGS
@given(scenarios())
def test_prop1_exactly_one_disposition_per_record(scenario: Scenario) -> None:
    """(1) Every record has exactly one disposition and deliveries >= 0 matching the invocations.

    An attempt still running at the horizon has reached the function (it counts as a delivery)
    but has no invocation row yet, so a record left unprocessed at the horizon may count one more.
    """
    sim = scenario.run()
    assert set(sim.outcomes) == {r.label for r in scenario.records}
    assert sim.run.records.num_rows == len(scenario.records)
    starts = delivery_starts(sim)
    for label, (disposition, reason, deliveries) in sim.outcomes.items():
        assert disposition in DISPOSITIONS
        assert deliveries >= 0
        logged = len(starts.get(label, []))
        in_flight = 1 if (disposition, reason) == ("unprocessed", "HorizonReached") else 0
        assert logged <= deliveries <= logged + in_flight


@SETTINGS
@given(scenarios())
def test_prop2_per_key_order_within_a_shard(scenario: Scenario) -> None:
    """(2) B49: first deliveries of same-key records of a shard are in sequence order, any PF."""
    sim = scenario.run()
    starts = delivery_starts(sim)
    last: dict[tuple[str, str], float] = {}
    for r in scenario.records:  # list order = sequence order within each shard
        if r.label not in starts:
            continue
        first = min(starts[r.label])
        group = (r.shard, r.key)
        assert first >= last.get(group, float("-inf")), (r.label, first, last[group])
        last[group] = first


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_prop3_same_inputs_and_seed_replay_identically(scenario: Scenario) -> None:
    """(3) Determinism: two replays of the same scenario produce identical outputs."""
    one, two = scenario.run(), scenario.run()
    assert one.run.invocations.equals(two.run.invocations)
    assert one.run.records.equals(two.run.records)
    assert one.destinations == two.destinations
    assert one.invocations == two.invocations


@SETTINGS
@given(scenarios())
def test_prop4_no_delivery_after_the_disposition(scenario: Scenario) -> None:
    """(4) No record is delivered after the time of its disposition (``done``)."""
    sim = scenario.run()
    done = done_times(sim)
    for label, starts in delivery_starts(sim).items():
        assert max(starts) <= done[label], (label, starts, done[label])


@SETTINGS
@given(scenarios())
def test_prop5_processed_delivered_filtered_never(scenario: Scenario) -> None:
    """(5) Processed records were delivered at least once; filtered records never (B52)."""
    sim = scenario.run()
    for disposition, _reason, deliveries in sim.outcomes.values():
        if disposition == "processed":
            assert deliveries >= 1
        if disposition == "filtered":
            assert deliveries == 0
    if "FilterCriteria" not in scenario.config:
        assert all(d != "filtered" for d, _, _ in sim.outcomes.values())
