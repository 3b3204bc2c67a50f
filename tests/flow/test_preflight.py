"""The launch preflight against the engine simulator, through console.flow.preflight and
Runner.launch, and through `vps-console provision` (a real subprocess).

A stale template is a warning that needs one confirmation; a storage domain without room
for the clone and a cluster without the memory are failures no confirmation gets past. A
refused launch creates nothing: no VM on the engine, no job, the order still in the queue.
(Name collisions and missing keys are covered in test_faults_and_cancel / test_licenses.)
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from console.flow.plan import Overrides, draft_plan
from console.flow.preflight import blocking, preflight, warnings
from console.flow.runner import PreflightBlocked, Runner
from console.store import jobs as repo
from console.store.claims import claim_order
from console.store.models import Order
from tests.plugins.cli import CLI, cli_setup
from tests.plugins.flow import FAST

STALE_AFTER = 90  # the catalog default


def plan_for(services, order_id, **overrides):
    with services.store.session() as session:
        order = session.get(Order, order_id)
    product = services.config.catalog.product_for(order.product_name)
    draft = draft_plan(
        order, product, services.engine().list_templates(), services.config, Overrides(**overrides)
    )
    assert draft.problems == [], draft.problems
    return draft.plan


def check(checks, name):
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, checks
    return found[0]


def creates(engine_sim) -> int:
    return sum(1 for method, path, _ in engine_sim.calls if method == "POST" and path == "/vms")


def assert_nothing_launched(services, engine_sim, order_id):
    assert creates(engine_sim) == 0
    assert repo.list_jobs(services.store, order_id=order_id) == []
    with services.store.session() as session:
        order = session.get(Order, order_id)
    assert (order.status, order.claimed_by) == ("new", None)
    with engine_sim.world.lock:
        assert not any(
            f"order={order_id} " in (vm.comment or "") for vm in engine_sim.world.vms.values()
        )


# ----------------------------------------------------------------- stale template: warn
@pytest.mark.parametrize(
    "template, sealed_days, sizes",
    [
        ("centos7-cpanel", 400, {}),
        ("win2022-mssql", 120, {"cpus": 4, "memory_mib": 4096}),  # the template's minimum
    ],
)
def test_a_stale_template_is_a_warning_naming_the_template_and_its_age(
    template, sealed_days, sizes, flow_services, add_order
):
    add_order("2401", "VPS Linux")
    plan = plan_for(flow_services, "2401", template=template, **sizes)
    checks = preflight(flow_services.engine(), plan, {}, STALE_AFTER)
    found = check(checks, "template")
    assert found.level == "warn", found
    assert template in found.message and "stale" in found.message, found.message
    age = int(re.search(r"sealed (\d+) days ago", found.message).group(1))
    assert age == sealed_days and f"limit {STALE_AFTER}" in found.message, found.message
    assert found.fix
    assert found in warnings(checks) and found not in blocking(checks)


def test_a_recent_newest_template_is_ok_and_the_same_one_is_stale_later(flow_services, add_order):
    add_order("2402", "VPS Linux")
    plan = plan_for(flow_services, "2402")  # alma9, sealed 15 days ago
    engine = flow_services.engine()
    assert check(preflight(engine, plan, {}, STALE_AFTER), "template").level == "ok"
    later = datetime.now(UTC) + timedelta(days=STALE_AFTER)
    aged = check(preflight(engine, plan, {}, STALE_AFTER, now=later), "template")
    assert aged.level == "warn" and "alma9" in aged.message and "stale" in aged.message


def test_launch_with_a_stale_template_needs_the_warning_confirmed(
    flow_services, add_order, engine_sim
):
    add_order("2403", "VPS Linux")
    plan = plan_for(flow_services, "2403", template="centos7-cpanel")
    runner = Runner(flow_services, timing=FAST)
    with pytest.raises(PreflightBlocked) as blocked:
        runner.launch("2403", plan, {})
    error = blocked.value
    assert "warnings to confirm" in error.message and "template:" in error.message
    assert "centos7-cpanel" in error.message and "400 days" in error.message, error.message
    assert error.hint and "confirm" in error.hint and "--yes" in error.hint, error.hint
    assert [c.level for c in error.checks if c.name == "template"] == ["warn"]
    assert_nothing_launched(flow_services, engine_sim, "2403")

    job = runner.launch("2403", plan, {}, confirm_warnings=True)
    assert job.state == "planned"
    assert job.data["warnings_confirmed"] is True
    assert any(c["name"] == "template" and c["level"] == "warn" for c in job.data["preflight"])
    with flow_services.store.session() as session:
        assert session.get(Order, "2403").status == "provisioning"


# ------------------------------------------------------------------ storage: fail / warn
def test_a_full_storage_domain_fails_preflight_and_blocks_even_a_confirmed_launch(
    flow_services, add_order, engine_sim
):
    add_order("2404", "VPS Linux")
    plan = plan_for(flow_services, "2404")
    engine_sim.fill_storage_domain("data-ssd")
    checks = preflight(flow_services.engine(), plan, {}, STALE_AFTER)
    found = check(checks, "storage")
    assert found.level == "fail", found
    assert "data-ssd" in found.message and "0 GiB free" in found.message, found.message
    assert f"{plan.disk_gib} GiB" in found.message and found.fix

    runner = Runner(flow_services, timing=FAST)
    with pytest.raises(PreflightBlocked) as blocked:
        runner.launch("2404", plan, {}, confirm_warnings=True)
    assert "preflight failed" in blocked.value.message
    assert "storage: data-ssd has 0 GiB free" in blocked.value.message, blocked.value.message
    assert blocked.value.hint
    assert_nothing_launched(flow_services, engine_sim, "2404")
    assert claim_order(flow_services.store, "2404", "someone@else").won  # still claimable


@pytest.mark.parametrize("disk_gib, level", [(7000, "fail"), (6000, "warn"), (100, "ok")])
def test_a_clone_bigger_than_the_free_space_fails_and_one_that_nearly_fills_it_warns(
    disk_gib, level, flow_services, add_order, engine_sim
):
    add_order("2405", "VPS Linux")
    free = engine_sim.storage_domain("data-ssd")["available"] // 1024**3
    assert free == 6144  # the seed: 6 TiB of headroom on data-ssd
    plan = replace(plan_for(flow_services, "2405"), disk_gib=disk_gib)
    found = check(preflight(flow_services.engine(), plan, {}, STALE_AFTER), "storage")
    assert found.level == level, found
    assert "data-ssd" in found.message and f"{free} GiB free" in found.message, found.message
    assert f"{disk_gib} GiB" in found.message
    if level == "fail":
        with pytest.raises(PreflightBlocked) as blocked:
            Runner(flow_services, timing=FAST).launch("2405", plan, {}, confirm_warnings=True)
        assert "data-ssd" in blocked.value.message and "7000 GiB" in blocked.value.message
        assert_nothing_launched(flow_services, engine_sim, "2405")


# --------------------------------------------------------------------- cluster memory
def cluster_free_mib(engine_sim, cluster="prod-a") -> int:
    """What the simulated hosts of the cluster have left after its running VMs."""
    with engine_sim.world.lock:
        world = engine_sim.world
        cluster_id = next(c.id for c in world.clusters.values() if c.name == cluster)
        total = sum(h.memory for h in world.hosts.values() if h.cluster_id == cluster_id)
        used = sum(
            vm.memory
            for vm in world.vms.values()
            if vm.cluster_id == cluster_id and vm.status == "up"
        )
    return (total - used) // 1024**2


def test_a_vm_needing_more_memory_than_the_cluster_has_free_fails_naming_the_cluster(
    flow_services, add_order, engine_sim
):
    """Fail, not warn: the engine would create the VM but could never start it."""
    add_order("2406", "VPS Linux")
    free = cluster_free_mib(engine_sim)
    wanted = free + 1024
    plan = replace(plan_for(flow_services, "2406"), memory_mib=wanted, guaranteed_mib=wanted)
    found = check(preflight(flow_services.engine(), plan, {}, STALE_AFTER), "cluster")
    assert found.level == "fail", found
    assert "prod-a" in found.message, found.message
    assert f"{free // 1024}GiB free" in found.message and f"{wanted // 1024}GiB" in found.message
    assert found.fix
    with pytest.raises(PreflightBlocked) as blocked:
        Runner(flow_services, timing=FAST).launch("2406", plan, {}, confirm_warnings=True)
    assert "cluster: prod-a" in blocked.value.message, blocked.value.message
    assert_nothing_launched(flow_services, engine_sim, "2406")

    fits = replace(plan, memory_mib=4096, guaranteed_mib=4096)
    assert check(preflight(flow_services.engine(), fits, {}, STALE_AFTER), "cluster").level == "ok"


def test_a_vm_bigger_than_any_single_host_does_not_pass_the_cluster_check(
    flow_services, add_order, engine_sim
):
    add_order("2407", "VPS Linux")
    with engine_sim.world.lock:
        hosts = [h.memory // 1024**2 for h in engine_sim.world.hosts.values()]
    wanted = max(hosts) + 64 * 1024  # 576 GiB: above any 512 GiB host, below the cluster's
    assert wanted < cluster_free_mib(engine_sim)
    plan = replace(plan_for(flow_services, "2407"), memory_mib=wanted, guaranteed_mib=wanted)
    found = check(preflight(flow_services.engine(), plan, {}, STALE_AFTER), "cluster")
    assert found.level == "fail", found
    assert "no host of prod-a can run the VM" in found.message and "one host" in found.message
    assert "lower the RAM" in found.fix


# ----------------------------------------------------------------------------- CLI
@pytest.fixture
def cli_store(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    config, store = cli_setup(
        tmp_path,
        engine_sim,
        monkeypatch,
        """
