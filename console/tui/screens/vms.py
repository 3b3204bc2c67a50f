"""The VMs this console manages (by name pattern): live status and statistics, with
start, stop and remove behind a confirmation."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker

from console.flow.naming import managed_search, order_id_of
from console.flow.vm_watch import VmWatch, WatchUpdate
from console.ovirt.rows import VmRow, VmStats
from console.tui.errors import error_message, notify_error
from console.tui.formatting import (
    format_age,
    format_memory,
    format_percent,
    status_text,
    theme_style,
)
from console.tui.heap import keep_loaded, keep_loading
from console.tui.polling import FINISHED, PollLoop
from console.tui.screens.listing import ListScreen
from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.filter_input import FilterInput, matches
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.keyed_table import KeyedTable

COLUMNS = (
    ("name", "VM"),
    ("status", "Status"),
    ("cpu", "CPU"),
    ("mem", "Mem"),
    ("size", "vCPU/RAM/Disk"),
    ("ip", "IP"),
    ("order", "Order"),
    ("template", "Template"),
    ("cluster", "Cluster"),
)
# Statistics older than this show their age beside the CPU figure (` 4m`): the rows off
# screen keep the values last read while they were on it.
STATS_AGE_SHOWN = timedelta(minutes=1)


def stats_age(stats: VmStats | None, now: datetime) -> str:
    if stats is None or now - stats.at < STATS_AGE_SHOWN:
        return ""
    return " " + format_age(stats.at, now)


ROWS_PER_CHUNK = 100

# Engine operations offered here, as (engine method, verb shown to the engineer).
# The verb each confirmation dialog asks about.
VERBS = {"start": "start", "stop": "stop", "remove": "REMOVE (deletes its disks)"}


class VmsScreen(ListScreen):
    TABLE_ID = "vms"
    TITLE_TEXT = "VMs"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="vms.filter"),
        Binding("u", "operate('start')", "Start", id="vms.start"),
        Binding("o", "operate('stop')", "Stop", id="vms.stop"),
        Binding("ctrl+d", "operate('remove')", "Remove", id="vms.remove"),
        Binding("y", "copy_ip", "Copy IP", id="vms.copy_ip"),
        Binding("ctrl+r", "refresh", "Refresh", id="vms.refresh"),
        Binding("Z", "pause", "Pause live", id="vms.pause", show=False),
        Binding("g", "top", "Top", id="vms.top", show=False),
        Binding("G", "bottom", "Bottom", id="vms.bottom", show=False),
    ]
    DEFAULT_CSS = """
    VmsScreen #vms { height: 1fr; }
    VmsScreen #vm-state { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    VmsScreen #vm-detail { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.vms: dict[str, VmRow] = {}  # by name: the table's keys
        self.by_id: dict[str, VmRow] = {}
        self.stats: dict[str, VmStats] = {}  # by id, as last read (rows on screen only)
        # The table makes a row's cells only when the row comes on screen (`row_cells`); what
        # `/` searches is made when a filter asks, per VM, and forgotten when the VM changes.
        self.match_texts: dict[str, tuple[str, ...]] = {}
        self.text_widths: dict[str, int] = {}  # widest plain value per column, all VMs
        self.shown: list[str] = []  # the names in the table, in its order
        self.query_text = ""
        self.error: str | None = None
        self.loaded_at: datetime | None = None
        self.listed = False
        self.paused = False
        self.changed: set[str] = set()  # rows changed since they were last shown
        self.shown_minute: datetime | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield FilterInput(id="filter")
        yield Static("loading VMs from the engine...", id="vm-state")
        yield KeyedTable(COLUMNS, id="vms", styles={"status": status_text}, source=self.row_cells)
        yield Static(id="vm-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        context = self.app.context
        config = context.config
        self.follower = VmWatch(
            managed_search(config),
            lambda name: order_id_of(config, name) is not None,
            stats_seconds=config.ui.vm_stats_seconds,
            relist_seconds=config.ui.vm_relist_seconds,
        )
        self.loop = PollLoop(
            self,
            lambda: self.load_vms(self.visible_ids()),
            context.refresh_seconds,
            live=context.live,
        )
        self.loop.request()
        self.query_one("#vms").focus()

    def visible_ids(self) -> list[str]:
        """The VMs whose rows are on screen, the selected one first."""
        table = self.query_one("#vms", KeyedTable)
        names = table.visible_keys()
        selected = table.selected_key
        ids = [self.vms[name].id for name in [selected, *names] if name in self.vms]
        return list(dict.fromkeys(ids))

    @work(thread=True, exclusive=True, group="vms", exit_on_error=False)
    def load_vms(self, visible: list[str]) -> WatchUpdate:
        context = self.app.context

        def page(update: WatchUpdate) -> None:
            # A listing's pages are shown as they come, a hundred rows at a time: the
            # table measures every cell it adds, and input is handled between the chunks.
            # Each chunk is awaited: handed over without waiting, the chunks queue up and
            # the loop shows them back to back (measured: the fill's p99 lateness doubled).
            chunks = [
                update.rows[i : i + ROWS_PER_CHUNK]
                for i in range(0, len(update.rows), ROWS_PER_CHUNK)
            ]
            for chunk in chunks[:-1]:
                self.app.call_from_thread(self.apply, WatchUpdate(chunk))
            last = chunks[-1] if chunks else ()
            self.app.call_from_thread(
                self.apply, WatchUpdate(last, update.removed, update.stats, update.listed)
            )
            if update.rows and not update.listed:
                # What the listing brought so far is kept out of the full collections its
                # allocations trigger (each would walk every row and cell: up to a second).
                keep_loading()

        return self.follower.refresh(context.services.engine(), visible, context.now(), page)

    @work(thread=True, exclusive=True, group="vm-operation", exit_on_error=False)
    def run_operation(self, operation: str, vm_id: str, vm_name: str) -> str:
        from console.flow.vm_power import power

        context = self.app.context
        return power(
            context.services.engine(),
            context.store,
            context.actor,
            operation,
            vm_id,
            vm_name,
            order_id_of(context.config, vm_name),
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED:
            return
        worker = event.worker
        if worker.group == "vm-operation":
            if worker.error is not None:
                notify_error(self, worker.error, title="engine refused")
            elif worker.result:
                self.notify(worker.result)
            self.loop.request()
            return
        if not self.loop.owns(worker):
            return
        if worker.error is not None:
            self.error = error_message(worker.error)
            self.app.report_engine(False, self.error)
        elif worker.result is not None:
            self.apply(worker.result, show=False)
            self.error = None
            self.loaded_at = self.app.context.now()
            self.app.report_engine(True)
        self.show(self.changed)
        self.loop.finished()
        if worker.result is not None and worker.result.listed:
            keep_loaded(len(self.vms))
            # The rows listed just now are on screen without statistics: read them as soon
            # as the screen is laid out with them, rather than a refresh later.
            self.call_after_refresh(self.read_missing_stats)

    def read_missing_stats(self) -> None:
        if any(vm_id not in self.stats for vm_id in self.visible_ids()):
            self.loop.request()

    def apply(self, update: WatchUpdate, *, show: bool = True) -> None:
        changed: set[str] = set()
        for vm_id in update.removed:
            row = self.by_id.pop(vm_id, None)
            self.stats.pop(vm_id, None)
            if row is not None:
                self.vms.pop(row.name, None)
                changed.add(row.name)
        for row in update.rows:
            old = self.by_id.get(row.id)
            if old is not None and old.name != row.name:
                self.vms.pop(old.name, None)
                changed.add(old.name)
            self.by_id[row.id] = row
            self.vms[row.name] = row
            changed.add(row.name)
        self.stats.update(update.stats)
        changed |= {self.by_id[vm_id].name for vm_id in update.stats if vm_id in self.by_id}
        self.listed = self.listed or update.listed
        if changed:
            self.app.known_vms = list(self.vms.values())
        self.changed |= changed
        if show:
            self.show(self.changed)

    def row_cells(self, name: str) -> tuple[str, ...]:
        """The table's cells of one VM, made when its row comes on screen."""
        row = self.vms.get(name)
        if row is None:
            return ()
        stats = self.stats.get(row.id)
        age = stats_age(stats, self.app.context.now())
        return (
            row.name,
            row.status or "-",
            format_percent(stats.cpu_percent) + age if stats is not None else "-",
            format_percent(stats.memory_percent) if stats is not None else "-",
            f"{row.cpus}/{format_memory(row.memory_mib)}/{row.disk_gib or '-'}G",
            self.ip_of(row),
            self.order_of(row),
            row.template_name or "",
            row.cluster or "",
        )

    def ip_of(self, row: VmRow) -> str:
        stats = self.stats.get(row.id)
        return stats.ips[0] if stats is not None and stats.ips else ""

    def order_of(self, row: VmRow) -> str:
        return order_id_of(self.app.context.config, row.name) or ""

    def match_text(self, row: VmRow) -> tuple[str, ...]:
        texts = self.match_texts.get(row.name)
        if texts is None:
            texts = self.match_texts[row.name] = (
                row.name,
                row.status,
                self.ip_of(row),
                self.order_of(row),
                row.template_name or "",
                row.fqdn or "",
            )
        return texts

    def measure(self, names: set[str]) -> None:
        """How wide each column's plain values are, over every VM as it changed: the columns
        fit them all, not only the rows drawn so far. The cells are made to be measured and
        let go: only the widths are kept."""
        widths = self.text_widths
        for name in names:
            for (column, _), cell in zip(COLUMNS, self.row_cells(name), strict=False):
                if len(cell) > widths.get(column, 0):
                    widths[column] = len(cell)

    def show(self, changed: set[str] | None = None) -> None:
        """Render the table: filter and sort the names again when VMs came or went or the
        filter changed; the table makes the cells of the rows on screen only (again for the
        rows in `changed`, all of them when None and once a minute, for the statistics' ages)."""
        config = self.app.context.config
        now = self.app.context.now()
        minute = now.replace(second=0, microsecond=0)
        table = self.query_one("#vms", KeyedTable)
        # The rows that changed are measured and their filter texts forgotten; None (a filter
        # typed, a pause) changes no VM: nothing to measure or forget.
        if changed:
            for name in self.match_texts.keys() & changed:
                del self.match_texts[name]
            self.measure(changed)
            table.widen(self.text_widths)
        remade: set[str] | None = changed
        if changed is None or minute != self.shown_minute:
            self.shown_minute = minute
            remade = None
        if changed is None or changed:
            self.shown = sorted(
                name
                for name, row in self.vms.items()
                if not self.query_text or matches(self.query_text, self.match_text(row))
            )
        table.show_keys(self.shown, remade)
        self.changed = set()
        status = Text(f"{len(self.shown)}/{len(self.vms)} managed VMs ({managed_search(config)})")
        if not self.listed and not self.error:
            status.append("  listing...")
        if self.error:
            since = f" since {self.loaded_at:%H:%M}" if self.loaded_at else ""
            status.append(f"  STALE{since}: {self.error}", style=theme_style(self.app, "error"))
        elif self.paused:
            status.append("  PAUSED (Z resumes)", style=theme_style(self.app, "warning"))
        self.query_one("#vm-state", Static).update(status)
        self.show_detail()

    def selected_vm(self) -> VmRow | None:
        key = self.query_one("#vms", KeyedTable).selected_key
        return self.vms.get(key) if key else None

    def ips_of(self, vm: VmRow) -> tuple[str, ...]:
        stats = self.stats.get(vm.id)
        return stats.ips if stats is not None else ()

    def show_detail(self) -> None:
        vm = self.selected_vm()
        detail = self.query_one("#vm-detail", Static)
        if vm is None:
            detail.update("")
            return
        stats = self.stats.get(vm.id)
        read = (
            f"  (read {format_age(stats.at, self.app.context.now())} ago)"
            if stats is not None
            else "  (not read yet)"
        )
        detail.update(
            Text(
                f"{vm.name}  {vm.fqdn or ''}  ips: {', '.join(self.ips_of(vm)) or '-'}{read}  "
                f"guaranteed {format_memory(vm.guaranteed_mib)}\n"
                f"{vm.description or ''} {vm.comment or ''}".rstrip()
            )
        )

    @on(KeyedTable.RowHighlighted, "#vms")
    def _highlighted(self) -> None:
        self.show_detail()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "operate" and self.app.context.read_only:
            return None
        return True

    def action_operate(self, operation: str) -> None:
        vm = self.selected_vm()
        if vm is None:
            self.notify("select a VM first", severity="warning")
            return
        verb = VERBS[operation]

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_operation(operation, vm.id, vm.name)

        from console.flow.marks import order_of

        order = order_of(vm)
        # The list holds every VM named like ours; one without our mark was not made here.
        origin = (
            f"provisioned for order {order}"
            if order
            else "NOT provisioned by this console (no order mark)"
        )
        self.app.push_screen(
            ConfirmDialog(
                f"{verb} VM {vm.name}?",
                f"status {vm.status}, ips {', '.join(self.ips_of(vm)) or '-'}; {origin}",
            ),
            answered,
        )

    def action_copy_ip(self) -> None:
        vm = self.selected_vm()
        ips = self.ips_of(vm) if vm is not None else ()
        if not ips:
            self.notify("no IP to copy", severity="warning")
            return
        self.app.copy_to_clipboard(ips[0])
        self.notify(f"copied {ips[0]} (if your terminal blocks OSC 52, select it here)")

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.loop.pause(self.paused)
        self.show()
