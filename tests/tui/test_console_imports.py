"""What the console loads at its start, and what it leaves for when it is used: httpx
(WHMCS's client) only once billing is, and never httpx's command-line client (pygments)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from console.store.db import open_store

ROOT = Path(__file__).resolve().parents[2]

# The real console (ConsoleApp, Services) in a fresh interpreter, on an engine simulator
# and no billing; then the console's own WHMCS sync against the WHMCS simulator.
CONSOLE_THEN_SYNC = """
import asyncio, json, sys
from console.sim.engine import EngineSimulator
from console.sim.whmcs import WhmcsSimulator
engine = EngineSimulator(vms=3, time_scale=0.01).start()
whmcs = WhmcsSimulator(seed=1, orders=5).start()
from console.billing.sync import sync_orders
from console.config import BillingConfig, Config
from console.secrets import MemorySecretStore, engine_secret
from console.store.db import open_store
from console.tui.app import ConsoleApp
from console.tui.launch import build_context

LAZY = ("httpx", "httpcore", "pygments")
# Not tests.plugins' config: that package imports pytest (and pygments, click with it).
config = Config.model_validate(
    {
        "engines": [{"name": "sim", "url": engine.url, "cluster": "prod-a"}],
        "store": {"url": "sqlite:///" + sys.argv[1]},
    }
)
store = open_store(config.store.url)
secrets = MemorySecretStore(initial={engine_secret("sim"): engine.password})
context = build_context(config, store, secrets)
seen = {}

async def console():
    async with ConsoleApp(context).run_test(size=(80, 24)) as pilot:
        for _ in range(3):
            await pilot.pause()
        seen["started"] = {name: name in sys.modules for name in LAZY}

asyncio.run(console())
billing = BillingConfig(kind="whmcs", url=whmcs.url, identifier=whmcs.identifier)
from console.billing.whmcs import open_billing_client
with open_billing_client(billing, whmcs.secret) as client:
    report = sync_orders(store, client, config.catalog, actor="test")
seen["synced"] = {name: name in sys.modules for name in LAZY}
seen["orders"] = report.pending_in_billing
context.services.close()
store.close()
whmcs.stop()
engine.stop()
print(json.dumps(seen))
"""


def test_httpx_loads_with_the_first_sync_and_never_its_cli(tmp_path):
    # A store at head, as every start but the first (a migration loads alembic, and mako's
    # pygments with it).
    open_store(f"sqlite:///{tmp_path / 'console.db'}").close()
    run = subprocess.run(
        [sys.executable, "-c", CONSOLE_THEN_SYNC, str(tmp_path / "console.db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["started"] == {"httpx": False, "httpcore": False, "pygments": False}
    assert seen["orders"] > 0  # the sync did talk to WHMCS
    assert seen["synced"] == {"httpx": True, "httpcore": True, "pygments": False}
