"""The template refresh runner: one template's latest version in, a new sealed sub-version out.

Reconcile, not replay: every step first reads what the engine has (the build VM by its
deterministic name and the job mark in its comment, the new version by the name chosen when
the refresh was planned), then does only what is missing. The row is committed before and
after every engine call that changes something, so a `kill -9` anywhere leaves a refresh
that `templates refresh --resume` finishes with exactly one new version and no build VM.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from console.errors import BadInput
from console.flow.timing import ENV_TIME_SCALE, Timing
from console.flow.upkeep import scripts

# RefreshFailed, mark and refresh_of are part of this module's face (CLI, TUI, tests).
from console.flow.upkeep.build_vm import RefreshBusy, RefreshFailed, build_vm_name, mark, refresh_of
from console.flow.upkeep.machine import UNFINISHED, Position, RefreshState, transition
from console.flow.upkeep.steps import RefreshPass
from console.store import audit
from console.store import refresh_jobs as repo
from console.store.models import utcnow

if TYPE_CHECKING:
    from console.config import Config
    from console.flow.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshEvent:
    refresh_id: str
    template: str
    state: str
    step: str | None
    kind: str  # started | finished | failed | info
    message: str
    at: datetime

    def line(self) -> str:
        return f"{self.at:%H:%M:%S} {self.template} {self.kind:<8} {self.step or '':<12} {self.message}"


def _env_scale() -> float:
    try:
        factor = float(os.environ.get(ENV_TIME_SCALE, ""))
    except ValueError:
        return 1.0
    return factor if 0 < factor < 1 else 1.0


class RefreshRunner:
    """Plans, runs, resumes, retries and cancels template refreshes."""

    def __init__(
        self,
        services: Services,
        *,
        timing: Timing | None = None,
        time_scale: float | None = None,
        on_event: Callable[[RefreshEvent], None] | None = None,
    ):
        self.services = services
        self.store = services.store
        self.timing = timing or Timing.from_env()
        # Scales the script timeout (minutes in the config) like the rest of the waits.
        self.time_scale = time_scale if time_scale is not None else _env_scale()
        self.on_event = on_event
        self.actor = services.actor

    @property
    def config(self) -> Config:
        return self.services.config

    # ------------------------------------------------------------------ planning
    def plan(self, template_name: str, engine_name: str | None = None) -> repo.TemplateRefresh:
        """Persist a `planned` refresh of `template_name` (does not run it)."""
        engine_config = self.config.engine(engine_name)
        open_ones = repo.list_refreshes(
            self.store, template_name=template_name, states=UNFINISHED + ("failed",)
        )
        open_ones = [r for r in open_ones if r.engine == engine_config.name]
        if open_ones:
            other = open_ones[0]
            raise RefreshBusy(
                f"template {template_name} already has refresh {other.id} "
                f"({Position.of(other.state, other.failed_step)})",
                f"resume it (vps-console templates refresh --resume), retry it "
                f"(templates refresh --retry {other.id}) or cancel it "
                f"(templates refresh --cancel {other.id})",
            )
        engine = self.services.engine(engine_config.name)
        versions = [
            t
            for t in engine.list_templates(search=f"name={template_name}")
            if t.name == template_name
        ]
        if not versions:
            names = sorted({t.name for t in engine.list_templates()})
            raise BadInput(
                f"the engine has no template {template_name!r}", "pick one of: " + ", ".join(names)
            )
        policy_entry = self.config.catalog.upkeep_for(template_name)
        latest = max(versions, key=lambda t: t.version_number)
        script = scripts.script_for(latest, self._script_path(policy_entry.update_script))
        refresh_id = repo.new_refresh_id()
        row = repo.create(
            self.store,
            template_name=template_name,
            engine=engine_config.name,
            created_by=self.actor,
            refresh_id=refresh_id,
            build_vm_name=build_vm_name(template_name, refresh_id),
            data={
                "script_chars": len(script),
                "custom_script": policy_entry.update_script is not None,
            },
        )
        with self.store.session() as session:
            audit.record(
                session,
                "template_refresh",
                actor=self.actor,
                message=f"refresh {row.id} of {template_name} from v"
                f"{latest.version_number} on {engine_config.name}",
                template=template_name,
                refresh=row.id,
            )
        return row

    def _script_path(self, path: Path | None) -> Path | None:
        if path is None or path.is_absolute() or self.config.path is None:
            return path
        return self.config.path.parent / path

    # ------------------------------------------------------------------ running
    def run(self, refresh_id: str) -> repo.TemplateRefresh:
        row = self._row(refresh_id)
        if Position.of(row.state, row.failed_step).terminal:
            return row
        won, holder = repo.acquire(self.store, row.id, self.actor, self.timing.lease_seconds)
        if not won:
            raise RefreshBusy(
                f"refresh {row.id} of {row.template_name} is being run by {holder}",
                "wait for it, or resume once that runner is gone",
            )
        try:
            return RefreshPass(self, row.id).go()
        finally:
            repo.release(self.store, row.id, self.actor)

    def refresh(self, template_name: str, engine_name: str | None = None) -> repo.TemplateRefresh:
        """Plan and run one refresh to its end (done or failed)."""
        return self.run(self.plan(template_name, engine_name).id)

    def resume_unfinished(self) -> list[str]:
        ran = []
        rows = repo.list_refreshes(self.store, states=UNFINISHED)
        rows += [
            r
            for r in repo.list_refreshes(self.store, states=("failed",))
            if (r.data or {}).get("cancel_requested")
        ]
        for row in sorted(rows, key=lambda r: r.created_at):
            try:
                self.run(row.id)
                ran.append(row.id)
            except RefreshBusy as busy:
                log.info("refresh %s not resumed: %s", row.id, busy.message)
        return ran

    def retry(self, refresh_id: str) -> repo.TemplateRefresh:
        row = self._row(refresh_id)
        if row.state != RefreshState.FAILED:
            raise BadInput(
                f"refresh {row.id} is {row.state}; only a failed refresh can be retried",
                "an unfinished one goes on with vps-console templates refresh --resume",
            )
        position = transition(Position.of(row.state, row.failed_step), "retry")
        repo.update_row(
            self.store,
            row.id,
            state=position.state.value,
            failed_step=None,
            error_code=None,
            error_message=None,
            error_hint=None,
            data={f"since_{position.state.value}": None},
            event={
                "step": position.state.value,
                "kind": "info",
                "message": f"retry from {position.state} by {self.actor}",
            },
        )
        return self.run(row.id)

    def cancel(self, refresh_id: str) -> repo.TemplateRefresh:
        """Remove what this refresh created (its build VM, a version it made), then cancel it.
        A runner holding it rolls back at its next check."""
        row = self._row(refresh_id)
        if Position.of(row.state, row.failed_step).terminal:
            raise BadInput(f"refresh {row.id} is {row.state}; there is nothing to cancel")
        with self.store.session() as session:
            audit.record(
                session,
                "template_refresh_cancel",
                actor=self.actor,
                message=f"cancel of refresh {row.id} of {row.template_name} at "
                f"{Position.of(row.state, row.failed_step)}",
                template=row.template_name,
                refresh=row.id,
            )
        repo.update_row(
            self.store,
            row.id,
            data={"cancel_requested": self.actor},
            event={
                "step": row.failed_step or row.state,
                "kind": "info",
                "message": f"cancel requested by {self.actor}",
            },
        )
        won, _ = repo.acquire(self.store, row.id, self.actor, self.timing.lease_seconds)
        if not won:
            return self._row(row.id)
        try:
            return RefreshPass(self, row.id).rollback()
        finally:
            repo.release(self.store, row.id, self.actor)

    def _row(self, refresh_id: str) -> repo.TemplateRefresh:
        row = repo.get(self.store, refresh_id)
        if row is None:
            raise BadInput(
                f"no template refresh {refresh_id}",
                "list them with vps-console templates show NAME",
            )
        return row

    def emit(self, row: repo.TemplateRefresh, kind: str, step: str | None, message: str) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(
                RefreshEvent(
                    row.id,
                    row.template_name,
                    str(Position.of(row.state, row.failed_step)),
                    step,
                    kind,
                    message,
                    utcnow(),
                )
            )
        except Exception:
            log.warning("refresh progress listener failed", exc_info=True)


__all__ = [
    "RefreshBusy",
    "RefreshEvent",
    "RefreshFailed",
    "RefreshRunner",
    "build_vm_name",
    "mark",
    "refresh_of",
]
