"""The whole flow in the app against the engine and WHMCS simulators: the oldest Windows
Plesk order, RAM changed, keys pasted, VM up, handover recorded by WHMCS; a fault, then
retry; and cancel."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from textual import events

from console.store.models import Job, Order
from console.tui.app import ConsoleApp
from console.tui.screens.provision import ProvisionScreen
from console.tui.screens.queue import QueueScreen
from tests.tui.helpers import settle, table_keys

WINDOWS_KEY = "vdybn-27wpp-v4hqt-9vmd4-vmk7h"  # pasted in lower case: normalised on launch
PLESK_CODE = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"


async def wait_for(pilot, condition, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"the console did not get there in time: {where(pilot)}"
        await pilot.pause(0.05)


async def open_for_editing(pilot, table: str, key: str, press: str) -> ProvisionScreen:
    """Put the cursor on `key` in `table`, press `press`, and wait for the Provision form."""
    app = pilot.app
    app.screen.query_one(table).select_key(key)
    await pilot.press(press)
    await wait_for(
        pilot, lambda: isinstance(app.screen, ProvisionScreen) and app.screen.phase == "editing"
    )
    return app.screen


def where(pilot) -> str:
    screen = pilot.app.screen
    if not isinstance(screen, ProvisionScreen):
        return repr(screen)
    problems = screen.draft.problems if screen.draft else None
    return (
        f"phase={screen.phase} checks={screen.checks} problems={problems} "
        f"steps={screen.query_one('#steps').render()} "
        f"outcome={screen.query_one('#outcome').render()} "
        f"log={list(screen.query_one('#log').lines)}"
    )


async def open_oldest_windows_plesk(pilot) -> ProvisionScreen:
    app = pilot.app
    await settle(pilot)
    await pilot.press("slash", *"Windows Plesk", "enter")
    queue = app.screen
    assert isinstance(queue, QueueScreen) and queue.sort_by == "age"
    keys = table_keys(app, "#orders")
    oldest = min(
        (queue.orders[key] for key in keys if queue.orders[key].status == "new"),
        key=lambda order: order.paid_at or order.created_at,
    )
    return await open_for_editing(pilot, "#orders", oldest.id, "p")


async def paste(pilot, text: str) -> None:
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


async def test_oldest_order_provisioned_with_changed_ram_and_pasted_keys(
    sim_context, whmcs_sim, engine_sim
):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_oldest_windows_plesk(pilot)
        order_id = screen.order_id
        assert app.focused.id == "license-windows"
        await paste(pilot, WINDOWS_KEY)
        await pilot.press("tab")
        assert app.focused.id == "license-plesk"
        await paste(pilot, PLESK_CODE)
        memory = screen.query_one("#memory")
        memory.focus()
        await pilot.pause()
        memory.value = ""
        await pilot.press(*"12G")
        await wait_for(pilot, lambda: screen.checks and not screen.launch_requested)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=25)
        assert screen.phase == "done", str(screen.query_one("#outcome").render())
        outcome = str(screen.query_one("#outcome").render())
        assert "handed over" in outcome and screen.admin_password in outcome
        assert all(
            f"[x] {step}" in str(screen.query_one("#steps").render())
            for step in ("cloning", "starting", "handover")
        )
        log_text = "\n".join(screen.query_one("#log").lines)
        assert screen.admin_password not in log_text and "VDYBN" not in log_text
        await pilot.press("y")
        assert screen.admin_password in app.clipboard

    with sim_context.store.session() as session:
        job = session.exec(select(Job).where(Job.order_id == order_id)).one()
        order = session.get(Order, order_id)
    assert job.state == "done" and job.ips
    assert job.plan["memory_mib"] == 12 * 1024
    assert order.status == "done"
    vm = engine_sim.world.vm_by_name(job.vm_name)
    assert vm.status == "up" and vm.memory == 12 * 1024**3
    accepted = [
        call
        for call in whmcs_sim.calls
        if call.action.lower() == "acceptorder" and call.params.get("orderid") == order_id
    ]
    assert accepted, [call.action for call in whmcs_sim.calls][-10:]


async def test_failed_start_shows_reason_and_retry_finishes(sim_context, engine_sim):
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=400,
        detail="[Cannot run VM. There is no host that satisfies current scheduling constraints.]",
    )
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_oldest_windows_plesk(pilot)
        await paste(pilot, WINDOWS_KEY)
        await pilot.press("tab")
        assert app.focused.id == "license-plesk"
        await paste(pilot, PLESK_CODE)
        await wait_for(pilot, lambda: bool(screen.checks))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=25)
        assert screen.phase == "failed"
        await wait_for(pilot, lambda: "no host" in str(screen.query_one("#outcome").render()))
        assert "[!] starting" in str(screen.query_one("#steps").render())
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=25)
        assert screen.phase == "done", str(screen.query_one("#outcome").render())


async def test_cancel_a_failed_job_removes_its_vm_and_frees_the_order(sim_context, engine_sim):
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=400,
        detail="[Cannot run VM. The VM is broken.]",
    )
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_oldest_windows_plesk(pilot)
        await paste(pilot, WINDOWS_KEY)
        await pilot.press("tab")
        assert app.focused.id == "license-plesk"
        await paste(pilot, PLESK_CODE)
        await wait_for(pilot, lambda: bool(screen.checks))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase == "failed", seconds=25)
        await pilot.press("c")
        await pilot.press("y")  # the confirmation dialog
        await wait_for(pilot, lambda: screen.phase == "cancelled", seconds=60)
        job_id = screen.job_id
    with sim_context.store.session() as session:
        job = session.get(Job, job_id)
        order = session.get(Order, job.order_id)
    assert job.state == "cancelled"
    with pytest.raises(KeyError):
        engine_sim.vm(job.vm_name)  # the VM this job created is gone
    assert order.status == "new" and order.claimed_by is None  # back in the queue


@pytest.mark.parametrize(
    ("product", "pastes", "keys", "vault_stock"),
    [
        ("VPS Linux cPanel", (), 2, False),  # cPanel is licensed by IP: no key
        ("VPS Linux Plesk", (PLESK_CODE,), 2, False),
        ("VPS Windows Plesk", (WINDOWS_KEY, PLESK_CODE), 3, False),
        ("VPS Windows Plesk", (), 2, True),  # both keys from the license vault
    ],
    ids=["cpanel", "ubuntu-plesk", "windows-plesk", "windows-plesk-vault"],
)
async def test_keystrokes_from_the_queue_to_a_handed_over_order(
    sim_context, whmcs_sim, product, pastes, keys, vault_stock
):
    """The README's keystroke counts: `p`, the pastes (`tab` between two), `ctrl+l`."""
    if vault_stock:
        from console.flow.vault_import import import_keys

        for kind, key in (("windows", WINDOWS_KEY), ("plesk", PLESK_CODE)):
            import_keys(sim_context.store, sim_context.services.secrets, key, actor="ci", kind=kind)
    app = ConsoleApp(sim_context)
    pressed = []
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        queue = app.screen
        order = min(
            (o for o in queue.orders.values() if o.status == "new" and o.product_name == product),
            key=lambda o: o.paid_at or o.created_at,
        )
        queue.query_one("#orders").select_key(order.id)

        async def press(key):
            pressed.append(key)
            await pilot.press(key)

        await press("p")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ProvisionScreen) and app.screen.phase == "editing"
        )
        screen = app.screen
        for index, text in enumerate(pastes):
            if index:
                await press("tab")
            await paste(pilot, text)
        await press("ctrl+l")  # waits for the preflight if it is still asking
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=25)
        assert screen.phase == "done", where(pilot)
    assert len(pressed) == keys, pressed
    assert any(
        call.action.lower() == "acceptorder" and call.params.get("orderid") == order.id
        for call in whmcs_sim.calls
    )


