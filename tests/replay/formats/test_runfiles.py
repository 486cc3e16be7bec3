"""The run tables have one schema each: the engine's tables, the empty query views and the column
tables of docs/run-format.md all follow replay.formats.runfiles, and the vocabulary's values are the
documented ones."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from replay.analysis.query import VIEW_SCHEMAS, run_query
from replay.config import parse_config
from replay.engine.summary import metrics_table
from replay.formats.runfiles import INVOCATIONS, METRICS, RECORDS, TABLES
from replay.testing import rec, simulate
from replay.vocabulary import Cause, Disposition, NextStep, Reason, Result, SourceKind

DOC = (Path(__file__).parents[3] / "docs" / "run-format.md").read_text(encoding="utf-8")
DOC_TYPES = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "string": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "timestamp[ms, UTC]": pa.timestamp("ms", tz="UTC"),
    "list<int64>": pa.list_(pa.int64()),
}


def _section(heading: str) -> str:
    start = DOC.index(f"## {heading}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else len(DOC)]


def _documented_columns(heading: str) -> list[tuple[str, pa.DataType]]:
    """(name, type) per column of a section's `| column | type | meaning |` table, in order."""
    table = _section(heading).split("| column | type | meaning |", 1)[1]
    out = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        names, kind = (cell.strip() for cell in line.split("|")[1:3])
        for name in re.findall(r"`([^`]+)`", names):
            out.append((name, DOC_TYPES[kind.removesuffix(", nullable")]))
    return out


@pytest.mark.parametrize("file", sorted(TABLES))
def test_docs_describe_every_column_in_schema_order(file: str) -> None:
    schema = TABLES[file]
    assert _documented_columns(file) == [(f.name, f.type) for f in schema]


def test_engine_tables_follow_the_schemas() -> None:
    config = {"BatchSize": 1, "StartingPosition": "TRIM_HORIZON"}
    sim = simulate([rec("k", 1), rec("k", 2)], config)
    assert sim.run.invocations.schema == INVOCATIONS
    assert sim.run.records.schema == RECORDS
    esm, _ = parse_config(config, kind=SourceKind.KINESIS, fifo=False, where="test")
    assert metrics_table(sim.run, esm).schema == METRICS


@pytest.mark.parametrize("view", sorted(VIEW_SCHEMAS))
def test_empty_views_have_the_columns_of_their_table(view: str) -> None:
    table = run_query(f"select * from {view}", [])
    assert table.column_names[1:] == VIEW_SCHEMAS[view].names


@pytest.mark.parametrize(
    ("heading", "column", "values"),
    [
        ("records.parquet", "disposition", Disposition),
        ("records.parquet", "reason", Reason),
        ("invocations.parquet", "cause", Cause),
        ("invocations.parquet", "result", Result),
        ("invocations.parquet", "next", NextStep),
    ],
)
def test_docs_name_every_value_of_the_vocabulary(heading: str, column: str, values: type) -> None:
    section = _section(heading)
    rows = [line for line in section.splitlines() if line.startswith(f"| `{column}` |")]
    # the per-family table restates some columns; every value appears in one of the rows
    documented = set(re.findall(r"`([^`]+)`", " ".join(rows)))
    assert {v.value for v in values} <= documented
