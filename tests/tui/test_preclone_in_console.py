"""An order pre-cloned on payment, opened in the console at 80x24: the screen says the VM
is there, the template and cluster it was copied with are fixed, and `ctrl+l` goes on
with the same job and the same VM from resizing; a pre-clone can be cancelled from Jobs."""

from __future__ import annotations

from console.config import IntakePolicy
from console.flow import batch
from console.flow.intake import run_intake
from console.flow.runner import Runner
from console.flow.services import Services
from console.store import jobs as repo
from console.store.states import JobState
from console.tui.app import ConsoleApp
from tests.flow.test_preclone import with_policy
from tests.plugins.flow import FAST, marked_vms
from tests.tui.helpers import screen_text, settle
from tests.tui.test_flow_against_simulators import open_for_editing, wait_for

SIZE = (80, 24)
PRODUCT = "VPS Linux cPanel"


def preclone_one(context, *, run: bool = True) -> tuple[str, str]:
    """Pre-clone every paid order of PRODUCT as the intake would; the oldest one's ids.
    `run=False`: the pre-clone jobs are only taken in (for the console to resume)."""
    config = with_policy(
        context.config, IntakePolicy.QUEUE, **{PRODUCT: {"on_paid": IntakePolicy.PRECLONE}}
    )
    services = Services(config, context.store, context.secrets)
    try:
        runner = Runner(services, timing=FAST)
        report = run_intake(runner)
        assert report.job_ids, [line.text() for line in report.lines]
        if not run:
            jobs = [repo.get_job(context.store, job_id) for job_id in report.job_ids]
            oldest = min(jobs, key=lambda job: job.created_at)
            return oldest.order_id, oldest.id
        result = batch.run_jobs(runner, report.job_ids, concurrency=2)
        parked = [job for job in result.finished if job.state == JobState.READY_FOR_ENGINEER]
        assert parked, [(job.id, job.state, job.error_message) for job in result.finished]
        oldest = min(parked, key=lambda job: job.created_at)
        return oldest.order_id, oldest.id
    finally:
        services.close()


async def test_a_precloned_order_opens_on_its_vm_and_launches_the_same_job(sim_context, engine_sim):
    order_id, job_id = preclone_one(sim_context)
    parked = repo.get_job(sim_context.store, job_id)
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_for_editing(pilot, "#orders", order_id, "p")
        text = screen_text(app)
        assert f"pre-cloned {parked.vm_name} (down)" in text, text
        assert screen.query_one("#template").disabled and screen.query_one("#cluster").disabled
        assert not screen.query_one("#memory").disabled
        await settle(pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=60)
        assert screen.phase == "done", screen.job_id
    assert screen.job_id == job_id  # the pre-clone's job went on; no second one
    assert [vm.id for vm in marked_vms(engine_sim, order_id)] == [parked.vm_id]
    assert repo.get_job(sim_context.store, job_id).state == JobState.DONE


async def test_a_precloned_job_is_cancelled_from_jobs_and_its_vm_removed(sim_context, engine_sim):
    order_id, job_id = preclone_one(sim_context)
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        app.screen.query_one("#jobs").select_key(job_id)
        await pilot.pause()
        assert app.screen.check_action("cancel_job", ()) is True
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: repo.get_job(sim_context.store, job_id).state == JobState.CANCELLED,
            seconds=30,
        )
    assert marked_vms(engine_sim, order_id) == []


async def test_an_order_still_being_precloned_launches_once_its_copy_is_done(
    sim_context, engine_sim
):
    order_id, job_id = preclone_one(sim_context, run=False)  # the console resumes it
    app = ConsoleApp(sim_context)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_for_editing(pilot, "#orders", order_id, "p")
        assert screen.parked_job is not None and screen.parked_job.id == job_id
        assert screen.query_one("#template").disabled
        await settle(pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.phase in ("done", "failed"), seconds=60)
        assert screen.phase == "done", screen.job_id
    assert screen.job_id == job_id
    assert len(marked_vms(engine_sim, order_id)) == 1
