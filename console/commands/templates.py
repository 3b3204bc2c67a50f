"""`vps-console templates list|show|refresh|prune|retire|drift`: keep the template catalog fresh.

Exit codes: 0 done, 1 a refresh failed or was cancelled, 2 bad input (or a retirement refused,
with its reason).
"""

from __future__ import annotations

import json
import sys

import click

from console.commands.provision import ProgressPrinter, services_for
from console.errors import BadInput
from console.flow.upkeep import drift as drift_mod
from console.flow.upkeep import policy, retention
from console.flow.upkeep.machine import UNFINISHED, Position
from console.flow.upkeep.refresh import RefreshBusy, RefreshRunner
from console.store import refresh_jobs


def _runner(ctx) -> RefreshRunner:
    return RefreshRunner(services_for(ctx), on_event=ProgressPrinter())


def _engine(ctx):
    return services_for(ctx).engine()


def refresh_to_dict(row: refresh_jobs.TemplateRefresh, *, events: bool = False) -> dict:
    data = {
        "id": row.id,
        "template": row.template_name,
        "engine": row.engine,
        "state": row.state,
        "failed_step": row.failed_step,
        "source_version": row.source_version,
        "new_version": row.new_version_number,
        "new_version_name": row.new_version_name,
        "new_template_id": row.new_template_id,
        "build_vm": row.build_vm_name,
        "error": (
            {"code": row.error_code, "message": row.error_message, "hint": row.error_hint}
            if row.error_message
            else None
        ),
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "script_seconds": (row.data or {}).get("script_seconds"),
    }
    if events:
        data["events"] = [e for e in row.events or [] if e.get("kind") != "engine"]
    return data


def _position(row) -> str:
    return str(Position.of(row.state, row.failed_step))


@click.group("templates")
def command() -> None:
    """Template upkeep: list, show, refresh, prune, retire, drift."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def list_command(ctx, as_json: bool) -> None:
    """Each template's latest version, its age against max_age_days, and what it serves."""
    templates = _engine(ctx).list_templates()
    counts: dict[str, int] = {}
    for template in templates:
        counts[template.name] = counts.get(template.name, 0) + 1
    open_refreshes = {
        r.template_name: r
        for r in refresh_jobs.list_refreshes(ctx.store, states=UNFINISHED + ("failed",))
    }
    rows = policy.staleness(ctx.config, templates)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "template": s.template,
                        "latest_version": s.version,
                        "versions": counts[s.template],
                        "sealed_at": s.sealed_at.isoformat() if s.sealed_at else None,
                        "age_days": s.age_days,
                        "max_age_days": s.max_age_days,
                        "stale": s.stale,
                        "products": list(s.products),
                        "refresh": (
                            refresh_to_dict(open_refreshes[s.template])
                            if s.template in open_refreshes
                            else None
                        ),
                    }
                    for s in rows
                ],
                indent=2,
            )
        )
        return
    click.echo(f"{'TEMPLATE':<20} {'LATEST':<7} {'VERS':<5} {'AGE':<8} {'MAX':<5} {'':<6} PRODUCTS")
    for s in rows:
        age = f"{s.age_days}d" if s.age_days is not None else "?"
        flag = "STALE" if s.stale else ""
        refresh = open_refreshes.get(s.template)
        extra = f"  [refresh {refresh.id}: {_position(refresh)}]" if refresh else ""
        click.echo(
            f"{s.template:<20} v{s.version:<6} {counts[s.template]:<5} {age:<8} "
            f"{s.max_age_days:<5} {flag:<6} {', '.join(s.products) or '-'}{extra}"
        )


