"""A DataTable kept in step with a list of rows by key, updating cells in place.

Clearing and refilling a DataTable loses the cursor and the scroll position, which is
maddening in a live view; here rows are added, changed and removed by key, and the
cursor stays on the same row (by key) across refreshes, filters and sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


class KeyedTable(DataTable):
    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec = columns
        self._values: dict[str, tuple] = {}
        self._reselect: str | None = None

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    def set_columns(self, columns: Sequence[tuple[str, Any]], *, cell_padding: int = 1) -> None:
        """Start over with other column labels and padding (a screen's layout changed with
        its width); the next `sync` refills the rows and puts the cursor back on its row."""
        self._reselect = self.selected_key or self._reselect
        self.clear(columns=True)
        self._values.clear()
        self._column_spec = [(key, label) for key, label in columns]
        self.cell_padding = cell_padding
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def keys_in_order(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    @staticmethod
    def _plain(cells: tuple) -> tuple:
        # DataTable reads a str cell as markup: a client named "[/]oops" would crash the
        # screen and "[bold red]x" restyle it. Every cell here is plain text.
        return tuple(Text(cell) if isinstance(cell, str) else cell for cell in cells)

    def sync(
        self,
        rows: Sequence[tuple[str, tuple]],
        sort_key: Callable[[str], Any] | None = None,
        reverse: bool = False,
        resort: bool = False,
    ) -> None:
        """Make the table show exactly `rows` ((key, cells) pairs), cursor kept by key.
        Sorting (costly with thousands of rows) happens only when something changed."""
        selected = self.selected_key or self._reselect
        self._reselect = None
        wanted = dict(rows)
        changed = resort
        for key in list(self._values):
            if key not in wanted:
                self.remove_row(key)
                del self._values[key]
                changed = True
        columns = [key for key, _ in self._column_spec]
        for key, cells in rows:
            changed = self._put(key, cells, columns) is not None or changed
        if sort_key is not None and self.row_count and changed:
            self.sort(
                columns[0],
                key=lambda cell: sort_key(self._key_of_first_cell(cell)),
                reverse=reverse,
            )
        self.select_key(selected)

    def patch(
        self,
        rows: Sequence[tuple[str, tuple]],
        removed: Sequence[str] = (),
        sort_key: Callable[[str], Any] | None = None,
    ) -> None:
        """Change only these rows (add or update them) and remove `removed`: a refresh that
        changed three rows of five thousand touches three. Sorts only when a row was added."""
        selected = self.selected_key
        added = False
        columns = [key for key, _ in self._column_spec]
        for key in removed:
            if self._values.pop(key, None) is not None:
                self.remove_row(key)
        for key, cells in rows:
            added = self._put(key, cells, columns) == "added" or added
        if sort_key is not None and added:
            self.sort(columns[0], key=lambda cell: sort_key(self._key_of_first_cell(cell)))
        self.select_key(selected)

    def _put(self, key: str, cells: tuple, columns: list[str]) -> str | None:
        """Show `cells` in row `key`: "added", "changed", or None when they were shown."""
        previous = self._values.get(key)
        self._values[key] = cells
        if previous is None:
            self.add_row(*self._plain(cells), key=key)
            return "added"
        if previous is cells or previous == cells:
            return None
        for column, old, new in zip(columns, previous, cells, strict=False):
            if old != new:
                self.update_cell(key, column, self._plain((new,))[0])
        return "changed"

    def _key_of_first_cell(self, cell) -> str:
        # The first column always shows the row key, so sorting can find the row's data.
        return str(cell.plain if hasattr(cell, "plain") else cell).strip()

    def select_key(self, key: str | None) -> None:
        if key is None:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False)
