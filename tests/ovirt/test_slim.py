"""The slim listing parse gives the very rows the SDK's readers + rows.vm_row give."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ovirtsdk4 import reader

from console.ovirt import Engine, rows, slim
from console.ovirt.convert import GiB
from console.sim.engine import EngineSimulator
from console.sim.engine.model import Disk
from console.sim.engine.rest import ApiRequest
from tests.plugins.flow import sim_config

CLUSTERS = {"c-known": "known-cluster"}
TEMPLATES = {"t-known": "known-template"}


def both(body: bytes) -> tuple[list[rows.VmRow], list[rows.VmRow]]:
    by_sdk = [
        rows.vm_row(vm, cluster_names=CLUSTERS, template_names=TEMPLATES)
        for vm in reader.Reader.read(body)
    ]
    return slim.vm_rows(body, cluster_names=CLUSTERS, template_names=TEMPLATES), by_sdk


def listing(sim: EngineSimulator, follow: str | None) -> bytes:
    query = {"follow": follow} if follow else {}
    response = sim.api.handle(ApiRequest("GET", "/vms", query, {}, b""))
    assert response.status == 200
    return response.body


@pytest.fixture(scope="module")
def odd_sim():
    """300 VMs, some given the odd values an engine may hold."""
    sim = EngineSimulator(time_scale=0.01, vms=300, seed=3)
    world = sim.world
    vms = sorted(world.vms.values(), key=lambda vm: vm.name)
    odd = [
        dict(name="vps-1 & <two> \"q\" 'a'", description="", comment=""),
        dict(name="vps-ünïcødé-名前", description="line\nbreak\ttab", comment="\u202eevil"),
        dict(name="vps-spaces", description="  lead and trail  ", fqdn=None),
        dict(name="vps-zero", memory=0, memory_guaranteed=0, fqdn=""),
        dict(name="vps-big", memory=3 * 1024**4, sockets=4, cores=8, threads=2),
        dict(name="vps-nodisks", disk_ids=[]),
    ]
    for vm, changes in zip(vms, odd, strict=False):
        world.vm_ids_by_name.pop(vm.name, None)
        for key, value in changes.items():
            setattr(vm, key, value)
        world.vm_ids_by_name[vm.name] = vm.id
    # A VM with three disks of sizes that are not whole GiB, one of them not yet sized.
    many = vms[len(odd)]
    for n, size in enumerate((GiB + 1, 5 * GiB - 1, 7)):
        disk = Disk(
            id=f"00000000-0000-4000-8000-00000000000{n}",
            alias=f"extra{n}",
            provisioned_size=size,
            actual_size=0,
            storage_domain_id=world.disks[many.disk_ids[0]].storage_domain_id,
            vm_id=many.id,
            status="locked" if n else "ok",
        )
        world.disks[disk.id] = disk
        many.disk_ids.append(disk.id)
    for status in ("up", "down", "paused", "image_locked", "powering_up", "unknown"):
        vms[len(odd) + 1 + len(status)].status = status
    return sim


@pytest.mark.parametrize("follow", [None, "disk_attachments.disk", rows.STATS_FOLLOW])
def test_slim_rows_equal_the_sdk_rows_for_the_simulators_vms(odd_sim, follow):
    slim_rows, sdk_rows = both(listing(odd_sim, follow))
    assert len(slim_rows) == len(odd_sim.world.vms) >= 300
    assert slim_rows == sdk_rows
    by_name = {row.name: row for row in slim_rows}
    assert by_name["vps-1 & <two> \"q\" 'a'"].description == ""
    assert "名前" in next(name for name in by_name if name.startswith("vps-ü"))
    if follow:
        assert by_name["vps-nodisks"].disk_gib is None
        sized = [row.disk_gib for row in slim_rows if row.disk_gib]
        assert len(sized) == len(slim_rows) - 1
    else:
        assert all(row.disk_gib is None for row in slim_rows)


def test_slim_rows_equal_the_sdk_rows_when_indented_as_an_engine_sends_them(odd_sim):
    # A real engine indents its XML; the simulator does not.
    tree = ET.fromstring(listing(odd_sim, "disk_attachments.disk"))
    ET.indent(tree, space="    ")
    slim_rows, sdk_rows = both(ET.tostring(tree, encoding="utf-8", xml_declaration=True))
    assert slim_rows == sdk_rows and len(slim_rows) >= 300


HAND_MADE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<vms>
    <vm href="/ovirt-engine/api/vms/a" id="a">
        <name/>
        <status>no_such_status</status>
        <memory/>
        <cpu><architecture>x86_64</architecture></cpu>
        <memory_policy><max>1073741824</max></memory_policy>
        <cluster href="/ovirt-engine/api/clusters/c-known" id="c-known"/>
        <template href="/ovirt-engine/api/templates/t-other" id="t-other"/>
        <disk_attachments>
            <disk_attachment id="d1"><disk href="/ovirt-engine/api/disks/d1" id="d1"/></disk_attachment>
        </disk_attachments>
        <link href="/ovirt-engine/api/vms/a/nics" rel="nics"/>
    </vm>
    <vm id="b">
        <name>b</name>
        <status>up</status>
        <cpu><topology><cores>3</cores></topology></cpu>
        <memory>2147483648</memory>
        <cluster id="c-other"><name>followed-cluster</name></cluster>
        <template id="t-known"/>
        <original_template id="t-other"><name>not this one</name></original_template>
        <vm_pool id="p"><name>not the VM's name</name></vm_pool>
        <disk_attachments>
            <disk_attachment id="d2">
                <disk id="d2"><name>disk</name><status>ok</status><provisioned_size>1</provisioned_size></disk>
            </disk_attachment>
        </disk_attachments>
    </vm>
    <vm id="c"/>
</vms>
"""


