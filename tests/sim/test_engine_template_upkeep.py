"""What a template refresh needs from the engine, through the SDK: a guest that runs its first-boot
script and powers itself off when the script says so (or hangs, by fault injection); a sealed
sub-version whose creation takes time in proportion to the disk and uses storage; no seal for Windows."""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from console.sim.engine.guest_script import powers_off
from tests.plugins.engine import ready_vm, wait_for, wait_status

UPDATE_AND_POWEROFF = "#cloud-config\nruncmd:\n  - 'dnf -y upgrade'\n  - 'poweroff'\n"
UPDATE_ONLY = "#cloud-config\nruncmd:\n  - 'dnf -y upgrade'\n"
SYSPREP_SHUTDOWN = (
    "<unattend><FirstLogonCommands><SynchronousCommand><CommandLine>"
    "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet"
    "</CommandLine></SynchronousCommand></FirstLogonCommands></unattend>"
)


@pytest.mark.parametrize(
    ("script", "kind", "expected"),
    [
        (UPDATE_AND_POWEROFF, "cloud_init", True),
        (UPDATE_ONLY, "cloud_init", False),
        ("#cloud-config\npower_state:\n  delay: now\n  mode: poweroff\n", "cloud_init", True),
        ("#cloud-config\npower_state:\n  mode: reboot\n", "cloud_init", False),
        (
            "#cloud-config\nwrite_files:\n  - content: 'poweroff'\n",
            "cloud_init",
            False,
        ),  # not a command
        (
            "#cloud-config\nruncmd:\n  - ['systemctl', 'poweroff']\n",
            "cloud_init",
            True,
        ),  # list form
        ("#cloud-config\nruncmd:\n  - 'shutdown -h now'\n", "cloud_init", True),
        (SYSPREP_SHUTDOWN, "sysprep", True),
        ("<CommandLine>shutdown /s /t 0</CommandLine>", "sysprep", True),
        ("<CommandLine>shutdown /r /t 0</CommandLine>", "sysprep", False),
        (None, "cloud_init", False),
    ],
)
def test_which_payloads_power_the_guest_off(script, kind, expected):
    assert powers_off(script, kind) is expected


def _start_with(service, script: str, sysprep: bool = False) -> None:
    init = types.Initialization(host_name="build.example.net", custom_script=script)
    service.start(
        use_sysprep=sysprep or None,
        use_cloud_init=None if sysprep else True,
        vm=types.Vm(initialization=init),
    )


def test_a_guest_powers_itself_off_when_its_first_boot_script_says_so(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "tpl-build-a")
    other, other_service = ready_vm(sdk_connection, "tpl-build-b")
    _start_with(service, UPDATE_AND_POWEROFF)
    _start_with(other_service, UPDATE_ONLY)
    wait_status(service, types.VmStatus.UP)
    wait_status(service, types.VmStatus.DOWN, timeout=20)
    assert other_service.get().status == types.VmStatus.UP  # no power-off in its script: stays up
    downs = [
        e["description"]
        for e in engine_sim.events()
        if e["vm"] == "tpl-build-a" and e["code"] == 61
    ]
    assert downs == ["VM tpl-build-a is down. Exit message: User shut down from within the guest"]


def test_a_hanging_script_never_powers_off(engine_sim, sdk_connection):
    engine_sim.faults.apply({"guests": [{"name": "tpl-build-*", "script_hangs": True}]})
    vm, service = ready_vm(sdk_connection, "tpl-build-c")
    _start_with(service, UPDATE_AND_POWEROFF)
    wait_status(service, types.VmStatus.UP)
    engine_sim.advance()  # every pending step (guest report) is due; nothing turns it off
    assert service.get().status == types.VmStatus.UP


def test_windows_guest_powers_off_through_sysprep_shutdown(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "tpl-build-w", template="win2022-plesk")
    _start_with(service, SYSPREP_SHUTDOWN, sysprep=True)
    wait_status(service, types.VmStatus.DOWN, timeout=20)
    assert engine_sim.vm("tpl-build-w")["status"] == "down"


def test_sealed_sub_version_takes_time_by_disk_size_and_uses_storage(engine_sim, sdk_connection):
    templates = sdk_connection.system_service().templates_service()
    base = templates.list(search="name=alma9-cpanel")
    base_id = min(base, key=lambda t: t.version.version_number).version.base_template.id
    vm, service = ready_vm(sdk_connection, "tpl-build-s", template="alma9-cpanel")
    before = engine_sim.storage_domain("data-ssd")["used"]
    engine_sim.set_time_scale(100.0)
    new = templates.add(
        types.Template(
            name="alma9-cpanel",
            vm=types.Vm(id=vm.id),
            version=types.TemplateVersion(
                base_template=types.Template(id=base_id), version_name="2026-12-02"
            ),
        ),
        seal=True,
    )
    assert new.status == types.TemplateStatus.LOCKED
    assert service.get().status == types.VmStatus.IMAGE_LOCKED
    assert engine_sim.storage_domain("data-ssd")["used"] > before
    engine_sim.advance(
        1.0
    )  # 1 s of real time is 0.01 s at this scale: a 40 GiB copy is far from done
    assert templates.template_service(new.id).get().status == types.TemplateStatus.LOCKED
    engine_sim.advance()
    engine_sim.set_time_scale(0.01)
    done = wait_for(
        lambda: (
            (t := templates.template_service(new.id).get()).status == types.TemplateStatus.OK and t
        )
    )
    assert (done.version.version_number, done.version.version_name) == (4, "2026-12-02")
    assert engine_sim.template_versions("alma9-cpanel")[-1]["sealed"] is True
    assert service.get().status == types.VmStatus.DOWN


def test_seal_is_refused_for_a_windows_vm(engine_sim, sdk_connection):
    templates = sdk_connection.system_service().templates_service()
    vm, _ = ready_vm(sdk_connection, "tpl-build-x", template="win2022-plesk")
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.add(types.Template(name="win-sealed", vm=types.Vm(id=vm.id)), seal=True)
    assert "Sealing is not supported for Windows templates" in str(caught.value)
    unsealed = templates.add(types.Template(name="win-unsealed", vm=types.Vm(id=vm.id)), seal=False)
    assert unsealed.status == types.TemplateStatus.LOCKED
