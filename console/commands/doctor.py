"""`vps-console doctor`: check everything the console depends on, one line per check.

Each line is ✔ (fine), ! (works, but worth fixing), ✘ (broken) or · (for information),
and every ! and ✘ ends with the fix. The exit code is 1 when anything is ✘, so scripts and CI can run it.
Engine and billing checks go through the same facade and client the console uses, so
doctor sees exactly what the console would see.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import text
from sqlalchemy.engine import make_url

from console.commands._secret_store import cli_secret_store
from console.config import Config, EngineConfig
from console.errors import ConsoleError
from console.logs import log_dir
from console.secrets import (
    ENV_PASSPHRASE,
    SecretStore,
    billing_secret,
    engine_env_variable,
    engine_password,
)
from console.tls_notice import FIX as TLS_FIX

OK, WARN, FAIL, NOTE = "✔", "!", "✘", "·"
ENGINE_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Check:
    status: str
    subject: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix and self.status != OK else ""
        return f"{self.status} {self.subject}: {self.detail}{fix}"


def _failed(subject: str, error: ConsoleError) -> Check:
    return Check(FAIL, subject, error.message, error.hint)


# ------------------------------------------------------------------------ config
def check_config_file(config: Config) -> Iterator[Check]:
    path = config.path
    yield Check(OK, "config", f"{path} is valid ({len(config.engines)} engine(s))")
    if path is None:
        return
    mode = path.stat()
    if mode.st_uid != os.getuid():
        yield Check(
            FAIL,
            "config permissions",
            f"{path} belongs to uid {mode.st_uid}, not you",
            "whoever owns it decides where your engine password is sent; copy it to a "
            "file of your own",
        )
    elif mode.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        yield Check(
            FAIL,
            "config permissions",
            f"{path} is writable by others (mode {stat.S_IMODE(mode.st_mode):o}): they "
            "could point the engine URL elsewhere and collect your password",
            f"chmod 600 {path}",
        )
    else:
        yield Check(OK, "config permissions", f"mode {stat.S_IMODE(mode.st_mode):o}")
    for engine in config.engines:
        if engine.insecure:
            yield Check(
                WARN,
                f"engine {engine.name} TLS",
                "insecure = true: the certificate is not verified",
                TLS_FIX,
            )


# ----------------------------------------------------------------------- secrets
def check_secret_store(store: SecretStore) -> Iterator[Check]:
    info = store.describe()
    where = f" {info.path}" if info.path else ""
    key = f", key in {info.key_path} ({info.protection})" if info.key_path else ""
    if info.persistent:
        yield Check(OK, "secrets", f"{info.name}{where}{key} ({info.reason})")
    else:
        yield Check(
            FAIL if not info.explicit else WARN,
            "secrets",
            f"{info.name}: secrets are NOT kept after this run, and launches that "
            f"could not be resumed are refused ({info.reason})",
            info.fix or f"drop `--secrets memory`, or set {ENV_PASSPHRASE}",
        )
    for path in (info.path, info.key_path):
        if path and Path(path).exists():
            mode = stat.S_IMODE(Path(path).stat().st_mode)
            if mode & 0o077:
                yield Check(
                    FAIL,
                    "secrets file permissions",
                    f"{path} has mode {mode:o}",
                    f"chmod 600 {path}",
                )
    if info.path and "keyrings.cryptfile" in info.name:
        yield Check(
            WARN,
            "secrets file",
            "the older encrypted file derives a key on every read (slow)",
            "vps-console credentials migrate --to file",
        )
    for rejected in info.rejected:
        yield Check(NOTE, "secrets passed over", rejected)


# ------------------------------------------------------------------------ engine
def _tls_description(engine: EngineConfig) -> Check:
    subject = f"engine {engine.name} TLS"
    if not engine.url.startswith("https"):
        return Check(
            WARN,
            subject,
            "plain HTTP: the password travels unencrypted",
            "use the engine's https:// URL and set ca_file",
        )
    if engine.insecure:
        return Check(WARN, subject, "NOT verified (insecure = true)", TLS_FIX)
    source = f"CA file {engine.ca_file}" if engine.ca_file else "the system CA store"
    return Check(OK, subject, f"certificate chain verified with {source}")


def check_engine(
    config: Config, engine_config: EngineConfig, store: SecretStore | None
) -> Iterator[Check]:
    from console.ovirt import (
        Engine,
        EngineAuthFailed,
        EngineError,
        EngineTLSError,
        EngineUnavailable,
    )

    name = engine_config.name
    subject = f"engine {name}"
    password = engine_password(store, name, len(config.engines))
    if not password:
        yield Check(
            FAIL,
            f"{subject} password",
            "none in the keyring or the environment",
            f"`vps-console credentials set engine {name}` (or export {engine_env_variable(name)})",
        )
        return
    if engine_config.ca_file and not Path(engine_config.ca_file).is_file():
        yield Check(
            FAIL,
            f"{subject} TLS",
            f"ca_file {engine_config.ca_file} does not exist",
            "point ca_file at the engine's CA certificate (PEM)",
        )
        return
    engine = Engine(engine_config, password, timeout=ENGINE_TIMEOUT_SECONDS)
    try:
        try:
            info = engine.info()
        except EngineUnavailable as error:
            yield _failed(f"{subject} reachable", error)
            return
        except EngineTLSError as error:
            yield Check(OK, f"{subject} reachable", engine_config.url)
            yield _failed(f"{subject} TLS", error)
            return
        except EngineAuthFailed as error:
            yield Check(OK, f"{subject} reachable", engine_config.url)
            yield _tls_description(engine_config)
            yield _failed(f"{subject} login", error)
            return
        yield Check(OK, f"{subject} reachable", engine_config.url)
        yield _tls_description(engine_config)
        yield Check(OK, f"{subject} login", f"as {engine_config.username}")
        if info.version.startswith("4."):
            yield Check(OK, f"{subject} API version", f"{info.product} {info.version} (API v4)")
        else:
            yield Check(
                FAIL,
                f"{subject} API version",
                f"{info.product} {info.version or '(no version)'}: the console speaks "
                "the oVirt 4.x REST API",
                "use an oVirt / RHV 4.x engine",
            )
        yield from _check_clusters(engine, engine_config)
        yield from _check_templates(engine, config, engine_config)
    except EngineError as error:
        yield _failed(subject, error)
    finally:
        engine.close()


def _check_clusters(engine, engine_config: EngineConfig) -> Iterator[Check]:
    subject = f"engine {engine_config.name} clusters"
    names = sorted(cluster.name for cluster in engine.clusters())
    if not names:
        yield Check(
            FAIL,
            subject,
            f"{engine_config.username} sees no cluster",
            "give the user a role on the target cluster (e.g. UserVmManager)",
        )
    elif engine_config.cluster and engine_config.cluster not in names:
        yield Check(
            FAIL,
            subject,
            f"cluster {engine_config.cluster!r} not visible; visible: " + ", ".join(names),
            "set cluster in the [[engines]] entry to one of those, or give the user a role on it",
        )
    else:
        yield Check(OK, subject, f"{len(names)} visible: " + ", ".join(names))


def _check_templates(engine, config: Config, engine_config: EngineConfig) -> Iterator[Check]:
    subject = f"engine {engine_config.name} templates"
    templates = engine.list_templates()
    names = {template.name for template in templates}
    mapped = {product.template for product in config.catalog.products}
    missing = sorted(mapped - names)
    if not names:
        yield Check(
            FAIL,
            subject,
            f"{engine_config.username} sees no template",
            "give the user TemplateUser on the customer templates",
        )
    elif missing:
        yield Check(
            FAIL,
            subject,
            "mapped in [catalog] but not visible: " + ", ".join(missing),
            "fix the template names in [[catalog.products]] or give the user TemplateUser on them",
        )
    else:
        yield Check(OK, subject, f"{len(names)} visible, all {len(mapped)} mapped ones among them")
    yield from _check_template_ages(templates, config, engine_config)


def _check_template_ages(templates, config: Config, engine_config: EngineConfig) -> Iterator[Check]:
    """Template upkeep: each template older than its max_age_days, with the products it serves."""
    from console.flow.upkeep.policy import staleness

    for entry in staleness(config, templates):
        if entry.stale:
            yield Check(
                NOTE,
                f"engine {engine_config.name} template {entry.template} stale",
                entry.describe(),
                f"vps-console templates refresh {entry.template} "
                "(or templates refresh --stale from cron)",
            )


# ----------------------------------------------------------------------- billing
def check_billing(config: Config, store: SecretStore | None) -> Iterator[Check]:
    billing = config.billing
    if billing.kind != "whmcs":
        yield Check(OK, "billing", f"kind = {billing.kind!r}: no billing system to reach")
        return
    from console.billing.errors import (
        BillingAccessDenied,
        BillingAuthError,
        BillingError,
        BillingUnreachable,
    )
    from console.billing.whmcs import open_billing_client

    secret = billing_secret(store)
    if not secret:
        yield Check(
            FAIL,
            "billing secret",
            "none in the keyring or the environment",
            "`vps-console credentials set billing` (or export VPS_CONSOLE_BILLING_SECRET)",
        )
        return
    # The client `orders sync` uses ([billing] ca_file included), without its retries.
    client = open_billing_client(billing, secret, retries=0)
    url = billing.url or ""  # BillingConfig requires it for kind "whmcs"
    try:
        client.call("GetOrders", limitnum=1)
    except BillingUnreachable as error:
        yield _failed("billing reachable", error)
        return
    except BillingAuthError as error:
        yield Check(OK, "billing reachable", url)
        yield _failed("billing login", error)
        return
    except BillingAccessDenied as error:
        yield Check(OK, "billing reachable", url)
        yield _failed("billing access (IP allow-list, API role)", error)
        return
    except BillingError as error:
        yield _failed("billing", error)
        return
    finally:
        client.close()
    yield Check(OK, "billing reachable", url)
    yield Check(OK, "billing login", f"API credential {billing.identifier!r} accepted")
    yield Check(OK, "billing access (IP allow-list, API role)", "this host may call the API")


# ------------------------------------------------------------------------- store
def check_store(config: Config) -> Iterator[Check]:
    from console.store import migrate
    from console.store.db import open_store

    url = config.store.url
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        if not path.exists():
            folder = next((p for p in path.parents if p.exists()), None)
            if folder is not None and folder.is_dir() and os.access(folder, os.W_OK):
                yield Check(OK, "store", f"{path} does not exist yet; it is created on first use")
            else:
                yield Check(
                    FAIL,
                    "store",
                    f"{path} cannot be created: {folder} is not a writable folder",
                    "set [store] url to a path in a writable folder",
                )
            return
    try:
        store = open_store(url, migrate_schema=False)
    except ConsoleError as error:
        yield _failed("store", error)
        return
    try:
        head = migrate.head_revision()
        current = migrate.current_revision(store.engine)
        if current != head:
            yield Check(
                FAIL,
                "store migrations",
                f"{store.url} is at {current or 'no revision'}, this version needs {head}",
                "start the console once (`vps-console "
                "audit` will do): it migrates the store when it opens it",
            )
            return
        yield Check(OK, "store migrations", f"at {head} (current)")
        try:
            # Prove we can write without changing anything: the insert is rolled back.
            with store.engine.connect() as connection:
                transaction = connection.begin()
                connection.execute(
                    text(
                        "INSERT INTO sync_state (name, value, updated_at) "
                        "VALUES ('doctor-probe', '', CURRENT_TIMESTAMP)"
                    )
                )
                transaction.rollback()
        except Exception as exc:  # noqa: BLE001 - driver errors differ between SQLite and PostgreSQL
            reason = getattr(exc, "orig", None) or exc
            yield Check(
                FAIL,
                "store writable",
                f"{store.url}: {reason}",
                "make the database file and its folder writable by you (or grant "
                "write access on the PostgreSQL database)",
            )
            return
        yield Check(OK, "store writable", store.url)
    finally:
        store.close()


def check_logs() -> Iterator[Check]:
    folder = log_dir()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and os.access(existing, os.W_OK):
        yield Check(OK, "logs", f"{folder} (rotating, secrets masked)")
    else:
        yield Check(
            WARN,
            "logs",
            f"{folder} is not writable: nothing will be logged",
            "make the folder writable, or set XDG_STATE_HOME to a writable place",
        )


# ----------------------------------------------------------------- license vault
def check_license_stock(config: Config) -> Iterator[Check]:
    from console.commands.licenses import stock_warnings

    for low in stock_warnings(config):
        yield Check(
            WARN,
            f"licenses {low.kind}",
            low.message(),
            f"vps-console licenses import FILE --kind {low.kind}",
        )


# ------------------------------------------------------------------------ runner
def run_checks(ctx) -> Iterator[Check]:
    try:
        config = ctx.config
    except ConsoleError as error:
        yield _failed("config", error)
        config = None
    if config is not None:
        yield from check_config_file(config)

    store: SecretStore | None = None
    try:
        store = cli_secret_store(ctx)
        yield from check_secret_store(store)
    except ConsoleError as error:
        yield _failed("secrets", error)
        store = None  # environment variables may still provide the passwords

    if config is not None:
        for engine_config in config.engines:
            yield from check_engine(config, engine_config, store)
        yield from check_billing(config, store)
        yield from check_store(config)
        yield from check_license_stock(config)
    yield from check_logs()


@click.command("doctor")
@click.pass_obj
def command(ctx) -> None:
    """Check config, secrets, engines, billing and store; say how to fix what is wrong."""
    failures = warnings = 0
    for check in run_checks(ctx):
        click.echo(check.line())
        failures += check.status == FAIL
        warnings += check.status == WARN
    summary = (f"{failures} problem(s)" if failures else "all checks passed") + (
        f", {warnings} warning(s)" if warnings else ""
    )
    click.echo(summary)
    if failures:
        raise SystemExit(1)
