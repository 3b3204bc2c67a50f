"""`vps-console demo`: the whole product in ten seconds, with no set-up.

Starts the oVirt engine and WHMCS simulators in this process, a store in a temporary
directory and a configuration built in memory (secrets in memory only, never in a file),
pulls the simulated pending orders in and opens the console ready to provision.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from console.config import Config

DEMO_ENGINE = "demo"
# The simulated WHMCS sells these products; the simulated engine has these templates.
DEMO_PRODUCTS = (
    {
        "billing_product": "VPS Linux cPanel",
        "template": "alma9-cpanel",
        "cpus": 2,
        "memory": "4GiB",
        "disk": "80GiB",
        "license_kinds": ["cpanel"],
    },
    {
        "billing_product": "VPS Legacy CentOS cPanel",
        "template": "centos7-cpanel",
        "cpus": 2,
        "memory": "4GiB",
        "disk": "60GiB",
        "license_kinds": ["cpanel"],
    },
    {
        "billing_product": "VPS Linux Plesk",
        "template": "ubuntu2204-plesk",
        "cpus": 2,
        "memory": "4GiB",
        "disk": "80GiB",
        "license_kinds": ["plesk"],
    },
    {
        "billing_product": "VPS Windows Plesk",
        "template": "win2022-plesk",
        "cpus": 4,
        "memory": "8GiB",
        "disk": "100GiB",
        "max_memory": "32GiB",
        "license_kinds": ["windows", "plesk"],
    },
    {
        "billing_product": "VPS Windows MSSQL",
        "template": "win2022-mssql",
        "cpus": 4,
        "memory": "16GiB",
        "disk": "200GiB",
        "license_kinds": ["windows", "mssql"],
    },
    {
        "billing_product": "VPS Linux Bare",
        "template": "alma9",
        "cpus": 1,
        "memory": "2GiB",
        "disk": "40GiB",
    },
)


def demo_config(
    engine_url: str,
    billing_url: str,
    identifier: str,
    store_url: str,
    *,
    refresh_seconds: float = 3.0,
) -> Config:
    return Config.model_validate(
        {
            # The simulator's cluster and storage domain, so the preflight has nothing to guess.
            "engines": [
                {
                    "name": DEMO_ENGINE,
                    "url": engine_url,
                    "username": "admin@internal",
                    "cluster": "prod-a",
                    "storage_domain": "data-ssd",
                }
            ],
            "billing": {
                "kind": "whmcs",
                "url": billing_url,
                "identifier": identifier,
                "sync_interval_seconds": 15,
            },
            "catalog": {"products": list(DEMO_PRODUCTS), "stale_after_days": 90},
            "store": {"url": store_url},
            "ui": {"refresh_seconds": refresh_seconds},
        }
    )


def demo_secrets(engine_password: str, billing_secret: str):
    from console.secrets import BILLING_SECRET, MemorySecretStore, engine_secret

    return MemorySecretStore(
        initial={engine_secret(DEMO_ENGINE): engine_password, BILLING_SECRET: billing_secret}
    )


@click.command("demo")
@click.option(
    "--time-scale",
    default=0.3,
    show_default=True,
    type=click.FloatRange(0.001, 10),
    help="Simulated engine time: 1.0 is real-ish seconds; 0.3 provisions in well under a minute.",
)
@click.option(
    "--orders",
    default=40,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Pending orders the simulated WHMCS starts with.",
)
@click.option("--no-mouse", is_flag=True, help="Do not capture the mouse.")
def command(time_scale: float, orders: int, no_mouse: bool) -> None:
    """Try the console against in-process engine and WHMCS simulators (no set-up)."""
    from console.flow.timing import ENV_TIME_SCALE
    from console.sim.engine import EngineSimulator
    from console.sim.whmcs import WhmcsSimulator
    from console.store.db import open_store
    from console.tui.launch import build_context, run_console

    # The runner waits and polls as fast as the simulated engine moves.
    os.environ.setdefault(ENV_TIME_SCALE, str(time_scale))
    workdir = Path(tempfile.mkdtemp(prefix="vps-console-demo-"))
    store = None
    try:
        # As `vps-console sim`: each simulator stops however the block ends.
        with (
            EngineSimulator(time_scale=time_scale, vms=300, seed=1) as engine,
            WhmcsSimulator(seed=1, orders=orders, arrival_per_minute=0.5) as billing,
        ):
            config = demo_config(
                engine.url, billing.url, billing.identifier, f"sqlite:///{workdir / 'console.db'}"
            )
            store = open_store(config.store.url)
            context = build_context(config, store, demo_secrets(engine.password, billing.secret))
            assert context.sync_billing is not None  # the demo's billing is the WHMCS simulator
            context.sync_billing()  # the queue opens with the orders already there
            run_console(context, mouse=not no_mouse)
    finally:
        if store is not None:
            store.close()
        shutil.rmtree(workdir, ignore_errors=True)
