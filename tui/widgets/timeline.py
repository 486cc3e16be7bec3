"""Shard timelines on one shared scale (TUI-SPEC §8 S2, Shards tab).

One row per shard, SQS FIFO group or Kafka partition: its iterator age per bucket as bars on a
**log scale shared by every row** (printed in the header, e.g. ``log 1.0 s─24.0 h``) — a shard
blocked 24 h fills the bar, one whose age peaked at 1 s stays at the bottom; a second line marks
the blocked buckets with ``▓`` (colour is never the only signal); then blocked total and max age.
Rows come most blocked first (:func:`replay.analysis.series.timeline`). ``Enter`` posts
:class:`ShardTimelines.Selected`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from replay.analysis.series import Series, Timeline, common_scale, levels, resample
from tui.format import compact_time, duration, fold_prefix

BARS = " ▁▂▃▄▅▆▇█"
BLOCKED = "▓"
LABEL_MAX = 12
FIGURES = 18  # "  24.0 h   24.0 h"


def bar_text(series: Series, width: int, scale: tuple[float, float]) -> tuple[str, str]:
    """The age bars and the blocked marks of ``series``, ``width`` cells each."""
    age = resample(series.iterator_age_max_ms, width)
    lv = levels(age, scale, len(BARS) - 1)
    bars = "".join(BARS[int(v)] for v in lv)
    blocked = resample(series.blocked_fraction, width)
    marks = "".join(BLOCKED if b > 0 else " " for b in np.nan_to_num(blocked))
    return bars.ljust(width), marks.ljust(width)


class ShardTimelines(Widget, can_focus=True):
    """Every series of a run (or several runs) on one scale; a row cursor."""

    HELP = (
        "Iterator age per bucket on one log scale for every row: a tall bar is an old iterator. "
        "▓ under a row marks the buckets in which the shard or group was blocked. Enter explains "
        "the shard under the cursor."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("enter", "select", "Explain shard", id="shards.open"),
    ]
    cursor = reactive(0)

    class Selected(Message):
        """A shard (group, partition) was chosen."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, timeline: Timeline, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline = timeline
        self.scale = common_scale([timeline])
        self.prefix, self.labels = fold_prefix([s.name for s in timeline.series])

    @property
    def names(self) -> list[str]:
        """The rows' full names, in order."""
        return [s.name for s in self.timeline.series]

    def action_cursor(self, step: int) -> None:
        if self.timeline.series:
            self.cursor = max(0, min(len(self.timeline.series) - 1, self.cursor + step))

    def action_select(self) -> None:
        if self.timeline.series:
            self.post_message(self.Selected(self.timeline.series[self.cursor].name))

    def lines(self, width: int) -> list[Text]:
        """The rendered lines at ``width`` columns (header, rows, axis)."""
        label_w = min(LABEL_MAX, max([len(x) for x in self.labels] + [2]))
        bar_w = max(8, width - label_w - 1 - FIGURES)
        low, high = self.scale
        scale = f"log {duration(int(low))}─{duration(int(high))}" if high > 0 else "no invocations"
        head = Text()
        name_head = f"shard ({self.prefix}…)" if self.prefix else "shard"
        head.append(f"{name_head}  iterator age, {scale}", style="bold")
        head.truncate(label_w + 1 + bar_w, pad=True)
        head.append(f"{'blocked':>9}{'max age':>9}", style="bold")
        out = [head]
        for i, (s, label) in enumerate(zip(self.timeline.series, self.labels, strict=True)):
            bars, marks = bar_text(s, bar_w, self.scale)
            here = i == self.cursor
            row = Text()
            row.append(
                ("›" if here else " ") + label[:label_w].ljust(label_w),
                "reverse" if here and self.has_focus else "bold" if here else "",
            )
            row.append(bars, "red" if s.blocked_ms else "green")
            row.append(f"{duration(s.blocked_ms):>9}{duration(s.max_iterator_age_ms):>9}")
            out.append(row)
            if s.blocked_ms:
                mark = Text(" " * (label_w + 1))
                mark.append(marks, "red")
                mark.append(f"{'blocked':>9}", "dim")
                out.append(mark)
        t = self.timeline
        left, right = compact_time(t.start_ms)[6:11], compact_time(t.end_ms)[6:11]
        days = f"{compact_time(t.start_ms)[:5]} … {compact_time(t.end_ms)[:5]}"
        axis = " " * (label_w + 1) + left
        middle = max(1, bar_w - len(left) - len(right))
        axis += days.center(middle)[:middle] + right
        out.append(Text(axis, style="dim"))
        return out

    def render(self) -> Text:
        return Text("\n").join(self.lines(self.size.width or 80))

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.lines(width))

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
