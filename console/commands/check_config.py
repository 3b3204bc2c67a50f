"""`vps-console check-config`: load and validate the configuration, then summarise it."""

from __future__ import annotations

import click


@click.command("check-config")
@click.pass_obj
def command(ctx) -> None:
    """Validate the config file and show what it configures."""
    config = ctx.config
    click.echo(f"config: {config.path} is valid")
    for engine in config.engines:
        tls = (
            "TLS NOT VERIFIED"
            if engine.insecure
            else (f"CA {engine.ca_file}" if engine.ca_file else "system CAs")
        )
        click.echo(f"  engine {engine.name}: {engine.url} as {engine.username} ({tls})")
    click.echo(
        f"  billing: {config.billing.kind}"
        + (f" at {config.billing.url}" if config.billing.url else "")
    )
    click.echo(f"  products mapped: {len(config.catalog.products)}")
    click.echo(f"  store: {config.store.url}")