def test_slim_rows_equal_the_sdk_rows_for_sparse_and_nested_xml():
    slim_rows, sdk_rows = both(HAND_MADE)
    assert slim_rows == sdk_rows
    a, b, c = slim_rows
    assert (a.name, a.status, a.cluster, a.template_name, a.disk_gib) == (
        "",
        "",
        "known-cluster",
        None,
        None,
    )
    assert (b.name, b.cpus, b.cluster, b.template_name, b.disk_gib) == (
        "b",
        3,
        "followed-cluster",
        "known-template",
        1,
    )
    assert c == rows.VmRow("c", "", "", None, 1, 0, None, None, None, None, "", "")


def test_an_empty_listing_is_no_rows():
    assert slim.vm_rows(b"<vms/>", cluster_names={}, template_names={}) == []


def test_the_engine_lists_rows_in_one_call_as_the_sdk_would(engine_sim, tmp_path):
    config = sim_config(engine_sim, f"sqlite:///{tmp_path / 'c.db'}")
    engine = Engine(config.engine(), engine_sim.password)
    try:
        engine.clusters()
        engine_sim.reset_calls()
        found = engine.vm_rows("name=vps-*", page=1, per_page=500)
        assert [(m, p) for m, p, _ in engine_sim.calls] == [("GET", "/vms")]
        query = engine_sim.calls[0][2]
        assert query["search"] == "name=vps-* sortby name asc page 1" and query["max"] == "500"
        assert "correlation_id" in query and "follow" not in query
        assert len(found) == 20 and all(row.cluster for row in found)
    finally:
        engine.close()


def test_large_bodies_are_parsed_in_the_helper_process_alike(odd_sim, monkeypatch):
    body = listing(odd_sim, None)
    parser = slim.Parser(elsewhere_bytes=len(body))
    here = []
    real = slim.vm_rows
    monkeypatch.setattr(slim, "vm_rows", lambda *a, **k: here.append(1) or real(*a, **k))
    try:
        found = parser.vm_rows(body, cluster_names=CLUSTERS, template_names=TEMPLATES)
        assert here == [] and parser._helper is not None  # not parsed in this process
        assert found == real(body, cluster_names=CLUSTERS, template_names=TEMPLATES)
        # A smaller one is parsed here.
        small = b"<vms><vm id='x'><name>x</name></vm></vms>"
        assert [row.name for row in parser.vm_rows(small, cluster_names={}, template_names={})] == [
            "x"
        ]
        assert here == [1]
        # What the helper cannot parse raises here the error the parse raises.
        with pytest.raises(ET.ParseError):
            parser.vm_rows(body[:-20], cluster_names={}, template_names={})
        helper = parser._helper
        parser.close()
        assert helper is not None and helper.returncode == 0 and parser._helper is None
    finally:
        parser.close()


def test_without_a_helper_process_the_parse_is_done_here(odd_sim, monkeypatch):
    body = listing(odd_sim, None)
    monkeypatch.setattr(slim.sys, "executable", "/nonexistent/python")
    parser = slim.Parser(elsewhere_bytes=0)
    found = parser.vm_rows(body, cluster_names=CLUSTERS, template_names=TEMPLATES)
    assert found == slim.vm_rows(body, cluster_names=CLUSTERS, template_names=TEMPLATES)
    assert parser._broken and parser._helper is None


def test_the_statuses_the_slim_parse_knows_are_the_sdks():
    from ovirtsdk4 import types

    assert {status.value for status in types.VmStatus} == slim.STATUSES


def test_the_parse_helper_loads_only_what_the_parse_needs():
    """The helper's memory is the console's too: it parses with the standard library and
    four console modules, without the SDK (~18 MiB) nor anything else of the console."""
    import subprocess
    import sys

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json, console.ovirt.slim; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    loaded = set(json.loads(probe.stdout))
    ours = {name for name in loaded if name == "console" or name.startswith("console.")}
    assert ours == {
        "console",
        "console.ovirt",
        "console.ovirt.models",
        "console.ovirt.records",
        "console.ovirt.slim",
        "console.text_safety",
    }
    for package in ("ovirtsdk4", "pycurl", "sqlalchemy", "pydantic", "textual", "httpx"):
        assert package not in loaded


def test_the_helper_answers_requests_written_back_to_back(odd_sim):
    """Requests written back to back are each answered, in order: the names pickled, the
    body as it is (no pickle of a page besides the page itself)."""
    body = listing(odd_sim, None)
    expected = slim.vm_rows(body, cluster_names=CLUSTERS, template_names=TEMPLATES)
    helper = slim._start_helper()
    try:
        assert helper.stdin is not None and helper.stdout is not None
        for request in (
            (body, CLUSTERS, TEMPLATES),
            (body[:-20], {}, {}),
            (body, CLUSTERS, TEMPLATES),
        ):
            slim._send_request(helper.stdin, *request)
        assert slim._receive(helper.stdout) == expected
        assert slim._receive(helper.stdout) is None  # not XML: the console parses it again
        assert slim._receive(helper.stdout) == expected
        helper.stdin.close()
        assert helper.wait(timeout=30) == 0  # ends when the console closes its stdin
    finally:
        helper.kill()
        helper.wait()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_the_helper_maps_large_allocations_on_its_own(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    helper = slim._start_helper()
    try:
        environ = Path(f"/proc/{helper.pid}/environ").read_bytes().split(b"\0")
        assert f"MALLOC_MMAP_THRESHOLD_={slim.MMAP_THRESHOLD}".encode() in environ
    finally:
        helper.kill()
        helper.wait()
