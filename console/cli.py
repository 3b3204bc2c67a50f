"""The `vps-console` command line: a root group; each subcommand lives in console/commands/.

Every module in console.commands that defines `command` (a click command or group) is
added here, so a feature brings its own command without touching this file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from functools import cached_property

import click

from console import __version__, commands
from console.config import Config, load_config
from console.errors import ConsoleError
from console.logs import setup_logging
from console.tls_notice import warn_if_insecure

# These own the terminal: log lines must not be written over their screen.
FULL_SCREEN_COMMANDS = (None, "run", "demo")


class CliContext:
    """What subcommands share: the config path given, and lazily opened resources."""

    def __init__(self, config_path: str | None, verbose: int, engine: str | None = None):
        self.config_path = config_path
        self.verbose = verbose
        self.engine = engine

    @cached_property
    def config(self) -> Config:
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

        return open_secret_store(passphrase_prompt=terminal_passphrase_prompt)


def fail(error: ConsoleError) -> None:
    """Print a known error the one way the console prints them, then exit with its code."""
    click.echo(f"error: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)
    sys.exit(error.exit_code)


class _Root(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConsoleError as error:
            fail(error)


@click.group(cls=_Root, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="Config file (default: $VPS_CONSOLE_CONFIG, then the user config dir).")
@click.option("--engine", "engine", metavar="NAME",
              help="Work on this [[engines]] entry (default: the first).")
@click.option("-v", "--verbose", count=True, help="More detail in logs (secrets stay masked).")
@click.version_option(__version__, "-V", "--version", prog_name="vps-console")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, engine: str | None, verbose: int) -> None:
    """Turn paid billing orders into running, licensed oVirt VMs.

    Without a subcommand, opens the console on the configured engines and billing.
    Try it with no set-up at all: `vps-console demo`.
    """
    ctx.obj = CliContext(config_path, verbose, engine)
    setup_logging(verbose, stderr=ctx.invoked_subcommand not in FULL_SCREEN_COMMANDS)
    if ctx.invoked_subcommand is None:
        run = main.get_command(ctx, "run")
        if run is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(run)


def _register_commands() -> None:
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            main.add_command(command)


_register_commands()
