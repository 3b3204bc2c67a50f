"""A virtual table kept in step with a list of rows by key: it draws only the rows on screen.

Textual's DataTable keeps a row object and a measured renderable per cell and measures every
cell it adds: at ten thousand orders that was tens of MiB and stalls of a fifth of a second.
Here the table keeps the keys in display order and, per key, only the plain strings it shows
(or nothing: a screen may hand it a `source` that makes a row's cells when the row comes on
screen). Styles (status colours, marks) are put on at render time, for the visible rows only;
column widths come from the plain lengths seen, capped per column, never from measuring.

The cursor stays on the same row (by key) across refreshes, filters and sorts. Cells are
plain text, never markup, and control characters are made visible (console/text_safety).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.text_safety import safe_text

# A column's styler: (app, the cell's plain text) -> the cell as styled Text.
Styler = Callable[[Any, str], Text]
# A screen's row maker for a table that keeps no cells: key -> the row's cells.
Source = Callable[[str], Sequence[Any]]


def plain_width(value: str) -> int:
    return len(value) if value.isascii() else cell_len(value)


def fit_cell(text: Text, width: int) -> Text:
    """`text` cut to `width` cells (with `~`, ASCII, where it was cut) and padded to it."""
    if text.cell_len > width:
        text.truncate(max(0, width - 1), overflow="crop")
        last = len(text) - 1  # the `~` takes the colour of what it replaces
        styles = [span.style for span in text.spans if span.start <= last < span.end]
        text.append("~", style=styles[-1] if styles else None)
    text.truncate(width, overflow="crop", pad=True)
    return text


class KeyedTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .keyed-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .keyed-table--header { background-tint: $foreground 5%; }
        }
        & > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .keyed-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .keyed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keyed-table--header", "keyed-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", id="table.select", show=False),
        Binding("up", "cursor_up", "Cursor up", id="table.up", show=False),
        Binding("down", "cursor_down", "Cursor down", id="table.down", show=False),
        Binding("pageup", "page_up", "Page up", id="table.page_up", show=False),
        Binding("pagedown", "page_down", "Page down", id="table.page_down", show=False),
        Binding("home", "first_row", "First row", id="table.home", show=False),
        Binding("end", "last_row", "Last row", id="table.end", show=False),
        Binding("left", "scroll_left", "Scroll left", id="table.left", show=False),
        Binding("right", "scroll_right", "Scroll right", id="table.right", show=False),
    ]

    class RowMessage(Message):
        """About the row `key` of `table` (selectors in `@on` match the table)."""

        def __init__(self, table: KeyedTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowHighlighted(RowMessage):
        """The cursor is on another row (`key`, None when the table is empty)."""

    class RowSelected(RowMessage):
        """Enter, or a click on the row under the cursor."""

    def __init__(
        self,
        columns: Sequence[tuple[str, Any]],
        *,
        styles: Mapping[str, Styler] | None = None,
        source: Source | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.styles_by_column: dict[str, Styler] = dict(styles or {})
        self.source = source
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._values: dict[str, tuple[str, ...]] = {}
        self._made: dict[str, tuple[Any, ...]] = {}  # source rows made for the screen
        self._drawn: LRUCache[tuple, Strip] = LRUCache(512)  # lines as last drawn
        self.cursor_row = 0
        self._highlighted: str | None = None
        self._reselect: str | None = None
        self.set_columns(columns)

    # ---- columns -----------------------------------------------------------------------

    def set_columns(
        self,
        columns: Sequence[tuple[str, Any]],
        *,
        cell_padding: int = 1,
        gap: int = 0,
        widths: Mapping[str, int] | None = None,
    ) -> None:
        """Column labels, `cell_padding` on each side of a cell, `gap` spaces after it, and
        the widest each column may be (`widths`). The rows are kept and re-measured."""
        self._reselect = self.selected_key or self._reselect
        self._columns = [key for key, _ in columns]
        self._labels = [str(getattr(label, "plain", label)).rstrip() for _, label in columns]
        self.cell_padding = cell_padding
        self.gap = gap
        self._caps = [(widths or {}).get(key) for key in self._columns]
        self._widths = [plain_width(label) for label in self._labels]
        self._made.clear()
        for cells in self._values.values():
            self._measure(cells)
        self._resize()

    def widen(self, lengths: Mapping[str, int]) -> None:
        """Columns at least this wide (capped): a screen that keeps its own rows says how
        wide their plain values are, so the columns do not grow as the rows come on screen."""
        for index, key in enumerate(self._columns):
            if key in lengths:
                self._grow(index, lengths[key])
        self._resize()

    def _grow(self, index: int, length: int) -> None:
        cap = self._caps[index]
        if cap is not None:
            length = min(length, cap)
        if length > self._widths[index]:
            self._widths[index] = length

    def _measure(self, cells: Sequence[Any]) -> None:
        widths = self._widths
        for index, cell in enumerate(cells[: len(widths)]):
            plain = cell.plain if isinstance(cell, Text) else cell
            if len(plain) > widths[index] or not plain.isascii():
                self._grow(index, plain_width(plain))

    def _resize(self) -> None:
        per_cell = 2 * self.cell_padding + self.gap
        width = sum(self._widths) + per_cell * len(self._widths)
        self.virtual_size = Size(width, len(self._keys) + 1)
        self.refresh()

    # ---- rows --------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def selected_key(self) -> str | None:
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def keys_in_order(self) -> list[str]:
        return list(self._keys)

    def get_row(self, key: str) -> tuple[str, ...]:
        """The row's cells as they are shown: plain text, cut to their columns' widths."""
        if key not in self._index:
            raise KeyError(key)
        cells = self._plain(self._cells_of(key))
        self._measure(cells)
        return tuple(
            fit_cell(Text(safe_text(cell)), width).plain
            for cell, width in zip(cells, self._widths, strict=False)
        )

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def _set_order(self, keys: list[str]) -> None:
        self._keys = keys
        self._index = {key: index for index, key in enumerate(keys)}
        self._resize()

    def sync(
        self,
        rows: Sequence[tuple[str, Sequence[Any]]],
        sort_key: Callable[[str], Any] | None = None,
        reverse: bool = False,
        resort: bool = False,
    ) -> None:
        """Show exactly `rows` ((key, cells) pairs; in their order, or sorted by
        `sort_key`), the cursor kept by key."""
        selected = self.selected_key or self._reselect
        self._reselect = None
        values: dict[str, tuple[str, ...]] = {}
        for key, cells in rows:
            plain = self._plain(cells)
            previous = self._values.get(key)
            if previous != plain:
                self._measure(plain)
            values[key] = previous if previous == plain else plain
        self._values = values
        keys = list(values)
        if sort_key is not None:
            keys.sort(key=sort_key, reverse=reverse)
        self._set_order(keys)
        self._restore(selected)

    def patch(
        self,
        rows: Sequence[tuple[str, Sequence[Any]]],
        removed: Sequence[str] = (),
        sort_key: Callable[[str], Any] | None = None,
    ) -> None:
        """Change only these rows (add or update them) and remove `removed`: a refresh that
        changed three rows of five thousand touches three. Sorts only when a row was added."""
        selected = self.selected_key
        keys = self._keys
        gone = {key for key in removed if self._values.pop(key, None) is not None}
        added = []
        for key, cells in rows:
            plain = self._plain(cells)
            if key not in self._values:
                added.append(key)
            if self._values.get(key) != plain:
                self._measure(plain)
                self._values[key] = plain
        if gone or added:
            keys = [key for key in keys if key not in gone] + added
            if sort_key is not None and added:
                keys.sort(key=sort_key)
            self._set_order(keys)
        else:
            self.refresh()
        self._restore(selected)

    def show_keys(self, keys: Sequence[str], changed: Iterable[str] | None = None) -> None:
        """A table with a `source`: show these keys in this order; the rows in `changed`
        (every row when None) are made again when they are next on screen."""
        selected = self.selected_key or self._reselect
        self._reselect = None
        if changed is None:
            self._made.clear()
        else:
            for key in changed:
                self._made.pop(key, None)
        if list(keys) != self._keys:
            self._set_order(list(keys))
        else:
            self.refresh()
        self._restore(selected)

    @staticmethod
    def _plain(cells: Sequence[Any]) -> tuple[str, ...]:
        return tuple(
            cell if isinstance(cell, str) else getattr(cell, "plain", None) or str(cell or "")
            for cell in cells
        )

    # ---- cursor ------------------------------------------------------------------------

    def _restore(self, selected: str | None) -> None:
        if selected is not None and selected in self._index:
            self.cursor_row = self._index[selected]
        self._cursor_moved()

    def select_key(self, key: str | None) -> None:
        if key is not None and key in self._index:
            self.move_cursor(row=self._index[key])

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        self.cursor_row = row
        self._cursor_moved(scroll=scroll)

    def _cursor_moved(self, *, scroll: bool = True) -> None:
        self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        if scroll:
            if self.size.height:
                self._scroll_cursor_into_view()
            else:
                self.call_after_refresh(self._scroll_cursor_into_view)
        self.refresh()
        key = self.selected_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_y)
        height = self._page_height()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def visible_keys(self) -> list[str]:
        """The keys of the rows on screen now, top to bottom."""
        top = int(self.scroll_y)
        return self._keys[top : top + self._page_height()]

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        height = self._page_height()
        self.scroll_to(y=max(0, int(self.scroll_y) - height), animate=False, immediate=True)
        self.move_cursor(row=self.cursor_row - height)

    def action_page_down(self) -> None:
        height = self._page_height()
        self.scroll_to(y=int(self.scroll_y) + height, animate=False, immediate=True)
        self.move_cursor(row=self.cursor_row + height)

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if row >= len(self._keys):
            return
        again = row == self.cursor_row
        self.move_cursor(row=row)
        if again:
            self.action_select_cursor()

    # ---- rendering ---------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.source is not None:
            self._make_visible()
        return super().render_lines(crop)

    def _make_visible(self) -> None:
        """Ask the screen for the rows about to be drawn (those not made since they last
        changed), and widen the columns for them before any line is drawn."""
        keys = self.visible_keys()
        if len(self._made) > 4 * max(len(keys), 1):
            self._made = {key: self._made[key] for key in keys if key in self._made}
        assert self.source is not None
        for key in keys:
            if key not in self._made:
                cells = tuple(self.source(key))
                self._made[key] = cells
                before = list(self._widths)
                self._measure(cells)
                if self._widths != before:
                    self._resize()

    def _cells_of(self, key: str) -> Sequence[Any]:
        if self.source is not None:
            made = self._made.get(key)
            if made is None:
                made = self._made[key] = tuple(self.source(key))
            return made
        return self._values.get(key, ())

    def _line(self, cells: Sequence[Any], style: Style, post: Style | None, stylers: bool) -> Text:
        line = Text(style=style, no_wrap=True, end="")
        pad = " " * self.cell_padding
        after = pad + " " * self.gap
        for index, width in enumerate(self._widths):
            cell = cells[index] if index < len(cells) else ""
            if isinstance(cell, Text):
                text = Text(safe_text(cell.plain), style=cell.style, spans=cell.spans)
            else:
                plain = safe_text(cell)
                styler = self.styles_by_column.get(self._columns[index]) if stylers else None
                text = styler(self.app, plain) if styler is not None else Text(plain)
            line.append(pad)
            line.append_text(fit_cell(text, width))
            line.append(after)
        if post is not None:
            line.stylize(post)
        return line

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        post = None
        if y == 0:
            style = base + self.get_component_rich_style("keyed-table--header")
            cells: Sequence[Any] = self._labels
        else:
            index = scroll_y + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            style = base
            if index == self.cursor_row:
                cursor = self.get_component_rich_style("keyed-table--cursor")
                style = base + cursor
                post = Style.from_color(color=cursor.color)
            cells = self._cells_of(self._keys[index])
        # The same row drawn again (a scroll, a cursor move, another refresh) is not styled
        # and cut again. Rows of Rich Text (unhashable) are always drawn afresh.
        key = (y == 0, *cells, style, *self._widths, self.gap, scroll_x, width)
        try:
            cached = self._drawn.get(key)
            hashable = True
        except TypeError:
            cached, hashable = None, False
        if cached is not None:
            return cached
        strip = self._draw(self._line(cells, style, post, stylers=y > 0), base, scroll_x, width)
        if hashable:
            self._drawn[key] = strip
        return strip

    def _draw(self, line: Text, base: Style, scroll_x: int, width: int) -> Strip:
        # A Text without spans renders without its own style: put it on every segment
        # (the NO_COLOR filter also needs a style on each).
        row_style = line.style if isinstance(line.style, Style) else base
        segments = list(Segment.apply_style(line.render(self.app.console), row_style))
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        # The header's and the cursor's colours run to the table's edge.
        return strip.adjust_cell_length(width, row_style).simplify()
