"""The Provision screen's workers: everything it asks the engine, the store and the runner
runs on a thread here, so a slow engine never freezes the form. The screen
(console.tui.screens.provision) handles what they return in on_worker_state_changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.screen import Screen

from console.flow import parking, vault
from console.flow.plan import Plan
from console.store.models import Job, Order
from console.tui import data

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp


class ProvisionWorkers(Screen):
    """The threads of one Provision screen, by worker group (one of each at a time)."""

    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
        order_id: str
        job_id: str | None
        _launched: Callable[..., None]
        _finished: Callable[[Job], None]
        _password_kept: Callable[[str | None], None]

    @work(thread=True, exclusive=True, group="provision-load", exit_on_error=False)
    def load(self) -> tuple[Order | None, list[Any], list[Any], Job | None]:
        context = self.app.context
        from console.flow.catalog import refresh_catalog
        from console.store import jobs as repo

        order = data.get_order(context.store, self.order_id)
        engine = context.services.engine()
        templates = refresh_catalog(engine, context.store, context.config.engine().name)
        # A job that failed for this order is retried (its plan edited), not launched anew.
        job = repo.open_job_for_order(context.store, self.order_id)
        return order, templates, engine.clusters(), job

    @work(thread=True, exclusive=True, group="provision-vault", exit_on_error=False)
    def reserve_keys(self, kinds: tuple[str, ...]) -> dict[str, str]:
        """The vault's keys set aside for the order; what the form shows in their place."""
        services = self.app.context.services
        return vault.reserve_for_form(
            self.app.context.store, services.secrets, self.order_id, kinds, actor=services.actor
        )

    def launch_keys(self, plan: Any, pasted: dict[str, str]) -> dict[str, str]:
        """The keys pasted, and the vault's for the rest (in a worker: it may reserve)."""
        services = self.app.context.services
        return vault.keys_for_launch(
            self.app.context.store,
            services.secrets,
            self.order_id,
            plan.key_kinds,
            pasted,
            actor=services.actor,
        )

    @work(thread=True, exclusive=True, group="provision-preflight", exit_on_error=False)
    def run_preflight(self, plan: Any, licenses: dict[str, str]) -> list[Any]:
        from console.flow.preflight import preflight

        context = self.app.context
        return preflight(
            context.services.engine(),
            plan,
            self.launch_keys(plan, licenses),
            context.config.catalog.stale_after_days,
            now=context.now(),
        )

    @work(exclusive=True, group="provision-run", exit_on_error=False)
    async def launch_and_run(
        self, plan: Any, licenses: dict[str, str], password: str | None, confirm_warnings: bool
    ) -> Any:
        # The wait for a pre-clone still copying is not on the job pool: that pre-clone may
        # be queued there behind this launch, and a full pool would wait for itself.
        await asyncio.to_thread(
            parking.wait_if_copying,
            self.app.progress.runner,
            self.order_id,
            plan.disk_gib,
            partial(
                self.app.call_from_thread,
                self.notify,
                "the pre-clone is still copying: the launch goes on once it is done",
            ),
        )
        return await self.app.run_job(
            self._launch_and_run, plan, licenses, password, confirm_warnings
        )

    def _launch_and_run(
        self, plan: Any, licenses: dict[str, str], password: str | None, confirm_warnings: bool
    ) -> Any:
        """On a job thread: record the job, then run it."""
        runner = self.app.progress.runner
        job = runner.launch(
            self.order_id,
            plan,
            self.launch_keys(plan, licenses),
            admin_password=password,
            confirm_warnings=confirm_warnings,
        )
        from console.secrets import admin_password_secret

        # An adopted VM keeps the password it was given: show that one at the end.
        kept = self.app.context.services.secrets.get(admin_password_secret(self.order_id))
        self.app.call_from_thread(self._launched, job, kept)
        return runner.run(job.id)

    @work(exclusive=True, group="provision-run", exit_on_error=False)
    async def retry_and_run(self, job_id: str, plan: Plan | None = None) -> Any:
        return await self.app.run_job(self._retry_and_run, job_id, plan)

    def _retry_and_run(self, job_id: str, plan: Plan | None) -> Any:
        from console.secrets import admin_password_secret

        # The password the launch gave is the one to show at the end.
        kept = self.app.context.services.secrets.get(admin_password_secret(self.order_id))
        self.app.call_from_thread(self._password_kept, kept)
        return self.app.progress.runner.retry(job_id, plan=plan)

    @work(thread=True, exclusive=True, group="provision-cancel", exit_on_error=False)
    def cancel_job(self, job_id: str) -> Any:
        return self.app.progress.runner.cancel(job_id)

    @work(thread=True, exclusive=True, group="provision-job", exit_on_error=False)
    def refresh_job(self) -> None:
        with self.app.context.store.session() as session:
            job = session.get(Job, self.job_id)
        if job is not None:
            self.app.call_from_thread(self._finished, job)
