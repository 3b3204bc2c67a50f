"""The VMs this console manages (by name pattern): live status and statistics, with
start, stop and remove behind a confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from console.flow.naming import managed_search, order_id_of
from console.tui.errors import error_message, notify_error
from console.tui.formatting import format_memory, format_percent, status_text, theme_style
from console.tui.polling import FINISHED, PollLoop
from console.tui.screens.listing import ListScreen
from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.filter_input import FilterInput, matches
from console.tui.widgets.header import StatusHeader
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
        self.vms: dict[str, Any] = {}
        self.query_text = ""
        self.error: str | None = None
        self.loaded_at: datetime | None = None
        self.paused = False

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield FilterInput(id="filter")
        yield Static("loading VMs from the engine...", id="vm-state")
        yield KeyedTable(COLUMNS, id="vms")
        yield Static(id="vm-detail")
        yield Footer()

    def on_mount(self) -> None:
        context = self.app.context
        self.loop = PollLoop(self, self.load_vms, context.refresh_seconds, live=context.live)
        self.loop.request()
        self.query_one("#vms").focus()

    @work(thread=True, exclusive=True, group="vms", exit_on_error=False)
    def load_vms(self) -> list[Any]:
        context = self.app.context
        return context.services.engine().list_vms(search=managed_search(context.config))

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
            self.vms = {vm.name: vm for vm in worker.result}
            self.app.known_vms = list(worker.result)
            self.error = None
            self.loaded_at = self.app.context.now()
            self.app.report_engine(True)
        self.show()
        self.loop.finished()

    def show(self) -> None:
        config = self.app.context.config
        rows = []
        for vm in sorted(self.vms.values(), key=lambda vm: vm.name):
            cells = (
                vm.name,
                status_text(self.app, vm.status),
                format_percent(vm.cpu_percent),
                format_percent(vm.memory_percent),
                f"{vm.cpus}/{format_memory(vm.memory_mib)}/{vm.disk_gib or '-'}G",
                (vm.ips or [""])[0],
                order_id_of(config, vm.name) or "",
                vm.template_name or "",
                vm.cluster or "",
            )
            if matches(
                self.query_text, (vm.name, vm.status, cells[5], cells[6], cells[7], vm.fqdn or "")
            ):
                rows.append((vm.name, cells))
        self.query_one("#vms", KeyedTable).sync(rows)
        status = Text(f"{len(rows)}/{len(self.vms)} managed VMs ({managed_search(config)})")
        if self.error:
            since = f" since {self.loaded_at:%H:%M}" if self.loaded_at else ""
            status.append(f"  STALE{since}: {self.error}", style=theme_style(self.app, "error"))
        elif self.paused:
            status.append("  PAUSED (Z resumes)", style=theme_style(self.app, "warning"))
        self.query_one("#vm-state", Static).update(status)
        self.show_detail()

    def selected_vm(self) -> Any | None:
        key = self.query_one("#vms", KeyedTable).selected_key
        return self.vms.get(key) if key else None

    def show_detail(self) -> None:
        vm = self.selected_vm()
        detail = self.query_one("#vm-detail", Static)
        if vm is None:
            detail.update("")
            return
        detail.update(
            Text(
                f"{vm.name}  {vm.fqdn or ''}  ips: {', '.join(vm.ips or []) or '-'}  "
                f"guaranteed {format_memory(vm.guaranteed_mib)}\n"
                f"{vm.description or ''} {vm.comment or ''}".rstrip()
            )
        )

    @on(DataTable.RowHighlighted, "#vms")
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
                f"status {vm.status}, ips {', '.join(vm.ips or []) or '-'}; {origin}",
            ),
            answered,
        )

    def action_copy_ip(self) -> None:
        vm = self.selected_vm()
        if vm is None or not vm.ips:
            self.notify("no IP to copy", severity="warning")
            return
        self.app.copy_to_clipboard(vm.ips[0])
        self.notify(f"copied {vm.ips[0]} (if your terminal blocks OSC 52, select it here)")

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.loop.pause(self.paused)
        self.show()
