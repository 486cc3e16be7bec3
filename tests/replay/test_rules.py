"""The rule registry (replay.rules) is the one list of rule ids: docs/semantics.md states the same
title and status for each, every rule id the code names is in it, and each source is the one
ESM-SEMANTICS.md cites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from replay.rules import KIND_REASON_RULES, REASON_RULES, RULES, Status, reason_rule, rule
from replay.vocabulary import Reason, SourceKind

ROOT = Path(__file__).parents[2]
SEMANTICS_DOC = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
SHARED = ROOT.parent / "shared" / "ESM-SEMANTICS.md"
ROW = re.compile(r"^\| ((?:A|B)\d+)(?:(–|, )((?:A|B)\d+))?(.*?) \| ([a-z ]+?) \|", re.M)


def _doc_rows() -> list[tuple[str, str, str]]:
    """(id, title, status) per table row of docs/semantics.md; ranges (A03–A06) expanded."""
    rows = []
    for m in ROW.finditer(SEMANTICS_DOC):
        first, sep, last, title, status = m.groups()
        if last is None:
            rows.append((first, title.strip(), status))
            continue
        lo, hi = int(first[1:]), int(last[1:])
        ids = [f"{first[0]}{i:02d}" for i in range(lo, hi + 1)] if sep == "–" else [first, last]
        rows.extend((i, "", status) for i in ids)
    return rows


def test_every_documented_rule_is_registered_with_its_status() -> None:
    rows = _doc_rows()
    assert len({r[0] for r in rows}) >= 100
    for rid, _, status in rows:
        assert RULES[rid].status == Status(status), rid


def test_the_registry_title_is_the_docs_first_title() -> None:
    first: dict[str, str] = {}
    for rid, title, _ in _doc_rows():
        first.setdefault(rid, title)
    for rid, title in first.items():
        if title:
            assert RULES[rid].title == title, rid


def test_every_rule_id_the_code_names_is_registered() -> None:
    named: set[str] = set()
    for path in (ROOT / "replay").rglob("*.py"):
        named |= set(re.findall(r"\b(B\d{1,2})\b", path.read_text(encoding="utf-8")))
    assert named, "no rule ids found"
    assert sorted(named - RULES.keys(), key=lambda r: int(r[1:])) == []


@pytest.mark.skipif(not SHARED.is_file(), reason="ESM-SEMANTICS.md is not beside the checkout")
def test_sources_are_the_ones_esm_semantics_cites() -> None:
    cited = {
        m.group(1): m.group(2).rsplit(" — ", 1)[-1].strip()
        for m in re.finditer(r"^- (B\d+)\. (.*)$", SHARED.read_text(encoding="utf-8"), re.M)
    }
    assert {r: RULES[r].source for r in cited} == cited


def test_reason_rules_name_registered_rules_per_family() -> None:
    assert reason_rule(Reason.RETENTION_EXPIRED, SourceKind.KINESIS) == "B28"
    assert reason_rule(Reason.RETENTION_EXPIRED, SourceKind.KAFKA) == "B79"
    assert reason_rule(Reason.RETENTION_EXPIRED, SourceKind.SQS) is None
    assert reason_rule(Reason.FILTER_CRITERIA, SourceKind.SQS) == "B71"
    assert reason_rule("HorizonReached", "kinesis") is None
    ids = {*REASON_RULES.values(), *(r for m in KIND_REASON_RULES.values() for r in m.values())}
    assert all(rule(r) for r in ids if r is not None)


def test_an_unknown_rule_id_is_refused() -> None:
    with pytest.raises(KeyError, match="B999"):
        rule("B999")
