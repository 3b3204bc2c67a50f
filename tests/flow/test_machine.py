import pytest

from console.flow.machine import STEPS, IllegalTransition, State, progress, transition


def walk(events, start=State("planned")):
    state = start
    for event in events:
        state = transition(state, event)
    return state


def test_advancing_walks_every_step_in_order_to_done():
    seen = []
    state = State("planned")
    while not state.terminal:
        seen.append(state.name)
        state = transition(state, "advance")
    assert tuple(seen) == STEPS
    assert state == State("done")


@pytest.mark.parametrize("step", STEPS)
def test_failing_remembers_the_step_and_retry_returns_to_it(step):
    state = State(step)
    failed = transition(state, "fail")
    assert failed == State("failed", step)
    assert str(failed) == f"failed({step})"
    assert transition(failed, "retry") == State(step)


@pytest.mark.parametrize("state", [State(s) for s in STEPS] + [State("failed", "cloning")])
def test_cancel_is_allowed_from_every_unfinished_state(state):
    assert transition(state, "cancel") == State("cancelled")


@pytest.mark.parametrize("state", [State("done"), State("cancelled")])
@pytest.mark.parametrize("event", ["advance", "fail", "retry", "cancel"])
def test_terminal_states_accept_nothing(state, event):
    with pytest.raises(IllegalTransition):
        transition(state, event)


def test_a_failed_job_does_not_advance_or_fail_again():
    failed = State("failed", "resizing")
    for event in ("advance", "fail"):
        with pytest.raises(IllegalTransition):
            transition(failed, event)


def test_retry_only_applies_to_failed_jobs():
    with pytest.raises(IllegalTransition):
        transition(State("cloning"), "retry")


def test_inconsistent_states_are_refused():
    with pytest.raises(IllegalTransition):
        State("failed")
    with pytest.raises(IllegalTransition):
        State("cloning", "cloning")
    with pytest.raises(IllegalTransition):
        State("exploded")
    with pytest.raises(IllegalTransition):
        transition(State("planned"), "explode")


def test_progress_counts_finished_steps():
    assert progress(State("planned")) == (0, len(STEPS))
    assert progress(State("resizing")) == (3, len(STEPS))
    assert progress(State("failed", "ip_wait")) == (6, len(STEPS))
    assert progress(State("done")) == (len(STEPS), len(STEPS))
    assert walk(["advance"] * 3 + ["fail", "retry", "advance"]) == State("initializing")


def test_every_step_has_its_function_and_title_in_the_runner_table():
    from console.flow.steps import STEP_ACTIONS, STEP_TITLES
    from console.store.states import Step

    assert set(STEP_ACTIONS) == set(Step) == set(STEP_TITLES)
