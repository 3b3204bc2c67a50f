"""One lookup of a job's storage domain serves the clone slots and the ETA: the job's own
(the launch stores the preflight's) first; else the slots read the template from the
engine through the job (a failing engine fails them), and the ETA reads the catalog
cache and never fails."""

from __future__ import annotations

import pytest

from console.flow import clone_slots
from console.flow.catalog import refresh_catalog
from console.flow.context import RunContext
from console.flow.runner import Runner
from console.ovirt import EngineError
from console.store import jobs as repo
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST


@pytest.fixture
def context_without_domain(flow_services, add_order):
    """A launched job whose data lacks the domain (a job from before the preflight kept
    it), and no domain names known in this process yet."""
    add_order("2201", "VPS Linux cPanel")
    runner = Runner(flow_services, timing=FAST)
    job = runner.launch("2201", plan_for(flow_services, "2201"), {}, confirm_warnings=True)
    assert job.data[clone_slots.DOMAIN] == "data-ssd"  # what the preflight read
    repo.update_job(flow_services.store, job.id, data={clone_slots.DOMAIN: None})
    clone_slots._domain_names.clear()
    yield RunContext(runner, job.id, None)
    clone_slots._domain_names.clear()


def stored(ctx: RunContext):
    return (repo.get_job(ctx.store, ctx.job_id).data or {}).get(clone_slots.DOMAIN)


def test_the_slots_read_the_template_from_the_engine_and_keep_the_domain(context_without_domain):
    ctx = context_without_domain
    assert clone_slots.storage_domain(ctx) == "data-ssd"
    assert stored(ctx) == "data-ssd"


def test_the_slots_fail_when_the_engine_refuses_the_domains(context_without_domain, engine_sim):
    engine_sim.faults.add("GET", r"/storagedomains$", status=400, detail="[refused]")
    with pytest.raises(EngineError):
        clone_slots.storage_domain(context_without_domain)
    assert stored(context_without_domain) is None


def test_the_eta_reads_the_catalog_cache_and_never_fails(
    context_without_domain, flow_services, engine_sim
):
    ctx = context_without_domain
    # No cached catalog: no domain, no engine call, nothing kept.
    assert clone_slots.storage_domain(ctx, advisory=True) == ""
    assert stored(ctx) is None
    refresh_catalog(flow_services.engine(), flow_services.store, ctx.plan.engine)
    engine_sim.faults.add("GET", r"/storagedomains$", status=400, detail="[refused]")
    assert clone_slots.storage_domain(ctx, advisory=True) == ""  # the engine refused
    assert stored(ctx) is None
    engine_sim.faults.clear()
    assert clone_slots.storage_domain(ctx, advisory=True) == "data-ssd"
    assert stored(ctx) == "data-ssd"


def test_the_jobs_own_domain_comes_first(context_without_domain, engine_sim):
    ctx = context_without_domain
    ctx.save(data={clone_slots.DOMAIN: "data-hdd"})
    engine_sim.faults.add("GET", r"/storagedomains$", status=400, detail="[refused]")
    assert clone_slots.storage_domain(ctx) == "data-hdd"
    assert clone_slots.storage_domain(ctx, advisory=True) == "data-hdd"
