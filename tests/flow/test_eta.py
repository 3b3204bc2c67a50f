"""The ETA estimator with known durations, and the runner keeping every finished step."""

from __future__ import annotations

from datetime import timedelta

from console.flow import eta
from console.flow.eta import Driver, estimate
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.store import step_history
from console.store.models import Job, utcnow
from console.store.states import STEPS, Step
from console.store.step_history import StepRun
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST

PLAN = {
    "order_id": "1",
    "vm_name": "vps-1",
    "engine": "sim",
    "template_name": "alma9",
    "template_id": "t",
    "template_version": 1,
    "cluster": "prod-a",
    "cpus": 1,
    "memory_mib": 1024,
    "guaranteed_mib": 1024,
    "disk_gib": 20,
    "hostname": "1.vps.example.net",
    "init_kind": "cloud-init",
}
SSD_CLONE_80 = Driver("alma9-cpanel", 80, "data-ssd", "clone")


def run(step: Step, seconds: float, *, gib: int = 40, sd: str = "data-ssd", source="clone"):
    return StepRun(
        job_id="j", step=str(step), disk_gib=gib, storage_domain=sd, source=source, seconds=seconds
    )


def test_clone_estimate_scales_the_median_rate_by_size():
    # 40 GiB in 100 s, 20 GiB in 60 s, 10 GiB in 20 s: 2.5, 3 and 2 s/GiB; median 2.5.
    runs = [
        run(Step.CLONE_WAIT, 100, gib=40),
        run(Step.CLONE_WAIT, 60, gib=20),
        run(Step.CLONE_WAIT, 20, gib=10),
    ]
    guess = estimate(runs, Step.CLONE_WAIT, SSD_CLONE_80)
    assert guess.seconds == 200 and guess.samples == 3
    assert guess.text == "clone ~ 3m20s on data-ssd for 80 GiB, from 3 earlier clones"


def test_only_comparable_runs_count_domain_and_source():
    runs = [
        run(Step.CLONE_WAIT, 400, gib=40, sd="data-hdd"),
        run(Step.CLONE_WAIT, 2, gib=40, source="pool"),
        run(Step.CLONE_WAIT, 80, gib=40),
        run(Step.RESIZING, 999, gib=40),
    ]
    guess = estimate(runs, Step.CLONE_WAIT, SSD_CLONE_80)
    assert (guess.seconds, guess.samples) == (160, 1)
    pool = estimate(runs, Step.CLONE_WAIT, Driver("alma9-cpanel", 80, "data-ssd", "pool"))
    assert (pool.seconds, pool.samples) == (2, 1)  # a pool take does not scale with size
    assert pool.text == "clone ~ 2s on data-ssd, from 1 earlier pool takes"


def test_other_steps_take_the_median_duration_unscaled():
    runs = [run(Step.STARTING, s) for s in (10, 30, 14)]
    guess = estimate(runs, Step.STARTING, SSD_CLONE_80)
    assert guess.seconds == 14
    assert guess.text == "boot ~ 14s on data-ssd, from 3 earlier runs"


def test_no_history_says_so_and_gives_no_number():
    guess = estimate([run(Step.CLONE_WAIT, 50, sd="data-hdd")], Step.CLONE_WAIT, SSD_CLONE_80)
    assert guess.seconds is None and guess.samples == 0
    assert guess.text == "clone: no history yet on data-ssd"
    assert not any(ch.isdigit() for ch in guess.text.split("data-ssd")[0])


def test_job_eta_counts_what_is_left_of_the_running_step_and_the_steps_after(store):
    now = utcnow()
    for step in STEPS:
        step_history.add(store, run(step, 10, gib=20, sd=""))
    job = Job(
        id="j1",
        order_id="1",
        state="starting",
        plan=PLAN,
        data={"since_starting": (now - timedelta(seconds=4)).isoformat(), "storage_domain": ""},
    )
    result = eta.job_eta(store, job, now=now)
    assert result.current is not None and result.current.seconds == 10
    assert result.remaining_seconds == 6
    assert result.to_live_seconds == 6 + 10 + 10  # ip_wait and handover follow
    assert result.lines()[-1] == "live in ~ 26s"


def test_job_eta_without_history_names_the_steps_that_lack_it(store):
    job = Job(
        id="j2",
        order_id="2",
        state="ip_wait",
        plan=PLAN,
        data={},
    )
    result = eta.job_eta(store, job)
    assert result.to_live_seconds is None
    assert result.lines() == ["IP: no history yet", "time to live: no history yet (IP, handover)"]


def test_the_runner_keeps_each_finished_steps_duration_with_its_drivers(
    flow_services, add_order, engine_sim
):
    add_order("2101", "VPS Linux cPanel")
    runner = Runner(flow_services, timing=FAST)
    flow_services.engine().list_templates()
    job = runner.launch(
        "2101", plan_for(flow_services, "2101", Overrides()), {}, confirm_warnings=True
    )
    assert runner.run(job.id).state == "done"
    runs = step_history.runs(flow_services.store, [str(s) for s in STEPS])
    assert sorted(r.step for r in runs) == sorted(str(s) for s in STEPS)
    assert {r.source for r in runs} == {"clone"}
    assert {r.template_name for r in runs} == {"alma9-cpanel"}
    assert all(r.seconds >= 0 for r in runs)
    clone = next(r for r in runs if r.step == Step.CLONE_WAIT)
    assert clone.seconds > 0


def test_an_order_not_launched_expects_a_whole_run_from_the_pool_or_as_a_clone(
    flow_services, add_order
):
    from console.flow.catalog import refresh_catalog
    from console.store import pool as pool_repo
    from console.store.pool import PoolVm

    store, config = flow_services.store, flow_services.config
    templates = refresh_catalog(flow_services.engine(), store, "sim")
    latest = max((t for t in templates if t.name == "alma9-cpanel"), key=lambda t: t.version_number)
    order = add_order("2201", "VPS Linux cPanel")
    assert eta.order_eta_text(store, config, order, None) == (
        "time to live as a clone: no history yet"
    )
    for step in STEPS:
        step_history.add(store, run(step, 10, gib=latest.disk_gib, sd="data-ssd"))
    clone_rate = 10 / latest.disk_gib
    expected = 7 * 10 + clone_rate * latest.disk_gib  # 7 steps unscaled, the clone scaled
    assert eta.order_eta_text(store, config, order, None) == (
        f"live ~ {eta.format_duration(expected)} after launch, as a clone"
    )
    pool_repo.add(
        store,
        PoolVm(
            name="pool-alma9-cpanel-x",
            pool_key="sim/alma9-cpanel/prod-a",
            template_name="alma9-cpanel",
            template_id=latest.id,
            template_version=latest.version_number,
            cluster="prod-a",
            state="ready",
        ),
    )
    # A ready pool VM: a pool run, of which nothing is known yet (the clones do not count).
    assert eta.order_eta_text(store, config, order, None) == (
        "time to live from the pool: no history yet"
    )
