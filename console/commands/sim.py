"""`vps-console sim`: serve the embedded oVirt engine and WHMCS until interrupted.

For training, dry runs and pointing any oVirt SDK client or WHMCS tool at something that
answers like the real thing. `--write-config` writes a console config for this run; the
secrets are printed as environment variables to export, never written to the file.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import click

from console.sim.engine import EngineSimulator
from console.sim.whmcs import WhmcsSimulator

SIM_IDENTIFIER = "vps-console-sim"

# The billing products the WHMCS simulator sells, mapped to the engine simulator's
# templates; config.example.toml carries the same mapping (a test keeps them equal).
SIM_CATALOG = """\
[catalog]
stale_after_days = 90

[[catalog.products]]
billing_product = "VPS Linux cPanel"
template = "alma9-cpanel"
version = "latest"
cpus = 2
memory = "4GiB"
disk = "80GiB"
max_cpus = 16
max_memory = "64GiB"
max_disk = "1000GiB"
license_kinds = ["cpanel"]

[[catalog.products]]
billing_product = "VPS Legacy CentOS cPanel"
template = "centos7-cpanel"
cpus = 2
memory = "4GiB"
disk = "60GiB"
license_kinds = ["cpanel"]

[[catalog.products]]
billing_product = "VPS Linux Plesk"
template = "ubuntu2204-plesk"
cpus = 2
memory = "4GiB"
disk = "80GiB"
license_kinds = ["plesk"]

[[catalog.products]]
billing_product = "VPS Windows Plesk"
template = "win2022-plesk"
cpus = 4
memory = "8GiB"
disk = "100GiB"
license_kinds = ["windows", "plesk"]

[[catalog.products]]
billing_product = "VPS Windows MSSQL"
template = "win2022-mssql"
cpus = 4
memory = "16GiB"
disk = "200GiB"
license_kinds = ["windows", "mssql"]

[[catalog.products]]
billing_product = "VPS Linux Bare / AlmaLinux 9"
template = "alma9"
cpus = 1
memory = "2GiB"
disk = "40GiB"

[[catalog.products]]
billing_product = "VPS Linux Bare / Ubuntu 22.04"
template = "ubuntu2204"
cpus = 1
memory = "2GiB"
disk = "40GiB"
"""


def sim_config_toml(
    *,
    engine_url: str,
    username: str,
    ca_file: str | None,
    billing_url: str,
    identifier: str,
    store_url: str | None = None,
) -> str:
    """A console config pointing at running simulators. It carries no secret."""
    ca_line = f'ca_file = "{ca_file}"\n' if ca_file else ""
    store = f'\n[store]\nurl = "{store_url}"\n' if store_url else ""
    return (
        f'[[engines]]\nname = "sim"\nurl = "{engine_url}"\nusername = "{username}"\n'
        f'{ca_line}cluster = "prod-a"\nstorage_domain = "data-ssd"\n\n'
        f'[billing]\nkind = "whmcs"\nurl = "{billing_url}"\nidentifier = "{identifier}"\n\n'
        f"{SIM_CATALOG}{store}"
    )


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Engine port (0 = pick a free one).",
)
@click.option(
    "--billing-port",
    type=click.IntRange(0, 65535),
    help="WHMCS port (default: engine port + 1, or free when --port 0).",
)
@click.option("--tls", is_flag=True, help="Serve the engine over HTTPS with a generated CA.")
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.001, 100),
    help="Multiplier for every simulated delay (clone, boot, IP report).",
)
@click.option(
    "--vms",
    default=300,
    show_default=True,
    type=click.IntRange(0, 100000),
    help="Existing customer VMs in the seed inventory.",
)
@click.option(
    "--orders",
    default=40,
    show_default=True,
    type=click.IntRange(0, 100000),
    help="Pending orders seeded in billing.",
)
@click.option(
    "--order-rate",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0),
    help="New paid orders arriving per minute.",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Engine fault plan (JSON), see console/sim/engine/faults.py.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the first line.")
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a console config pointing at this simulator (no secrets).",
)
def command(
    host: str,
    port: int,
    billing_port: int | None,
    tls: bool,
    time_scale: float,
    vms: int,
    orders: int,
    order_rate: float,
    faults_file: Path | None,
    as_json: bool,
    write_config: Path | None,
) -> None:
    """Serve the embedded oVirt engine and WHMCS until interrupted (Ctrl+C)."""
    if billing_port is None:
        billing_port = port + 1 if port else 0
    engine = EngineSimulator(host=host, port=port, tls=tls, time_scale=time_scale, vms=vms)
    if faults_file:
        engine.faults.load(faults_file)
    billing = WhmcsSimulator(
        host=host,
        port=billing_port,
        orders=orders,
        arrival_per_minute=order_rate,
        time_scale=time_scale,
        identifier=SIM_IDENTIFIER,
    )
    # Each simulator serves inside its own `with` and stops however the block ends (the
    # engine too when the billing cannot start).
    with engine, billing:
        facts = {
            "engine_url": engine.url,
            "username": engine.username,
            "password": engine.password,
            "ca_file": engine.ca_file,
            "billing_url": billing.url,
            "identifier": billing.identifier,
            "secret": billing.secret,
        }
        # The file first: a script that reads the JSON line may open the config at once.
        if write_config:
            _write_owner_only(
                write_config,
                sim_config_toml(
                    engine_url=engine.url,
                    username=engine.username,
                    ca_file=engine.ca_file,
                    billing_url=billing.url,
                    identifier=billing.identifier,
                ),
            )
        if as_json:
            click.echo(json.dumps(facts), nl=True)
        else:
            click.echo(f"oVirt engine  {engine.url}")
            click.echo(f"  username    {engine.username}")
            click.echo(f"  password    {engine.password}")
            if engine.ca_file:
                click.echo(f"  CA file     {engine.ca_file}")
            click.echo(f"WHMCS         {billing.url}/includes/api.php")
            click.echo(f"  identifier  {billing.identifier}")
            click.echo(f"  secret      {billing.secret}")
        if write_config:
            click.echo(
                f"wrote {write_config}; before `vps-console --config {write_config}` run:",
                err=as_json,
            )
            click.echo(f"  export VPS_CONSOLE_ENGINE_PASSWORD='{engine.password}'", err=as_json)
            click.echo(f"  export VPS_CONSOLE_BILLING_SECRET='{billing.secret}'", err=as_json)
        click.echo("serving; Ctrl+C to stop", err=True)
        _wait_for_interrupt()


def _write_owner_only(path: Path, text: str) -> None:
    """Replace ``path`` whole (a reader never sees half a file), readable by its owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(temporary, path)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
