"""`vps-console credentials set|show|delete|list|migrate`: the secrets the console keeps.

Targets: `engine NAME`, `billing`, `license ORDER KIND`, `admin-password ORDER`.
Values are typed at a hidden prompt, or read from stdin with --stdin (for scripts), never
taken as arguments: those end up in shell history and in `ps` on a shared host.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from console.commands._secret_store import cli_secret_store
from console.errors import BadInput, ConsoleError
from console.flow.licenses import validated_license
from console.flow.passwords import validated_admin_password
from console.identity import current_actor
from console.secrets import (
    BILLING_SECRET,
    ENV_BILLING_SECRET,
    ENV_ENGINE_PASSWORD,
    LICENSE_KINDS,
    SecretStore,
    SecretStoreError,
    admin_password_secret,
    check_name,
    engine_env_variable,
    engine_secret,
    keyring_file_path,
    license_secret,
    mask,
    open_secret_store,
    terminal_passphrase_prompt,
)
from console.secrets.transfer import move_secrets

log = logging.getLogger(__name__)
MIGRATE_TARGETS = ("file", "keyring", "cryptfile")

TARGETS_HELP = (
    "TARGET is one of: engine NAME | billing | license ORDER KIND "
    f"(KIND: {', '.join(LICENSE_KINDS)}) | admin-password ORDER | job:ID:… (a "
    "launch's secrets before its job existed, as `list` shows them)"
)


def secret_name(target: tuple[str, ...]) -> str:
    """The stored name for what the engineer typed, e.g. ("engine", "prod") → engine:prod."""
    kind, *rest = target or ("",)
    if kind == "engine" and len(rest) == 1:
        return check_name(engine_secret(rest[0]))
    if kind == "billing" and not rest:
        return BILLING_SECRET
    if kind == "license" and len(rest) == 2:
        if rest[1] not in LICENSE_KINDS:
            raise BadInput(
                f"{rest[1]!r} is not a license kind", f"use one of: {', '.join(LICENSE_KINDS)}"
            )
        return check_name(license_secret(rest[0], rest[1]))
    if kind == "admin-password" and len(rest) == 1:
        return check_name(admin_password_secret(rest[0]))
    if kind.startswith("job:") and not rest:
        return check_name(kind)
    raise BadInput(f"{' '.join(target) or 'nothing'}: not a credential target", TARGETS_HELP)


def _env_fallback(ctx, name: str) -> tuple[str, str | None]:
    """The environment variable that would provide `name` when the keyring has nothing."""
    if name == BILLING_SECRET:
        return ENV_BILLING_SECRET, os.environ.get(ENV_BILLING_SECRET)
    if name.startswith("engine:"):
        engine = name.split(":", 1)[1]
        variable = engine_env_variable(engine)
        if os.environ.get(variable):
            return variable, os.environ[variable]
        # The generic variable stands for the engine when it is the only one configured.
        try:
            engines = ctx.config.engines
            single = len(engines) == 1 and engines[0].name == engine
        except ConsoleError:
            single = False
        if single and os.environ.get(ENV_ENGINE_PASSWORD):
            return ENV_ENGINE_PASSWORD, os.environ[ENV_ENGINE_PASSWORD]
        return variable, None
    return "", None


def _audit(ctx, action: str, name: str) -> None:
    """Record who changed or revealed a credential, when a store is configured."""
    try:
        store = ctx.store
    except ConsoleError as error:
        log.info("not audited (%s): %s %s", error.message, action, name)
        return
    from console.store import audit

    order_id = name.split(":")[1] if name.startswith(("license:", "admin-password:")) else None
    with store.session() as session:
        audit.record(
            session,
            action,
            actor=current_actor(),
            order_id=order_id,
            message=f"{action.replace('_', ' ')} {name}",
            secret=name,
        )


def _warn_unknown_engine(ctx, name: str) -> None:
    if not name.startswith("engine:"):
        return
    try:
        engines = [engine.name for engine in ctx.config.engines]
    except ConsoleError:
        return  # no config yet: storing the password first is a fine order to do things
    engine = name.split(":", 1)[1]
    if engine not in engines:
        click.echo(
            f"warning: no engine named {engine!r} in the config (configured: {', '.join(engines)})",
            err=True,
        )


def _read_value(name: str, from_stdin: bool) -> str:
    if from_stdin:
        # Only the line ending is dropped: spaces inside or around a secret are its own.
        value = sys.stdin.read().rstrip("\r\n")
    else:
        value = click.prompt(
            f"Value for {name}", hide_input=True, confirmation_prompt=True, err=True
        )
    if not value:
        raise BadInput(
            f"no value given for {name}",
            "type it at the prompt, or pipe it with "
            "--stdin, e.g. `pass show whmcs | vps-console credentials set billing --stdin`",
        )
    return value


def _persistent(store: SecretStore) -> SecretStore:
    info = store.describe()
    if not info.persistent:
        raise SecretStoreError(
            f"secrets would be lost when this command ends ({info.reason})",
            info.fix or "drop `--secrets memory` to keep them in the encrypted file",
        )
    return store


@click.group("credentials", epilog=TARGETS_HELP)
def command() -> None:
    """Store, show, list, remove and move the secrets the console uses."""


@command.command("set", epilog=TARGETS_HELP)
@click.argument("target", nargs=-1, required=True)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from stdin (scripts).")
@click.pass_obj
def set_(ctx, target: tuple[str, ...], from_stdin: bool) -> None:
    """Store a secret, typed at a hidden prompt or piped with --stdin."""
    name = secret_name(target)
    _warn_unknown_engine(ctx, name)
    store = _persistent(cli_secret_store(ctx))
    value = _read_value(name, from_stdin)
    if target[0] == "license":  # a key goes into a script run as root: only a valid one
        value = validated_license(target[2], value)
    elif target[0] == "admin-password":  # handed to a guest and to the customer
        value = validated_admin_password(value)
    store.set(name, value)
    _audit(ctx, "credential_set", name)
    info = store.describe()
    click.echo(
        f"saved {name} ({mask(value)}) in {info.name}" + (f" {info.path}" if info.path else "")
    )


@command.command("show", epilog=TARGETS_HELP)
@click.argument("target", nargs=-1, required=True)
@click.option("--reveal", is_flag=True, help="Print the value itself (default: masked).")
@click.pass_obj
def show(ctx, target: tuple[str, ...], reveal: bool) -> None:
    """Show a secret, masked unless --reveal."""
    name = secret_name(target)
    value = cli_secret_store(ctx).get(name)
    source = "keyring"
    if value is None:
        variable, value = _env_fallback(ctx, name)
        source = variable
    if value is None:
        raise ConsoleError(
            f"{name} is not stored",
            f"store it with `vps-console credentials set {' '.join(target)}`",
        )
    if reveal:
        _audit(ctx, "credential_revealed", name)
        click.echo(value)
    else:
        click.echo(f"{name}: {mask(value)}" + ("" if source == "keyring" else f" (from {source})"))


@command.command("delete", epilog=TARGETS_HELP)
@click.argument("target", nargs=-1, required=True)
@click.pass_obj
def delete(ctx, target: tuple[str, ...]) -> None:
    """Remove a stored secret."""
    name = secret_name(target)
    store = cli_secret_store(ctx)
    if name not in store.names() and store.get(name) is None:
        raise ConsoleError(f"{name} is not stored", "`vps-console credentials list` shows what is")
    store.delete(name)
    _audit(ctx, "credential_deleted", name)
    click.echo(f"deleted {name}")


@command.command("list")
@click.pass_obj
def list_(ctx) -> None:
    """List stored secrets (masked) and say which backend holds them, and why."""
    store = cli_secret_store(ctx)
    click.echo(store.describe().status_line())
    names = store.names()
    if not names:
        click.echo("no secrets stored; add one with `vps-console credentials set engine NAME`")
    for name in names:
        click.echo(f"  {name:<32} {mask(store.get(name))}")


@command.command("migrate")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Choice(MIGRATE_TARGETS),
    help="The backend to move every secret to.",
)
@click.option("--keep", is_flag=True, help="Copy only: leave the secrets where they are too.")
@click.pass_obj
def migrate(ctx, target: str, keep: bool) -> None:
    """Move every secret from the backend in use (or --secrets) to another one."""
    source = cli_secret_store(ctx)
    destination = open_secret_store(target, passphrase_prompt=terminal_passphrase_prompt)
    moved = move_secrets(source, _persistent(destination), keep_source=keep)
    for name in moved:
        _audit(ctx, "credential_copied" if keep else "credential_moved", name)
    click.echo(
        f"{'copied' if keep else 'moved'} {len(moved)} secret(s) from "
        f"{source.describe().label} to {destination.describe().label}"
    )
    older = keyring_file_path()
    if not keep and source.describe().path == str(older) and not source.names():
        older.unlink()  # emptied: left there, it would only be opened and listed again
        click.echo(f"removed {older}, now empty")
    click.echo(destination.describe().status_line())