async def test_the_queue_opens_on_the_oldest_order(sim_context):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        queue = app.screen
        keys = table_keys(app, "#orders")
        oldest = min(
            keys, key=lambda key: queue.orders[key].paid_at or queue.orders[key].created_at
        )
        assert queue.query_one("#orders").selected_key == keys[0]
        assert queue.orders[keys[0]].paid_at == queue.orders[oldest].paid_at


async def test_jobs_screen_lists_the_failed_job_first_and_retries_it(sim_context, engine_sim):
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=400,
        detail="[Cannot run VM. There is no host that satisfies current scheduling constraints.]",
    )
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_oldest_windows_plesk(pilot)
        await paste(pilot, WINDOWS_KEY)
        await pilot.press("tab")
        await paste(pilot, PLESK_CODE)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase == "failed", seconds=25)
        job_id = screen.job_id
        await pilot.press("escape", "4")
        await settle(pilot)
        jobs = app.screen
        assert table_keys(app, "#jobs")[0] == job_id
        assert "no host" in str(jobs.query_one("#job-detail").render())
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: jobs.jobs.get(job_id) is not None and jobs.jobs[job_id].state == "done",
            seconds=25,
        )


async def test_vms_screen_stops_a_vm_after_confirmation(sim_context, engine_sim):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: bool(getattr(app.screen, "vms", None)))
        vms = app.screen
        target = next(vm for vm in vms.vms.values() if vm.status == "up")
        vms.query_one("#vms").select_key(target.name)
        await pilot.press("o")
        await pilot.press("n")  # no: nothing happens
        await settle(pilot)
        assert engine_sim.world.vm_by_name(target.name).status == "up"
        await pilot.press("o", "y")
        await wait_for(
            pilot,
            lambda: engine_sim.world.vm_by_name(target.name).status in ("powering_down", "down"),
        )
