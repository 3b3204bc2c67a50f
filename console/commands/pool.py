"""`vps-console pool status|refill`: the warm pool (console/flow/pool.py)."""

from __future__ import annotations

import json
import time

import click

from console.commands.provision import services_for
from console.flow import pool
from console.flow.eta import format_duration
from console.store.models import ensure_aware, utcnow

NO_POOL = (
    "no [[pool]] configured: add one per template to keep VMs ready "
    "(see config.example.toml, Warm pool)"
)


@click.group("pool")
def command() -> None:
    """The warm pool: VMs cloned ahead of orders (status, refill)."""


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def status_command(ctx, as_json: bool) -> None:
    """Each pool: ready and cloning VMs, their template versions and ages, the last refill."""
    services = services_for(ctx)
    now = utcnow()
    pools = pool.status(services.config, services.store, now=now)
    rows = pool.pool_rows(services.store)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "pool": p.key,
                        "template": p.entry.template,
                        "cluster": p.entry.cluster,
                        "storage_domain": p.entry.storage_domain,
                        "size": p.entry.size,
                        "ready": p.ready,
                        "cloning": p.cloning,
                        "being_taken": p.taken,
                        "versions": list(p.versions),
                        "oldest_age_seconds": p.oldest_age.total_seconds()
                        if p.oldest_age
                        else None,
                        "refilling_by": p.refilling_by,
                        "last_refill": p.last_action,
                        "last_refill_at": p.last_action_at.isoformat()
                        if p.last_action_at
                        else None,
                        "last_error": p.last_error or None,
                        "vms": [
                            {
                                "name": r.name,
                                "state": r.state,
                                "version": r.template_version,
                                "created_at": r.created_at.isoformat(),
                            }
                            for r in rows
                            if r.pool_key == p.key
                        ],
                    }
                    for p in pools
                ],
                indent=2,
            )
        )
        return
    if not pools:
        click.echo(NO_POOL)
        return
    for entry in pools:
        click.echo(entry.line())
        where = entry.entry.storage_domain or "the template's storage domain"
        click.echo(f"  on {where}, max age {entry.entry.max_age_hours} h")
        if entry.refilling_by:
            click.echo(f"  refilling now: {entry.refilling_by}")
        if entry.last_action_at is not None:
            ago = format_duration((now - entry.last_action_at).total_seconds())
            click.echo(f"  last refill {ago} ago: {entry.last_action or 'nothing to do'}")
        for row in rows:
            if row.pool_key != entry.key:
                continue
            age = format_duration((now - ensure_aware(row.created_at)).total_seconds())
            click.echo(f"    {row.name:<32} {row.state:<9} v{row.template_version:<4} {age}")


@command.command("refill")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds between passes.",
)
@click.pass_obj
def refill_command(ctx, once: bool, every: float) -> None:
    """Keep every pool full: clone what is missing, replace old versions and VMs past max
    age. Runs until stopped, or one pass with --once; exit 1 when a pass failed."""
    services = services_for(ctx)
    if not services.config.pool:
        click.echo(NO_POOL)
        return
    keeper = pool.PoolKeeper(services)
    while True:
        reports = keeper.refill()
        for report in reports:
            click.echo(report.line())
        if once:
            raise SystemExit(1 if any(r.error for r in reports) else 0)
        time.sleep(every)
