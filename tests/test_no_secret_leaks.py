"""Issue 7's promise: planted secrets never land anywhere but the secret store and billing.

A full provisioning and handover of a Windows + Plesk order runs against both simulators
(engine over HTTPS with its CA) with logging at DEBUG, the simulators logging into the
same files; then the console is opened on what it left and its screens are captured. The
database (with its WAL), the log files, the config file, the repository's screenshots,
those captures, the encrypted secrets file with its key file (the headless default store)
and everything printed to stdout/stderr are scanned for each secret, in the forms it could
travel in: zero hits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from console.billing.sync import sync_orders
from console.config import load_config
from console.flow.plan import draft_plan
from console.flow.runner import Runner
from console.flow.services import Services
from console.flow.timing import Timing
from console.logs import log_dir, setup_logging
from console.secrets import (
    BILLING_SECRET,
    admin_password_secret,
    data_dir,
    engine_secret,
    key_file_path,
    license_secret,
    open_secret_store,
    vault_file_path,
)
from console.sim.engine import EngineSimulator
from console.sim.whmcs import WhmcsSimulator
from console.store.db import open_store
from console.store.models import Order

ENGINE_PASSWORD = "Engine-Pl4nted-Passw0rd"
BILLING_SECRET_VALUE = "Billing-Pl4nted-Secret-7f3a"
WINDOWS_KEY = "W7XK2-QPB9M-TRD4H-8GJYC-3FV6N"
PLESK_CODE = "A00C00-K3BD01-R5G842-FJR317-PA4B07"
CUSTOMER_ROOT_PASSWORD = "Customer-Chosen-Pw-99"
REPO = Path(__file__).parents[1]


def forms(secret: str) -> set[str]:
    """The secret as it could appear: raw, URL-encoded, JSON-escaped, and a license key's
    body without its last (shown) group."""
    found = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    if secret.count("-") >= 4:
        found.add(secret.rsplit("-", 1)[0])
    return found


def hits(text: str, secrets: dict[str, str]) -> list[str]:
    return [label for label, secret in secrets.items() if any(f in text for f in forms(secret))]


@pytest.fixture
def world(tmp_path):
    engine = EngineSimulator(tls=True, time_scale=0.01, vms=5, seed=3, password=ENGINE_PASSWORD)
    whmcs = WhmcsSimulator(seed=3, orders=2, secret=BILLING_SECRET_VALUE)
    with engine, whmcs:
        yield engine, whmcs


async def screenshots_of_the_console(config, store, secrets, services, folder: Path) -> list[Path]:
    """The console on the store the provisioning left: queue, VMs, jobs, the job's events and
    the audit trail, as SVG screenshots (what an engineer could paste into a ticket)."""
    from console.tui.app import ConsoleApp
    from console.tui.launch import build_context
    from tests.showcase.screenshots import settle

    folder.mkdir()
    context = build_context(config, store, secrets, services=services)
    app = ConsoleApp(context)
    shots = []
    async with app.run_test(size=(200, 60)) as pilot:
        for name, keys in (
            ("queue", ["1"]),
            ("vms", ["3"]),
            ("jobs", ["4"]),
            ("activity", ["a"]),
            ("templates", ["2"]),
        ):
            await pilot.press(*keys)
            await settle(pilot)
            path = folder / f"{name}.svg"
            path.write_text(app.export_screenshot(), encoding="utf-8")
            shots.append(path)
    assert "launch" in shots[3].read_text(encoding="utf-8")  # the audit trail was on screen
    return shots


def test_planted_secrets_appear_nowhere_after_provisioning_and_handover(world, tmp_path, capfd):
    engine_sim, whmcs_sim = world
    config_path = tmp_path / "config.toml"
    config_path.write_text(f"""
[[engines]]
name = "sim"
url = "{engine_sim.url}"
ca_file = "{engine_sim.ca_file}"
cluster = "prod-a"

[billing]
kind = "whmcs"
url = "{whmcs_sim.url}"
identifier = "{whmcs_sim.identifier}"

