"""The main screen: the order queue, the selected order's detail, and a live VM/job pane."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from console.billing.mapping import mapping_for_order
from console.billing.sync import EMPTY_QUEUE_HINT
from console.flow import vault
from console.flow.catalog import catalog_from_cache
from console.flow.naming import names_search
from console.flow.upkeep.policy import Staleness, staleness
from console.store.models import Job
from console.store.states import IN_QUEUE_STATUSES, UNFINISHED_JOB_STATES, OrderStatus
from console.tui import data
from console.tui.data import QueueOrder
from console.tui.errors import error_message, notify_error
from console.tui.formatting import (
    STATUS_COLOURS,
    age_cell,
    age_plain,
    format_resources,
    theme_style,
)
from console.tui.heap import keep_loaded
from console.tui.polling import FINISHED, PollLoop
from console.tui.screens import bulk
from console.tui.widgets.filter_input import FilterInput, matches
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.keyed_table import KeyedTable
from console.tui.widgets.live_pane import LivePane
from console.tui.widgets.order_detail import OrderDetail, Shown

if TYPE_CHECKING:
    from textual import getters

    from console.config import ProductMapping
    from console.tui.app import ConsoleApp

# In the order of what matters most: at 80 columns every one is still in view.
ORDER_COLUMNS = (
    ("order", "Order"),
    ("age", "Age"),
    ("client", "Client"),
    ("product", "Product"),
    ("resources", "Req"),
    ("template", "Template"),
    ("status", "Status"),
    ("claimed", "Claimed by"),
)
# Widest a cell may be, per width class of the screen (App.HORIZONTAL_BREAKPOINTS). Narrow:
# no cell padding but one space after each cell, so eight columns fit in 78 (80 less the
# scrollbar); the selected order's detail line shows every value in full.
CELL_WIDTHS = {
    "narrow": {"client": 11, "product": 12, "template": 13, "status": 10, "claimed": 6},
    "wide": {"client": 20, "product": 24, "template": 18, "status": 16, "claimed": 16},
}
NARROW_LABELS = {"claimed": "Claim"}
SORTS = ("age", "client", "product", "status")
LIVE_RECENT = 12  # recent finished jobs kept in the live pane for context
FULL_RELOAD_EVERY = 12  # polls; in between only orders changed since the last one are read
FIRST_PAGE = 100  # orders read first, to fill the screen while the whole queue is read
STALE_MARK = "!"  # before a stale template's name: cut to fit, the name's end goes first


def status_cell(app, plain: str) -> Text:
    """The queue's status cell from its plain text: the bulk mark in bold, the status word
    in its colour, a missing-key warning after it."""
    text = Text()
    if plain.startswith(bulk.MARK):
        text.append(bulk.MARK, style="bold")
        plain = plain[len(bulk.MARK) :]
    word, space, rest = plain.partition(" ")
    variable = STATUS_COLOURS.get(word)
    text.append(word, style=theme_style(app, variable) if variable else "")
    if space:
        text.append(space + rest, style=theme_style(app, "warning"))
    return text


def template_cell_style(app, plain: str) -> Text:
    """A stale template's cell in the warning colour, its `!` included."""
    if plain.startswith(STALE_MARK):
        return Text(plain, style=theme_style(app, "warning"))
    return Text(plain)


def stale_templates(context, now: datetime) -> dict[str, Staleness]:
    """The templates upkeep calls stale, judged on the catalog last read from the engine
    (the store's copy: no engine call here); none while it was never read."""
    catalog = catalog_from_cache(context.store, context.config.engine().name)
    judged = staleness(context.config, catalog.templates, now)
    return {entry.template: entry for entry in judged if entry.stale}


