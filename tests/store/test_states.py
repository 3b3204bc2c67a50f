"""The closed sets of states: written once, read back from the store as their enums."""

from __future__ import annotations

from console.flow.machine import State
from console.store import jobs as repo
from console.store.models import CANCEL_REQUESTED, Order
from console.store.orders import get_order, set_order_status
from console.store.states import (
    STEPS,
    TERMINAL_JOB_STATES,
    UNFINISHED_JOB_STATES,
    JobState,
    OrderStatus,
    Step,
    job_state_text,
)


def test_every_step_is_an_unfinished_job_state_and_the_ends_are_not():
    assert [str(step) for step in STEPS] == [str(state) for state in UNFINISHED_JOB_STATES]
    assert set(JobState) - set(UNFINISHED_JOB_STATES) == {
        JobState.READY_FOR_ENGINEER,
        JobState.DONE,
        JobState.FAILED,
        JobState.CANCELLED,
    }
    assert all(State(state).terminal for state in TERMINAL_JOB_STATES)
    assert job_state_text(JobState.FAILED, Step.STARTING) == "failed(starting)"


def test_rows_come_back_typed_and_flags_read_by_name(store):
    with store.session() as session:
        session.add(Order(id="77", source="manual", product_name="VPS"))
    job = repo.create_job(
        store, order_id="77", plan={"vm_name": "vps-77"}, engine="lab", created_by="ops@jump1"
    )
    repo.update_job(store, job.id, data={CANCEL_REQUESTED: "ops@jump1"})
    set_order_status(store, "77", OrderStatus.PROVISIONING)
    stored = repo.get_job(store, job.id)
    assert stored.state is JobState.PLANNED
    assert stored.cancel_requested_by == "ops@jump1"
    assert not stored.billing_service_updated
    assert get_order(store, "77").status is OrderStatus.PROVISIONING
    assert [j.id for j in repo.list_jobs(store, states=UNFINISHED_JOB_STATES)] == [job.id]