@command.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def show_command(ctx, name: str, as_json: bool) -> None:
    """A template's versions (and why old ones are kept), its policy and its refreshes."""
    services = services_for(ctx)
    engine = services.engine()
    versions = retention.versions_of(engine, name)
    reasons = retention.keep_reasons(ctx.config, ctx.store, engine, name, versions)
    entry = ctx.config.catalog.upkeep_for(name)
    history = refresh_jobs.list_refreshes(ctx.store, template_name=name, limit=10)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "template": name,
                    "keep_versions": entry.keep_versions,
                    "max_age_days": entry.max_age_days,
                    "update_script": str(entry.update_script) if entry.update_script else None,
                    "products": list(policy.products_of(ctx.config, name)),
                    "versions": [
                        {
                            "id": t.id,
                            "version": t.version_number,
                            "name": t.version_name,
                            "status": t.status,
                            "sealed_at": t.created_at.isoformat() if t.created_at else None,
                            "in_use": reasons.get(t.id),
                        }
                        for t in versions
                    ],
                    "refreshes": [refresh_to_dict(r) for r in history],
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{name}: keep {entry.keep_versions} versions, max age {entry.max_age_days} days, "
        f"update script {entry.update_script or 'default'}; serves "
        f"{', '.join(policy.products_of(ctx.config, name)) or 'no product'}"
    )
    for t in versions:
        sealed = f"{t.created_at:%Y-%m-%d}" if t.created_at else "?"
        click.echo(
            f"  v{t.version_number:<3} {t.version_name:<16} {t.status:<7} sealed {sealed}"
            + (f"  in use: {reasons[t.id]}" if t.id in reasons else "")
        )
    for r in history:
        click.echo(
            f"  refresh {r.id} {_position(r):<22} {r.created_at:%Y-%m-%d %H:%M} "
            f"v{r.source_version or '?'} -> "
            f"{('v' + str(r.new_version_number)) if r.new_version_number else '-'}"
            + (f"  {r.error_message}" if r.error_message else "")
        )


def _print_plan(plan: retention.RetentionPlan) -> None:
    click.echo(
        f"retention of {plan.template}: keep the newest {plan.keep_versions} ("
        + ", ".join(f"v{t.version_number}" for t in plan.newest)
        + ")"
    )
    for kept in plan.kept:
        click.echo(f"  keep   {kept.template.label}: {kept.reason}")
    for template in plan.remove:
        click.echo(f"  remove {template.label} ({template.version_name}): unused")


def _prune(ctx, name: str, yes: bool) -> retention.RetentionPlan:
    services = services_for(ctx)
    engine = services.engine()
    plan = retention.plan_retention(ctx.config, ctx.store, engine, name)
    _print_plan(plan)
    if not plan.remove:
        return plan
    if not yes:
        click.echo("  nothing removed: add --yes to remove these versions")
        return plan
    retention.apply_retention(plan, engine, ctx.store, services.actor, ctx.config.engine().name)
    for template in plan.removed:
        click.echo(f"  removed {template.label}")
    for kept in plan.refused:
        click.echo(f"  kept {kept.template.label}: the engine refused: {kept.reason}")
    return plan


def _finish(
    ctx, rows: list[refresh_jobs.TemplateRefresh], yes: bool, *, failed: bool = False
) -> None:
    for row in rows:
        if row.state == "done":
            click.echo(
                f"refresh {row.id}: done: {row.template_name} v{row.new_version_number} "
                f"({row.new_version_name}) is sealed and ok"
            )
            _prune(ctx, row.template_name, yes)
        elif row.state == "failed":
            failed = True
            click.echo(
                f"refresh {row.id}: failed({row.failed_step}): {row.error_message}", err=True
            )
            if row.error_hint:
                click.echo(f"hint: {row.error_hint}", err=True)
            click.echo(
                f"then: vps-console templates refresh --retry {row.id}   (or --cancel {row.id})",
                err=True,
            )
        else:
            failed = True
            click.echo(f"refresh {row.id}: {_position(row)}", err=True)
    sys.exit(1 if failed else 0)


