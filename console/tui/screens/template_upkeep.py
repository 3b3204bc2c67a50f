"""The Templates screen's refresh action: confirm, then run the refresh in a worker thread and
show its progress in the screen's RefreshStatus line (the same RefreshRunner as the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.refresh_status import RefreshStatus

if TYPE_CHECKING:
    from console.tui.screens.templates import TemplatesScreen


def ask_and_refresh(screen: TemplatesScreen, template: Any | None) -> None:
    if template is None:
        screen.notify("select a template first", severity="warning")
        return
    context = screen.app.context
    policy = context.config.catalog.upkeep_for(template.name)
    detail = (
        f"A build VM tpl-build-{template.name}-... is cloned from v{template.version_number}"
        f" (the latest), runs the {'configured' if policy.update_script else 'default'} "
        f"update script and powers off; a new sealed version is made from it and the "
        f"build VM removed. Retention keeps {policy.keep_versions} versions (prune with "
        f"vps-console templates prune {template.name})."
    )
    screen.app.push_screen(
        ConfirmDialog(f"Refresh template {template.name}?", detail),
        lambda yes: _start(screen, template.name) if yes else None,
    )


def _start(screen: TemplatesScreen, name: str) -> None:
    status = screen.query_one(RefreshStatus)
    app = screen.app

    def on_event(event) -> None:
        from console.store import refresh_jobs

        row = refresh_jobs.get(app.context.store, event.refresh_id)
        app.call_from_thread(status.show_refresh, row, event.message)

    def run() -> Any:
        from console.flow.services import Services
        from console.flow.upkeep.refresh import RefreshRunner

        services = app.context.services
        assert isinstance(services, Services)  # a refresh needs the flow's store and config
        return RefreshRunner(services, on_event=on_event).refresh(name)

    def finished(row) -> None:
        status.show_refresh(row)
        if row.state == "done":
            screen.notify(f"{name} v{row.new_version_number} is sealed and ok")
            screen.loop.request()  # show the new version in the catalog
        else:
            screen.notify(f"refresh of {name}: {row.state}", severity="error")

    def work() -> None:
        try:
            row = run()
        except Exception as error:  # noqa: BLE001 - shown to the engineer, never a crash
            message = getattr(error, "message", str(error))
            app.call_from_thread(screen.notify, f"refresh of {name}: {message}", severity="error")
            return
        app.call_from_thread(finished, row)

    screen.run_worker(
        work, thread=True, exclusive=True, group="template-refresh", exit_on_error=False
    )


def ask_and_prune(screen: TemplatesScreen, template: Any | None) -> None:
    """Retention for the selected template: read the plan in a worker, confirm it (each kept
    version with its reason), then remove the unused old versions in a worker."""
    if template is None:
        screen.notify("select a template first", severity="warning")
        return
    app = screen.app
    name = template.name

    def plan_it() -> None:
        from console.flow.upkeep.retention import plan_retention

        try:
            plan = plan_retention(
                app.context.config, app.context.store, app.context.services.engine(), name
            )
        except Exception as error:  # noqa: BLE001 - shown to the engineer, never a crash
            app.call_from_thread(
                screen.notify,
                f"retention of {name}: {getattr(error, 'message', error)}",
                severity="error",
            )
            return
        app.call_from_thread(_confirm_prune, screen, plan)

    screen.run_worker(
        plan_it, thread=True, exclusive=True, group="template-prune", exit_on_error=False
    )


def _confirm_prune(screen: TemplatesScreen, plan) -> None:
    kept = "\n".join(f"keep {k.template.label}: {k.reason}" for k in plan.kept)
    if not plan.remove:
        screen.notify(
            f"{plan.template}: nothing to remove (keeps the newest "
            f"{plan.keep_versions})" + (f"\n{kept}" if kept else "")
        )
        return
    removed = ", ".join(t.label for t in plan.remove)
    detail = f"unused, older than the newest {plan.keep_versions}: {removed}" + (
        f"\n{kept}" if kept else ""
    )
    screen.app.push_screen(
        ConfirmDialog(f"Remove {len(plan.remove)} old version(s) of {plan.template}?", detail),
        lambda yes: _prune(screen, plan) if yes else None,
    )


def _prune(screen: TemplatesScreen, plan) -> None:
    app = screen.app

    def work() -> None:
        from console.flow.upkeep.retention import apply_retention

        context = app.context
        try:
            apply_retention(
                plan,
                context.services.engine(),
                context.store,
                context.actor,
                context.config.engine().name,
            )
        except Exception as error:  # noqa: BLE001 - shown to the engineer, never a crash
            app.call_from_thread(
                screen.notify,
                f"retention of {plan.template}: {getattr(error, 'message', error)}",
                severity="error",
            )
            return
        refused = "; ".join(f"{k.template.label}: {k.reason}" for k in plan.refused)
        app.call_from_thread(
            screen.notify,
            f"removed {', '.join(t.label for t in plan.removed) or 'nothing'}"
            + (f"; kept {refused}" if refused else ""),
        )
        app.call_from_thread(screen.loop.request)

    screen.run_worker(
        work, thread=True, exclusive=True, group="template-prune", exit_on_error=False
    )
