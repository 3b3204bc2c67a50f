"""Many orders at once from the queue: `space` marks, `L` launches the marked ones
together after one `y`; each ends done against the simulators."""

from __future__ import annotations

from sqlmodel import select

from console.billing.mapping import mapping_for_order
from console.store.models import Job
from console.tui.app import ConsoleApp
from tests.tui.helpers import cell_texts, settle
from tests.tui.test_flow_against_simulators import wait_for


async def test_space_marks_orders_and_L_launches_them_together(sim_context):
    app = ConsoleApp(sim_context)
    catalog = sim_context.config.catalog
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        queue = app.screen
        keyless = sorted(
            (
                order
                for order in queue.orders.values()
                if order.status == "new"
                and (mapping := mapping_for_order(catalog, order)) is not None
                and not mapping.license_kinds
            ),
            key=lambda o: o.paid_at or o.created_at,
        )[:3]
        assert len(keyless) == 3
        pressed = []
        for order in keyless:
            queue.query_one("#orders").select_key(order.id)
            pressed.append("space")
            await pilot.press("space")
        assert queue.marked == {order.id for order in keyless}
        status_column = 6
        assert cell_texts(app, "#orders", keyless[0].id)[status_column].startswith("* new")
        pressed += ["L", "y"]
        await pilot.press("L")
        await pilot.pause()
        await pilot.press("y")

        def finished() -> list[Job]:
            with sim_context.store.session() as session:
                jobs = list(session.exec(select(Job)))
            return [
                job
                for job in jobs
                if job.order_id in queue.marked | {o.id for o in keyless}
                and job.state in ("done", "failed")
            ]

        await wait_for(pilot, lambda: len(finished()) == 3, seconds=90)
        assert [job.state for job in finished()] == ["done"] * 3, [
            job.error_message for job in finished()
        ]
        assert queue.marked == set()
    assert pressed == ["space", "space", "space", "L", "y"]
