"""Engine calls per provisioning, counted on the simulator's request log: a standard Linux
order takes at most CALL_BUDGET calls from launch to done, once the console has seen how
long this engine's waits take. The simulated clock moves by exactly what the runner
sleeps, so the count depends on the flow's logic, not on this machine's speed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from console.flow import context as context_module
from console.flow import steps
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.flow.timing import Timing
from console.store.states import Step
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST

CALL_BUDGET = 15


@pytest.fixture
def sim_clock(engine_sim, monkeypatch):
    """The runner's sleeps move the simulator's clock instead of the wall clock's."""
    engine_sim.set_time_scale(1.0)  # nothing finishes on its own during the test

    slept = [0.0]
    wall_now = context_module.utcnow

    def sleep(seconds: float) -> None:
        slept[0] += seconds
        # In small steps: a step that ends schedules the next one from the clock's now.
        while seconds > 0:
            engine_sim.advance(min(seconds, 0.1))
            seconds -= 0.1

    monkeypatch.setattr(context_module.time, "sleep", sleep)
    # The runner's clock (how long a step has waited) moves with the simulated one.
    monkeypatch.setattr(context_module, "utcnow", lambda: wall_now() + timedelta(seconds=slept[0]))
    return engine_sim


def provision(sim, services, runner, add_order, order_id: str, product="VPS Linux", **values):
    """Plan, launch and run one order: (the job, the engine calls from launch to done)."""
    add_order(order_id, product, **values)
    plan = plan_for(services, order_id, Overrides(hostname=f"v{order_id}.example.net"))
    start = len(sim.calls)
    job = runner.launch(order_id, plan, {}, confirm_warnings=True)
    done = runner.run(job.id)
    return done, [(method, path) for method, path, _ in sim.calls[start:]]


# Simulated seconds, at a real engine's scale, with the defaults it expects before learning.
SIM_TIMING = replace(
    FAST,
    poll_seconds=5.0,
    poll_floor_seconds=1.0,
    clone_expect_seconds_per_gib=Timing.clone_expect_seconds_per_gib,
    disk_expect_seconds=Timing.disk_expect_seconds,
    boot_expect_seconds=Timing.boot_expect_seconds,
    clone_base_seconds=600,
    clone_seconds_per_gib=30,
    disk_extend_seconds=600,
    boot_seconds=600,
    ip_seconds=900,
)


def test_a_standard_linux_order_fits_the_call_budget(flow_services, add_order, sim_clock):
    runner = Runner(flow_services, timing=SIM_TIMING)
    counts = []
    for number in range(8):
        done, calls = provision(sim_clock, flow_services, runner, add_order, str(4001 + number))
        assert done.state == "done", (done.failed_step, done.error_message)
        counts.append(calls)
    # The first two orders learn how long this engine's clone, extend and boot take (the
    # first finds each done at its first look: it learns only "at most"); the others keep
    # to the budget while each probes one kind of wait in turn.
    for calls in counts[2:]:
        assert len(calls) <= CALL_BUDGET, Counter(calls)
        kinds = Counter(calls)
        # Sizes and initialization went with the create: no PUT on the VM, one lookup.
        assert not any(m == "PUT" and p.count("/") == 2 for m, p in calls)
        assert kinds[("POST", "/vms")] == 1
        assert sum(1 for m, p in calls if m == "GET" and p == "/vms") == 1
        # One look at the end of each wait (clone, extend, boot), and one more at most: a
        # job probes one kind of wait sooner than where it is sure (console.flow.pace).
        looks = [p for m, p in calls if m == "GET" and re.fullmatch(r"/(vms|disks)/[^/]+", p)]
        assert len(looks) <= 4, looks
    vm = sim_clock.vm("vps-4004")
    assert vm["status"] == "up" and vm["memory"] == 2048 * 1024**2
    assert vm["initialization"]["host_name"] == "v4004.example.net"


def test_a_vm_made_at_the_template_size_is_resized_and_initialised(
    flow_services, add_order, engine_sim, monkeypatch
):
    """What a job created before sizes went with the create (or a VM cloned ahead at the
    template's size) leaves: the resizing and initializing steps still bring it to the plan."""

    def clone_at_template_size(ctx):
        vm, message = steps.ensure_vm(ctx, sized=False)
        steps.ensure_tag(ctx, vm)
        return message, {}

    monkeypatch.setitem(steps.STEP_ACTIONS, Step.CLONING, clone_at_template_size)
    runner = Runner(flow_services, timing=FAST)
    done, calls = provision(
        engine_sim, flow_services, runner, add_order, "4101", cpus=4, memory_mib=8192
    )
    assert done.state == "done", (done.failed_step, done.error_message)
    vm_puts = [p for m, p in calls if m == "PUT" and p.count("/") == 2]
    assert len(vm_puts) == 2  # the resize, then the initialization
    vm = engine_sim.vm("vps-4101")
    assert vm["sockets"] * vm["cores"] * vm["threads"] == 4
    assert vm["memory"] == 8192 * 1024**2 and vm["memory_guaranteed"] == 8192 * 1024**2
    assert vm["initialization"]["host_name"] == "v4101.example.net"
