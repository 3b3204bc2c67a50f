"""Provision: one screen from order to handed-over VM.

Prefilled from the order and its product mapping (console.flow.plan.draft_plan); every
change re-drafts the plan and shows problems beside the field; a preflight against the
engine runs in a worker once the form is valid and is shown like a plan diff; ctrl+l
launches; the runner's steps then tick by with elapsed times and a log; at the end the
credentials panel (shown once, copied with OSC 52, never logged) and the handover status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Log, Select, Static
from textual.worker import Worker

from console.store.models import Order
from console.store.states import JobState, Step
from console.tui import data
from console.tui.formatting import format_age, format_elapsed, format_memory, theme_style
from console.tui.polling import FINISHED
from console.tui.progress import JobProgress
from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.form_field import FormField
from console.tui.widgets.header import StatusHeader
from console.flow.licenses import KEY_KINDS
from console.billing.mapping import mapping_for_order
from console.flow.plan import resource_diff
from console.units import SizeError, parse_gib, parse_mib

# The steps shown as the run ticks by (planned is over before the run pane opens).
SHOWN_STEPS = tuple(step for step in Step if step != Step.PLANNED)
STEP_WORDS = {Step.CLONING: "clone from template", Step.CLONE_WAIT: "wait for disks",
              Step.RESIZING: "set CPU / RAM / disk", Step.INITIALIZING: "licenses + init",
              Step.STARTING: "start VM", Step.IP_WAIT: "wait for IP",
              Step.HANDOVER: "hand over to billing"}
LICENSE_LABELS = {"windows": "Windows key", "mssql": "MSSQL key", "plesk": "Plesk key",
                  "cpanel": "cPanel key"}
PREFLIGHT_DELAY = 0.4  # seconds of quiet typing before the preflight asks the engine
MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def parse_memory(value: str) -> int:
    """RAM as typed: "8G", "8192M", "8192" (MiB) or "8" (GiB: nobody sells 8 MiB VMs)."""
    value = value.strip()
    if value.isdigit() and int(value) < 256:
        return int(value) * 1024
    return parse_mib(value)


def parse_count(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or int(value) < 1:
        raise SizeError(f"{value!r} is not a whole number of vCPUs")
    return int(value)


class ProvisionScreen(Screen):
    TITLE_TEXT = "Provision"
    CSS_PATH = "provision.tcss"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", id="provision.launch", priority=True),
        Binding("escape", "back", "Back", id="provision.back"),
        Binding("y", "copy_credentials", "Copy credentials", id="provision.copy"),
        Binding("r", "retry", "Retry", id="provision.retry"),
        Binding("c", "cancel_job", "Cancel job", id="provision.cancel"),
        Binding("ctrl+d", "cancel_job", "Cancel job", id="provision.cancel_destructive",
                show=False),
        Binding("ctrl+g", "regenerate_password", "New password", id="provision.password",
                show=False),
    ]

    def __init__(self, order_id: str) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: Order | None = None
        self.mapping = None
        self.templates: list[Any] = []
        self.clusters: list[str] = []
        self.cluster_objects: list[Any] = []
        self.draft = None
        self.checks: list[Any] = []
        self.preflight_for: Any = None
        self.preflight_error: str | None = None
        self.admin_password: str | None = None
        self.license_kinds: tuple[str, ...] = ()
        self.phase = "loading"  # loading | editing | running | done | failed | cancelled
        self.job = None
        self.job_id: str | None = None
        self.step_times: dict[str, float] = {}
        self.step_started: dict[str, float] = {}
        self.current_step: str | None = None
        self.started_at: datetime | None = None
        self.warnings_confirmed = False
        self.launch_requested = False
        self._launch_state: int | None = None
        self._preflight_timer: Timer | None = None
        self._filling = False

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(f"Provision order #{self.order_id}: loading...", id="title")
        with VerticalScroll(id="form"):
            yield FormField("Template", Select([], prompt="template", compact=True,
                                               allow_blank=True, id="template"))
            yield FormField("Cluster", Select([], prompt="cluster", compact=True,
                                              allow_blank=True, id="cluster"))
            yield FormField("vCPU", Input(compact=True, id="cpus"))
            yield FormField("RAM", Input(compact=True, id="memory"))
            yield FormField("Guaranteed", Input(compact=True, id="guaranteed",
                                                placeholder="same as RAM"))
            yield FormField("Disk", Input(compact=True, id="disk"))
            yield FormField("Hostname", Input(compact=True, id="hostname"), classes="-wide")
            yield Vertical(id="licenses")
            yield FormField("SSH keys", Input(compact=True, id="ssh_keys",
                                              placeholder="ssh-ed25519 AAAA... (; between keys)"),
                            classes="-wide")
            yield FormField("Admin pass", Static("", id="password"),
                            note="generated; shown once at the end (ctrl+g: new one)")
            yield Static(id="preflight")
        with Vertical(id="run"):
            yield Static(id="steps")
            yield Static(id="outcome")
            yield Log(id="log", highlight=False, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.app.progress.listen(self)
        self.query_one("#run").display = False
        self.load()

    def on_unmount(self) -> None:
        self.app.progress.forget(self)
        # The credentials are shown once: nothing keeps them after the screen is gone.
        self.admin_password = None

    # ---- loading and drafting ------------------------------------------------------------

    @work(thread=True, exclusive=True, group="provision-load", exit_on_error=False)
    def load(self) -> tuple[Order | None, list[Any], list[Any]]:
        context = self.app.context
        from console.flow.catalog import refresh_catalog

        order = data.get_order(context.store, self.order_id)
        engine = context.services.engine()
        templates = refresh_catalog(engine, context.store, context.config.engine().name)
        return order, templates, engine.clusters()

    @work(thread=True, exclusive=True, group="provision-preflight", exit_on_error=False)
    def run_preflight(self, plan: Any, licenses: dict[str, str]) -> list[Any]:
        from console.flow.preflight import preflight

        context = self.app.context
        return preflight(context.services.engine(), plan, licenses,
                         context.config.catalog.stale_after_days, now=context.now())

    @work(thread=True, exclusive=True, group="provision-run", exit_on_error=False)
    def launch_and_run(self, plan: Any, licenses: dict[str, str], password: str | None,
                       confirm_warnings: bool) -> Any:
        runner = self.app.progress.runner
        job = runner.launch(self.order_id, plan, licenses, admin_password=password,
                            confirm_warnings=confirm_warnings)
        from console.secrets import admin_password_secret

        # An adopted VM keeps the password it was given: show that one at the end.
        kept = self.app.context.services.secrets.get(admin_password_secret(self.order_id))
        self.app.call_from_thread(self._launched, job, kept)
        return runner.run(job.id)

    @work(thread=True, exclusive=True, group="provision-run", exit_on_error=False)
    def retry_and_run(self, job_id: str) -> Any:
        return self.app.progress.runner.retry(job_id)

    @work(thread=True, exclusive=True, group="provision-cancel", exit_on_error=False)
    def cancel_job(self, job_id: str) -> Any:
        return self.app.progress.runner.cancel(job_id)

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED:
            return
        worker = event.worker
        error = worker.error
        if worker.group == "provision-load":
            if error is not None:
                self._fatal(error)
            elif worker.result is not None:
                await self._loaded(*worker.result)
        elif worker.group == "provision-preflight":
            if self._preflight_timer is not None:
                return  # the form changed since this preflight began: a newer one is coming
            if error is not None:
                self.preflight_error = getattr(error, "message", str(error))
                self.app.report_engine(False, self.preflight_error)
            elif worker.result is not None:
                self.checks = list(worker.result)
                self.preflight_error = None
            self.show_preflight()
            if self.launch_requested and self.phase == "editing":
                self.launch_requested = False
                self.action_launch()
        elif worker.group == "provision-run":
            if error is not None:
                self._run_failed(error)
            elif worker.result is not None:
                self._finished(worker.result)
        elif worker.group == "provision-cancel":
            if error is not None:
                self._notify_error(error)
            else:
                self.phase = "cancelled"
                self.show_outcome()

    def _fatal(self, error: BaseException) -> None:
        message = getattr(error, "message", str(error))
        hint = getattr(error, "hint", None)
        self.query_one("#title", Static).update(
            Text(f"Provision order #{self.order_id}: cannot start: {message}"
                 + (f"\nhint: {hint}" if hint else "") + "\nesc goes back",
                 style=theme_style(self.app, "error")))

    async def _loaded(self, order: Order | None, templates: list[Any], clusters: list[Any]) -> None:
        if order is None:
            self._fatal(LookupError(f"order {self.order_id} is no longer in the store"))
            return
        from console.secrets import generate_password

        config = self.app.context.config
        self.order = order
        self.templates = list(templates)
        self.app.known_templates = self.templates
        self.cluster_objects = list(clusters)
        self.clusters = [cluster.name for cluster in clusters]
        self.mapping = mapping_for_order(config.catalog, order)
        self.admin_password = generate_password()
        self.query_one("#password", Static).update("*" * 12 + " (generated)")
        self.draft = self.make_draft(None)
        # cPanel is licensed by IP: only kinds with a key get a field to paste into.
        self.license_kinds = tuple(kind for kind in self.draft.required_license_kinds or ()
                                   if kind in KEY_KINDS)
        self.query_one("#title", Static).update(self._title())
        await self._fill_form()
        self.phase = "editing"
        self.show_problems()
        self.schedule_preflight()
        first_license = self.query(".license-input").first(Input) if self.license_kinds else None
        (first_license or self.query_one("#cpus", Input)).focus()

    def _title(self) -> Text:
        order = self.order
        assert order is not None
        now = self.app.context.now()
        text = Text()
        text.append(f"Provision #{order.id} ", style="bold")
        text.append(f"{order.client_company or order.client_name} - {order.product_name}"
                    f" - waiting {format_age(order.paid_at or order.created_at, now)}")
        if self.mapping is None:
            text.append("  no product mapping: pick a template",
                        style=theme_style(self.app, "warning"))
        return text

    def _template_options(self) -> list[tuple[str, tuple[str, int]]]:
        now = self.app.context.now()
        stale_days = self.app.context.config.catalog.stale_after_days
        recommended = [t.name for t in (self.draft.recommended_templates or [])]
        def rank(template) -> tuple:
            name = template.name
            return (recommended.index(name) if name in recommended else len(recommended),
                    name, -template.version_number)
        options = []
        for template in sorted(self.templates, key=rank):
            sealed = getattr(template, "created_at", None)
            age = (now - sealed).days if sealed else None
            label = f"{template.name} v{template.version_number}"
            if age is not None:
                label += f" {age}d" + (" STALE" if age > stale_days else "")
            if template.name in recommended[:1]:
                label += " (rec)"
            options.append((label, (template.name, template.version_number)))
        return options

    async def _fill_form(self) -> None:
        plan = self.draft.plan
        order = self.order
        self._filling = True
        try:
            template = self.query_one("#template", Select)
            template.set_options(self._template_options())
            if plan is not None:
                chosen = (plan.template_name, plan.template_version)
                if any(value == chosen for _, value in self._template_options()):
                    template.value = chosen
            cluster = self.query_one("#cluster", Select)
            cluster.set_options([(name, name) for name in self.clusters])
            if plan is not None and plan.cluster in self.clusters:
                cluster.value = plan.cluster
            if plan is not None:
                self._set_input("cpus", str(plan.cpus))
                self._set_input("memory", format_memory(plan.memory_mib))
                # Left empty, guaranteed RAM follows RAM; filled in only when it differs.
                self._set_input("guaranteed", "" if plan.guaranteed_mib == plan.memory_mib
                                else format_memory(plan.guaranteed_mib))
                self._set_input("disk", f"{plan.disk_gib}G")
                self._set_input("hostname", plan.hostname)
                self._set_input("ssh_keys", "; ".join(plan.ssh_keys))
            else:
                self._set_input("cpus", str(order.cpus or ""))
                self._set_input("memory", format_memory(order.memory_mib) if order.memory_mib
                                else "")
                self._set_input("disk", f"{order.disk_gib}G" if order.disk_gib else "")
                self._set_input("hostname", order.hostname or "")
            box = self.query_one("#licenses", Vertical)
            await box.remove_children()
            for kind in self.license_kinds:
                await box.mount(FormField(LICENSE_LABELS.get(kind, f"{kind} key"),
                                    Input(password=True, compact=True, id=f"license-{kind}",
                                          classes="license-input",
                                          placeholder=f"paste the {kind} key"),
                                    note="required", id=f"field-license-{kind}",
                                    classes="-wide"))
        finally:
            self._filling = False
        self.show_order_marks()

    def _set_input(self, name: str, value: str) -> None:
        self.query_one(f"#{name}", Input).value = value

    def show_order_marks(self) -> None:
        """Beside each resource: the order's value, and a mark when the engineer changed it."""
        order = self.order
        if order is None:
            return
        values = self.read_resources()
        for name, ordered, shown in (("cpus", order.cpus, lambda v: f"{v}"),
                                     ("memory", order.memory_mib, format_memory),
                                     ("disk", order.disk_gib, lambda v: f"{v}G")):
            field = self.query_one(f"#{name}", Input).parent
            current = values.get(name)
            if ordered is None:
                field.show_note("order: -")
            elif current is not None and current != ordered:
                field.show_note(Text(f"* changed (order: {shown(ordered)})",
                                     style=theme_style(self.app, "warning", bold=True)))
            else:
                field.show_note(f"order: {shown(ordered)}")

    # ---- reading the form ----------------------------------------------------------------

    def read_resources(self, *, report: bool = False) -> dict[str, int | None]:
        """Parsed resource fields; one that does not parse is left None (and, with
        `report`, its error shown beside it)."""
        values: dict[str, int | None] = {}
        for name, parse in (("cpus", parse_count), ("memory", parse_memory),
                            ("guaranteed", parse_memory), ("disk", parse_gib)):
            raw = self.query_one(f"#{name}", Input).value.strip()
            field = self.query_one(f"#{name}", Input).parent
            if not raw:
                values[name] = None
                continue
            try:
                values[name] = parse(raw)
            except (SizeError, ValueError) as exc:
                values[name] = None
                if report:
                    field.show_error(str(exc).split(";")[0],
                                     "e.g. 8G" if name != "cpus" else "e.g. 4")
        return values

    def overrides(self):
        from console.flow.plan import Overrides

        values = self.read_resources(report=False)
        template = self.query_one("#template", Select).value
        cluster = self.query_one("#cluster", Select).value
        keys = [key.strip() for key in self.query_one("#ssh_keys", Input).value.split(";")
                if key.strip()]
        return Overrides(
            template=template[0] if isinstance(template, tuple) else None,
            version=template[1] if isinstance(template, tuple) else None,
            cluster=cluster if isinstance(cluster, str) else None,
            cpus=values["cpus"], memory_mib=values["memory"],
            guaranteed_mib=values["guaranteed"], disk_gib=values["disk"],
            hostname=self.query_one("#hostname", Input).value.strip() or None,
            ssh_keys=tuple(keys))

    def make_draft(self, overrides):
        from console.flow.plan import Overrides, draft_plan

        config = self.app.context.config
        return draft_plan(self.order, self.mapping, self.templates, config,
                          overrides if overrides is not None else Overrides(),
                          clusters=self.cluster_objects)

    def licenses(self) -> dict[str, str]:
        return {kind: self.query_one(f"#license-{kind}", Input).value
                for kind in self.license_kinds}

    def license_problems(self) -> dict[str, Any]:
        from console.flow.plan import check_license

        problems = {}
        for kind, value in self.licenses().items():
            field = self.query_one(f"#field-license-{kind}", FormField)
            if not value.strip():
                field.show_error(None)
                field.show_note("required: paste the key")
                problems[kind] = "missing"
                continue
            problem = check_license(kind, value)
            if problem is not None:
                field.show_error(problem.message, problem.fix)
                problems[kind] = problem
            else:
                field.show_error(None)
                field.show_note(Text("ok", style=theme_style(self.app, "success")))
        return problems

    # FieldProblem.field (console.flow.plan) -> the input it is about.
    FIELD_WIDGETS = {"product": "template", "template": "template", "version": "template",
                     "cluster": "cluster", "cpus": "cpus", "memory": "memory",
                     "guaranteed_memory": "guaranteed", "disk": "disk", "hostname": "hostname",
                     "ssh_keys": "ssh_keys"}

    def show_problems(self) -> None:
        """Parse errors first (they are the engineer's typing), then the plan's problems."""
        for widget in set(self.FIELD_WIDGETS.values()):
            self.query_one(f"#{widget}").parent.show_error(None)
        self.read_resources(report=True)
        for problem in (self.draft.problems if self.draft else []):
            widget = self.FIELD_WIDGETS.get(problem.field.split("[")[0])
            if widget is None:
                continue
            field = self.query_one(f"#{widget}").parent
            if not field.error:
                field.show_error(problem.message, problem.fix)
        self.show_order_marks()

    @on(Input.Changed)
    @on(Select.Changed)
    def _form_changed(self, event) -> None:
        if self._filling or self.phase != "editing" or self.order is None:
            return
        if isinstance(event, Input.Changed) and event.input.has_class("license-input"):
            self.license_problems()
        else:
            self.draft = self.make_draft(self.overrides())
            self.show_problems()
        # A change the pending launch already saw (its Changed message can arrive after the
        # key that launched) keeps the launch; any other change needs a new ctrl+l.
        keep_launch = self.launch_requested and self.form_state() == self._launch_state
        self.checks = []
        self.warnings_confirmed = self.warnings_confirmed and keep_launch
        self.launch_requested = keep_launch
        self.schedule_preflight()

    def form_state(self) -> int:
        """What the engineer has typed, as one number, to tell a real change from an echo."""
        return hash((self.overrides(), tuple(sorted(self.licenses().items()))))

    def schedule_preflight(self) -> None:
        if self._preflight_timer is not None:
            self._preflight_timer.stop()
        self._preflight_timer = self.set_timer(PREFLIGHT_DELAY, self._start_preflight)
        self.show_preflight()

    def _start_preflight(self) -> None:
        self._preflight_timer = None
        if self.draft is None or self.draft.problems or self.draft.plan is None:
            self.show_preflight()
            return
        self.preflight_for = self.draft.plan
        self.run_preflight(self.draft.plan, self.licenses())

    # ---- the plan diff -------------------------------------------------------------------

    def show_preflight(self) -> None:
        view = self.query_one("#preflight", Static)
        if self.draft is None:
            view.update("")
            return
        plan = self.draft.plan
        order = self.order
        error = theme_style(self.app, "error")
        warn = theme_style(self.app, "warning")
        good = theme_style(self.app, "success")
        text = Text()
        text.append("Plan\n", style="bold")
        if plan is not None:
            text.append(f"+ clone {plan.template_name} v{plan.template_version} -> "
                        f"{plan.vm_name} on {plan.engine}/{plan.cluster}\n", style=good)
            unchanged = []
            shown = {"vCPU": str, "RAM": format_memory, "disk": lambda gib: f"{gib}G"}
            for label, ordered, planned, changed in resource_diff(order, plan):
                if changed:
                    text.append(f"~ {label} {shown[label](ordered)} -> {shown[label](planned)} "
                                "(changed from the order)\n", style=warn)
                else:
                    unchanged.append(f"{label} {shown[label](planned)}")
            if unchanged:
                text.append(f"  {', '.join(unchanged)} as ordered\n")
            text.append(f"  {plan.hostname}, {plan.init_kind} as {plan.admin_user}\n")
            if plan.license_kinds:
                text.append(f"+ licenses: {', '.join(plan.license_kinds)}\n", style=good)
        if self.draft.problems:
            text.append(f"{len(self.draft.problems)} problem(s) above must be fixed before "
                        "launch\n", style=error)
        elif self.preflight_error:
            text.append(f"preflight could not reach the engine: {self.preflight_error}\n",
                        style=error)
        elif not self.checks:
            text.append("preflight: checking with the engine...\n",
                        style=theme_style(self.app, "text-muted"))
        else:
            for check in self.checks:
                style = {"ok": good, "warn": warn, "fail": error}.get(check.level)
                text.append(f"{MARKS.get(check.level, check.level)} {check.name}: "
                            f"{check.message}", style=style)
                if check.fix and check.level != "ok":
                    text.append(f"  fix: {check.fix}")
                text.append("\n")
        text.append("ctrl+l launches", style="bold")
        view.update(text)

    # ---- launch --------------------------------------------------------------------------

    def action_launch(self) -> None:
        if self.phase != "editing" or self.draft is None:
            return
        self.draft = self.make_draft(self.overrides())
        self.show_problems()
        license_problems = self.license_problems()
        if self.draft.problems or license_problems:
            count = len(self.draft.problems) + len(license_problems)
            self.notify(f"{count} field(s) need fixing before launch", severity="error")
            self._focus_first_invalid()
            return
        if not self.checks and self.preflight_error is None:
            # The preflight is still asking the engine: launch as soon as it answers.
            self.launch_requested = True
            self._launch_state = self.form_state()
            self.notify("launching as soon as the preflight has answered")
            return
        fails = [check for check in self.checks if check.level == "fail"]
        warns = [check for check in self.checks if check.level == "warn"]
        if fails:
            self.notify(f"preflight failed: {fails[0].message}", severity="error")
            return
        if warns and not self.warnings_confirmed:
            self.warnings_confirmed = True
            self.notify(f"{len(warns)} warning(s): {warns[0].message}. ctrl+l again launches "
                        "anyway", severity="warning", timeout=8)
            return
        from console.flow.plan import normalise_license

        licenses = {kind: normalise_license(kind, value) for kind, value in
                    self.licenses().items()}
        self.show_run_pane()
        self.launch_and_run(self.draft.plan, licenses, self.admin_password,
                            bool(warns) or self.warnings_confirmed)

    def show_run_pane(self) -> None:
        """Swap the form for the live steps and log (the form's work is done)."""
        self.phase = "running"
        self.started_at = self.app.context.now()
        self.query_one("#form").display = False
        self.query_one("#run").display = True
        self.show_steps()
        self.refresh_bindings()

    def _focus_first_invalid(self) -> None:
        for field in self.query(FormField):
            if field.error or (field.control.has_class("license-input")
                               and not field.control.value.strip()):
                field.control.focus()
                return

    def _launched(self, job, password: str | None = None) -> None:
        self.job = job
        self.job_id = job.id
        if password:
            self.admin_password = password
        self.query_one("#log", Log).write_line(f"job {job.id} launched for order {self.order_id}")

    # ---- progress ------------------------------------------------------------------------

    def on_job_progress(self, message: JobProgress) -> None:
        event = message.event
        if event.order_id != self.order_id and event.job_id != self.job_id:
            return
        self.job_id = self.job_id or event.job_id
        # The runner reports time since the run began; a step's time is finish - start.
        if event.step and event.kind == "started":
            self.step_started[event.step] = event.elapsed_seconds
            self.current_step = event.step
        elif event.step and event.kind == "finished" and event.step in self.step_started:
            self.step_times[event.step] = event.elapsed_seconds - self.step_started[event.step]
        elif event.kind == "failed":
            self.current_step = event.step
        at = event.at.strftime("%H:%M:%S") if event.at else ""
        self.query_one("#log", Log).write_line(
            f"{at} {event.step or '':<12} {event.message}")
        self.show_steps(event.state)

    def show_steps(self, state: str | None = None) -> None:
        text = Text()
        plan = self.draft.plan if self.draft else None
        text.append(f"Order #{self.order_id} -> {plan.vm_name if plan else ''} from "
                    f"{plan.template_name if plan else ''}\n", style="bold")
        # The runner writes a failure as "failed(step)".
        current = (state or "planned").split("(")[0]
        if current == "failed" and state and "(" in state:
            self.current_step = state.split("(", 1)[1].rstrip(")")
        reached = SHOWN_STEPS.index(current) if current in SHOWN_STEPS else (
            len(SHOWN_STEPS) if current == JobState.DONE else -1)
        for index, step in enumerate(SHOWN_STEPS):
            elapsed = format_elapsed(self.step_times.get(step))
            if current == "failed" and step == self.current_step:
                mark, style = "[!]", theme_style(self.app, "error", bold=True)
            elif current == "done" or index < reached or step in self.step_times:
                mark, style = "[x]", theme_style(self.app, "success")
            elif index == reached:
                mark, style = "[>]", theme_style(self.app, "warning", bold=True)
            else:
                mark, style = "[ ]", theme_style(self.app, "text-muted")
            text.append(f"{mark} {step:<12} {STEP_WORDS[step]:<22} {elapsed}\n", style=style)
        self.query_one("#steps", Static).update(text)

    def _back_to_form(self, error: BaseException) -> None:
        self.phase = "editing"
        self.checks = list(getattr(error, "checks", None) or self.checks)
        self.query_one("#run").display = False
        self.query_one("#form").display = True
        self.show_preflight()
        self._notify_error(error)
        self.refresh_bindings()

    def _finished(self, job) -> None:
        self.job = job
        self.job_id = job.id
        self.phase = {"done": "done", "cancelled": "cancelled"}.get(job.state, "failed")
        self.show_steps(job.state)
        self.show_outcome()

    def _run_failed(self, error: BaseException) -> None:
        if self.job_id is None:
            # Refused before a job existed (preflight, claim, a key): back to the form.
            self._back_to_form(error)
            return
        self.phase = "failed"
        self.error_message = getattr(error, "message", str(error))
        self.error_hint = getattr(error, "hint", None)
        if self.job_id:
            self.refresh_job()
        self.show_outcome()

    @work(thread=True, exclusive=True, group="provision-job", exit_on_error=False)
    def refresh_job(self) -> None:
        from console.store.models import Job

        with self.app.context.store.session() as session:
            job = session.get(Job, self.job_id)
        if job is not None:
            self.app.call_from_thread(self._finished, job)

    def show_outcome(self) -> None:
        view = self.query_one("#outcome", Static)
        job = self.job
        text = Text()
        if self.phase == "done" and job is not None:
            ips = ", ".join(job.ips or []) or "-"
            user = self.draft.plan.admin_user
            self.admin_user = user
            text.append("VM up and handed over to billing\n",
                        style=theme_style(self.app, "success", bold=True))
            text.append(f"  vm        {job.vm_name}\n  ip        {ips}\n  user      {user}\n")
            text.append(f"  password  {self.admin_password or '(not shown again)'}\n",
                        style="bold")
            text.append("y copies ip/user/password (OSC 52); they are shown only here and "
                        "never logged. esc: back to the queue",
                        style=theme_style(self.app, "text-muted"))
        elif self.phase == "failed":
            message = (job.error_message if job is not None and job.error_message else
                       getattr(self, "error_message", "the job failed"))
            hint = (job.error_hint if job is not None and job.error_hint else
                    getattr(self, "error_hint", None))
            step = job.failed_step if job is not None else self.current_step
            text.append(f"FAILED at {step or '?'}: {message}\n",
                        style=theme_style(self.app, "error", bold=True))
            if hint:
                text.append(f"hint: {hint}\n")
            text.append("r retries from that step, c cancels (removes only a VM this job "
                        "created), esc goes back", style=theme_style(self.app, "text-muted"))
        elif self.phase == "cancelled":
            text.append("cancelled", style=theme_style(self.app, "text-muted"))
            text.append("; esc goes back to the queue")
        view.update(text)
        self.refresh_bindings()

    # ---- actions after launch ------------------------------------------------------------

    # Which actions exist in which phase; the others are hidden from the footer and help.
    PHASE_ACTIONS = {"copy_credentials": ("done",), "retry": ("failed",),
                     "cancel_job": ("failed", "running"),
                     "launch": ("editing",), "regenerate_password": ("editing",)}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        phases = self.PHASE_ACTIONS.get(action)
        if phases is None:
            return True
        return True if self.phase in phases and self.job_id_ready(action) else None

    def job_id_ready(self, action: str) -> bool:
        return action not in ("retry", "cancel_job") or self.job_id is not None

    def action_copy_credentials(self) -> None:
        job = self.job
        if job is None or not self.admin_password:
            return
        self.app.copy_to_clipboard(f"{', '.join(job.ips or [])}\n{self.admin_user}\n"
                                   f"{self.admin_password}")
        self.notify("credentials copied (OSC 52); if your terminal blocks it, select them here")

    def action_retry(self) -> None:
        if not self.job_id:
            return
        self.phase = "running"
        self.query_one("#outcome", Static).update("")
        self.step_times.clear()
        self.step_started.clear()
        self.refresh_bindings()
        self.retry_and_run(self.job_id)

    def action_cancel_job(self) -> None:
        if not self.job_id:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_job(self.job_id)

        self.app.push_screen(ConfirmDialog(f"Cancel the job for order #{self.order_id}?",
                                           "Rollback removes only a VM this job created."),
                             answered)

    def action_regenerate_password(self) -> None:
        from console.secrets import generate_password

        self.admin_password = generate_password()
        self.notify("new admin password generated")

    def action_back(self) -> None:
        if self.phase == "running":
            self.notify("the job keeps running; follow it on the Jobs screen (4)")
        self.app.pop_screen()

    def _notify_error(self, error: BaseException) -> None:
        hint = getattr(error, "hint", None)
        self.notify(getattr(error, "message", str(error)) + (f"\nhint: {hint}" if hint else ""),
                    severity="error", timeout=10)
