"""No dead ends on the Provision screen (issue 18), at 80x24: the claim goes back however
the screen closes without a launch, `R` releases it, a stale one is taken over only after
a confirmation; a needs_mapping order opens with what it lacks to type; a guest reporting
another hostname is shown at once with keys to accept it or fail now; a failed job's plan
is edited before its retry; a fast burst of keys lands in the fields it was typed for."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import update

from console.store import audit
from console.store.claims import claim_order
from console.store.models import Job, Order, utcnow
from console.tui.app import ConsoleApp
from console.tui.screens.jobs import JobsScreen
from console.tui.screens.provision import ProvisionScreen
from console.tui.screens.queue import QueueScreen
from console.tui.widgets.confirm import ConfirmDialog
from tests.tui.helpers import note_of, screen_text, settle
from tests.tui.test_flow_against_simulators import open_for_editing, wait_for, where
from tests.tui.test_provision_form import open_order

SIZE = (80, 24)


def holder(context, order_id: str) -> str | None:
    with context.store.session() as session:
        return session.get(Order, order_id).claimed_by


def audited(context, order_id: str) -> list[tuple[str, str]]:
    with context.store.session() as session:
        return [(e.step, e.message) for e in audit.entries(session, order_id=order_id)]


# ---- claims ---------------------------------------------------------------------------


async def test_escape_without_a_launch_gives_the_claim_back(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        await open_order(pilot, "1002")
        assert holder(frozen_context, "1002") == frozen_context.actor
        await pilot.press("escape")
        await wait_for(pilot, lambda: holder(frozen_context, "1002") is None)
        assert isinstance(app.screen, QueueScreen)
    assert ("release", "") in audited(frozen_context, "1002")


async def test_leaving_provision_by_a_screen_key_gives_the_claim_back(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "1002")
        screen.set_focus(None)  # in a text field, 4 is a digit
        await pilot.press("4")
        await wait_for(pilot, lambda: holder(frozen_context, "1002") is None)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # the Provision screen is closed


async def test_R_releases_your_claim_and_leaves_anothers(frozen_context):
    claim_order(frozen_context.store, "1002", frozen_context.actor)
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#orders")
        table.select_key("1002")
        await pilot.press("R")
        await wait_for(pilot, lambda: holder(frozen_context, "1002") is None)
        table.select_key("1005")  # held by ops@jump1
        await pilot.press("R")
        await settle(pilot)
        assert holder(frozen_context, "1005") == "ops@jump1"
        assert any("claimed by ops@jump1, not by you" in str(n.message) for n in app._notifications)


async def test_R_on_provision_releases_the_claim_and_closes(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "1002")
        screen.set_focus(None)  # outside a text field, where R is a letter
        await pilot.press("R")
        await wait_for(pilot, lambda: holder(frozen_context, "1002") is None)
        assert isinstance(app.screen, QueueScreen)


async def test_a_stale_claim_is_taken_over_only_after_a_confirmation(frozen_context):
    claim_order(frozen_context.store, "1002", "gone@jump9")
    with frozen_context.store.session() as session:
        session.execute(
            update(Order).where(Order.id == "1002").values(claimed_at=utcnow() - timedelta(hours=3))
        )
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders").select_key("1002")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Take over order #1002 from gone@jump9?" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert holder(frozen_context, "1002") == "gone@jump9"
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ProvisionScreen))
        assert holder(frozen_context, "1002") == frozen_context.actor
    takeovers = [m for step, m in audited(frozen_context, "1002") if step == "claim_takeover"]
    assert len(takeovers) == 1 and "gone@jump9" in takeovers[0]


# ---- a fast burst of keys --------------------------------------------------------------


async def test_a_burst_of_keys_lands_in_the_fields_it_was_typed_for(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "1002")  # cPanel: no key to paste
        screen.query_one("#cpus").focus()
        await pilot.pause()
        burst = [
            *"4", "tab",
            *"8G", "tab",
            *"6G", "tab",
            *"120G", "tab",
            *"cafe-ry-shop.example.net", "tab",
            *"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ops@jump",
        ]  # fmt: skip
        assert len(burst) >= 50
        await pilot.press(*burst)  # one burst: no pause between the keys
        await settle(pilot)
        values = {name: screen.query_one(f"#{name}").value for name in (
            "cpus", "memory", "guaranteed", "disk", "hostname", "ssh_keys"
        )}  # fmt: skip
        assert values == {
            "cpus": "4",
            "memory": "8G",
            "guaranteed": "6G",
            "disk": "120G",
            "hostname": "cafe-ry-shop.example.net",
            "ssh_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ops@jump",
        }
        assert isinstance(app.screen, ProvisionScreen) and screen.phase == "editing"
        await pilot.pause(0.6)
        await settle(pilot)
        plan = screen.draft.plan
        assert (plan.cpus, plan.memory_mib, plan.guaranteed_mib, plan.disk_gib) == (
            4,
            8192,
            6144,
            120,
        )
        assert plan.hostname == "cafe-ry-shop.example.net" and len(plan.ssh_keys) == 1


# ---- an order billing left short (needs_mapping) ----------------------------------------


async def test_a_needs_mapping_order_opens_with_what_it_lacks_to_type(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_order(pilot, "1004")
        assert "billing left out vCPU, RAM, disk, the template" in str(
            screen.query_one("#title").render()
        )
        assert "does not say the vCPU" in note_of(app, "cpus")
        assert "does not say the RAM" in note_of(app, "memory")
        assert "type the disk size" in note_of(app, "disk")
        screen.query_one("#cpus").focus()
        await pilot.press("0", "tab", *"4G", "tab", "tab", *"60G")
        await settle(pilot)
        assert "not a whole number of vCPUs" in note_of(app, "cpus")  # validated like any value
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert screen.phase == "editing" and holder(frozen_context, "1004") == app.context.actor


async def test_a_needs_mapping_order_launches_with_the_typed_values_audited(
    sim_context, engine_sim
):
    with sim_context.store.session() as session:
        session.add(
            Order(
                id="9004",
                source="manual",
                product_name="Dedicated Game Server",
                client_name="Dario Silva",
                status="needs_mapping",
                problem="product 'Dedicated Game Server' is not mapped to a template",
            )
        )
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_for_editing(pilot, "#orders", "9004", "p")
        template = screen.query_one("#template")
        template.value = next(
            value
            for _, value in template._options
            if isinstance(value, tuple) and value[0] == "alma9"
        )
        screen.query_one("#cpus").focus()
        await pilot.press("2", "tab", *"2G", "tab", "tab", *"40G")
        await wait_for(pilot, lambda: bool(screen.checks) and not screen.draft.problems)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=30)
        assert screen.phase == "done", where(pilot)
    provided = [m for step, m in audited(sim_context, "9004") if step == "engineer_provided"]
    assert provided == [
        "the order lacked these; the engineer gave vCPU 2, RAM 2GiB, disk 40GiB, template "
        + provided[0].rsplit("template ", 1)[1]
    ]
    assert "template alma9 v" in provided[0]


# ---- the hostname wait -----------------------------------------------------------------


async def open_oldest(pilot, product: str) -> ProvisionScreen:
    app = pilot.app
    await settle(pilot)
    queue = app.screen
    order = min(
        (o for o in queue.orders.values() if o.status == "new" and o.product_name == product),
        key=lambda o: o.paid_at or o.created_at,
    )
    return await open_for_editing(pilot, "#orders", order.id, "p")


async def test_a_guest_reporting_another_hostname_is_shown_at_once_and_accepted(
    sim_context, engine_sim
):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        runner = app.progress.runner
        # Cloud-init's grace outlasts the test's steps: the key ends the wait.
        runner.timing = replace(runner.timing, hostname_grace_seconds=120, ip_seconds=120)
        screen = await open_oldest(pilot, "VPS Linux cPanel")
        engine_sim.set_guest_behaviour(screen.draft.plan.vm_name, hostname="localhost.localdomain")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.hostname_seen is not None, seconds=30)
        notice = str(screen.query_one("#notice").render())
        assert "guest reports 'localhost.localdomain', waiting up to 2 min for" in notice, notice
        assert "a: accept it now, f: fail now" in notice
        assert screen.query_one("#notice").region.height >= 2  # whole, wrapped at 80 columns
        assert screen.check_action("accept_hostname", ()) and screen.check_action(
            "fail_hostname", ()
        )
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=30)
        assert screen.phase == "done", where(pilot)
        assert screen.hostname_seen is None
        assert "guest reports" not in str(screen.query_one("#notice").render())
    job_id = screen.job_id
    with sim_context.store.session() as session:
        job = session.get(Job, job_id)
    assert job.data["hostname_accepted"] == "localhost.localdomain"


async def test_a_guest_reporting_another_hostname_can_be_failed_now(sim_context, engine_sim):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        runner = app.progress.runner
        runner.timing = replace(runner.timing, hostname_grace_seconds=120, ip_seconds=120)
        screen = await open_oldest(pilot, "VPS Linux cPanel")
        engine_sim.set_guest_behaviour(screen.draft.plan.vm_name, hostname="other.example")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.hostname_seen is not None, seconds=30)
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=30)
        assert screen.phase == "failed"
        await wait_for(
            pilot, lambda: "failed the step" in str(screen.query_one("#outcome").render())
        )


# ---- a failed job retried with an edited plan ------------------------------------------


async def test_a_failed_jobs_plan_is_edited_for_its_retry_from_provision_and_jobs(
    sim_context, engine_sim
):
    # The disk's extend is refused once: the job fails at resizing (the create carried the
    # sizes, so growing the disk past the template's is the step's one engine call).
    engine_sim.faults.add("PUT", r"/diskattachments/", nth=1, status=400, detail="[resize refused]")
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_oldest(pilot, "VPS Linux cPanel")
        order_id = screen.order_id
        screen.query_one("#disk").focus()
        await pilot.press(*"60G")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase == "failed", seconds=30)
        await wait_for(
            pilot, lambda: "resize refused" in str(screen.query_one("#outcome").render())
        )
        job_id = screen.job_id
        # e: the form again, on the job's plan; what cloning applied is fixed.
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ProvisionScreen)
                and app.screen is not screen
                and app.screen.phase == "editing"
            ),
        )
        edit = app.screen
        assert edit.retry_job.id == job_id
        assert edit.query_one("#template").disabled and edit.query_one("#cluster").disabled
        assert not edit.query_one("#memory").disabled and not edit.query_one("#hostname").disabled
        assert "fixed on this retry" in note_of(app, "template")
        assert "retry of job" in str(edit.query_one("#title").render())
        # Leave it unretried: the job and its claim stay; Jobs' e opens the same form.
        await pilot.press("escape", "4")
        await settle(pilot)
        edit = await open_for_editing(pilot, "#jobs", job_id, "e")
        edit.query_one("#memory").focus()
        await pilot.press(*"6G")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: edit.phase in ("done", "failed"), seconds=30)
        assert edit.phase == "done", where(pilot)
    with sim_context.store.session() as session:
        job = session.get(Job, job_id)
    assert job.state == "done" and job.plan["memory_mib"] == 6144
    assert engine_sim.world.vm_by_name(job.vm_name).memory == 6144 * 1024**2
    amended = [m for step, m in audited(sim_context, order_id) if step == "plan_amended"]
    assert len(amended) == 1 and "RAM" in amended[0] and "-> 6GiB" in amended[0]