class QueueScreen(Screen):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
    TITLE_TEXT = "Orders"
    CSS_PATH = "queue.tcss"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("s", "sort", "Sort", id="queue.sort"),
        Binding("S", "reverse", "Reverse", id="queue.reverse", show=False),
        Binding("p", "provision", "Provision", id="queue.provision"),
        Binding("space", "mark", "Mark", id="queue.mark", show=False),
        Binding("L", "launch_marked", "Launch marked", id="queue.launch_marked", show=False),
        Binding("enter", "provision", "Open", id="queue.open", show=False),
        Binding("R", "release", "Release claim", id="queue.release", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="queue.refresh"),
        Binding("d", "toggle_done", "Show done", id="queue.done"),
        Binding("Z", "pause", "Pause live", id="queue.pause", show=False),
        Binding("g", "top", "Top", id="queue.top", show=False),
        Binding("G", "bottom", "Bottom", id="queue.bottom", show=False),
        Binding("tab", "app.focus_next", "Next pane", id="queue.next_pane", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, QueueOrder] = {}
        self.jobs: dict[str, Job] = {}  # latest job per order
        self.all_jobs: list[Job] = []
        self.vms: dict[str, Any] = {}
        self.vms_error: str | None = None
        self.vms_at: datetime | None = None
        self.query_text = ""
        self.sort_by = "age"
        self.sort_reverse = False
        self.paused = False
        self.shown: list[str] = []  # the order ids in the table, in its order
        self.mappings: dict[tuple, ProductMapping | None] = {}  # per product and OS choice
        self.match_texts: dict[str, tuple[str, ...]] = {}  # what `/` searches, per order
        self.text_widths: dict[str, int] = {}  # widest value per column of billing's text
        self.cells_minute: datetime | None = None
        self.watermark: datetime | None = None
        self.polls = 0
        self.full_reload = True
        self.show_done = False  # finished orders (done, cancelled) leave the queue unless `d`
        self.layout_name = "wide"
        # The vault's keys left per kind and the low kinds: as last polled, and as shown.
        self.polled_stock: tuple[dict[str, int], set[str]] = ({}, set())
        self.key_stock: tuple[dict[str, int], set[str]] | None = None
        self.marked: set[str] = set()  # orders to launch together (space marks, L launches)
        # Templates upkeep calls stale (by name), from the catalog last read from the engine:
        # as last polled (on the queue's full reads), and as shown.
        self.polled_stale: dict[str, Staleness] = {}
        self.stale_templates: dict[str, Staleness] = {}

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield FilterInput(id="filter")
        yield KeyedTable(
            ORDER_COLUMNS,
            id="orders",
            source=self.row_cells,
            styles={"age": age_cell, "status": status_cell, "template": template_cell_style},
        )
        yield OrderDetail(id="detail")
        yield LivePane(id="live-box")
        yield KeyBar()

    def on_mount(self) -> None:
        context = self.app.context
        self.orders_loop = PollLoop(
            self, self.load_orders, context.refresh_seconds, live=context.live
        )
        self.vms_loop = PollLoop(self, self.load_vms, context.refresh_seconds, live=context.live)
        self.load_first_page()
        self.orders_loop.request()  # its result starts the first VM poll (it needs the jobs)
        self.query_one("#orders", KeyedTable).focus()
        self.apply_layout()

    def on_resize(self) -> None:
        # The breakpoint classes are set as the screen resizes; read them once they are.
        self.call_after_refresh(self.apply_layout)

    def apply_layout(self) -> None:
        name = "narrow" if self.has_class("-narrow") else "wide"
        if name == self.layout_name:
            return
        self.layout_name = name
        gap = 1 if name == "narrow" else 0
        labels = [
            (key, NARROW_LABELS.get(key, label) if gap else label) for key, label in ORDER_COLUMNS
        ]
        self.query_one("#orders", KeyedTable).set_columns(
            labels, cell_padding=1 - gap, gap=gap, widths=CELL_WIDTHS[name]
        )
        self.cells_minute = None  # every cell again, at the new widths
        if self.orders:
            self.show_orders()

    # ---- workers -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="queue-orders", exit_on_error=False)
    def load_orders(self) -> tuple[bool, list[QueueOrder], list[Job], dict[str, int]]:
        store = self.app.context.store
        now = self.app.context.now()
        full = self.full_reload or self.watermark is None
        since = None if full else self.watermark
        low = vault.low_stock(store, self.app.context.config.licenses.low_stock)
        self.polled_stock = (vault.available_by_kind(store), {line.kind for line in low})
        if full:
            self.polled_stale = stale_templates(self.app.context, now)
        orders = data.queue_orders(store, now, changed_since=since)
        # Measured here, off the UI thread: ten thousand orders take tens of ms.
        return full, orders, data.all_jobs(store), self.widths_of(orders)

    @work(thread=True, exclusive=True, group="queue-page", exit_on_error=False)
    def load_first_page(self) -> tuple[list[QueueOrder], list[Job], dict[str, int]]:
        store = self.app.context.store
        orders = data.queue_first_page(store, FIRST_PAGE)
        return orders, data.all_jobs(store), self.widths_of(orders)

    def show_first_page(
        self, orders: list[QueueOrder], jobs: list[Job], widths: dict[str, int]
    ) -> None:
        """The oldest orders at once; the whole queue replaces them when it has been read
        (a first page that comes after it is dropped)."""
        if self.watermark is not None or self.orders:
            return
        self.text_widths = widths
        self.orders = {order.id: order for order in orders}
        self.all_jobs = jobs
        self.jobs = data.jobs_by_order(jobs)
        self.show_orders()

    @work(thread=True, exclusive=True, group="queue-vms", exit_on_error=False)
    def load_vms(self) -> list[Any]:
        """One engine call for just the VMs of the jobs shown here, however many VMs the
        engine has (the VMs screen is where all managed VMs are listed)."""
        search = names_search([job.vm_name for job in self.live_jobs()])
        if search is None:
            return []
        return self.app.context.services.engine().list_vms(search=search)

    def live_jobs(self) -> list[Job]:
        active = [job for job in self.all_jobs if job.state in UNFINISHED_JOB_STATES]
        recent = [job for job in self.all_jobs if job.state not in UNFINISHED_JOB_STATES]
        return active + recent[:LIVE_RECENT]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state not in FINISHED:
            return
        if worker.group == "queue-page":
            if worker.result is not None:
                self.show_first_page(*worker.result)
        elif self.orders_loop.owns(worker):
            if worker.result is not None:
                self.take_polled_marks()
                self.merge(*worker.result)
                if worker.result[0]:  # the whole queue was read
                    keep_loaded(len(self.orders))
                self.show_live()
                if self.vms_loop.worker is None:
                    self.vms_loop.request()
            elif worker.error is not None:
                notify_error(self, worker.error, title="cannot read the store")
            self.orders_loop.finished()
        elif self.vms_loop.owns(worker):
            if worker.error is not None:
                self.vms_error = error_message(worker.error)
                self.app.report_engine(False, self.vms_error)
            elif worker.result is not None:
                self.vms = {vm.name: vm for vm in worker.result}
                self.app.known_vms = worker.result
                self.vms_error = None
                self.vms_at = self.app.context.now()
                self.app.report_engine(True)
            self.show_live()
            self.vms_loop.finished()

    # ---- rendering -----------------------------------------------------------------------

    def mapping_for(self, order: QueueOrder) -> ProductMapping | None:
        """The order's catalog entry, looked up once per product (and OS choice)."""
        key = (order.product_id, order.product_name, order.os_choice)
        if key not in self.mappings:
            self.mappings[key] = mapping_for_order(self.app.context.config.catalog, order)
        return self.mappings[key]

    def template_for(self, order: QueueOrder) -> str:
        if order.template_name:
            return order.template_name
        mapping = self.mapping_for(order)
        return mapping.template if mapping else "(no mapping)"

    def status_for(self, order: QueueOrder) -> str:
        job = self.jobs.get(order.id)
        if order.status == OrderStatus.PROVISIONING and job is not None:
            return job.state
        return order.status

    def row_cells(self, order_id: str) -> tuple[str, ...]:
        """The table's cells of one order, made when its row comes on screen."""
        order = self.orders.get(order_id)
        if order is None:
            return ()
        return self.order_cells(order, self.app.context.now())

    def order_cells(self, order: QueueOrder, now: datetime) -> tuple[str, ...]:
        narrow = self.layout_name == "narrow"
        claimed = order.claimed_by or ""
        status = str(self.status_for(order))
        if order.id in self.marked:
            status = bulk.MARK + status
        return (
            order.id,
            age_plain(order.paid_at or order.created_at, now),
            order.client_company or order.client_name,
            order.product_name,
            format_resources(order.cpus, order.memory_mib, order.disk_gib),
            self.template_cell(order),
            status + self.stock_mark(order),
            # Narrow: who, without the host (the detail line has both).
            claimed.split("@")[0] if narrow else claimed,
        )

    def widths_of(self, orders: list[QueueOrder]) -> dict[str, int]:
        """How wide the plain values of these orders are, in the columns that hold
        billing's text: the table's columns fit every order, not only those drawn so far."""
        claimed = [order.claimed_by or "" for order in orders]
        return {
            "order": max((len(order.id) for order in orders), default=0),
            "client": max(
                (len(order.client_company or order.client_name) for order in orders), default=0
            ),
            "product": max((len(order.product_name) for order in orders), default=0),
            "template": max((len(self.template_cell(order)) for order in orders), default=0),
            "claimed": max(map(len, claimed), default=0),
            "claimed-narrow": max((len(who.split("@")[0]) for who in claimed), default=0),
        }

    def layout_widths(self) -> dict[str, int]:
        widths = dict(self.text_widths)
        if self.layout_name == "narrow" and "claimed-narrow" in widths:
            widths["claimed"] = widths["claimed-narrow"]
        return widths

    def take_polled_marks(self) -> None:
        """The vault's stock in the header; when it or the stale templates changed, every
        order's marks are redone."""
        if self.polled_stock != self.key_stock:
            self.key_stock = self.polled_stock
            self.cells_minute = None
            self.query_one(StatusHeader).show_stock(*self.key_stock)
        if self.polled_stale != self.stale_templates:
            self.stale_templates = self.polled_stale
            self.cells_minute = None

    def template_cell(self, order: QueueOrder) -> str:
        """The order's template, `!` first when upkeep calls it stale and the order is still
        to be provisioned (the detail line says how old, and how to refresh it)."""
        template = self.template_for(order)
        if order.status in IN_QUEUE_STATUSES and template in self.stale_templates:
            return STALE_MARK + template
        return template

    def stock_mark(self, order: QueueOrder) -> str:
        """` no plesk key` on a new order that needs a kind the vault has run out of."""
        mapping = self.mapping_for(order)
        if order.status != OrderStatus.NEW or mapping is None or not self.key_stock:
            return ""
        missing = vault.out_of_stock(mapping.license_kinds, self.key_stock[0])
        if not missing:
            return ""
        return f" no {'/'.join(missing)} key"

    def merge(
        self, full: bool, orders: list[QueueOrder], jobs: list[Job], widths: dict[str, int]
    ) -> None:
        """Take in what the store said; re-render only the orders that changed."""
        now = self.app.context.now()
        if full:
            self.text_widths = widths
        else:
            self.text_widths = {
                key: max(width, self.text_widths.get(key, 0)) for key, width in widths.items()
            }
        self.polls += 1
        self.full_reload = self.polls % FULL_RELOAD_EVERY == 0
        latest_jobs = data.jobs_by_order(jobs)
        changed = {
            order_id
            for order_id, job in latest_jobs.items()
            if data.job_mark(job) != data.job_mark(self.jobs.get(order_id))
        }
        changed |= set(self.jobs) - set(latest_jobs)
        if full:
            changed |= set(self.orders) ^ {order.id for order in orders}
            self.orders = {order.id: order for order in orders}
        for order in orders:
            if not full:
                if data.in_queue(order, now):
                    self.orders[order.id] = order
                else:
                    self.orders.pop(order.id, None)
            changed.add(order.id)
            if order.updated_at and (self.watermark is None or order.updated_at > self.watermark):
                self.watermark = order.updated_at
        self.app.known_orders = self.orders
        self.all_jobs = jobs
        self.jobs = latest_jobs
        self.show_orders(changed=None if full else changed)

    def sort_value(self, order_id: str):
        order = self.orders.get(order_id)
        if order is None:
            return (0, "")
        if self.sort_by == "age":
            return (order.paid_at or order.created_at).timestamp()
        if self.sort_by == "client":
            return (order.client_company or order.client_name).casefold()
        if self.sort_by == "product":
            return order.product_name.casefold()
        return self.status_for(order)

    def update_match_texts(self, changed: set[str] | None) -> None:
        """Forget what the filter searches for the orders that changed (all of them when
        `changed` is None): made again when a filter next asks, not on every refresh."""
        if changed is None:
            self.match_texts = {}
        for order_id in changed or ():
            self.match_texts.pop(order_id, None)

    def match_text(self, order: QueueOrder) -> tuple[str, ...]:
        texts = self.match_texts.get(order.id)
        if texts is None:
            texts = self.match_texts[order.id] = (
                order.id,
                order.client_name,
                order.client_company or "",
                order.client_email or "",
                order.product_name,
                self.status_for(order),
                self.template_for(order),
                order.claimed_by or "",
                order.hostname or "",
            )
        return texts

    def visible_orders(self) -> list[QueueOrder]:
        return [
            order
            for order in self.orders.values()
            if (self.show_done or order.status in IN_QUEUE_STATUSES)
            and (not self.query_text or matches(self.query_text, self.match_text(order)))
        ]

    def show_orders(self, changed: set[str] | None = None, *, resort: bool = False) -> None:
        """Render the queue: filter and sort the records (when something changed), and let
        the table make the cells of the rows on screen only (again for `changed` orders, all
        of them when None, and once a minute for the ages)."""
        now = self.app.context.now()
        minute = now.replace(second=0, microsecond=0)
        table = self.query_one("#orders", KeyedTable)
        if changed is None or minute != self.cells_minute:
            self.cells_minute = minute
            remade: set[str] | None = None
        else:
            remade = changed
        self.update_match_texts(changed)
        table.widen(self.layout_widths())
        if changed is None or changed or resort:
            self.shown = [order.id for order in self.visible_orders()]
            self.shown.sort(key=self.sort_value, reverse=self.sort_reverse)
        table.show_keys(self.shown, remade)
        direction = "desc" if self.sort_reverse else "asc"
        count = len(self.shown)
        shown = f"{count}/{len(self.orders)}" if self.query_text else f"{count}"
        table.border_title = (
            f"orders {shown}  sort:{self.sort_by} {direction}"
            + ("  +done" if self.show_done else "")
            + (f"  filter:{self.query_text}" if self.query_text else "")
        )
        self.show_detail()

    def selected_order(self) -> QueueOrder | None:
        key = self.query_one("#orders", KeyedTable).selected_key
        return self.orders.get(key) if key else None

    def show_detail(self) -> None:
        detail = self.query_one("#detail", OrderDetail)
        order = self.selected_order()
        if order is None:
            detail.show_empty(self.empty_text())
            return
        template = self.template_for(order)
        stale = self.stale_templates.get(template) if order.status in IN_QUEUE_STATUSES else None
        detail.show(Shown(order, self.jobs.get(order.id), self.mapping_for(order), template, stale))

    def empty_text(self) -> str:
        if not self.orders:
            return EMPTY_QUEUE_HINT
        finished = sum(1 for order in self.orders.values() if order.status not in IN_QUEUE_STATUSES)
        if self.query_text:
            return f"no order matches {self.query_text!r} (/ then esc clears the filter)"
        if finished and not self.show_done:
            return f"nothing waiting: {finished} finished in the last day (d shows them)"
        return "no order selected"

    def show_live(self) -> None:
        self.query_one("#live-box", LivePane).show(
            self.live_jobs(),
            self.vms,
            error=self.vms_error,
            read_at=self.vms_at,
            paused=self.paused,
        )

    # ---- events and actions --------------------------------------------------------------

    @on(KeyedTable.RowHighlighted, "#orders")
    def _order_highlighted(self) -> None:
        self.show_detail()

    @on(KeyedTable.RowSelected, "#orders")
    def _order_selected(self) -> None:
        self.action_provision()

    @on(FilterInput.QueryChanged)
    def _filter_changed(self, event: FilterInput.QueryChanged) -> None:
        self.query_text = event.query
        self.show_orders(changed=set(), resort=True)

    @on(FilterInput.Closed)
    def _filter_done(self) -> None:
        self.query_one("#orders", KeyedTable).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", FilterInput).open()

    def action_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.show_orders(changed=set(), resort=True)
        self.query_one("#orders", KeyedTable).move_cursor(row=0)

    def action_toggle_done(self) -> None:
        self.show_done = not self.show_done
        self.show_orders(changed=set(), resort=True)
        self.notify(
            "finished orders shown (d hides them)"
            if self.show_done
            else "finished orders hidden (d shows them)"
        )

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self.show_orders(changed=set(), resort=True)

    def action_top(self) -> None:
        self.query_one("#orders", KeyedTable).move_cursor(row=0)

    def action_bottom(self) -> None:
        table = self.query_one("#orders", KeyedTable)
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_refresh(self) -> None:
        self.full_reload = True
        self.orders_loop.request()
        self.vms_loop.request()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.orders_loop.pause(self.paused)
        self.vms_loop.pause(self.paused)
        self.show_live()

    # A screen in the background stops polling: its panes are not on anyone's screen.
    def on_screen_suspend(self) -> None:
        self.orders_loop.pause(True)
        self.vms_loop.pause(True)

    def on_screen_resume(self) -> None:
        if not self.paused and hasattr(self, "orders_loop"):
            self.orders_loop.pause(False)
            self.vms_loop.pause(False)

    def action_provision(self) -> None:
        order = self.selected_order()
        if order is None:
            self.notify("select an order first", severity="warning")
            return
        self.app.open_provision(order.id)

    def action_mark(self) -> None:
        order = self.selected_order()
        if order is not None:
            bulk.toggle(self, order.id)
            self.show_orders(changed={order.id})
            self.query_one("#orders", KeyedTable).action_cursor_down()

    def action_launch_marked(self) -> None:
        bulk.launch_marked(self)

    def action_release(self) -> None:
        order = self.selected_order()
        if order is not None:
            self.app.release_claim(order.id)

    def select_order(self, order_id: str) -> bool:
        """Put the cursor on an order (clearing a filter that hides it); used by `:order`."""
        table = self.query_one("#orders", KeyedTable)
        if order_id not in self.orders:
            return False
        if order_id not in table.keys_in_order():
            self.query_one("#filter", FilterInput).action_clear()
            self.query_text = ""
            self.show_orders(changed=set(), resort=True)
        table.select_key(order_id)
        table.focus()
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if (
            action in ("provision", "mark", "launch_marked", "release")
            and self.app.context.read_only
        ):
            return None
        return True
