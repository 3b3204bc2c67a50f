"""The vault as the runner uses it, against the engine simulator through the real SDK: the
launch's keys assembled by `vault.keys_for_launch`, and the runner's own hooks (launch,
first start, handover, rollback) moving them:

- Windows + Plesk and Windows + MSSQL orders with no key pasted: the sysprep / first-boot
  payload the engine received carries the vault's keys, and the vault binds them to the VM;
- cancel before first boot puts the keys back; cancel after boot retires them and the next
  order gets other keys; a pasted key overrides the vault's, which goes back to stock."""

from __future__ import annotations

import pytest

from console.config import ProductMapping
from console.flow import vault
from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.flow.vault_import import import_keys
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.flow import FAST
from tests.plugins.vault import plesk_code, product_key

ACTOR = "eng@desk"
MSSQL = ProductMapping(
    billing_product="VPS Windows MSSQL",
    template="win2022-mssql",
    cpus=4,
    memory_mib=16384,
    disk_gib=200,
    license_kinds=("windows", "mssql"),
)


@pytest.fixture
def services(flow_services):
    catalog = flow_services.config.catalog
    flow_services.config = flow_services.config.model_copy(
        update={"catalog": catalog.model_copy(update={"products": (*catalog.products, MSSQL)})}
    )
    secrets = flow_services.secrets
    for kind, keys in (
        ("windows", [product_key(i) for i in range(4)]),
        ("mssql", [product_key(i) for i in range(10, 12)]),
        ("plesk", [plesk_code(i) for i in range(3)]),
    ):
        report = import_keys(flow_services.store, secrets, "\n".join(keys), actor=ACTOR, kind=kind)
        assert len(report.imported) == len(keys)
    return flow_services


def provision(
    services,
    order_id: str,
    product: str,
    *,
    cancel_at: str | None = None,
    pasted: dict[str, str] | None = None,
):
    """Draft, assemble the keys as the console does, launch and run (cancelling at the
    start of step `cancel_at`); the vault's hooks are the runner's own."""
    store = services.store
    with store.session() as session:
        session.add(Order(id=order_id, source="manual", product_name=product))
    with store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(product),
        services.engine().list_templates(),
        services.config,
        Overrides(hostname=f"w{order_id}.example.net"),
    )
    assert draft.problems == [], draft.problems
    plan = draft.plan
    keys = vault.keys_for_launch(
        store, services.secrets, order_id, plan.key_kinds, pasted or {}, actor=ACTOR
    )

    def cancel(event) -> None:
        if (event.step, event.kind) == (cancel_at, "started"):
            repo.update_job(store, event.job_id, data={"cancel_requested": ACTOR})

    runner = Runner(services, on_event=cancel, timing=FAST)
    job = runner.launch(order_id, plan, keys, confirm_warnings=True)
    return plan, keys, runner.run(job.id)


def test_windows_plesk_and_windows_mssql_orders_with_zero_pastes(services, engine_sim):
    plan, keys, done = provision(services, "3101", "VPS Windows Plesk")
    assert done.state == "done", (done.error_message, done.error_hint)
    assert plan.key_kinds == ("windows", "plesk")
    assert keys == {"windows": product_key(0), "plesk": plesk_code(0)}
    init = engine_sim.vm("vps-3101")["initialization"]
    assert init["windows_license_key"] == keys["windows"]
    assert f"plesk bin license --install {keys['plesk']}" in init["custom_script"]
    held = vault.reserved_for(services.store, "3101")
    assert {(k.kind, k.state, k.vm_name) for k in held.values()} == {
        ("windows", "bound", "vps-3101"),
        ("plesk", "bound", "vps-3101"),
    }
    assert done.plan["license_masks"] == {kind: key.masked for kind, key in held.items()}

    plan, keys, done = provision(services, "3102", "VPS Windows MSSQL")
    assert done.state == "done", (done.error_message, done.error_hint)
    assert keys == {"windows": product_key(1), "mssql": product_key(10)}
    init = engine_sim.vm("vps-3102")["initialization"]
    assert init["windows_license_key"] == keys["windows"]
    assert f"/PID={keys['mssql']}" in init["custom_script"]
    assert {
        (k.kind, k.state, k.vm_name) for k in vault.reserved_for(services.store, "3102").values()
    } == {("windows", "bound", "vps-3102"), ("mssql", "bound", "vps-3102")}
    stock = {line.kind: (line.available, line.bound) for line in vault.stock(services.store)}
    assert stock == {"windows": (2, 2), "plesk": (2, 1), "mssql": (1, 1)}


def test_cancel_before_boot_returns_keys_and_after_boot_retires_them(services, engine_sim):
    _, early, cancelled = provision(services, "3201", "VPS Windows Plesk", cancel_at="initializing")
    assert cancelled.state == "cancelled"
    assert vault.reserved_for(services.store, "3201") == {}
    _, late, cancelled = provision(services, "3202", "VPS Windows Plesk", cancel_at="ip_wait")
    assert cancelled.state == "cancelled"
    assert late == early  # the keys the first order gave back
    with pytest.raises(KeyError):
        engine_sim.vm("vps-3202")  # rolled back: the VM is gone
    retired = vault.list_keys(services.store, state="retired")
    assert {(k.kind, k.order_id, k.vm_name) for k in retired} == {
        ("windows", "3202", "vps-3202"),
        ("plesk", "3202", "vps-3202"),
    }
    # The next order never gets a retired key.
    _, fresh, done = provision(services, "3203", "VPS Windows Plesk")
    assert done.state == "done", done.error_message
    assert fresh == {"windows": product_key(1), "plesk": plesk_code(1)}
    assert not set(fresh.values()) & set(late.values())


def test_a_pasted_key_overrides_the_vault_and_the_reserved_one_goes_back(services, engine_sim):
    store = services.store
    vault.keys_for_plan(store, services.secrets, "3301", ("windows", "plesk"), actor=ACTOR)
    reserved = vault.reserved_for(store, "3301")["windows"]
    own = product_key(30)
    _, keys, done = provision(services, "3301", "VPS Windows Plesk", pasted={"windows": own})
    assert done.state == "done", done.error_message
    assert keys == {"windows": own, "plesk": plesk_code(0)}
    assert engine_sim.vm("vps-3301")["initialization"]["windows_license_key"] == own
    assert vault.find_key(store, reserved.id).state == "available"
    assert set(vault.reserved_for(store, "3301")) == {"plesk"}


def test_a_key_retired_in_the_vault_is_refused_when_pasted(services, engine_sim):
    _, late, cancelled = provision(services, "3401", "VPS Windows Plesk", cancel_at="ip_wait")
    assert cancelled.state == "cancelled"
    with pytest.raises(vault.VaultError, match="retired"):
        provision(services, "3402", "VPS Windows Plesk", pasted={"windows": late["windows"]})
    job = repo.open_job_for_order(services.store, "3402")
    assert job is None  # the refused launch left no job to resume
