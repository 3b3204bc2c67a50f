"""Provision: one screen from order to handed-over VM.

Prefilled from the order and its product mapping (console.flow.plan.draft_plan); every
change re-drafts the plan and shows problems beside the field; a preflight against the
engine runs in a worker once the form is valid and is shown like a plan diff; ctrl+l
launches (license keys the vault holds for the order fill their fields, masked, unless one
is pasted); the runner's steps then tick by with elapsed times and a log; at the end the
credentials panel (shown once, copied with OSC 52, never logged) and the handover status.

The screen holds the order, the draft and the phase, runs the workers, and hands the
widgets what to show: the form (console.tui.widgets.provision_form), the plan and
preflight (plan_view), the run (run_progress) and its outcome (credentials).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker

from console.billing.mapping import mapping_for_order
from console.flow import amend, parking
from console.flow.catalog import rank_templates
from console.flow.hostname_wait import waiting_text
from console.flow.licenses import KEY_KINDS, normalise_license
from console.flow.plan import Draft, Overrides, Plan, draft_plan
from console.store.models import Job, Order
from console.store.states import JobState, Step
from console.tui.errors import error_hint, error_message, notify_error
from console.tui.formatting import format_age, theme_style
from console.tui.polling import FINISHED
from console.tui.progress import JobProgress
from console.tui.screens.provision_actions import Phase, ProvisionActions
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.plan_view import PlanView
from console.tui.widgets.provision_form import ProvisionForm
from console.tui.widgets.run_progress import RunProgress

PREFLIGHT_DELAY = 0.4  # seconds of quiet typing before the preflight asks the engine


class ProvisionScreen(ProvisionActions):
    TITLE_TEXT = "Provision"
    CSS_PATH = "provision.tcss"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", id="provision.launch", priority=True),
        Binding("escape", "back", "Back", id="provision.back"),
        Binding("y", "copy_credentials", "Copy credentials", id="provision.copy"),
        Binding("r", "retry", "Retry", id="provision.retry"),
        Binding("c", "cancel_job", "Cancel job", id="provision.cancel"),
        Binding(
            "ctrl+d", "cancel_job", "Cancel job", id="provision.cancel_destructive", show=False
        ),
        Binding(
            "ctrl+g", "regenerate_password", "New password", id="provision.password", show=False
        ),
        Binding("e", "edit_plan", "Edit plan", id="provision.edit"),
        Binding("R", "release_claim", "Release", id="provision.release", show=False),
        Binding("a", "accept_hostname", "Accept hostname", id="provision.accept_hostname"),
        Binding("f", "fail_hostname", "Fail now", id="provision.fail_hostname"),
    ]

    def __init__(self, order_id: str) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: Order | None = None
        self.mapping: Any = None
        self.templates: list[Any] = []
        self.clusters: list[str] = []
        self.cluster_objects: list[Any] = []
        self.draft: Draft | None = None
        self.checks: list[Any] = []
        self.preflight_error: str | None = None
        self.admin_password: str | None = None
        self.admin_user: str | None = None
        self.license_kinds: tuple[str, ...] = ()
        self.phase = Phase.LOADING
        self.job: Job | None = None
        self.job_id: str | None = None
        self.error_message: str | None = None
        self.error_hint: str | None = None
        self.warnings_confirmed = False
        self.launch_requested = False
        self.vault_pending = False  # the vault is setting the order's keys aside
        self._launch_state: int | None = None
        self._preflight_timer: Timer | None = None
        self.launched = False
        self.hostname_seen: dict[str, Any] | None = None
        # A failed job of the order: the form edits its plan and ctrl+l retries it.
        self.retry_job: Job | None = None
        self.parked_job: Job | None = None  # pre-cloned on payment, waiting at ready_for_engineer
        self.retry_plan: Plan | None = None

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(Text(f"Provision order #{self.order_id}: loading..."), id="title")
        yield ProvisionForm(id="form")
        yield RunProgress(id="run")
        yield KeyBar()

    @property
    def form(self) -> ProvisionForm:
        return self.query_one(ProvisionForm)

    @property
    def run_progress(self) -> RunProgress:
        return self.query_one(RunProgress)

    def on_mount(self) -> None:
        self.app.progress.listen(self)
        self.run_progress.display = False
        self.load()

    # ---- what the workers return -------------------------------------------------------

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
        elif worker.group == "provision-vault":
            self.vault_pending = False
            if error is not None:
                notify_error(self, error)
            elif worker.result:
                self.form.show_vault(worker.result)
            if self.launch_requested and self.phase == Phase.EDITING:
                self.launch_requested = False
                self.action_launch()
        elif worker.group == "provision-preflight":
            if self._preflight_timer is not None:
                return  # the form changed since this preflight began: a newer one is coming
            if error is not None:
                self.preflight_error = error_message(error)
                self.app.report_engine(False, self.preflight_error)
            elif worker.result is not None:
                self.checks = list(worker.result)
                self.preflight_error = None
            self.show_preflight()
            if self.launch_requested and self.phase == Phase.EDITING:
                self.launch_requested = False
                self.action_launch()
        elif worker.group == "provision-run":
            if error is not None:
                self._run_failed(error)
            elif worker.result is not None:
                self._finished(worker.result)
        elif worker.group == "provision-cancel":
            if error is not None:
                notify_error(self, error)
            else:
                self.phase = Phase.CANCELLED
                self.show_outcome()
        elif worker.group == "provision-hostname" and error is None:
            self.show_hostname_wait(worker.result)
        elif worker.group == "provision-decide" and error is not None:
            notify_error(self, error)

    # ---- loading and drafting ------------------------------------------------------------

    def _fatal(self, error: BaseException) -> None:
        hint = error_hint(error)
        self.query_one("#title", Static).update(
            Text(
                f"Provision order #{self.order_id}: cannot start: {error_message(error)}"
                + (f"\nhint: {hint}" if hint else "")
                + "\nesc goes back",
                style=theme_style(self.app, "error"),
            )
        )

    async def _loaded(
        self, order: Order | None, templates: list[Any], clusters: list[Any], job: Job | None
    ) -> None:
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
        # A pre-clone, parked or still copying: the launch goes on with its job and VM.
        self.parked_job = (
            job if job is not None and parking.parks(job) and job.state != JobState.FAILED else None
        )
        if job is not None and job.state == JobState.FAILED:
            # Its keys and password are in the secret store already: none to paste.
            self.retry_job, self.job, self.job_id = job, job, job.id
            self.retry_plan = Plan.from_dict(job.plan)
            self.form.show_password("kept from the launch")
            self.draft = self.make_draft(amend.overrides_of(self.retry_plan))
        else:
            self.admin_password = generate_password()
            self.form.show_password("*" * 12 + " (generated)")
            parked = Plan.from_dict(self.parked_job.plan) if self.parked_job else None
            # A pre-cloned VM was copied from its template into its cluster: those stay.
            self.draft = self.make_draft(
                Overrides(
                    template=parked.template_name,
                    version=parked.template_version,
                    cluster=parked.cluster,
                )
                if parked is not None
                else None
            )
            # cPanel is licensed by IP: only kinds with a key get a field to paste into.
            self.license_kinds = tuple(
                kind for kind in self.draft.required_license_kinds or () if kind in KEY_KINDS
            )
        self.query_one("#title", Static).update(self._title())
        await self.form.fill(
            order, self.draft.plan, self._template_options(), self.clusters, self.license_kinds
        )
        self.phase = Phase.EDITING
        self.show_problems()
        if self.retry_job is not None:
            self.form.lock_fields(self._locked_fields(), str(self.retry_job.failed_step))
            self.show_preflight()
        elif self.parked_job is not None:
            self.form.lock_fields(
                {"template", "cluster"},
                "cloning",
                "the pre-cloned VM's; cancel the pre-clone (Jobs, c) to change it",
            )
            self.schedule_preflight()
        else:
            self.schedule_preflight()
        self.form.focus_start()
        if self.license_kinds:
            self.vault_pending = True
            self.reserve_keys(self.license_kinds)

    def _title(self) -> Text:
        order = self.order
        assert order is not None
        now = self.app.context.now()
        text = Text()
        text.append(f"Provision #{order.id} ", style="bold")
        text.append(
            f"{order.client_company or order.client_name} - {order.product_name}"
            f" - waiting {format_age(order.paid_at or order.created_at, now)}"
        )
        warning = theme_style(self.app, "warning")
        if self.retry_job is not None:
            text.append(
                f"\nretry of job {self.retry_job.id[:8]} from {self.retry_job.failed_step}: "
                "only what that step and later ones apply may change",
                style=warning,
            )
        elif self.parked_job is not None and self.parked_job.state == JobState.READY_FOR_ENGINEER:
            text.append(
                f"\npre-cloned {self.parked_job.vm_name} (down): the launch resizes, "
                "initialises and starts it",
                style=theme_style(self.app, "success"),
            )
        elif self.parked_job is not None:
            text.append(
                f"\nbeing pre-cloned ({self.parked_job.state}): the launch waits for the "
                "copy, then resizes, initialises and starts it",
                style=warning,
            )
        elif amend.lacks_values(order):
            missing = list(amend.missing_from_order(order))
            missing += ["the template"] if self.mapping is None else []
            text.append(
                f"\nbilling left out {', '.join(missing) or 'a value'}: type it here (audited)",
                style=warning,
            )
        elif self.mapping is None:
            text.append("  no product mapping: pick a template", style=warning)
        return text

    def _locked_fields(self) -> set[str]:
        """The form's fields a retry may not change (their step is done)."""
        assert self.retry_job is not None
        editable = amend.editable_on_retry(self.retry_job.failed_step)
        return {amend.FORM_FIELDS[name] for name in amend.APPLIED_BY if name not in editable}

    def _template_options(self) -> list[tuple[str, tuple[str, int]]]:
        now = self.app.context.now()
        stale_days = self.app.context.config.catalog.stale_after_days
        assert self.draft is not None
        recommended = [t.name for t in (self.draft.recommended_templates or [])]
        options = []
        for template in rank_templates(self.templates, recommended):
            sealed = getattr(template, "created_at", None)
            age = (now - sealed).days if sealed else None
            label = f"{template.name} v{template.version_number}"
            if age is not None:
                label += f" {age}d" + (" STALE" if age > stale_days else "")
            if template.name in recommended[:1]:
                label += " (rec)"
            options.append((label, (template.name, template.version_number)))
        return options

    def make_draft(self, overrides: Overrides | None) -> Draft:
        config = self.app.context.config
        draft = draft_plan(
            self.order,
            self.mapping,
            self.templates,
            config,
            overrides if overrides is not None else Overrides(),
            clusters=self.cluster_objects,
        )
        # What billing left out of the order is typed, never guessed.
        draft.problems[:0] = amend.engineer_problems(self.order, overrides or Overrides())
        return draft

    def show_problems(self) -> None:
        self.form.show_problems(self.order, self.draft.problems if self.draft else [])

    def show_preflight(self) -> None:
        retry = self.retry_job
        self.query_one(PlanView).show(
            self.draft,
            self.order,
            self.checks,
            self.preflight_error,
            retry_from=str(retry.failed_step) if retry is not None else None,
        )

    @on(ProvisionForm.Edited)
    def _form_edited(self, event: ProvisionForm.Edited) -> None:
        if self.phase != Phase.EDITING or self.order is None:
            return
        if event.license_only:
            self.form.license_problems()
        else:
            self.draft = self.make_draft(self.form.overrides())
            self.show_problems()
        # A change the pending launch already saw (its Changed message can arrive after the
        # key that launched) keeps the launch; any other change needs a new ctrl+l.
        keep_launch = self.launch_requested and self.form.state() == self._launch_state
        self.checks = []
        self.warnings_confirmed = self.warnings_confirmed and keep_launch
        self.launch_requested = keep_launch
        self.schedule_preflight()

    def schedule_preflight(self) -> None:
        if self.retry_job is not None:
            # A retry goes on with the job's VM: the launch's preflight does not apply.
            self.show_preflight()
            return
        if self._preflight_timer is not None:
            self._preflight_timer.stop()
        self._preflight_timer = self.set_timer(PREFLIGHT_DELAY, self._start_preflight)
        self.show_preflight()

    def _start_preflight(self) -> None:
        self._preflight_timer = None
        if self.draft is None or self.draft.problems or self.draft.plan is None:
            self.show_preflight()
            return
        self.run_preflight(self.draft.plan, self.form.licenses())

    # ---- launch --------------------------------------------------------------------------

    def action_launch(self) -> None:
        if self.phase != Phase.EDITING or self.draft is None:
            return
        if self.vault_pending:
            # Which keys the vault gives decides which fields need a paste: wait for it.
            self.launch_requested = True
            self._launch_state = self.form.state()
            return
        self.draft = self.make_draft(self.form.overrides())
        self.show_problems()
        license_problems = self.form.license_problems()
        if self.draft.problems or license_problems:
            count = len(self.draft.problems) + len(license_problems)
            self.notify(f"{count} field(s) need fixing before launch", severity="error")
            self.form.focus_first_invalid()
            return
        if self.retry_job is not None:
            self.show_run_pane()
            self.launched = True
            self.run_progress.resume()
            self.retry_and_run(self.retry_job.id, self.draft.plan)
            return
        if not self.checks and self.preflight_error is None:
            # The preflight is still asking the engine: launch as soon as it answers.
            self.launch_requested = True
            self._launch_state = self.form.state()
            self.notify("launching as soon as the preflight has answered")
            return
        fails = [check for check in self.checks if check.level == "fail"]
        warns = [check for check in self.checks if check.level == "warn"]
        if fails:
            self.notify(f"preflight failed: {fails[0].message}", severity="error", markup=False)
            return
        if warns and not self.warnings_confirmed:
            self.warnings_confirmed = True
            self.notify(
                f"{len(warns)} warning(s): {warns[0].message}. ctrl+l again launches anyway",
                severity="warning",
                timeout=8,
                markup=False,
            )
            return
        licenses = {
            kind: normalise_license(kind, value) for kind, value in self.form.licenses().items()
        }
        self.show_run_pane()
        self.launched = True
        self.launch_and_run(
            self.draft.plan, licenses, self.admin_password, bool(warns) or self.warnings_confirmed
        )

    def show_run_pane(self) -> None:
        """Swap the form for the live steps and log (the form's work is done); the launch
        shows as under way at once."""
        self.phase = Phase.RUNNING
        self.form.display = False
        self.run_progress.display = True
        self.run_progress.begin(self.order_id, self.draft.plan if self.draft else None)
        self.refresh_bindings()

    def _launched(self, job: Job, password: str | None = None) -> None:
        self.job = job
        self.job_id = job.id
        if password:
            self.admin_password = password
        self.run_progress.write(f"job {job.id} launched for order {self.order_id}")

    def _password_kept(self, password: str | None) -> None:
        if password:
            self.admin_password = password

    # ---- progress ------------------------------------------------------------------------

    def on_job_progress(self, message: JobProgress) -> None:
        event = message.event
        if event.order_id != self.order_id and event.job_id != self.job_id:
            return
        self.job_id = self.job_id or event.job_id
        self.run_progress.add_event(event)
        if event.step == Step.IP_WAIT and event.kind == "info":
            self.read_hostname_wait()  # the event may say the guest reports another name
        elif event.kind in ("finished", "failed") and self.hostname_seen is not None:
            self.show_hostname_wait(None)

    def show_hostname_wait(self, seen: dict[str, Any] | None) -> None:
        """The guest's other hostname, with the keys that end the wait, or nothing."""
        if self.phase != Phase.RUNNING:
            seen = None
        self.hostname_seen = seen
        self.run_progress.show_notice(
            f"{waiting_text(seen)}. a: accept it now, f: fail now" if seen else None
        )
        self.refresh_bindings()

    def _back_to_form(self, error: BaseException) -> None:
        self.phase = Phase.EDITING
        self.launched = False  # refused before a job existed: the claim is still this screen's
        self.checks = list(getattr(error, "checks", None) or self.checks)
        self.run_progress.stop()
        self.run_progress.display = False
        self.form.display = True
        self.show_preflight()
        notify_error(self, error)
        self.refresh_bindings()

    def _finished(self, job: Job) -> None:
        self.job = job
        self.job_id = job.id
        self.phase = {JobState.DONE: Phase.DONE, JobState.CANCELLED: Phase.CANCELLED}.get(
            job.state, Phase.FAILED
        )
        self.run_progress.show(job.state)
        self.show_outcome()

    def _run_failed(self, error: BaseException) -> None:
        if self.job_id is None:
            # Refused before a job existed (preflight, claim, a key): back to the form.
            self._back_to_form(error)
            return
        self.phase = Phase.FAILED
        self.error_message = error_message(error)
        self.error_hint = error_hint(error)
        self.refresh_job()
        self.show_outcome()

    def show_outcome(self) -> None:
        panel = self.run_progress.outcome
        job = self.job
        if self.phase == Phase.DONE and job is not None and self.draft and self.draft.plan:
            self.admin_user = self.draft.plan.admin_user
            panel.show_done(job, self.admin_user, self.admin_password)
        elif self.phase == Phase.FAILED:
            self.run_progress.stop()
            message = (
                job.error_message
                if job is not None and job.error_message
                else self.error_message or "the job failed"
            )
            hint = job.error_hint if job is not None and job.error_hint else self.error_hint
            step = job.failed_step if job is not None else self.run_progress.current_step
            panel.show_failed(step, message, hint)
        elif self.phase == Phase.CANCELLED:
            self.run_progress.stop()
            panel.show_cancelled()
        self.refresh_bindings()
