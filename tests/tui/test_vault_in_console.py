"""The license vault from the console (Pilot, 80x24) against the engine and WHMCS
simulators: orders launched with no key pasted get the vault's keys in the sysprep /
first-boot payload the engine received, and the vault binds them to the VM; cancel before
first boot gives them back, cancel after boot retires them, the next order never gets a
retired one; closing the form unlaunched gives the reserved keys back; the queue marks an
order whose kind the vault ran out of, and the header shows the stock."""

from __future__ import annotations

from console.flow import vault
from console.flow.vault_import import import_keys
from console.tui.app import ConsoleApp
from console.tui.screens.provision import ProvisionScreen
from console.tui.screens.queue import ORDER_COLUMNS, QueueScreen
from tests.plugins.vault import plesk_code, product_key
from tests.tui.helpers import cell_texts, note_of, settle
from tests.tui.test_flow_against_simulators import wait_for, where

SIZE = (80, 24)
STATUS = [key for key, _ in ORDER_COLUMNS].index("status")


def stock_up(context, windows: int = 4, mssql: int = 2, plesk: int = 3) -> None:
    for kind, keys in (
        ("windows", [product_key(i) for i in range(windows)]),
        ("mssql", [product_key(100 + i) for i in range(mssql)]),
        ("plesk", [plesk_code(i) for i in range(plesk)]),
    ):
        if keys:
            report = import_keys(
                context.store,
                context.services.secrets,
                "\n".join(keys),
                actor="stock@desk",
                kind=kind,
            )
            assert len(report.imported) == len(keys)


def oldest_new(queue: QueueScreen, product: str, skip: tuple[str, ...] = ()):
    return min(
        (
            o
            for o in queue.orders.values()
            if o.status == "new" and o.product_name == product and o.id not in skip
        ),
        key=lambda o: o.paid_at or o.created_at,
    )


