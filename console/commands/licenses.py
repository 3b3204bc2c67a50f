"""`vps-console licenses …`: the license vault from the command line.

import FILE puts keys in stock (each in the secret store, its reference in the database);
list shows the stock per kind and product and every key, masked; show a key's history;
release and retire change a key by hand, audited. Nothing here prints a key in clear.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from console.commands._secret_store import cli_secret_store
from console.errors import BadInput
from console.flow import vault
from console.flow.licenses import KEY_KINDS
from console.flow.vault_import import import_keys
from console.identity import current_actor
from console.secrets import ENV_PASSPHRASE
from console.store.models import ensure_aware


def key_to_dict(key: vault.LicenseKey) -> dict:
    def when(moment):
        moment = ensure_aware(moment)
        return moment.isoformat() if moment else None

    return {
        "reference": key.id,
        "kind": key.kind,
        "product": key.product,
        "masked": key.masked,
        "state": key.state,
        "order_id": key.order_id,
        "vm": key.vm_name,
        "where": vault.describe(key),
        "note": key.note,
        "imported_by": key.imported_by,
        "imported_at": when(key.imported_at),
        "reserved_at": when(key.reserved_at),
        "booted_at": when(key.booted_at),
    }


def _stock_dicts(ctx) -> list[dict]:
    return [line.__dict__ for line in vault.stock(ctx.store)]


def _emit_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _key_line(key: vault.LicenseKey) -> str:
    product = f" {key.product}" if key.product else ""
    return (
        f"{key.id}  {key.kind:<8} {key.masked:<10} {key.state:<9} {vault.describe(key)}"
        f"{'  (' + product.strip() + ')' if product else ''}"
    )


@click.group("licenses")
def command() -> None:
    """The license vault: keys in stock, reserved to orders, bound to VMs."""


@command.command("import")
@click.argument("file", metavar="FILE")
@click.option(
    "--kind",
    type=click.Choice(KEY_KINDS),
    default=None,
    help="Kind of every key in FILE (a CSV kind column overrides it).",
)
@click.option(
    "--product",
    default="",
    metavar="NAME",
    help="What the keys license, e.g. '2022 Standard' or 'Web Pro'.",
)
@click.option("--note", default="", metavar="TEXT", help="Kept with each key (e.g. the invoice).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def import_(ctx, file: str, kind: str | None, product: str, note: str, as_json: bool) -> None:
    """Put the keys in FILE in stock: one key per line, or CSV rows `key, kind, product,
    note`. Every line is checked; bad lines and duplicates are named and skipped, the good
    ones kept. Exit code 2 when any line was refused. FILE `-` reads stdin."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {file}: {exc}", "give a UTF-8 text file of keys") from None
    secrets = cli_secret_store(ctx)
    info = secrets.describe()
    if not info.persistent:
        raise BadInput(
            f"the secret store is {info.name} ({info.reason}): imported keys would "
            "be lost when this command ends",
            f"set {ENV_PASSPHRASE} (or run in a terminal and enter the passphrase) "
            "so the keys go to the encrypted file",
        )
    report = import_keys(
        ctx.store, secrets, text, actor=current_actor(), kind=kind, product=product, note=note
    )
    if as_json:
        _emit_json(
            {
                "imported": [key_to_dict(key) for key in report.imported],
                "refused": [{"line": bad.number, "reason": bad.reason} for bad in report.bad],
            }
        )
    else:
        for key in report.imported:
            click.echo(f"imported {key.kind} {key.masked} as {key.id}")
        for bad in report.bad:
            click.echo(f"{file}: {bad}", err=True)
        click.echo(f"{len(report.imported)} key(s) imported, {len(report.bad)} line(s) refused")
        if report.imported and file != "-":
            click.echo(
                f"{file} still holds the keys in clear: delete it (shred -u {file})", err=True
            )
    if report.bad:
        sys.exit(2)


