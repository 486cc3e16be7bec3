"""TUI responsiveness on a synthetic 1M-record run (TUI-SPEC §14.4): figures, not assertions.

Builds (once, into ``--dir``) an 8-shard Kinesis capture with 20 poison records
(``bench_streams.build``) and two runs of it through the engine — MaximumRetryAttempts 3 with
bisect, and defaults without faults — then, in a fresh process so that building does not count,
times headless:

- the Records tab's first paint after pushing the Run view (median of 3), imports excluded;
- page-down in the Records table showing all 1M records (median and p95 over 50);
- sorting it by latency, and ``F`` (value counts) on ``reason``;
- ``ExplainIndex.open`` and ``explain_row`` (median over 20 records, the poison ones included);
- compare and divergences of the two runs;
- peak RSS growth of the TUI process over its size after imports.

Targets: first paint < 1 s, page-down < 100 ms, RSS growth < 300 MB, explain_row < 100 ms.

    python benchmarks/bench_tui.py [--records 1000000] [--dir /tmp/esm-replay-bench-tui]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(root: Path, records: int) -> None:
    """The capture and the two runs, unless already there."""
    sys.path.insert(0, str(HERE))
    from bench_streams import CONFIGS
    from bench_streams import build as build_capture

    from replay.config import parse_config
    from replay.engine.runner import RunRequest, run_capture
    from replay.formats.capture import read_capture
    from replay.function import Duration, Fault, FunctionModel
    from replay.vocabulary import SourceKind

    cap = root / "capture"
    if not (cap / "manifest.json").is_file():
        t = time.perf_counter()
        build_capture(cap, records, 8, 4.0)
        print(f"built the capture: {records:,} records in {time.perf_counter() - t:.1f} s")
    capture = None
    for name, config_name in (
        ("run-bisect", "BatchSize 100, MRA 3, bisect, 20 poison"),
        ("run-clean", "defaults, no faults"),
    ):
        out = root / name
        if (out / "run.json").is_file():
            continue
        capture = capture or read_capture(cap)
        raw, faults = CONFIGS[config_name]
        config, _ = parse_config(raw, kind=SourceKind.KINESIS)
        model = FunctionModel(
            duration=Duration(base_ms=20, per_record_ms=0.5),
            faults=(Fault(when="json_extract(data, '$.poison')::BOOLEAN", error="Unhandled"),)
            if faults
            else (),
        )
        t = time.perf_counter()
        run_capture(capture, RunRequest(capture=cap, config=config, model=model), out)
        print(f"replayed {name} ({config_name}) in {time.perf_counter() - t:.1f} s")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def _measure_app(run: Path) -> None:
    from tui.app import EsmReplayApp
    from tui.screens.run import RunScreen
    from tui.widgets.frequencies import FrequencyScreen

    app = EsmReplayApp([run.parent])
    app.animation_level = "none"
    paints: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(3):
            t = time.perf_counter()
            app.open_run(run)
            await pilot.pause()
            await pilot.press("3")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, RunScreen)
            screen.records_table.get_row_at(0)
            paints.append(time.perf_counter() - t)
            await pilot.press("escape")
            await pilot.pause()
        app.open_run(run)
        await pilot.pause()
        await pilot.press("3", "p")  # all records
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        table = screen.records_table
        rows = table.row_count
        idle = []  # the pilot's own cost of a key press that does nothing
        for _ in range(20):
            t = time.perf_counter()
            await pilot.press("f12")
            await pilot.pause()
            idle.append(time.perf_counter() - t)
        downs = []  # a page-down key press, through the pilot, until the screen is idle again
        for _ in range(50):
            t = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            downs.append(time.perf_counter() - t)
        work = []  # the table's own work: move a page and render every visible line
        for _ in range(50):
            t = time.perf_counter()
            table.action_page_down()
            for y in range(table.size.height):
                table.render_line(y)
            work.append(time.perf_counter() - t)
        reads = table.paged.reads
        t = time.perf_counter()
        table.paged.get_row_at(rows - 1)  # a page far away, not cached: one read at OFFSET ~1M
        jump = time.perf_counter() - t
        table.move_cursor(column=table.paged.names.index("latency_ms"))
        t = time.perf_counter()
        await pilot.press("s", "s")
        await pilot.pause()
        sort = time.perf_counter() - t
        table.move_cursor(column=table.paged.names.index("reason"))
        t = time.perf_counter()
        await pilot.press("F")
        await pilot.pause()
        freq = time.perf_counter() - t
        assert isinstance(app.screen, FrequencyScreen)
        await _quit(pilot)
    downs.sort()
    work.sort()
    print(
        f"Records tab first paint after pushing the Run view: median {_ms(statistics.median(paints))} "
        f"({', '.join(_ms(p) for p in paints)})"
    )
    print(
        f"page down over {rows:,} rows, key press to idle screen: median "
        f"{_ms(statistics.median(downs))}, p95 {_ms(downs[int(len(downs) * 0.95) - 1])} "
        f"(the pilot alone, an unbound key: median {_ms(statistics.median(idle))})"
    )
    print(
        f"page down, the table's own work (move, read pages as needed, render the visible "
        f"lines): median {_ms(statistics.median(work))}, p95 {_ms(work[int(len(work) * 0.95) - 1])}, "
        f"max {_ms(work[-1])} ({reads} page reads for 100 pages); jump to the last row "
        f"(a page read at offset {rows - 512:,}): {_ms(jump)}"
    )
    print(f"sort by latency_ms (twice: descending): {_ms(sort)}; F on reason: {_ms(freq)}")


async def _quit(pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    pilot.app.exit()


def measure(root: Path) -> None:
    """Headless timings (run in a fresh process)."""
    t = time.perf_counter()
    import tui.app
    import tui.screens.run  # noqa: F401

    print(f"import tui.app and the Run view: {_ms(time.perf_counter() - t)} (not in the figures)")
    base = _rss_mb("VmRSS")
    run = root / "run-bisect"
    asyncio.run(_measure_app(run))
    print(
        f"peak RSS growth of the app (open, page, sort, count): "
        f"{_rss_mb('VmHWM') - base:,.0f} MB over {base:,.0f} MB after imports"
    )

    from replay.analysis.explain_index import ExplainIndex

    t = time.perf_counter()
    index = ExplainIndex.open(run)
    opened = time.perf_counter() - t
    import pyarrow.compute as pc

    records = index.run.records
    bad = pc.indices_nonzero(pc.not_equal(records.column("disposition"), "processed"))
    rows = [int(r) for r in bad.to_pylist()[:10]] + list(range(0, records.num_rows, 100_003))[:10]
    times = []
    for row in rows:
        t = time.perf_counter()
        index.explain_row(row)
        times.append(time.perf_counter() - t)
    print(
        f"ExplainIndex.open: {_ms(opened)}; explain_row median {_ms(statistics.median(times))}, "
        f"max {_ms(max(times))} over {len(rows)} records ({len(bad)} not processed)"
    )

    from replay.analysis.compare import compare
    from replay.analysis.divergence import divergences
    from replay.formats.runfiles import read_run

    runs = [read_run(root / "run-bisect"), read_run(root / "run-clean")]
    t = time.perf_counter()
    comparison = compare(runs)
    took = time.perf_counter() - t
    t = time.perf_counter()
    diverging = divergences(runs)
    print(
        f"compare of two 1M runs: {took:.2f} s; divergences: {time.perf_counter() - t:.2f} s "
        f"({diverging.num_rows:,} records; first {comparison.divergence.shard if comparison.divergence else None})"
    )
    print(f"peak RSS growth with ExplainIndex and compare too: {_rss_mb('VmHWM') - base:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/esm-replay-bench-tui"))
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.dir)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    build(args.dir, args.records)
    subprocess.run([sys.executable, __file__, "--measure", "--dir", str(args.dir)], check=True)


if __name__ == "__main__":
    main()