[[catalog.products]]
billing_product = "VPS Windows Plesk"
template = "win2022-plesk"
license_kinds = ["windows", "plesk"]
memory = "4 GiB"
disk = "100 GiB"

[store]
url = "sqlite:///{tmp_path / "console.db"}"
""")
    log_path = setup_logging(verbose=3, stderr=True)  # DEBUG everywhere, stderr included
    services = None
    try:
        config = load_config(config_path)
        store = open_store(config.store.url)
        secrets = open_secret_store()  # headless: the encrypted file and its key file
        assert secrets.describe().path == str(vault_file_path())
        secrets.set(engine_secret("sim"), ENGINE_PASSWORD)
        secrets.set(BILLING_SECRET, BILLING_SECRET_VALUE)
        services = Services(config, store, secrets)

        placed = whmcs_sim.add_order(
            pid="VPS Windows Plesk", hostname="leak.example.net", rootpw=CUSTOMER_ROOT_PASSWORD
        )
        sync_orders(store, services.billing(), config.catalog)
        with store.session() as session:
            order = session.get(Order, str(placed.id))
        assert order is not None and order.status == "new", order
        engine = services.engine("sim")
        draft = draft_plan(
            order,
            config.catalog.product_for(order.product_name),
            engine.list_templates(),
            config,
            clusters=engine.clusters(),
        )
        assert draft.plan is not None, draft.problems

        runner = Runner(services, timing=Timing().scaled(0.01))
        job = runner.launch(
            order.id,
            draft.plan,
            {"windows": WINDOWS_KEY, "plesk": PLESK_CODE},
            confirm_warnings=True,
        )
        finished = runner.run(job.id)
        assert finished.state == "done", (finished.error_message, finished.error_hint)
        generated_root_password = secrets.get(admin_password_secret(order.id))
        assert generated_root_password
        # Positive control: the secrets really travelled, to the engine (sysprep) and to
        # billing (the handover), the only places they belong; so zero hits below means
        # no layer copied them on the way.
        init = json.dumps(engine_sim.vm(finished.vm_name)["initialization"])
        assert WINDOWS_KEY in init and PLESK_CODE in init and generated_root_password in init
        assert whmcs_sim.calls_for("UpdateClientProduct")
        logging.getLogger("console.test").debug("finished job %s", finished.id)
        shots = asyncio.run(
            screenshots_of_the_console(config, store, secrets, services, tmp_path / "screens")
        )
        assert len(shots) == 5 and finished.vm_name in shots[2].read_text(encoding="utf-8")
    finally:
        if services is not None:
            services.close()
        for handler in logging.getLogger().handlers:
            handler.flush()

    planted = {
        "engine password": ENGINE_PASSWORD,
        "billing secret": BILLING_SECRET_VALUE,
        "windows key": WINDOWS_KEY,
        "plesk code": PLESK_CODE,
        "customer root password": CUSTOMER_ROOT_PASSWORD,
        "generated root password": generated_root_password,
    }
    scanned: dict[str, list[str]] = {}
    secret_files = list(data_dir().glob("*"))  # the store, its key file, its lock
    assert {vault_file_path(), key_file_path()} <= set(secret_files)
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The store does hold them (encrypted): read back by another store, as a process would.
    assert open_secret_store().get(license_secret(order.id, "windows")) == WINDOWS_KEY
    files = [
        *tmp_path.glob("console.db*"),
        config_path,
        *log_dir().glob("*"),
        *(REPO / "screenshots").glob("**/*"),
        *shots,
        *secret_files,
    ]
    assert log_path in files and log_path.stat().st_size > 10_000  # DEBUG really was on
    for path in files:
        if path.is_file():
            scanned[str(path)] = hits(path.read_bytes().decode("utf-8", "replace"), planted)
    captured = capfd.readouterr()
    scanned["stdout"] = hits(captured.out, planted)
    scanned["stderr"] = hits(captured.err, planted)
    # The scan reads what it should: the job's masked keys are in the database.
    database = (tmp_path / "console.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("console.db-wal")
    )
    assert "…-3FV6N".encode() in database
    assert {where: found for where, found in scanned.items() if found} == {}