[[catalog.products]]
billing_product = "VPS Legacy CentOS cPanel"
template = "centos7-cpanel"
cpus = 2
memory = "2GiB"
disk = "30GiB"
license_kinds = ["cpanel"]
""",
    )
    yield store
    store.close()


def vps_console(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], input="", capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def test_cli_provision_of_a_stale_template_exits_2_without_yes_and_proceeds_with_it(
    cli_store, engine_sim
):
    with cli_store.session() as session:
        session.add(
            Order(
                id="5201",
                source="manual",
                product_name="VPS Legacy CentOS cPanel",
                client_name="Test Client",
            )
        )
    refused = vps_console("provision", "5201")
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert "Traceback" not in refused.stdout + refused.stderr
    assert "[WARN] template" in refused.stdout and "centos7-cpanel" in refused.stdout
    assert "warnings to confirm" in refused.stderr and "stale" in refused.stderr
    assert "--yes" in refused.stderr, refused.stderr
    assert repo.list_jobs(cli_store, order_id="5201") == []
    assert creates(engine_sim) == 0

    done = vps_console("provision", "5201", "--yes")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "done" in done.stdout and "vps-5201" in done.stdout
    jobs = repo.list_jobs(cli_store, order_id="5201")
    assert [j.state for j in jobs] == ["done"]
    assert jobs[0].data["warnings_confirmed"] is True
    assert engine_sim.vm("vps-5201")["template"] == "centos7-cpanel"
    assert creates(engine_sim) == 1
