"""`vps-console run` (also what `vps-console` alone does): open the console on the
configured engines and billing."""

from __future__ import annotations

import click


@click.command("run")
@click.option(
    "--read-only",
    is_flag=True,
    help="Look, don't touch: hide every action that changes the engine or billing.",
)
@click.option(
    "--no-mouse",
    is_flag=True,
    help="Do not capture the mouse (keeps the terminal's own selection over SSH).",
)
@click.pass_obj
def command(ctx, read_only: bool = False, no_mouse: bool = False) -> None:
    """Open the console: order queue, templates, VMs, jobs and the provisioning flow."""
    from console.commands._secret_store import cli_secret_store
    from console.tui.launch import build_context, run_console

    config = ctx.config
    context = build_context(config, ctx.store, cli_secret_store(ctx), read_only=read_only)
    run_console(context, mouse=not no_mouse)
