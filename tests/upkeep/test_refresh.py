"""A template refresh end to end, through the SDK against the engine simulator: the build VM
runs the update script and powers off, a new sub-version is made (sealed by the engine for
Linux, by sysprep for Windows), turns ok, the build VM goes, the catalog learns the version,
and the next provisioning of a mapped order clones from it."""

from __future__ import annotations

from datetime import timedelta

from console.flow.catalog import catalog_from_cache
from console.flow.plan import Overrides, draft_plan
from console.store.models import utcnow
from tests.plugins.upkeep import build_vms


def _versions(engine_sim, name):
    return engine_sim.template_versions(name)


def test_refresh_of_alma9_cpanel_makes_a_sealed_version_that_provisioning_then_uses(
    engine_sim, flow_services, refresher, add_order, store
):
    before = _versions(engine_sim, "alma9-cpanel")
    row = refresher.refresh("alma9-cpanel")
    assert row.state == "done", (row.state, row.failed_step, row.error_message)
    after = _versions(engine_sim, "alma9-cpanel")
    assert len(after) == len(before) + 1
    new = after[-1]
    assert (new["version_number"], new["status"], new["sealed"]) == (4, "ok", True)
    assert new["version_name"] == f"{utcnow():%Y-%m-%d}"
    assert new["id"] == row.new_template_id
    assert build_vms(engine_sim) == []
    kinds = [(e["step"], e["kind"]) for e in row.events]
    assert ("script_wait", "finished") in kinds and ("cleanup", "finished") in kinds
    assert row.data["script_seconds"] > 0

    # The catalog (the store's cache) shows the new version with its sealed date.
    cached = catalog_from_cache(store, "sim").templates
    newest = max((t for t in cached if t.name == "alma9-cpanel"), key=lambda t: t.version_number)
    assert newest.version_number == 4 and newest.id == row.new_template_id
    assert utcnow() - newest.created_at < timedelta(minutes=5)

    # The next provisioning of a mapped order clones from the new version.
    order = add_order("7101")
    product = flow_services.config.catalog.product_for(order.product_name)
    draft = draft_plan(
        order, product, flow_services.engine().list_templates(), flow_services.config, Overrides()
    )
    assert draft.problems == []
    assert (draft.plan.template_version, draft.plan.template_id) == (4, row.new_template_id)
    from console.flow.runner import Runner
    from tests.plugins.flow import FAST

    runner = Runner(flow_services, timing=FAST)
    job = runner.launch(order.id, draft.plan, {}, confirm_warnings=True)
    assert runner.run(job.id).state == "done"
    assert engine_sim.vm("vps-7101")["template_id"] == row.new_template_id


def test_refresh_of_win2022_plesk_is_sealed_by_sysprep_in_the_guest(engine_sim, refresher, store):
    row = refresher.refresh("win2022-plesk")
    assert row.state == "done", (row.state, row.failed_step, row.error_message)
    new = _versions(engine_sim, "win2022-plesk")[-1]
    assert (new["version_number"], new["status"]) == (3, "ok")
    assert new["sealed"] is False  # the engine cannot seal Windows: sysprep did, before power-off
    sealing = [
        e["message"] for e in row.events if e["step"] == "sealing" and e["kind"] == "finished"
    ]
    assert sealing == [f"version 3 ({new['version_name']}) sealed by sysprep in the guest"]
    started = [
        e["message"] for e in row.events if e["step"] == "booting" and e["kind"] == "finished"
    ]
    assert started and "(sysprep)" in started[0]
    assert build_vms(engine_sim) == []
    cached = catalog_from_cache(store, "sim").templates
    assert max(t.version_number for t in cached if t.name == "win2022-plesk") == 3