@command.command("list")
@click.option("--kind", type=click.Choice(KEY_KINDS), default=None, help="Only this kind.")
@click.option(
    "--state",
    type=click.Choice([s.value for s in vault.LicenseState]),
    default=None,
    help="Only keys in this state.",
)
@click.option("--order", "order_id", default=None, metavar="ID", help="Only this order's keys.")
@click.option("--json", "as_json", is_flag=True, help="Stock and keys as JSON.")
@click.pass_obj
def list_(ctx, kind: str | None, state: str | None, order_id: str | None, as_json: bool) -> None:
    """Stock per kind and product, then every key (masked) and where it is."""
    keys = vault.list_keys(ctx.store, kind=kind, state=state, order_id=order_id)
    threshold = ctx.config.licenses.low_stock
    low = vault.low_stock(ctx.store, threshold)
    if as_json:
        _emit_json(
            {
                "stock": _stock_dicts(ctx),
                "low_stock": [
                    {"kind": item.kind, "available": item.available, "threshold": item.threshold}
                    for item in low
                ],
                "keys": [key_to_dict(key) for key in keys],
            }
        )
        return
    lines = vault.stock(ctx.store)
    if not lines:
        click.echo(
            "the vault is empty: vps-console licenses import FILE --kind " + "|".join(KEY_KINDS)
        )
        return
    click.echo(
        f"{'kind':<8} {'product':<24} {'stock':>5} {'reserved':>8} {'bound':>5} {'retired':>7}"
    )
    for line in lines:
        click.echo(
            f"{line.kind:<8} {(line.product or '-')[:24]:<24} {line.available:>5} "
            f"{line.reserved:>8} {line.bound:>5} {line.retired:>7}"
        )
    for item in low:
        click.echo(f"low stock: {item.message()}", err=True)
    click.echo("")
    for key in keys:
        click.echo(_key_line(key))


@command.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="The key and its history as JSON.")
@click.pass_obj
def show(ctx, reference: str, as_json: bool) -> None:
    """One key (by reference, or by its masked tail) and its history."""
    from console.commands.audit import entry_dict

    key = vault.find_key(ctx.store, reference)
    history = [entry_dict(event) for event in vault.history(ctx.store, key.id)]
    if as_json:
        _emit_json({**key_to_dict(key), "history": history})
        return
    for label, value in (
        ("reference", key.id),
        ("kind", key.kind),
        ("product", key.product or "-"),
        ("key", key.masked),
        ("state", f"{key.state}: {vault.describe(key)}"),
        ("note", key.note or "-"),
        ("imported", f"{ensure_aware(key.imported_at):%Y-%m-%d %H:%M} UTC by {key.imported_by}"),
    ):
        click.echo(f"{label:<10} {value}")
    click.echo("history")
    for entry in history:
        click.echo(
            f"  {entry['at'][:19]}  {entry['actor']:<20} {entry['action']:<15} {entry['message']}"
        )


def _change(ctx, action, reference: str, reason: str | None, as_json: bool) -> None:
    key = action(ctx.store, reference, actor=current_actor(), reason=reason)
    if as_json:
        _emit_json(key_to_dict(key))
    else:
        click.echo(f"{key.id} ({key.kind} {key.masked}) is now {vault.describe(key)}")


@command.command("release")
@click.argument("reference")
@click.option(
    "--reason",
    default=None,
    metavar="TEXT",
    help="Why (required for a key a VM was started with: bound or retired).",
)
@click.option("--json", "as_json", is_flag=True, help="The key afterwards as JSON.")
@click.pass_obj
def release(ctx, reference: str, reason: str | None, as_json: bool) -> None:
    """Put a key back in stock (audited)."""
    _change(ctx, vault.release, reference, reason, as_json)


@command.command("retire")
@click.argument("reference")
@click.option("--reason", default=None, metavar="TEXT", help="Why, kept in the audit trail.")
@click.option("--json", "as_json", is_flag=True, help="The key afterwards as JSON.")
@click.pass_obj
def retire(ctx, reference: str, reason: str | None, as_json: bool) -> None:
    """Take a key out of use for good (audited)."""
    _change(ctx, vault.retire, reference, reason, as_json)


# ------------------------------------------------------------------------ doctor
def stock_warnings(config) -> list[vault.LowStock]:
    """Each kind under `[licenses] low_stock`, for `doctor`; nothing
    when the store is not there or not current (doctor's store checks say why)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from console.errors import ConsoleError
    from console.store import migrate
    from console.store.db import open_store

    url = make_url(config.store.url)
    if url.drivername.startswith("sqlite") and not (
        url.database and Path(url.database).expanduser().exists()
    ):
        return []  # opening it would create it
    try:
        store = open_store(config.store.url, migrate_schema=False)
    except ConsoleError:
        return []
    try:
        if not migrate.is_current(store.engine):
            return []
        return vault.low_stock(store, config.licenses.low_stock)
    except SQLAlchemyError:
        return []
    finally:
        store.close()
