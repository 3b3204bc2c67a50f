"""The `vps-console` command line: a root group; each subcommand lives in console/commands/.

Every module in console.commands that defines `command` (a click command or group) is a
subcommand named after the module (`check_config.py` is `check-config`), so a feature
brings its own command without touching this file. Modules are imported only when their
command runs: `--version` and `--help` import none of the product (the help lists each
command's summary read from its source), so they answer as fast as Python starts.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from functools import cached_property
from pathlib import Path

import click

from console import __version__
from console.errors import ConsoleError

COMMANDS_PACKAGE = "console.commands"
COMMANDS_DIR = Path(__file__).with_name("commands")
# These own the terminal: log lines must not be written over their screen.
FULL_SCREEN_COMMANDS = (None, "run", "demo")
SECRETS_CHOICES = ("auto", "keyring", "file", "cryptfile", "memory")  # console.secrets.CHOICES


class CliContext:
    """What subcommands share: the config path given, and lazily opened resources."""

    def __init__(
        self,
        config_path: str | None,
        verbose: int,
        engine: str | None = None,
        secrets_choice: str | None = None,
    ):
        self.config_path = config_path
        self.verbose = verbose
        self.engine = engine
        self.secrets_choice = secrets_choice

    @cached_property
    def config(self):
        from console.config import load_config
        from console.tls_notice import warn_if_insecure

        config = load_config(self.config_path)
        if self.engine:
            config = config.with_default_engine(self.engine)
        warn_if_insecure(config)
        return config

    @cached_property
    def store(self):
        from console.store.db import open_store

        store = open_store(self.config.store.url)
        if store.migrated is not None and store.migrated[0] is not None:
            click.echo(store.migration_notice(), err=True)  # an upgrade is worth knowing about
        return store

    @cached_property
    def secrets(self):
        from console.secrets import open_secret_store, terminal_passphrase_prompt

        store = open_secret_store(self.secrets_choice, passphrase_prompt=terminal_passphrase_prompt)
        info = store.describe()
        if not info.persistent:  # loudly: whatever is stored now dies with this command
            click.echo(
                f"warning: secrets are kept in {info.name} only, NOT saved ({info.reason})",
                err=True,
            )
        return store


def fail(error: ConsoleError) -> None:
    """Print a known error the one way the console prints them, then exit with its code."""
    click.echo(f"error: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)
    sys.exit(error.exit_code)


def _module_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(COMMANDS_DIR)])
        if not info.name.startswith("_")
    )


def _summary(module: str) -> str:
    """The first line of the `command` function's docstring, read without importing."""
    try:
        tree = ast.parse((COMMANDS_DIR / f"{module}.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "command":
            doc = ast.get_docstring(node) or ""
            return doc.strip().splitlines()[0] if doc.strip() else ""
    return ""


class _Root(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *(m.replace("_", "-") for m in _module_names())})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        module_name = name.replace("-", "_")
        if name.startswith("_") or module_name not in _module_names():
            return None
        module = importlib.import_module(f"{COMMANDS_PACKAGE}.{module_name}")
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            return None
        if command.name != name:
            raise RuntimeError(
                f"{module.__name__}.command is named {command.name!r}: a "
                f"command is named after its module ({name!r})"
            )
        self.add_command(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _summary(name.replace("-", "_"))) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConsoleError as error:
            fail(error)


@click.group(
    cls=_Root, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="Config file (default: $VPS_CONSOLE_CONFIG, then the user config dir).",
)
@click.option(
    "--engine",
    "engine",
    metavar="NAME",
    help="Work on this [[engines]] entry (default: the first).",
)
@click.option(
    "--secrets",
    "secrets_choice",
    type=click.Choice(SECRETS_CHOICES),
    envvar="VPS_CONSOLE_SECRETS",
    default=None,
    help="Where secrets are kept (default auto: system keyring, else the encrypted "
    "file; memory keeps nothing).",
)
@click.option("-v", "--verbose", count=True, help="More detail in logs (secrets stay masked).")
@click.version_option(__version__, "-V", "--version", prog_name="vps-console")
@click.pass_context
def main(
    ctx: click.Context,
    config_path: str | None,
    engine: str | None,
    secrets_choice: str | None,
    verbose: int,
) -> None:
    """Turn paid billing orders into running, licensed oVirt VMs.

    Without a subcommand, opens the console on the configured engines and billing.
    Try it with no set-up at all: `vps-console demo`.
    """
    from console.logs import setup_logging

    ctx.obj = CliContext(config_path, verbose, engine, secrets_choice)
    setup_logging(verbose, stderr=ctx.invoked_subcommand not in FULL_SCREEN_COMMANDS)
    if ctx.invoked_subcommand is None:
        run = main.get_command(ctx, "run")
        if run is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(run)
