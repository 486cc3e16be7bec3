"""report: one self-contained HTML file that parses, embeds PNGs and carries the plotted data."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from replay.analysis.report import build_report
from replay.sweep import run_sweep
from replay.timeutil import iso_ms
from tests.replay.support import cli, scenario, small_demo


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.data: dict[str, object] = {}
        self.links: list[str] = []
        self._figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"] or "")
        if tag == "script" and a.get("class") == "plot-data":
            self._figure = a["data-figure"]
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src") or "")

    def handle_data(self, data: str) -> None:
        if self._figure is not None:
            self.data[self._figure] = json.loads(data)
            self._figure = None


def test_report_of_runs_and_a_sweep(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    d = small_demo(tmp_path_factory)
    root = scenario(tmp_path_factory)
    run_sweep(root / "capture", tmp_path / "sw", config=str(root / "esm.json"),
              function=str(root / "fn.json"), vary=["BatchSize=1,10", "MaximumRetryAttempts=0,2"])  # fmt: skip
    out = tmp_path / "out" / "report.html"
    report = build_report([d / "run-production", d / "run-safer", tmp_path / "sw"], out)
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.links == []  # self-contained: nothing fetched from anywhere
    assert len(page.images) == 5 and all(
        src.startswith("data:image/png;base64,") for src in page.images
    )
    for src, png in zip(page.images, report.pngs, strict=True):
        raw = base64.b64decode(src.split(",", 1)[1])
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw == png.read_bytes()
    # the data behind the plots is the run's own
    metrics = pq.read_table(d / "run-safer" / "metrics.parquet").to_pylist()
    ages = page.data["iterator-age"]["run-safer"]  # type: ignore[index]
    expected = {
        (m["shard"], iso_ms(round(m["minute"].timestamp() * 1000)), m["iterator_age_ms"])
        for m in metrics
        if m["iterator_age_ms"] is not None
    }
    assert {(s, t, a) for s, pts in ages.items() for t, a in pts} == expected
    blocked = page.data["blocked"]["run-production"]  # type: ignore[index]
    assert any(spans and spans[0][2] > 23 * 3_600_000 for spans in blocked.values())
    points = page.data["pareto-sw"]["points"]  # type: ignore[index]
    assert len(points) == 4 and any(p["pareto"] for p in points)
    # a pure function of its inputs
    again = build_report(
        [d / "run-production", d / "run-safer", tmp_path / "sw"], tmp_path / "b.html"
    )
    assert again.path.read_text().replace("b.html", "report.html") == out.read_text()


def test_report_refuses_a_capture(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    root = scenario(tmp_path_factory)
    res = cli("report", str(root / "capture"), "-o", str(tmp_path / "r.html"))
    assert res.returncode == 2 and "not a run" in res.stderr
    assert not (tmp_path / "r.html").exists()
