"""One table widget everywhere: textual-fastdatatable's DataTable on a paged backend.

:class:`TableSourceBackend` reads a :class:`replay.analysis.browse.TableSource` (DuckDB over a
Parquet file) 512 rows at a time and keeps the last 64 pages: fastdatatable asks its backend only
for the rows it draws, so a 1M-row table opens with one page read and never sits in memory.
:class:`ArrowSource` serves a small in-memory table (the catalog, compare's figures) through the
same widget. :class:`PagedTable` adds the keys: ``s`` sort by the cursor column (again: reverse),
``f`` keep rows equal to the cursor value, ``/`` a filter line (``reason=RetentionExpired``),
``backspace`` drop the last filter, ``F`` the value
counts of the cursor column, ``y`` copy the cell.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol

import pyarrow as pa
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual_fastdatatable import DataTableBackend
from textual_fastdatatable.data_table import DataTable

from tui.format import cell_text

PAGE_ROWS = 512
CACHED_PAGES = 64
MAX_WIDTH = 48
NUMERIC_TYPES = ("int", "bigint", "integer", "smallint", "tinyint", "hugeint", "double", "float")


class Source(Protocol):
    """What the table reads: a TableSource, or an :class:`ArrowSource`."""

    title: str

    @property
    def columns(self) -> Sequence[Any]: ...

    def count(self) -> int: ...

    def page(self, offset: int, limit: int = ...) -> pa.Table: ...


class ArrowSource:
    """A small Arrow table served in pages, sorted and filtered in memory."""

    def __init__(
        self,
        table: pa.Table,
        *,
        title: str = "",
        filters: Sequence[tuple[str, Any, bool]] = (),
        order: Sequence[tuple[str, str]] = (),
        base: pa.Table | None = None,
    ) -> None:
        self.base = table if base is None else base
        self.table = table
        self.title = title
        self.filters = tuple(filters)
        self.order = tuple(order)

    @property
    def columns(self) -> Sequence[Any]:
        return [_Col(f.name, str(f.type)) for f in self.base.schema]

    def count(self) -> int:
        return int(self.table.num_rows)

    def page(self, offset: int, limit: int = PAGE_ROWS) -> pa.Table:
        return self.table.slice(offset, limit)

    def _derive(
        self, filters: Sequence[tuple[str, Any, bool]], order: Sequence[tuple[str, str]]
    ) -> ArrowSource:
        import pyarrow.compute as pc

        t = self.base
        for column, value, negate in filters:
            col = t.column(column)
            hit = pc.is_null(col) if value is None else pc.fill_null(pc.equal(col, value), False)
            t = t.filter(pc.invert(hit) if negate else hit)
        if order:
            t = t.sort_by([(c, "ascending" if d == "asc" else "descending") for c, d in order])
        return ArrowSource(t, title=self.title, filters=filters, order=order, base=self.base)

    def with_order(self, by: Sequence[tuple[str, str]]) -> ArrowSource:
        return self._derive(self.filters, by)

    def with_filter(
        self,
        equals: Mapping[str, Any] | None = None,
        *,
        not_equals: Mapping[str, Any] | None = None,
    ) -> ArrowSource:
        extra = [(c, v, False) for c, v in (equals or {}).items()]
        extra += [(c, v, True) for c, v in (not_equals or {}).items()]
        return self._derive((*self.filters, *extra), self.order)

    def without_filter(self, column: str | None = None) -> ArrowSource:
        if column is None:
            return self._derive(self.filters[:-1], self.order)
        return self._derive([f for f in self.filters if f[0] != column], self.order)

    def filter_text(self) -> str:
        return " ".join(f"{c}{'!=' if n else '='}{v}" for c, v, n in self.filters)

    def frequencies(self, column: str, limit: int = 100) -> pa.Table:
        import pyarrow.compute as pc

        counts = pc.value_counts(self.table.column(column)).to_pylist()
        total = max(1, self.table.num_rows)
        rows = sorted(counts, key=lambda d: (-d["counts"], str(d["values"])))[:limit]
        return pa.table(
            {
                "value": pa.array(
                    [r["values"] for r in rows], self.table.schema.field(column).type
                ),
                "n": pa.array([r["counts"] for r in rows], pa.int64()),
                "share": pa.array([r["counts"] / total for r in rows], pa.float64()),
            }
        )


class _Col:
    def __init__(self, name: str, type_: str) -> None:
        self.name, self.type = name, type_


Formatter = Callable[[Any], str]


class TableSourceBackend(DataTableBackend[Any]):
    """A fastdatatable backend reading a source one 512-row page at a time (LRU of 64 pages).

    ``show`` picks the columns and their order (default: all, as the source has them); ``labels``
    renames them for the header; ``formatters`` turn a column's values into text (default
    :func:`tui.format.cell_text`). Read-only: the table never edits run files.
    """

    def __init__(
        self,
        data: Any,
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        formatters: Mapping[str, Formatter] | None = None,
        show: Sequence[str] | None = None,
        right: Iterable[str] | None = None,
    ) -> None:
        self._render_markup: bool | None = None
        self.source: Any = data
        self.reads = 0  # page reads so far (tests and the benchmark look)
        self._labels = dict(labels or {})
        self._formatters = dict(formatters or {})
        names = [c.name for c in data.columns]
        self._names = list(names) if show is None else [n for n in show if n in names]
        types = {c.name: str(c.type).lower() for c in data.columns}
        self._right = (
            set(right)
            if right is not None
            else {n for n in self._names if types[n].startswith(NUMERIC_TYPES)}
        )
        self._pages: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._count: int | None = None
        self._widths: list[int] | None = None

    @classmethod
    def from_pydict(
        cls,
        data: Mapping[str, Sequence[Any]],
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
    ) -> TableSourceBackend:
        return cls(ArrowSource(pa.table(dict(data))))

    # ------------------------------------------------------------------ reading
    def _page(self, number: int) -> list[tuple[Any, ...]]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        table = self.source.page(number * PAGE_ROWS, PAGE_ROWS).select(self._names)
        self.reads += 1
        cols: list[list[Any]] = []
        for name in self._names:
            fmt = self._formatters.get(name, cell_text)
            texts = [fmt(v) for v in table.column(name).to_pylist()]
            if name in self._right:  # numbers read right-aligned, as the CLI prints them
                cols.append([Text(t, justify="right") for t in texts])
            else:
                cols.append(texts)
        page = list(zip(*cols, strict=True)) if cols else []
        self._pages[number] = page
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        return page

    @property
    def source_data(self) -> Any:
        return self.source

    @property
    def source_row_count(self) -> int:
        return self.row_count

    @property
    def row_count(self) -> int:
        if self._count is None:
            self._count = int(self.source.count())
        return self._count

    @property
    def columns(self) -> Sequence[str]:
        return [self._labels.get(n, n) for n in self._names]

    @property
    def names(self) -> list[str]:
        """The source's column names (not the header labels)."""
        return list(self._names)

    @property
    def column_content_widths(self) -> Sequence[int]:
        if self._widths is None:
            first = self._page(0) if self.row_count else []
            self._widths = [
                min(MAX_WIDTH, max([len(r[i]) for r in first] or [0]))
                for i in range(len(self._names))
            ]
        return self._widths

    def get_row_at(self, index: int) -> Sequence[Any]:
        if not 0 <= index < self.row_count:
            raise IndexError(index)
        return self._page(index // PAGE_ROWS)[index % PAGE_ROWS]

    def get_column_at(self, index: int) -> Sequence[Any]:
        return [self.get_row_at(i)[index] for i in range(self.row_count)]

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        return self.get_row_at(row_index)[column_index]

    def raw_row(self, index: int) -> dict[str, Any]:
        """The row at ``index`` as the source holds it (values, not text)."""
        row: dict[str, Any] = self.source.page(index, 1).to_pylist()[0]
        return row

    # ------------------------------------------------------------------ read-only
    def append_column(self, label: str, default: Any | None = None) -> int:
        raise NotImplementedError("read-only table")

    def append_rows(self, records: Iterable[Iterable[Any]]) -> list[int]:
        raise NotImplementedError("read-only table")

    def drop_row(self, row_index: int) -> None:
        raise NotImplementedError("read-only table")

    def update_cell(self, row_index: int, column_index: int, value: Any) -> None:
        raise NotImplementedError("read-only table")

    def sort(self, by: list[tuple[str, Literal["ascending", "descending"]]] | str) -> None:
        order = (
            [(by, "asc")]
            if isinstance(by, str)
            else [(c, "asc" if d == "ascending" else "desc") for c, d in by]
        )
        self.source = self.source.with_order(order)
        self._pages.clear()


class PagedTable(DataTable):
    """A read-only table over a paged source; row cursor; sort, filter, counts, copy."""

    HELP = (
        "A table read a page at a time. Enter opens the row; s sorts by the column under the "
        "cursor (again: reverse); f keeps the rows equal to the cell; / filters on COLUMN=VALUE "
        "words; backspace drops the last filter; F counts the column's values; y copies the cell."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="table.open"),
        Binding("s", "sort_column", "Sort", show=False, id="table.sort"),
        Binding("f", "filter_value", "Filter", show=False, id="table.filter"),
        Binding("slash", "filter_line", "Filter line", show=False, id="table.filter_line"),
        Binding("backspace", "drop_filter", "Drop filter", show=False, id="table.unfilter"),
        Binding("F", "frequencies", "Counts", show=False, id="table.frequencies"),
        Binding("y", "copy_cell", "Copy", show=False, id="table.copy"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    class SourceChanged(Message):
        """The table now reads another source (sorted, filtered)."""

        def __init__(self, table: PagedTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> PagedTable:
            return self.table

    def __init__(
        self,
        source: Any,
        *,
        labels: Mapping[str, str] | None = None,
        formatters: Mapping[str, Formatter] | None = None,
        show: Sequence[str] | None = None,
        right: Iterable[str] | None = None,
        widths: Mapping[str, int] | None = None,
        id: str | None = None,
        classes: str | None = None,
        fixed_columns: int = 0,
    ) -> None:
        self._labels = dict(labels or {})
        self._formatters = dict(formatters or {})
        self._show = None if show is None else tuple(show)
        self._right = None if right is None else tuple(right)
        self._widths = dict(widths or {})
        self._sort: tuple[str, str] | None = None
        super().__init__(
            backend=self._backend(source),
            cursor_type="row",
            render_markup=False,
            null_rep="∅",
            id=id,
            classes=classes,
            fixed_columns=fixed_columns,
        )
        self._fit_widths()

    def _fit_widths(self) -> None:
        """Fixed widths for the columns given one (their text is cropped), the rest fit."""
        if self._widths:
            self._column_widths = [self._widths.get(n) for n in self.paged.names]

    def _backend(self, source: Any) -> TableSourceBackend:
        return TableSourceBackend(
            source,
            labels=self._labels,
            formatters=self._formatters,
            show=self._show,
            right=self._right,
        )

    @property
    def paged(self) -> TableSourceBackend:
        """The backend (its source, its page reads)."""
        assert isinstance(self.backend, TableSourceBackend)
        return self.backend

    @property
    def source(self) -> Any:
        """The source the table reads now."""
        return self.paged.source

    def set_source(
        self,
        source: Any,
        *,
        keep_cursor: bool = False,
        show: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        formatters: Mapping[str, Formatter] | None = None,
        widths: Mapping[str, int] | None = None,
    ) -> None:
        """Read ``source`` instead, from its first row unless ``keep_cursor``; ``show``,
        ``labels``, ``formatters`` and ``widths`` replace the table's when given."""
        row = self.cursor_row
        if show is not None:
            self._show = tuple(show)
        if labels is not None:
            self._labels = dict(labels)
        if formatters is not None:
            self._formatters = dict(formatters)
        if widths is not None:
            self._widths = dict(widths)
        self.backend = self._backend(source)
        self._fit_widths()
        self.backend.render_markup = False
        self._ordered_columns = None
        self._clear_caches()
        self._update_count += 1
        self._require_update_dimensions = True
        self.refresh(layout=True)
        target = min(row, max(0, self.row_count - 1)) if keep_cursor else 0
        self.move_cursor(row=target, column=self.cursor_column, animate=False)
        self.post_message(self.SourceChanged(self))

    def column_name(self, index: int | None = None) -> str:
        """The source column under the cursor (or at ``index``)."""
        names = self.paged.names
        return names[self.cursor_column if index is None else index]

    def row_values(self, index: int | None = None) -> dict[str, Any]:
        """The values (not the text) of the row under the cursor (or at ``index``)."""
        return self.paged.raw_row(self.cursor_row if index is None else index)

    # ------------------------------------------------------------------ actions
    def action_sort_column(self) -> None:
        column = self.column_name()
        direction = "asc"
        if self._sort is not None and self._sort[0] == column:
            direction = "desc" if self._sort[1] == "asc" else "asc"
        self._sort = (column, direction)
        self.set_source(self.source.with_order([(column, direction)]))
        self.notify(f"sorted by {column} {direction}", timeout=2)

    def action_filter_value(self) -> None:
        if not self.row_count:
            return
        column = self.column_name()
        value = self.row_values()[column]
        if isinstance(value, list | dict):
            self.notify(f"{column}: cannot filter on a list", severity="warning")
            return
        self.set_source(self.source.with_filter({column: value}))

    def action_filter_line(self) -> None:
        from tui.widgets.filter_line import FilterScreen

        self.app.push_screen(FilterScreen(self.paged.names), self.apply_filter_line)

    def apply_filter_line(self, text: str | None) -> None:
        """Filter on ``column=value`` words (the ``/`` line)."""
        from replay.errors import UserError
        from tui.widgets.filter_line import parse_filters

        if not text:
            return
        types = {c.name: str(c.type) for c in self.source.columns}
        try:
            equals, not_equals = parse_filters(text, types)
            self.set_source(self.source.with_filter(equals, not_equals=not_equals))
        except UserError as exc:
            self.notify(str(exc), severity="warning", timeout=6)

    def action_drop_filter(self) -> None:
        if getattr(self.source, "filters", ()):
            self.set_source(self.source.without_filter())

    def action_frequencies(self) -> None:
        from tui.widgets.frequencies import FrequencyScreen

        column = self.column_name()
        self.app.push_screen(FrequencyScreen(column, self.source.frequencies(column)))

    def action_copy_cell(self) -> None:
        if not self.row_count:
            return
        cell = self.get_cell_at(self.cursor_coordinate)
        text = cell.plain if isinstance(cell, Text) else str(cell)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {text}", timeout=2)
