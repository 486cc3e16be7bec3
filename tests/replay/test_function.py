"""Function models: handler references, the declarative model, DuckDB fault predicates."""

import random
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from replay.errors import FunctionModelError
from replay.function import (
    Duration,
    Fault,
    FunctionModel,
    compile_faults,
    judge_faults,
    load_function,
    parse_model,
    resolve_handler,
    throttled_at,
)

RECORDS = pa.table(
    {
        "key": ["user-1", "user-42", "user-7", None],
        "data": [b'{"type":"ok"}', b'{"type":"bad"}', b"not json", b"\xff\xfe"],
        "size": pa.array([10, 20, 300_000, 5], pa.int32()),
    }
)


def test_design_example_model_parses(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "orders.py").write_text(
        "def handler(event, context):\n    return None\n"
    )
    path = tmp_path / "fn.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            handler: handlers/orders.py:handler
            timeout: 30
            duration: {base_ms: 20, per_record_ms: 0.5}
            reserved_concurrency: 50
            faults:
              - when: "key = 'user-42'"
                error: Unhandled
              - when: "json_extract_string(data::VARCHAR, '$.type') = 'bad'"
                report: true
              - when: "size > 100000"
                timeout: true
              - probability: 0.01
                error: Unhandled
            throttles:
              - {from: "2024-01-01T00:00:00Z", to: "2024-01-01T00:05:00Z"}
            """
        )
    )
    model = load_function(str(path))
    assert model.timeout_s == 30
    assert model.reserved_concurrency == 50
    assert model.duration == Duration(base_ms=20, per_record_ms=0.5)
    assert len(model.faults) == 4
    assert model.handler is not None and model.handler.endswith("orders.py:handler")
    assert throttled_at(model, 1704067200000 + 1000)
    assert not throttled_at(model, 1704067200000 + 300_000)


def test_fault_predicates_are_evaluated_by_duckdb_with_data_as_text() -> None:
    model = FunctionModel(
        faults=(
            Fault(when="key = 'user-42'", error="Unhandled"),
            Fault(when="json_extract_string(data::VARCHAR, '$.type') = 'bad'", report=True),
            Fault(when="size > 100000", timeout=True),
        )
    )
    masks = compile_faults(model, RECORDS)
    assert [m.tolist() for m in masks] == [
        [False, True, False, False],
        [False, True, False, False],  # malformed JSON and non-UTF-8 rows are simply false
        [False, False, True, False],
    ]


def test_bad_predicate_is_one_line_user_error() -> None:
    model = FunctionModel(faults=(Fault(when="no_such_column = 1", error="Unhandled"),))
    with pytest.raises(FunctionModelError, match=r"faults\[0\]\.when"):
        compile_faults(model, RECORDS)


def test_judge_faults_error_report_timeout_and_times() -> None:
    model = FunctionModel(
        faults=(
            Fault(when="key = 'user-42'", error="Unhandled", times=2),
            Fault(when="key = 'user-1'", report=True),
            Fault(when="size > 100000", timeout=True, extra_ms=5),
        )
    )
    masks = compile_faults(model, RECORDS)
    rng = random.Random(0)
    rows = np.array([0, 1])
    v = judge_faults(model, masks, rows, np.array([1, 1]), rng)
    assert v.error == "Unhandled"
    assert v.reported is not None and v.reported.tolist() == [0]
    # a transient fault stops after its first `times` deliveries
    v3 = judge_faults(model, masks, rows, np.array([3, 3]), rng)
    assert v3.error is None
    vt = judge_faults(model, masks, np.array([2]), np.array([1]), rng)
    assert vt.timeout and vt.extra_ms == 5


def test_fault_span_applies_to_invocations_starting_inside_it() -> None:
    """S13: a fault bounded by ``from``/``to`` is v1's (or a regression's) behaviour: invocations
    starting before ``from`` or at/after ``to`` run code without it."""
    model = parse_model(
        {"faults": [{"error": True, "from": "2024-01-01T00:00:10Z", "to": "2024-01-01T00:00:20Z"}]},
        where="fn.yaml",
    )
    (fault,) = model.faults
    t0 = fault.from_ms
    assert t0 is not None and fault.to_ms == t0 + 10_000
    masks = compile_faults(model, RECORDS)
    rows, seen, rng = np.array([0]), np.array([1]), random.Random(0)
    at = [t0 - 1, t0, t0 + 9_999, t0 + 10_000]
    got = [judge_faults(model, masks, rows, seen, rng, now_ms=t).error for t in at]
    assert got == [None, "Unhandled", "Unhandled", None]
    assert model.to_json()["faults"] == [
        {"error": "Unhandled", "from_ms": t0, "to_ms": t0 + 10_000}
    ]


def test_probability_is_seeded() -> None:
    model = FunctionModel(faults=(Fault(probability=0.5, error="Unhandled"),))
    masks = compile_faults(model, RECORDS)
    rows = np.array([0])
    first = [
        judge_faults(model, masks, rows, np.array([1]), random.Random(7)).error for _ in range(3)
    ]
    again = [
        judge_faults(model, masks, rows, np.array([1]), random.Random(7)).error for _ in range(3)
    ]
    assert first == again


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"timeout": 0}, "timeout must be a number from 1 to 900"),
        ({"faultz": []}, "did you mean 'faults'"),
        ({"faults": [{"when": "key = 'a'"}]}, "says nothing happens"),
        ({"faults": [{"whne": "x", "error": True}]}, "did you mean 'when'"),
        ({"duration": {"base": 3}}, "did you mean 'base_ms'"),
        ({"throttles": [{"from": "2024-01-01T00:00:00Z"}]}, "needs 'from' and 'to'"),
        (
            {"faults": [{"error": True, "from": "2024-01-01T01:00:00Z", "to": "2024-01-01"}]},
            "faults\\[0\\]: 'to' must be after 'from'",
        ),
        ({"faults": [{"error": True, "to": "yesterday"}]}, "faults\\[0\\]: to"),
    ],
)
def test_model_errors_name_the_field(obj: dict[str, object], message: str) -> None:
    with pytest.raises(FunctionModelError, match=message):
        parse_model(obj, where="fn.yaml")


def test_handler_references(tmp_path: Path) -> None:
    f = tmp_path / "h.py"
    f.write_text("def handler(event, context):\n    return {'n': len(event['Records'])}\n")
    handler = resolve_handler(f"{f}:handler")
    assert handler({"Records": [1, 2]}, None) == {"n": 2}
    assert resolve_handler("json:dumps") is not None
    with pytest.raises(FunctionModelError, match="has no callable"):
        resolve_handler(f"{f}:missing")
    with pytest.raises(FunctionModelError, match="not found"):
        resolve_handler("nope/none.py:handler")
    with pytest.raises(FunctionModelError, match=r"expected path/to/file\.py:function"):
        resolve_handler("just-a-name")


def test_a_bare_probability_is_a_transient_function_error() -> None:
    """``- probability: 0.5`` alone fails half the invocations with Unhandled (DESIGN.md)."""
    model = parse_model({"faults": [{"probability": 0.5}]})
    assert model.faults[0].error == "Unhandled"
    masks = compile_faults(model, RECORDS)
    rng = random.Random(1)
    got = [judge_faults(model, masks, np.array([0]), np.array([1]), rng).error for _ in range(40)]
    assert 5 < got.count("Unhandled") < 35
