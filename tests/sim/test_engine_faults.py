"""Engine faults and injected faults, as the real SDK surfaces them."""

from __future__ import annotations

import json

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from console.sim.engine import EngineSimulator
from tests.plugins.engine import new_vm, ready_vm, wait_for, wait_status


def test_name_in_use_is_409_with_the_engine_text(sdk_connection):
    with pytest.raises(ovirtsdk4.Error) as err:
        new_vm(sdk_connection, "vps-1000")
    assert err.value.code == 409
    assert err.value.fault.reason == "Operation Failed"
    assert err.value.fault.detail == (
        "[Cannot add VM. The VM name is already in use, please choose a unique name and try again.]"
    )


def test_unknown_cluster_and_template_are_404(sdk_connection):
    with pytest.raises(ovirtsdk4.NotFoundError) as err:
        new_vm(sdk_connection, "vps-2101", cluster="nope")
    assert err.value.fault.detail == "Entity not found: Cluster: name=nope"
    with pytest.raises(ovirtsdk4.NotFoundError) as err:
        new_vm(sdk_connection, "vps-2101", template="nope")
    assert err.value.fault.detail == "Entity not found: GetVmTemplate"


def test_incomplete_parameters_are_400(sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    with pytest.raises(ovirtsdk4.Error) as err:
        vms.add(
            types.Vm(cluster=types.Cluster(name="prod-a"), template=types.Template(name="alma9"))
        )
    assert err.value.code == 400
    assert (err.value.fault.reason, err.value.fault.detail) == (
        "Incomplete parameters",
        "Vm [name] required for add",
    )


def test_missing_vm_is_404_without_body(sdk_connection):
    service = (
        sdk_connection.system_service()
        .vms_service()
        .vm_service("6d1e6f9c-0000-4000-8000-000000000000")
    )
    with pytest.raises(ovirtsdk4.NotFoundError) as err:
        service.get()
    assert err.value.code == 404 and err.value.fault is None


def test_storage_domain_full(engine_sim, sdk_connection):
    engine_sim.fill_storage_domain("data-ssd")
    with pytest.raises(ovirtsdk4.Error) as err:
        new_vm(sdk_connection, "vps-2102")
    assert err.value.code == 409
    assert err.value.fault.detail == "[Cannot add VM. Low disk space on Storage Domain data-ssd.]"
    sd = sdk_connection.system_service().storage_domains_service().list(search="name=data-ssd")[0]
    assert sd.available < 2**30
    assert 201 in [e.code for e in sdk_connection.system_service().events_service().list(max=3)]


def test_injected_nth_call_fault(engine_sim, sdk_connection):
    rule = engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=409,
        detail="[Cannot run VM: VM is locked. Please try again in a few minutes.]",
    )
    _, service = ready_vm(sdk_connection, "vps-2103")
    with pytest.raises(ovirtsdk4.Error) as err:
        service.start()
    assert err.value.code == 409 and "VM is locked" in err.value.fault.detail
    service.start()  # the second call goes through
    assert (rule.matched, rule.fired) == (2, 1)


def test_injected_server_error_and_dropped_connection(engine_sim, sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    engine_sim.faults.add("GET", r"^/vms$", nth=1, status=503, reason="Service Unavailable")
    with pytest.raises(ovirtsdk4.Error) as err:
        vms.list(max=1)
    assert err.value.code == 503
    # curl silently retries a request once when a reused connection dies, so drop twice.
    engine_sim.faults.add("GET", r"^/vms$", action="vms", count=2, drop=True)
    with pytest.raises(ovirtsdk4.Error) as err:
        vms.list(max=1)
    assert isinstance(err.value, ovirtsdk4.ConnectionError) or "Empty reply" in str(err.value)
    assert vms.list(max=1)  # and the engine keeps serving


def test_injected_delay_hits_the_sdk_timeout(engine_sim):
    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password, timeout=1
    )
    engine_sim.faults.add("GET", r"^/clusters$", nth=1, delay=3.0)
    with pytest.raises(ovirtsdk4.Error) as err:
        connection.system_service().clusters_service().list()
    assert "timed out" in str(err.value).lower() or isinstance(err.value, ovirtsdk4.TimeoutError)
    connection.close(logout=False)


def test_guest_never_gets_an_ip(engine_sim, sdk_connection):
    engine_sim.set_guest_behaviour("vps-21*", never_ip=True)
    _, service = ready_vm(sdk_connection, "vps-2104")
    service.start()
    wait_status(service, types.VmStatus.UP)
    engine_sim.advance(60)
    assert service.reported_devices_service().list() == []
    assert service.get().fqdn is None


def test_guest_fails_to_boot(engine_sim, sdk_connection):
    engine_sim.set_guest_behaviour("vps-2105", fail_boot=True)
    _, service = ready_vm(sdk_connection, "vps-2105")
    service.start()
    wait_for(
        lambda: any(
            e.code == 119 for e in sdk_connection.system_service().events_service().list(max=5)
        )
    )
    assert service.get().status == types.VmStatus.DOWN
    event = next(
        e for e in sdk_connection.system_service().events_service().list(max=5) if e.code == 119
    )
    assert event.severity == types.LogSeverity.ERROR


def test_guest_reports_another_hostname(engine_sim, sdk_connection):
    engine_sim.set_guest_behaviour("vps-2106", hostname="localhost.localdomain")
    _, service = ready_vm(
        sdk_connection,
        "vps-2106",
        initialization=types.Initialization(host_name="vps-2106.example"),
    )
    service.start(use_cloud_init=True)
    wait_for(lambda: service.get().fqdn)
    assert service.get().fqdn == "localhost.localdomain"


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_fault_file(tmp_path, suffix):
    if suffix == ".json":
        text = json.dumps(
            {
                "rules": [
                    {
                        "method": "GET",
                        "path": "^/templates$",
                        "nth": 1,
                        "status": 500,
                        "detail": "boom",
                    }
                ],
                "storage_full": ["data-hdd"],
                "guests": [{"name": "vps-22*", "never_ip": True}],
            }
        )
    else:
        text = (
            'storage_full = ["data-hdd"]\n[[rules]]\nmethod = "GET"\npath = "^/templates$"\nnth = 1\n'
            'status = 500\ndetail = "boom"\n[[guests]]\nname = "vps-22*"\nnever_ip = true\n'
        )
    path = tmp_path / f"faults{suffix}"
    path.write_text(text)
    with EngineSimulator.from_fault_file(path, time_scale=0.01, vms=2) as sim:
        connection = ovirtsdk4.Connection(url=sim.url, username=sim.username, password=sim.password)
        with pytest.raises(ovirtsdk4.Error) as err:
            connection.system_service().templates_service().list()
        assert (err.value.code, err.value.fault.detail) == (500, "boom")
        assert connection.system_service().templates_service().list()
        assert sim.storage_domain("data-hdd")["full"] is True
        assert sim.world.guest_behaviour("vps-2201").never_ip
        connection.close()


def test_fault_file_rejects_unknown_keys(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"rules": [{"path": "x", "stauts": 500}]}))
    with pytest.raises(ValueError, match="stauts"):
        EngineSimulator.from_fault_file(path, vms=1)
