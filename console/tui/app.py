"""The console's App: modes for the four main screens, shared connection state, and the
engine probe and billing sync loops that the header reports on. Screens do the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette, SearchIcon
from textual.reactive import reactive
from textual.worker import Worker

from console.flow.worker import IntakeWorker
from console.tui.commands import ConsoleCommands
from console.tui.context import ConsoleContext
from console.tui.errors import error_message
from console.tui.polling import FINISHED, PollLoop
from console.tui.progress import ProgressHub
from console.tui.screens.help import HelpScreen
from console.tui.screens.jobs import JobsScreen
from console.tui.screens.queue import QueueScreen
from console.tui.screens.templates import TemplatesScreen
from console.tui.screens.vms import VmsScreen
from console.tui.widgets.confirm import ConfirmDialog

# Worker groups in which this process runs a job's steps (the provision screen's launch and
# retry, the Jobs screen's retry and cancel, the resume at start): quitting stops them.
JOB_WORKER_GROUPS = frozenset({"provision-run", "provision-cancel", "job-action", "resume"})
POOL_REFILL_SECONDS = 30.0  # the warm pool refill pass, in the background


class AsciiCommandPalette(CommandPalette):
    """The palette with an ASCII prompt: its emoji icon breaks alignment over SSH."""

    def on_mount(self) -> None:
        self.query_one(SearchIcon).icon = ">"


class ConsoleApp(App):
    TITLE = "vps-console"
    CSS_PATH = "app.tcss"
    MODES = {
        "queue": QueueScreen,
        "templates": TemplatesScreen,
        "vms": VmsScreen,
        "jobs": JobsScreen,
    }
    DEFAULT_MODE = "queue"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("1", "go('queue')", "Orders", id="app.orders"),
        Binding("2", "go('templates')", "Templates", id="app.templates"),
        Binding("3", "go('vms')", "VMs", id="app.vms"),
        Binding("4", "go('jobs')", "Jobs", id="app.jobs"),
        Binding("question_mark", "help", "Help", id="app.help"),
        # f1 reaches help from anywhere, a text field or a dialog included (`?` types there).
        Binding("f1", "help", "Help", id="app.help_f1", priority=True),
        Binding("colon", "command_palette", "Command palette", id="app.command", show=False),
        Binding("ctrl+c", "quit", "Quit", id="app.quit_ctrl_c", show=False, priority=True),
    ]

    engine_label = reactive("engine: connecting")
    engine_reason = ""  # why the engine was lost, for the header's short form
    billing_short = ""  # the billing state in a few characters, for a narrow header
    engine_ok: reactive[bool | None] = reactive(None)
    billing_label = reactive("billing: -")
    billing_ok: reactive[bool | None] = reactive(None)
    clock_text = reactive("")
    banner_text = reactive("")  # what must stay in view while it holds (TLS not verified)

    def __init__(self, context: ConsoleContext, *, mouse: bool = True) -> None:
        super().__init__()
        self.context = context
        self.mouse_enabled = mouse
        # Over SSH, animations only cost bandwidth and make the screen feel slow.
        self.animation_level = "none"
        # Provisioning jobs run here, never on the executor the screens' polls use: however
        # many are launched, every pane keeps refreshing ([ui] job_workers at once).
        self.job_pool = ThreadPoolExecutor(
            max_workers=context.config.ui.job_workers, thread_name_prefix="vpsc-job"
        )
        self.job_futures: set[Future] = set()
        self.known_templates: list = []
        self.known_vms: list = []
        self.known_orders: dict = {}
        self.progress = ProgressHub(self)
        self.intake: IntakeWorker | None = None
        self.engine_name = context.config.engine().name
        self.engine_version = ""
        if context.config.ui.theme in self.available_themes:
            self.theme = context.config.ui.theme

    def on_mount(self) -> None:
        self.engine_label = f"{self.engine_name}: connecting"
        kind = self.context.config.billing.kind
        self.billing_label = {"none": "billing: none", "file": "billing: file intake"}.get(
            kind, "billing: not synced yet"
        )
        self.tick_clock()
        if self.context.live:
            self.set_interval(30, self.tick_clock)
        self.engine_loop = PollLoop(self, self.probe_engine, 60, live=self.context.live)
        self.engine_loop.request()
        sync = getattr(self.context, "sync_billing", None)
        if sync is not None and self.context.config.billing.kind != "none":
            self.billing_loop: PollLoop | None = PollLoop(
                self,
                self.sync_billing,
                self.context.config.billing.sync_interval_seconds,
                live=self.context.live,
            )
            self.billing_loop.request()
        else:
            self.billing_loop = None
        if self.context.live and not self.context.read_only:
            self.resume_unfinished_jobs()
        # The warm pool refills in the background while the console is open.
        self.pool_loop: PollLoop | None = None
        if self.context.live and not self.context.read_only and self.context.config.pool:
            self.pool_loop = PollLoop(self, self.refill_pool, POOL_REFILL_SECONDS)
            self.pool_loop.request()
        self.banner_text = self.context.banner or ""
        wanted = self.context.config.ui.theme
        if wanted and wanted not in self.available_themes:
            self.notify(
                f"[ui] theme {wanted!r} is not a theme here; using {self.theme}. "
                f"Themes: {', '.join(sorted(self.available_themes))}",
                severity="warning",
                timeout=15,
            )

    def tick_clock(self) -> None:
        self.clock_text = f"{self.context.now():%H:%M} UTC"

    # ---- connection state ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engine-probe", exit_on_error=False)
    def probe_engine(self):
        return self.context.services.engine().info()

    @work(exclusive=True, group="resume", exit_on_error=False)
    async def resume_unfinished_jobs(self) -> None:
        """Finish jobs a crash or a closed console left half-way (others' leases respected)."""
        await self.run_job(self.progress.runner.resume_unfinished)
        from console.flow.services import Services
        from console.flow.upkeep.refresh import RefreshRunner

        services = self.context.services
        if not isinstance(services, Services):
            return

        # A template refresh a crash left half-way (its build VM still on the engine) goes on
        # too, on the job pool: unattended, nobody would run `templates refresh --resume`.
        def resume_refreshes() -> list[tuple[str, str]]:
            from console.store import refresh_jobs

            ended = [
                refresh_jobs.get(services.store, refresh_id)
                for refresh_id in RefreshRunner(services).resume_unfinished()
            ]
            return [(row.template_name, row.state) for row in ended if row is not None]

        for template, state in await self.run_job(resume_refreshes):
            self.notify(
                f"template refresh of {template} resumed: {state}",
                severity="information" if state == "done" else "error",
            )

    async def run_job(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run a job's blocking `work` on the job pool and wait for it. The job goes on if
        the worker waiting for it is cancelled (its screen closed): it was launched."""
        future = self.submit_job(work, *args)
        return await asyncio.shield(asyncio.wrap_future(future))

    def submit_job(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue a job's blocking `work` on the job pool (from any thread) without waiting."""
        future = self.job_pool.submit(work, *args)
        self.job_futures.add(future)
        future.add_done_callback(self.job_futures.discard)
        return future

    def on_unmount(self) -> None:
        # Jobs not started yet stay where they are and resume on the next start.
        self.job_pool.shutdown(wait=False, cancel_futures=True)

    @work(thread=True, exclusive=True, group="pool-refill", exit_on_error=False)
    def refill_pool(self):
        from console.flow.pool import PoolKeeper
        from console.flow.services import Services

        services = self.context.services
        if isinstance(services, Services):
            return PoolKeeper(services).refill()
        return None

    @work(thread=True, exclusive=True, group="billing-sync", exit_on_error=False)
    def sync_billing(self):
        sync = self.context.sync_billing
        assert sync is not None  # the billing loop starts only when there is a sync
        result = sync()
        if self.context.live and not self.context.read_only:
            # Every open console takes paid orders in (pre-clone / provision policies).
            if self.intake is None:
                # Its jobs run on the job pool, beside those launched by hand and in bulk:
                # [ui] job_workers bounds them all.
                self.intake = IntakeWorker(self.progress.runner, submit=self.submit_job)
            # The pools have their own loop here (refill_pool): not refilled twice.
            self.intake.tick(sync=False, refill=False)
        return result

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED:
            return
        worker = event.worker
        if self.engine_loop.owns(worker):
            if worker.error is not None:
                self.report_engine(False, error_message(worker.error))
            elif worker.result is not None:
                info = worker.result
                self.engine_version = str(
                    getattr(info, "version", "") or getattr(info, "product_version", "") or ""
                )
                self.report_engine(True)
            self.engine_loop.finished()
        elif self.billing_loop is not None and self.billing_loop.owns(worker):
            if worker.error is not None:
                self.report_billing(False, error_message(worker.error))
            else:
                self.report_billing(True)
            self.billing_loop.finished()
        elif self.pool_loop is not None and self.pool_loop.owns(worker):
            self.pool_loop.finished()

    def report_engine(self, ok: bool, reason: str = "") -> None:
        name = f"{self.engine_name} {self.engine_version}".strip()
        self.engine_reason = reason  # the header's short form cuts it to fit, never drops it
        self.engine_ok = ok
        self.engine_label = f"{name} connected" if ok else f"{name} LOST: {reason}"

    def report_billing(self, ok: bool, reason: str = "") -> None:
        now = self.context.now()
        if ok:
            self.billing_short = f"billing ok {now:%H:%M}"
            self.billing_ok = True
            self._billing_ok_at = now
            self.billing_label = f"billing ok {now:%H:%M}"
        else:
            last = getattr(self, "_billing_ok_at", None)
            since = f" since {last:%H:%M}" if last else ""
            self.billing_short = f"billing STALE{since.replace(' since', '')}"
            self.billing_ok = False
            self.billing_label = f"billing STALE{since}: {reason}"

    # ---- navigation ----------------------------------------------------------------------

    def refresh_css(self, animate: bool = True) -> None:
        """Textual re-parses every stylesheet and restyles the whole screen, twice, the first
        time a mode's screen is shown: a new screen counts as out of date, though it gets its
        styles when it mounts. That cost ~100 ms of a frozen loop on `2`-`4`. A full refresh
        is only needed when the CSS changed (a theme, its variables) since the last one;
        otherwise only screens left out of date by it are restyled, with the rules as parsed."""
        current = self._css_update_count
        if getattr(self, "_css_refreshed_at", None) != current:
            super().refresh_css(animate)
            self._css_refreshed_at = current
            return
        for screen in self.screen_stack:
            if screen._css_update_count != current:
                if screen.is_mounted:
                    self.stylesheet.update(screen, animate=animate)
                screen._css_update_count = current

    async def action_go(self, mode: str) -> None:
        """`1`-`4`: that screen itself, never a screen left open on top of it (a Provision
        screen opened from the queue, a help or a dialog)."""
        if self.current_mode != mode:
            # What is open over the screen left closes now, not when its mode is next
            # shown: a Provision screen left open would keep its order claimed.
            while len(self.screen_stack) > 1:
                await self.pop_screen()
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                AsciiCommandPalette(
                    id="--command-palette",
                    placeholder="orders, templates, vms, jobs, order 1234, vm NAME ...",
                )
            )

    def jobs_running_here(self) -> int:
        workers = sum(
            1 for worker in self.workers if worker.group in JOB_WORKER_GROUPS and worker.is_running
        )
        return max(workers, len(self.job_futures))

    async def action_quit(self) -> None:
        """Quit at once, unless this console is running jobs: then ask first."""
        running = self.jobs_running_here()
        if not running:
            self.exit()
            return
        if isinstance(self.screen, ConfirmDialog):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        jobs = "a job" if running == 1 else f"{running} jobs"
        self.push_screen(
            ConfirmDialog(
                f"Quit while this console runs {jobs}?",
                "They stop where they are and resume on the next start of the console "
                "(or in another engineer's console once this one's lease lapses).",
            ),
            answered,
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def open_provision(self, order_id: str) -> None:
        """Claim the order for this engineer, then open the flow on it."""
        if self.context.read_only:
            self.notify("read-only console: provisioning is off", severity="warning")
            return
        self.claim_and_open(order_id)

    @work(thread=True, exclusive=True, group="claim", exit_on_error=False)
    def claim_and_open(self, order_id: str, take_over: bool = False) -> None:
        from console.store.claims import claim_order

        config = self.context.config
        result = claim_order(
            self.context.store,
            order_id,
            self.context.actor,
            takeover_after=timedelta(minutes=config.billing.claim_timeout_minutes),
            take_over=take_over,
        )
        self.call_from_thread(self._claimed, order_id, result)

    def _claimed(self, order_id: str, result) -> None:
        from console.tui.screens.provision import ProvisionScreen

        if result.stale:
            # Someone's claim has gone idle: taking it over is a decision, asked first.
            def answered(yes: bool | None) -> None:
                if yes:
                    self.claim_and_open(order_id, take_over=True)

            self.push_screen(
                ConfirmDialog(
                    f"Take over order #{order_id} from {result.holder}?",
                    f"{result.reason}, and no job of it is running. The takeover is "
                    "recorded in the audit trail under your name.",
                ),
                answered,
            )
            return
        if not result.won:
            self.notify(
                result.reason or f"order {order_id} is claimed by {result.holder}",
                title="not claimed",
                severity="warning",
            )
            return
        if result.took_over_from:
            self.notify(f"took over the claim of {result.took_over_from}", severity="warning")
        self.push_screen(ProvisionScreen(order_id))

    @work(thread=True, group="release", exit_on_error=False)
    def release_claim(self, order_id: str) -> None:
        """`R`: give your claim on an order back to the queue (someone else's stays)."""
        from console.store.claims import release_order
        from console.tui.data import get_order

        if release_order(self.context.store, order_id, self.context.actor):
            self.call_from_thread(self.notify, f"order {order_id} released to the queue")
            return
        order = get_order(self.context.store, order_id)
        holder = order.claimed_by if order is not None else None
        if holder is None:
            self.call_from_thread(self.notify, f"order {order_id} is not claimed")
        else:
            self.call_from_thread(
                self.notify,
                f"order {order_id} is claimed by {holder}, not by you; they release it, "
                f"or vps-console orders release {order_id} --force",
                severity="warning",
            )

    async def go_to_order(self, order_id: str) -> None:
        await self.action_go("queue")
        screen = self.screen
        if isinstance(screen, QueueScreen) and not screen.select_order(order_id):
            self.notify(f"order {order_id} is not in the queue", severity="warning")

    async def go_to_vm(self, name: str) -> None:
        await self.action_go("vms")
        if isinstance(self.screen, VmsScreen):
            self.screen.show_filter(name)

    async def go_to_template(self, name: str) -> None:
        await self.action_go("templates")
        if isinstance(self.screen, TemplatesScreen):
            self.screen.show_filter(name)