async def open_order(pilot, product: str, skip: tuple[str, ...] = ()) -> ProvisionScreen:
    """From the queue: the oldest new order of `product`, opened with `p`; the form is
    ready once the vault has answered."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and app.screen.orders)
    order = oldest_new(app.screen, product, skip)
    app.screen.query_one("#orders").select_key(order.id)
    await pilot.press("p")
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, ProvisionScreen)
            and app.screen.phase == "editing"
            and not app.screen.vault_pending
        ),
    )
    return app.screen


async def launch(pilot, screen: ProvisionScreen, until=("done", "failed")) -> None:
    """ctrl+l, and once more when the preflight has a warning to confirm (a stale template)."""
    await wait_for(pilot, lambda: bool(screen.checks) and not screen.launch_requested)
    await pilot.press("ctrl+l")
    await pilot.pause()
    if screen.phase == "editing" and screen.warnings_confirmed:
        await pilot.press("ctrl+l")
    await wait_for(pilot, lambda: screen.phase in until, seconds=60)


def held(context, order_id: str) -> set[tuple[str, str, str | None]]:
    return {
        (k.kind, k.state, k.vm_name) for k in vault.reserved_for(context.store, order_id).values()
    }


async def test_windows_plesk_and_mssql_orders_launch_with_zero_pastes(sim_context, engine_sim):
    stock_up(sim_context)
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "VPS Windows Plesk")
        plesk_order = screen.order_id
        windows = vault.reserved_for(sim_context.store, plesk_order)["windows"]
        field = screen.query_one("#license-windows")
        assert field.value == "" and field.placeholder == f"vault: {windows.masked}, 3 left"
        assert product_key(0) not in field.placeholder
        assert note_of(app, "license-windows") == "from the vault (paste to override)"
        assert app.focused.id == "cpus"  # nothing left to paste
        await launch(pilot, screen)
        assert screen.phase == "done", where(pilot)
        await pilot.press("escape")

        screen = await open_order(pilot, "VPS Windows MSSQL")
        mssql_order = screen.order_id
        assert screen.query_one("#license-mssql").placeholder.startswith("vault: …-")
        await launch(pilot, screen)
        assert screen.phase == "done", where(pilot)

    init = engine_sim.vm(f"vps-{plesk_order}")["initialization"]
    assert init["windows_license_key"] == product_key(0)
    assert f"plesk bin license --install {plesk_code(0)}" in init["custom_script"]
    assert held(sim_context, plesk_order) == {
        ("windows", "bound", f"vps-{plesk_order}"),
        ("plesk", "bound", f"vps-{plesk_order}"),
    }
    init = engine_sim.vm(f"vps-{mssql_order}")["initialization"]
    assert init["windows_license_key"] == product_key(1)
    assert f"/PID={product_key(100)}" in init["custom_script"]
    assert held(sim_context, mssql_order) == {
        ("windows", "bound", f"vps-{mssql_order}"),
        ("mssql", "bound", f"vps-{mssql_order}"),
    }


async def test_cancel_before_boot_returns_keys_after_boot_retires_them(sim_context, engine_sim):
    stock_up(sim_context, windows=2, mssql=0, plesk=2)
    # The first order fails creating its VM (before any boot), the second never gets an IP
    # (it has booted with the keys); both are cancelled from the console.
    engine_sim.faults.add(
        "POST",
        r"^/vms$",
        nth=1,
        status=400,
        detail="[Cannot add VM. The storage domain is locked.]",
    )
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "VPS Windows Plesk")
        early = screen.order_id
        await launch(pilot, screen)
        assert screen.phase == "failed" and screen.job_id, where(pilot)
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: screen.phase == "cancelled", seconds=60)
        assert vault.reserved_for(sim_context.store, early) == {}
        assert {k.state for k in vault.list_keys(sim_context.store)} == {"available"}
        await pilot.press("escape")

        screen = await open_order(pilot, "VPS Windows Plesk", skip=(early,))
        late = screen.order_id
        engine_sim.set_guest_behaviour(f"vps-{late}", never_ip=True)
        await launch(pilot, screen)
        assert screen.phase == "failed", where(pilot)
        burnt = vault.reserved_for(sim_context.store, late)
        assert {k.kind for k in burnt.values()} == {"windows", "plesk"}
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: screen.phase == "cancelled", seconds=60)
        await pilot.press("escape")

        retired = vault.list_keys(sim_context.store, state="retired")
        assert {(k.id, k.order_id) for k in retired} == {(k.id, late) for k in burnt.values()}
        # The next order gets the other keys, never a retired one.
        screen = await open_order(pilot, "VPS Windows Plesk", skip=(early, late))
        nxt = screen.order_id
        await launch(pilot, screen)
        assert screen.phase == "done", where(pilot)
    init = engine_sim.vm(f"vps-{nxt}")["initialization"]
    assert init["windows_license_key"] == product_key(1)
    assert f"--install {plesk_code(1)}" in init["custom_script"]
    assert product_key(0) not in init["windows_license_key"]


async def test_closing_the_form_unlaunched_gives_the_keys_back(sim_context):
    stock_up(sim_context, windows=1, mssql=0, plesk=1)
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "VPS Windows Plesk")
        order_id = screen.order_id
        assert {kind for kind, _, _ in held(sim_context, order_id)} == {"windows", "plesk"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: not vault.reserved_for(sim_context.store, order_id))
    assert {line.kind: line.available for line in vault.stock(sim_context.store)} == {
        "windows": 1,
        "plesk": 1,
    }


async def test_a_pasted_key_overrides_the_vaults(sim_context, engine_sim):
    stock_up(sim_context, windows=2, mssql=0, plesk=2)
    own = product_key(50)
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "VPS Windows Plesk")
        order_id = screen.order_id
        given_back = vault.reserved_for(sim_context.store, order_id)["windows"]
        screen.query_one("#license-windows").focus()
        await pilot.press(*own)
        await launch(pilot, screen)
        assert screen.phase == "done", where(pilot)
    init = engine_sim.vm(f"vps-{order_id}")["initialization"]
    assert init["windows_license_key"] == own
    assert f"--install {plesk_code(0)}" in init["custom_script"]
    assert vault.find_key(sim_context.store, given_back.id).state == "available"


async def test_queue_marks_orders_the_vault_cannot_serve_and_header_shows_stock(sim_context):
    stock_up(sim_context, windows=3, mssql=0, plesk=0)
    # mssql and plesk were held once and used up: import one of each, then retire it.
    stock_up(sim_context, windows=0, mssql=1, plesk=1)
    for key in vault.list_keys(sim_context.store):
        if key.kind != "windows":
            vault.retire(sim_context.store, key.id, actor="stock@desk", reason="test")
    app = ConsoleApp(sim_context)
    # Wide: at 80 columns the status cell is cut (`new no pl~`) and the header drops the
    # stock first; the detail line and a wider terminal show both whole.
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.screen.key_stock is not None)
        queue = app.screen
        plesk = oldest_new(queue, "VPS Windows Plesk")
        mssql = oldest_new(queue, "VPS Windows MSSQL")
        cpanel = oldest_new(queue, "VPS Linux cPanel")
        assert cell_texts(app, "#orders", plesk.id)[STATUS] == "new no plesk key"
        assert cell_texts(app, "#orders", mssql.id)[STATUS] == "new no mssql key"
        assert cell_texts(app, "#orders", cpanel.id)[STATUS] == "new"
        header = str(queue.query_one("#header").render())
        assert "keys win 3! sql 0! plesk 0!" in header
