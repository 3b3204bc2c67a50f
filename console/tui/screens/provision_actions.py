"""The Provision screen's keys once there is something to act on, and what closing it
gives back.

Which key is offered depends on the phase (PHASE_ACTIONS); the rules behind each (who may
release a claim, when a hostname decision is taken, what a retry may change) are the
flow's and the store's: these methods only ask them, on a worker thread.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from textual import work

from console.flow import vault
from console.flow.hostname_wait import HostnameDecision, mismatch_of, request_decision
from console.store.claims import release_order
from console.store.models import Job
from console.tui.screens.provision_workers import ProvisionWorkers
from console.tui.widgets.confirm import ConfirmDialog

if TYPE_CHECKING:
    from console.tui.widgets.run_progress import RunProgress


class Phase(StrEnum):
    LOADING = "loading"
    EDITING = "editing"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Which actions exist in which phase; the others are hidden from the footer and help.
PHASE_ACTIONS = {
    "copy_credentials": (Phase.DONE,),
    "retry": (Phase.FAILED,),
    "edit_plan": (Phase.FAILED,),
    "cancel_job": (Phase.FAILED, Phase.RUNNING),
    "launch": (Phase.EDITING,),
    "regenerate_password": (Phase.EDITING,),
    "release_claim": (Phase.LOADING, Phase.EDITING, Phase.FAILED, Phase.CANCELLED),
    "accept_hostname": (Phase.RUNNING,),
    "fail_hostname": (Phase.RUNNING,),
}
NEEDS_JOB = ("retry", "edit_plan", "cancel_job", "accept_hostname", "fail_hostname")


class ProvisionActions(ProvisionWorkers):
    if TYPE_CHECKING:
        phase: Phase
        job: Job | None
        admin_password: str | None
        admin_user: str | None
        license_kinds: tuple[str, ...]
        launched: bool  # a launch or retry began here: the claim is the job's now
        hostname_seen: dict[str, Any] | None

        @property
        def run_progress(self) -> RunProgress: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that apply now are in the footer and help (False hides one)."""
        phases = PHASE_ACTIONS.get(action)
        if phases is None:
            return True
        if action in ("accept_hostname", "fail_hostname") and self.hostname_seen is None:
            return False
        return self.phase in phases and self.job_id_ready(action)

    def job_id_ready(self, action: str) -> bool:
        return action not in NEEDS_JOB or self.job_id is not None

    def action_copy_credentials(self) -> None:
        job = self.job
        if job is None or not self.admin_password:
            return
        self.app.copy_to_clipboard(
            f"{', '.join(job.ips or [])}\n{self.admin_user}\n{self.admin_password}"
        )
        self.notify("credentials copied (OSC 52); if your terminal blocks it, select them here")

    def action_retry(self) -> None:
        if not self.job_id:
            return
        self.phase = Phase.RUNNING
        self.launched = True
        self.run_progress.resume()
        self.refresh_bindings()
        self.retry_and_run(self.job_id)

    def action_edit_plan(self) -> None:
        """The form again, from the failed job's plan: what is left to do may change."""
        from console.tui.screens.provision import ProvisionScreen

        self.app.switch_screen(ProvisionScreen(self.order_id))

    def action_cancel_job(self) -> None:
        job_id = self.job_id
        if not job_id:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_job(job_id)

        self.app.push_screen(
            ConfirmDialog(
                f"Cancel the job for order #{self.order_id}?",
                "Rollback removes only a VM this job created.",
            ),
            answered,
        )

    def action_regenerate_password(self) -> None:
        from console.secrets import generate_password

        self.admin_password = generate_password()
        self.notify("new admin password generated")

    # ---- leaving -----------------------------------------------------------------------

    def action_back(self) -> None:
        if self.phase == Phase.RUNNING:
            self.notify("the job keeps running; follow it on the Jobs screen (4)")
        self.app.pop_screen()

    def action_release_claim(self) -> None:
        """Give the order back to the queue and close (on_unmount does the releasing)."""
        self.app.pop_screen()

    def on_unmount(self) -> None:
        self.app.progress.forget(self)
        # The credentials are shown once: nothing keeps them after the screen is gone.
        self.admin_password = None
        if not self.launched:
            self.closed_without_launch()

    def closed_without_launch(self) -> None:
        """However the screen closed (esc, `R`, `1`-`4`), nothing was launched from it: the
        claim and the keys the vault set aside go back (in an app worker: this screen's
        workers end with it)."""
        store, actor = self.app.context.store, self.app.context.services.actor
        order_id, kinds = self.order_id, self.license_kinds
        app = self.app

        def give_back() -> None:
            if kinds:
                vault.on_draft_abandoned(store, order_id, actor=actor)
            if release_order(store, order_id, actor):
                app.call_from_thread(app.notify, f"order {order_id} released to the queue")

        app.run_worker(give_back, thread=True, group="provision-abandon", exit_on_error=False)

    # ---- a guest reporting another hostname --------------------------------------------

    @work(thread=True, exclusive=True, group="provision-hostname", exit_on_error=False)
    def read_hostname_wait(self) -> dict[str, Any] | None:
        """The job's hostname mismatch, if ip_wait is waiting on one (after its event)."""
        with self.app.context.store.session() as session:
            job = session.get(Job, self.job_id)
        return mismatch_of(job) if job is not None else None

    @work(thread=True, exclusive=True, group="provision-decide", exit_on_error=False)
    def decide_hostname(self, decision: HostnameDecision) -> Job:
        assert self.job_id is not None
        context = self.app.context
        return request_decision(context.store, self.job_id, decision, context.services.actor)

    def action_accept_hostname(self) -> None:
        self.decide_hostname(HostnameDecision.ACCEPT)
        self.notify("accepting the name the guest reports; the handover follows")

    def action_fail_hostname(self) -> None:
        self.decide_hostname(HostnameDecision.FAIL)
        self.notify("failing the step now; fix the name, then edit or retry")
