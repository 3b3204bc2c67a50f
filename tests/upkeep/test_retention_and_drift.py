"""Retention removes only old versions nothing uses, and says why the others stay; a version is
retired by hand only when unused; drift tells which version each provisioned VM came from."""

from __future__ import annotations

import ovirtsdk4.types as types
import pytest

from console.config import TemplateUpkeep
from console.errors import BadInput
from console.flow.catalog import catalog_from_cache, refresh_catalog
from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.flow.upkeep import retention
from console.flow.upkeep.drift import drift
from console.store import audit
from console.store import jobs as provisioning_jobs
from tests.plugins.engine import ready_vm, wait_for
from tests.plugins.flow import FAST

NAME = "alma9-cpanel"


def _keep(services, n):
    catalog = services.config.catalog.model_copy(
        update={"templates": (TemplateUpkeep(name=NAME, keep_versions=n),)}
    )
    services.config = services.config.model_copy(update={"catalog": catalog})


def _new_version(sdk_connection, vm_id, base_id, name):
    templates = sdk_connection.system_service().templates_service()
    made = templates.add(
        types.Template(
            name=NAME,
            vm=types.Vm(id=vm_id),
            version=types.TemplateVersion(
                base_template=types.Template(id=base_id), version_name=name
            ),
        ),
        seal=True,
    )
    return wait_for(
        lambda: (
            (t := templates.template_service(made.id).get()).status == types.TemplateStatus.OK and t
        )
    )


def test_retention_removes_only_unused_old_versions_and_says_why_others_stay(
    engine_sim, sdk_connection, flow_services, store, add_order
):
    versions = {v["version_number"]: v["id"] for v in engine_sim.template_versions(NAME)}
    pool_vm, _ = ready_vm(sdk_connection, "pool-1", template=NAME)  # based on v3, the latest
    assert pool_vm.template.id == versions[3]
    _new_version(sdk_connection, pool_vm.id, versions[1], "2026-11-30")
    _new_version(sdk_connection, pool_vm.id, versions[1], "2026-12-01")
    # An unfinished provisioning job clones from v2.
    add_order("7201")
    job = provisioning_jobs.create_job(
        store,
        order_id="7201",
        engine="sim",
        created_by="t@h",
        plan={"template_id": versions[2], "vm_name": "vps-7201"},
    )
    _keep(flow_services, 2)
    engine = flow_services.engine()
    refresh_catalog(engine, store, "sim")

    plan = retention.plan_retention(flow_services.config, store, engine, NAME)
    assert [t.version_number for t in plan.newest] == [5, 4]
    kept = {k.template.version_number: k.reason for k in plan.kept}
    assert set(kept) == {3, 2, 1} and plan.remove == []
    assert "VM(s) are based on it" in kept[3] and "pool-1" in kept[3]
    assert kept[2] == f"provisioning job {job.id} (order 7201) clones from it"
    assert kept[1].startswith("the base version")

    provisioning_jobs.update_job(store, job.id, state="cancelled")
    plan = retention.plan_retention(flow_services.config, store, engine, NAME)
    assert [t.version_number for t in plan.remove] == [2]
    retention.apply_retention(plan, engine, store, "tester@ci", "sim")
    assert [t.version_number for t in plan.removed] == [2] and plan.refused == []
    wait_for(
        lambda: [v["version_number"] for v in engine_sim.template_versions(NAME)] == [1, 3, 4, 5]
    )
    assert 2 not in {
        t.version_number for t in catalog_from_cache(store, "sim").templates if t.name == NAME
    }
    with store.session() as session:
        lines = [e.message for e in audit.entries(session) if e.step == "template_retired"]
    assert len(lines) == 1 and lines[0].startswith(f"{NAME} v2 (")
    assert lines[0].endswith(") removed: older than the newest 2 and unused")


def test_retire_refuses_a_used_or_latest_version_with_the_reason(
    engine_sim, sdk_connection, flow_services, store
):
    engine = flow_services.engine()
    config = flow_services.config
    ready_vm(sdk_connection, "pool-2", template=NAME)  # on v3
    with pytest.raises(BadInput) as latest:
        retention.retire(config, store, engine, "t@h", "sim", NAME, 3)
    assert "is the latest version" in latest.value.message
    with pytest.raises(BadInput) as missing:
        retention.retire(config, store, engine, "t@h", "sim", NAME, 9)
    assert missing.value.message == f"{NAME} has no version 9" and missing.value.hint.endswith(
        "1, 2, 3"
    )
    with pytest.raises(BadInput) as base:
        retention.retire(config, store, engine, "t@h", "sim", NAME, 1)
    assert "the base version" in base.value.message
    removed = retention.retire(config, store, engine, "t@h", "sim", NAME, 2)
    assert removed.version_number == 2
    wait_for(lambda: [v["version_number"] for v in engine_sim.template_versions(NAME)] == [1, 3])


def test_drift_shows_the_version_each_provisioned_vm_came_from(
    engine_sim, flow_services, refresher, add_order
):
    order = add_order("7301")
    product = flow_services.config.catalog.product_for(order.product_name)
    engine = flow_services.engine()
    draft = draft_plan(order, product, engine.list_templates(), flow_services.config, Overrides())
    runner = Runner(flow_services, timing=FAST)
    assert (
        runner.run(runner.launch(order.id, draft.plan, {}, confirm_warnings=True).id).state
        == "done"
    )
    [row] = [d for d in drift(flow_services.config, engine) if d.vm == "vps-7301"]
    assert (row.order_id, row.template, row.version, row.latest_version, row.behind) == (
        "7301",
        NAME,
        3,
        3,
        0,
    )
    assert refresher.refresh(NAME).state == "done"
    rows = drift(flow_services.config, engine)
    assert [d.vm for d in rows] == ["vps-7301"]  # seed VMs carry no order mark: not ours
    [row] = rows
    assert (row.version, row.latest_version, row.behind) == (3, 4, 1)
    assert row.days_behind in (9, 10, 11)  # v3 was sealed 10 days ago (and some hours)
    assert row.to_dict()["behind"] == 1
