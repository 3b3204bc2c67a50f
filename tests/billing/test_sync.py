"""Sync from the WHMCS simulator into a real store, over HTTP."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlmodel import func, select

from console.billing.errors import BillingApiError, BillingAuthError, BillingUnreachable
from console.billing.sync import billing_staleness, remap_waiting_orders, sync_orders
from console.config import CatalogConfig, ProductMapping
from console.sim.whmcs import WhmcsSimulator
from console.store.models import Job, JobEvent, Order
from console.store.orders import list_orders, order_to_dict
from tests.plugins.whmcs import EXAMPLE_PRODUCTS, client_for


def count_orders(store) -> int:
    with store.session() as session:
        return session.exec(select(func.count()).select_from(Order)).one()


def test_hundreds_of_orders_synced_twice_without_duplicates(store, catalog):
    with WhmcsSimulator(seed=3, orders=320) as sim, client_for(sim) as client:
        first = sync_orders(store, client, catalog)
        paid_pending = [
            o
            for o in sim.world.orders.values()
            if o.status == "Pending" and o.paymentstatus == "Paid"
        ]
        assert len(first.created) == len(paid_pending) > 250
        second = sync_orders(store, client, catalog)
        assert second.created == [] and count_orders(store) == len(paid_pending)
        # only new work costs calls: the second sync asks for no service details
        services_after_first = len(sim.calls_for("GetClientsProducts"))
        sync_orders(store, client, catalog)
        assert len(sim.calls_for("GetClientsProducts")) == services_after_first
    rows = list_orders(store, statuses=None)
    assert {r.product_name for r in rows} >= {
        "VPS Linux cPanel",
        "VPS Linux Plesk",
        "VPS Windows MSSQL",
        "Dedicated Game Server",
    }
    ready = [r for r in rows if r.status == "new"]
    assert ready and all(r.template_name and r.cpus and r.memory_mib and r.disk_gib for r in ready)
    assert all(r.client_email.endswith("@example.net") for r in rows)
    assert "Unpaid" not in {r.billing_status for r in rows}


def test_unmapped_and_malformed_orders_stay_visible_with_their_fix(store, catalog, whmcs_sim):
    game = whmcs_sim.add_order(pid=7, hostname="g.example.net")
    lots = whmcs_sim.add_order(pid=1, configoptions={"ram|RAM": "lots"})
    no_unit = whmcs_sim.add_order(pid=2, configoptions={"Memory": "4096"})
    ubuntu = whmcs_sim.add_order(
        pid=5,
        configoptions={"ram|RAM": "2048|2 GB"},
        customfields={"Operating System": "Ubuntu 22.04"},
    )
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
    rows = {r.id: r for r in list_orders(store, statuses=None)}
    as_json = order_to_dict(rows[str(game.id)])
    assert as_json["status"] == "needs_mapping" and as_json["template"] is None
    assert '[[catalog.products]] billing_product = "Dedicated Game Server"' in as_json["problem"]
    assert "'lots' is not a size" in rows[str(lots.id)].problem
    assert rows[str(lots.id)].status == "needs_mapping" and rows[str(lots.id)].memory_mib is None
    assert "has no unit" in rows[str(no_unit.id)].problem
    assert rows[str(ubuntu.id)].status == "new"
    assert (rows[str(ubuntu.id)].template_name, rows[str(ubuntu.id)].memory_mib) == (
        "ubuntu2204",
        2048,
    )


def test_catalog_fix_clears_needs_mapping(store, catalog, whmcs_sim):
    game = whmcs_sim.add_order(pid=7)
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
    fixed = CatalogConfig(
        products=EXAMPLE_PRODUCTS
        + (ProductMapping(billing_product="Dedicated Game Server", template="ubuntu2204"),)
    )
    assert str(game.id) in remap_waiting_orders(store, fixed)
    row = {r.id: r for r in list_orders(store)}[str(game.id)]
    assert (row.status, row.template_name, row.problem) == ("new", "ubuntu2204", None)


def test_cancelled_in_billing_is_marked_and_warns_about_a_running_job(store, catalog, whmcs_sim):
    quiet, busy = whmcs_sim.add_order(pid=1), whmcs_sim.add_order(pid=2)
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
        with store.session() as session:
            row = session.get(Order, str(busy.id))
            row.status = "provisioning"
            session.add(row)
            session.add(Job(id="job-1", order_id=row.id, state="cloning", vm_name=f"vps-{busy.id}"))
        whmcs_sim.cancel_order(quiet.id)
        whmcs_sim.cancel_order(busy.id, refund=True)
        report = sync_orders(store, client, catalog)
    assert set(report.cancelled) == {str(quiet.id), str(busy.id)}
    assert len(report.warnings) == 1 and "job-1" in report.warnings[0]
    assert f"vps-{busy.id}" in report.warnings[0]
    rows = {r.id: r for r in list_orders(store, statuses=None)}
    assert rows[str(quiet.id)].status == rows[str(busy.id)].status == "cancelled"
    assert rows[str(busy.id)].problem == "refunded in WHMCS"


@pytest.mark.parametrize(
    ("fault", "error"),
    [("drop", BillingUnreachable), ("auth", BillingAuthError), ("error", BillingApiError)],
)
def test_billing_failure_keeps_the_queue_and_retry_works(store, catalog, whmcs_sim, fault, error):
    with client_for(whmcs_sim, retries=0) as client:
        sync_orders(store, client, catalog)
        before = [order_to_dict(o) for o in list_orders(store, statuses=None)]
        newcomer = whmcs_sim.add_order(pid=1)
        whmcs_sim.faults.inject(fault, action="GetOrders")
        with pytest.raises(error) as caught:
            sync_orders(store, client, catalog)
        assert caught.value.hint
        assert [order_to_dict(o) for o in list_orders(store, statuses=None)] == before
        stale = billing_staleness(store)
        assert stale.stale_since is not None and caught.value.message in stale.last_error
        whmcs_sim.faults.clear()
        report = sync_orders(store, client, catalog)
    assert report.created == [str(newcomer.id)]
    assert billing_staleness(store).stale_since is None


def test_sync_is_audited(store, catalog, whmcs_sim):
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog, actor="eng@jump1")
    with store.session() as session:
        events = session.exec(select(JobEvent).where(JobEvent.kind == "audit")).all()
    assert {e.step for e in events} == {"intake", "sync"}
    assert all(e.actor == "eng@jump1" for e in events)
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog, actor="eng@jump1")  # nothing new: no new line
    with store.session() as session:
        again = session.exec(select(JobEvent).where(JobEvent.kind == "audit")).all()
    assert len(again) == len(events)


def test_order_accepted_by_staff_before_provisioning_is_flagged(store, catalog, whmcs_sim):
    order = whmcs_sim.add_order(pid=1)
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
        whmcs_sim.world.orders[order.id].status = "Active"
        report = sync_orders(store, client, catalog)
        assert any(f"order {order.id} was accepted in WHMCS" in w for w in report.warnings)
        assert sync_orders(store, client, catalog).warnings == []  # said once, not every sync
    row = {r.id: r for r in list_orders(store)}[str(order.id)]
    assert (row.status, row.billing_status) == ("new", "Active")


def test_an_order_waits_since_its_invoice_was_paid(store, catalog, whmcs_sim):
    from datetime import datetime, timedelta

    placed = datetime.now().replace(microsecond=0) - timedelta(hours=3)
    early = whmcs_sim.add_order(pid=1, when=placed)
    late = whmcs_sim.add_order(pid=1, when=placed, paymentstatus="Unpaid")
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
        whmcs_sim.world.pay_order(late.id, when=placed + timedelta(hours=2))
        sync_orders(store, client, catalog)
    with store.session() as session:
        rows = {oid: session.get(Order, oid) for oid in (str(early.id), str(late.id))}

    def utc(moment):
        return moment.astimezone(UTC).replace(tzinfo=None)

    paid_early = whmcs_sim.world.orders[early.id].datepaid
    assert placed < paid_early <= placed + timedelta(minutes=4)
    assert rows[str(early.id)].paid_at.replace(tzinfo=None) == utc(paid_early)
    assert rows[str(late.id)].paid_at.replace(tzinfo=None) == utc(placed + timedelta(hours=2))


@pytest.mark.parametrize(
    ("fault", "words"), [("error", "Invoice ID Not Found"), ("permission", "getinvoice")]
)
def test_an_unreadable_invoice_counts_the_wait_from_the_order(
    store, catalog, whmcs_sim, fault, words
):
    from datetime import datetime, timedelta

    placed = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    order = whmcs_sim.add_order(pid=1, when=placed)
    whmcs_sim.faults.inject(fault, action="GetInvoice", message="Invoice ID Not Found")
    with client_for(whmcs_sim) as client:
        report = sync_orders(store, client, catalog)
    assert str(order.id) in report.created
    assert any(
        f"order {order.id}" in warning and words in warning for warning in report.warnings
    ), report.warnings
    with store.session() as session:
        row = session.get(Order, str(order.id))
    assert row.paid_at.replace(tzinfo=None) == placed.astimezone(UTC).replace(tzinfo=None)
