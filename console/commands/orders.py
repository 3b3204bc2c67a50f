"""`vps-console orders …`: the queue from the command line, for engineers and scripts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from console.billing import fileintake
from console.billing.sync import EMPTY_QUEUE_HINT, billing_staleness, sync_orders
from console.errors import BadInput
from console.flow.intake import intake_reason
from console.identity import current_actor
from console.secrets import billing_secret
from console.store.claims import claim_order, release_order
from console.store.orders import get_order, list_orders, order_to_dict
from console.store.states import IN_QUEUE_STATUSES, OrderStatus
from console.units import format_mib


def _resources(order) -> str:
    parts = [
        f"{order.cpus} vCPU" if order.cpus else "? vCPU",
        format_mib(order.memory_mib) if order.memory_mib else "? RAM",
        f"{order.disk_gib}GiB" if order.disk_gib else "? disk",
    ]
    return " / ".join(parts)


def _emit_json(value) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group("orders")
def command() -> None:
    """The order queue: sync from billing, list, import, add, claim."""


@command.command("sync")
@click.option("--json", "as_json", is_flag=True, help="Print the sync report as JSON.")
@click.pass_obj
def sync(ctx, as_json: bool) -> None:
    """Pull paid orders from WHMCS into the queue (safe to repeat)."""
    # Here, not with the module: the client loads httpx, which the other order commands
    # (list, show, import, add, claim) never use.
    from console.billing.whmcs import open_billing_client

    client = open_billing_client(ctx.config.billing, billing_secret(ctx.secrets))
    with client:
        report = sync_orders(ctx.store, client, ctx.config.catalog)
    if as_json:
        _emit_json(report.to_dict())
    else:
        click.echo(report.summary())


@command.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include done and cancelled orders.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list, for scripts.")
@click.pass_obj
def list_(ctx, show_all: bool, as_json: bool) -> None:
    """Orders waiting to be provisioned, oldest first."""
    orders = list_orders(ctx.store, statuses=None if show_all else IN_QUEUE_STATUSES)
    if as_json:
        _emit_json([order_to_dict(order) for order in orders])
        return
    staleness = billing_staleness(ctx.store)
    if staleness.stale_since:
        click.echo(
            f"billing unreachable since {staleness.stale_since:%Y-%m-%d %H:%M} UTC: "
            f"{staleness.last_error}",
            err=True,
        )
    if not orders:
        click.echo(EMPTY_QUEUE_HINT)
        return
    for order in orders:
        what = order.template_name or f"needs mapping: {order.problem}"
        claimed = f"  [{order.claimed_by}]" if order.claimed_by else ""
        click.echo(
            f"{order.id:>10}  {order.status:<13} {order.created_at:%Y-%m-%d %H:%M}  "
            f"{order.product_name}  {_resources(order)}  -> {what}{claimed}"
        )
        reason = intake_reason(order)
        if reason and order.status in (OrderStatus.NEW, OrderStatus.READY_FOR_ENGINEER):
            click.echo(f"{'':>10}  needs an engineer: {reason}")


@command.command("show")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print the order as JSON.")
@click.pass_obj
def show(ctx, order_id: str, as_json: bool) -> None:
    """Everything known about one order."""
    order = get_order(ctx.store, order_id)
    if order is None:
        raise BadInput(
            f"no order {order_id!r} in the queue",
            "run `vps-console orders sync`, or `orders list --all` to see every id",
        )
    data = order_to_dict(order, full=True)
    if as_json:
        _emit_json(data)
        return
    for key, value in data.items():
        if value not in (None, "", {}, []):
            click.echo(f"{key:>15}: {value}")


@command.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@click.pass_obj
def import_(ctx, file: Path, as_json: bool) -> None:
    """Import orders from a JSON or CSV file (format: see README, "Orders", "Import files")."""
    report = fileintake.import_orders(ctx.store, file, ctx.config.catalog)
    if as_json:
        _emit_json(report.to_dict())
    else:
        click.echo(
            f"imported {len(report.imported)} order(s)"
            + (f", {len(report.needs_mapping)} need mapping" if report.needs_mapping else "")
            + (
                f", {len(report.skipped_existing)} already in the queue"
                if report.skipped_existing
                else ""
            )
        )
        for error in report.errors:
            click.echo(f"{file}: {error}", err=True)
    if report.errors:
        raise SystemExit(2)


@command.command("add")
@click.option(
    "--product", required=True, help='A catalog billing_product, e.g. "VPS Linux cPanel".'
)
@click.option("--client", "client_name", required=True, help="The customer's name.")
@click.option("--email", "client_email", default="", help="The customer's e-mail.")
@click.option("--company", "client_company", default="")
@click.option("--cpus", help="vCPUs (default: the product's).")
@click.option("--memory", help="RAM, e.g. 4GiB (default: the product's).")
@click.option("--disk", help="Disk, e.g. 80GiB (default: the product's).")
@click.option("--os", "os_choice", help="OS choice, for products mapped per OS.")
@click.option("--hostname")
@click.option("--id", "order_id", help="An id of your own (default: M-<n>).")
@click.option("--notes", default="")
@click.pass_obj
def add(
    ctx,
    product,
    client_name,
    client_email,
    client_company,
    cpus,
    memory,
    disk,
    os_choice,
    hostname,
    order_id,
    notes,
) -> None:
    """Put an order typed in by hand into the queue."""
    order = fileintake.add_manual_order(
        ctx.store,
        ctx.config.catalog,
        product=product,
        client_name=client_name,
        client_email=client_email,
        client_company=client_company,
        cpus=cpus,
        memory=memory,
        disk=disk,
        os=os_choice,
        hostname=hostname,
        notes=notes,
        order_id=order_id,
    )
    click.echo(
        f"order {order.id}: {order.status}"
        + (f" ({order.problem})" if order.problem else f" -> {order.template_name}")
    )


@command.command("claim")
@click.argument("order_id")
@click.pass_obj
def claim(ctx, order_id: str) -> None:
    """Take an order so nobody else provisions it."""
    result = claim_order(
        ctx.store,
        order_id,
        current_actor(),
        takeover_after=timedelta(minutes=ctx.config.billing.claim_timeout_minutes),
    )
    if not result.won:
        click.echo(f"not claimed: {result.reason}", err=True)
        raise SystemExit(1)
    if result.took_over_from:
        click.echo(f"warning: took over the stale claim of {result.took_over_from}", err=True)
    click.echo(f"order {order_id} claimed by {result.holder}")


@command.command("release")
@click.argument("order_id")
@click.option("--force", is_flag=True, help="Release someone else's claim.")
@click.pass_obj
def release(ctx, order_id: str, force: bool) -> None:
    """Give a claimed order back to the queue."""
    if not release_order(ctx.store, order_id, current_actor(), force=force):
        order = get_order(ctx.store, order_id)
        holder = order.claimed_by if order else None
        click.echo(
            f"not released: order {order_id} is "
            + (f"claimed by {holder} (use --force)" if holder else "not claimed"),
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"order {order_id} released")