@command.command("refresh")
@click.argument("name", required=False)
@click.option(
    "--stale", is_flag=True, help="Refresh every template older than its max_age_days (for cron)."
)
@click.option("--resume", is_flag=True, help="Finish every unfinished refresh (after a crash).")
@click.option(
    "--retry", "retry_id", metavar="ID", help="Run a failed refresh again from its failed step."
)
@click.option(
    "--cancel", "cancel_id", metavar="ID", help="Cancel a refresh: removes only what it created."
)
@click.option(
    "--yes", is_flag=True, help="Then remove old unused versions (retention) without asking."
)
@click.pass_obj
def refresh_command(
    ctx,
    name: str | None,
    stale: bool,
    resume: bool,
    retry_id: str | None,
    cancel_id: str | None,
    yes: bool,
) -> None:
    """Refresh NAME: a build VM runs the update script, a new sealed sub-version is made."""
    chosen = [bool(name), stale, resume, bool(retry_id), bool(cancel_id)]
    if sum(chosen) != 1:
        raise BadInput(
            "say what to refresh: NAME, --stale, --resume, --retry ID or --cancel ID (one of them)",
            "e.g. vps-console templates refresh alma9-cpanel",
        )
    runner = _runner(ctx)
    if cancel_id:
        row = runner.cancel(cancel_id)
        if row.state == "cancelled":
            click.echo(f"refresh {row.id} cancelled: {row.events[-1]['message']}")
            return
        click.echo(f"refresh {row.id}: cancel requested; its runner rolls it back at its next step")
        return
    if retry_id:
        _finish(ctx, [runner.retry(retry_id)], yes)
    if resume:
        ran = runner.resume_unfinished()
        if not ran:
            click.echo("no unfinished refreshes to resume")
            return
        _finish(
            ctx, [found for i in ran if (found := refresh_jobs.get(ctx.store, i)) is not None], yes
        )
    if stale:
        names = [
            s.template
            for s in policy.staleness(ctx.config, _engine(ctx).list_templates())
            if s.stale
        ]
        if not names:
            click.echo("no stale templates")
            return
        click.echo("stale: " + ", ".join(names))
        rows, busy = [], False
        for stale_name in names:
            try:
                rows.append(runner.refresh(stale_name))
            except RefreshBusy as error:  # one open refresh must not stop the others (cron)
                busy = True
                click.echo(f"{stale_name}: not refreshed: {error.message}", err=True)
                if error.hint:
                    click.echo(f"hint: {error.hint}", err=True)
        if busy and not rows:
            sys.exit(1)
        _finish(ctx, rows, yes, failed=busy)
    assert name  # exactly one of the choices was given, and the others returned
    _finish(ctx, [runner.refresh(name)], yes)


@command.command("prune")
@click.argument("name")
@click.option(
    "--yes", is_flag=True, help="Remove the unused old versions (without it: only show them)."
)
@click.pass_obj
def prune_command(ctx, name: str, yes: bool) -> None:
    """Apply retention to NAME: keep the newest keep_versions and what is still used."""
    _prune(ctx, name, yes)


@command.command("retire")
@click.argument("target", metavar="NAME:VERSION")
@click.option("--yes", is_flag=True, help="Do it without asking.")
@click.pass_obj
def retire_command(ctx, target: str, yes: bool) -> None:
    """Remove one old version, refused (with the reason) while anything uses it."""
    name, _, version = target.rpartition(":")
    if not name or not version.isdigit():
        raise BadInput(f"{target!r} is not NAME:VERSION", "e.g. alma9-cpanel:2")
    if not yes and not click.confirm(f"remove {name} v{version} from the engine?", default=False):
        raise BadInput("not removed", "confirm, or add --yes")
    services = services_for(ctx)
    template = retention.retire(
        ctx.config,
        ctx.store,
        services.engine(),
        services.actor,
        ctx.config.engine().name,
        name,
        int(version),
    )
    click.echo(f"removed {template.label} ({template.version_name})")


@command.command("drift")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def drift_command(ctx, as_json: bool) -> None:
    """The console's VMs: the template version each came from, and how far behind the latest."""
    rows = drift_mod.drift(ctx.config, _engine(ctx))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo("no VMs provisioned by this console")
        return
    click.echo(f"{'VM':<14} {'ORDER':<8} {'TEMPLATE':<20} {'FROM':<6} {'LATEST':<7} BEHIND")
    for r in rows:
        behind = (
            "?"
            if r.behind is None
            else ("up to date" if r.behind == 0 else f"{r.behind} version(s), {r.days_behind} days")
        )
        click.echo(
            f"{r.vm:<14} {r.order_id:<8} {r.template or '?':<20} "
            f"v{r.version or '?':<5} v{r.latest_version or '?':<6} {behind}"
        )
