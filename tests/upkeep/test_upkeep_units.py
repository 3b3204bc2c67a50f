"""The pure parts of template upkeep: the refresh state machine, the first-boot payloads (which
the simulated guest must recognise as ending in a power-off), the script timeout learnt from
history, and the new version's name."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.config import TemplateUpkeep
from console.errors import BadInput
from console.flow.upkeep import policy, scripts
from console.flow.upkeep.machine import (
    STEPS,
    IllegalRefreshTransition,
    Position,
    RefreshState,
    progress,
    transition,
)
from console.ovirt.models import Template
from console.sim.engine.guest_script import powers_off
from console.store import refresh_jobs


def _template(
    name="alma9-cpanel",
    os_type="rhel_9x64",
    apps=("cpanel",),
    windows=False,
    version=3,
    version_name="",
    created=None,
):
    return Template(
        id=f"{name}-{version}",
        name=name,
        version_number=version,
        version_name=version_name,
        os_type=os_type,
        description="",
        apps=apps,
        cpus=2,
        memory_mib=2048,
        disk_gib=40,
        created_at=created,
        status="ok",
        is_windows=windows,
    )


def test_the_machine_walks_every_step_fails_retries_and_cancels():
    position = Position(RefreshState.PLANNED)
    seen = []
    while not position.terminal:
        seen.append(position.state)
        position = transition(position, "advance")
    assert tuple(seen) == STEPS and position.state is RefreshState.DONE
    failed = transition(Position(RefreshState.SCRIPT_WAIT), "fail")
    assert str(failed) == "failed(script_wait)" and progress(failed) == (4, 9)
    assert transition(failed, "retry") == Position(RefreshState.SCRIPT_WAIT)
    assert transition(failed, "cancel").state is RefreshState.CANCELLED
    with pytest.raises(IllegalRefreshTransition):
        transition(failed, "advance")
    with pytest.raises(IllegalRefreshTransition):
        transition(Position(RefreshState.DONE), "cancel")
    with pytest.raises(IllegalRefreshTransition):
        transition(Position(RefreshState.CLONING), "retry")
    with pytest.raises(IllegalRefreshTransition):
        Position(RefreshState.FAILED)  # a failure names its step


def test_linux_payload_runs_the_script_cleans_up_and_powers_off():
    template = _template()
    script = scripts.default_script(template)
    assert "dnf -y upgrade --refresh" in script and "/scripts/upcp --force" in script
    init = scripts.build_initialization(template, "tpl-build-alma9-cpanel-1", script)
    assert init.kind == "cloud-init" and init.root_password is None
    assert init.custom_script.startswith("#cloud-config\n")
    assert (
        "      /scripts/upcp --force" in init.custom_script
    )  # the script, indented in write_files
    assert init.custom_script.rstrip().endswith("- 'poweroff'")
    assert powers_off(init.custom_script, "cloud_init")
    assert "apt-get -y dist-upgrade" in scripts.default_script(
        _template("ubuntu2204-plesk", "ubuntu_18_04", ("plesk",))
    )
    assert "yum -y update" in scripts.default_script(_template("centos7-cpanel", "rhel_7x64"))


def test_windows_payload_runs_the_script_then_sysprep_shuts_down():
    template = _template("win2022-plesk", "windows_2022", ("plesk",), windows=True)
    script = scripts.default_script(template)
    assert "Get-WindowsUpdate -Install" in script and "plesk installer" in script
    init = scripts.build_initialization(template, "tpl-build-win2022-plesk-1", script)
    assert init.kind == "sysprep" and init.host_name == "tpl-build-win20"
    assert init.root_password and init.root_password in init.custom_script  # one-time auto-logon
    encoded = re.search(r"-EncodedCommand (\S+)</CommandLine>", init.custom_script).group(1)
    assert base64.b64decode(encoded).decode("utf-16-le") == script
    assert scripts.WINDOWS_SEAL in init.custom_script
    assert powers_off(init.custom_script, "sysprep")
    with pytest.raises(BadInput) as long:
        scripts.unattend_xml("x" * 9000, "pw")
    assert "too long" in long.value.message


def test_a_configured_script_replaces_the_update_and_a_missing_one_is_named(tmp_path: Path):
    custom = tmp_path / "update.sh"
    custom.write_text("echo patched\n")
    assert scripts.script_for(_template(), custom) == "echo patched\n"
    with pytest.raises(BadInput) as missing:
        scripts.script_for(_template(), tmp_path / "nope.sh")
    assert "update_script" in missing.value.message and "nope.sh" in missing.value.message


def test_script_timeout_comes_from_history_else_the_configured_default(store):
    entry = TemplateUpkeep(name="alma9-cpanel", script_timeout_minutes=45)
    assert policy.script_timeout(store, entry) == (
        2700.0,
        "script_timeout_minutes (no earlier refresh)",
    )
    for seconds in (400.0, 900.0):
        row = refresh_jobs.create(
            store,
            template_name="alma9-cpanel",
            engine="sim",
            created_by="t",
            build_vm_name="b",
            refresh_id=refresh_jobs.new_refresh_id(),
        )
        refresh_jobs.update_row(store, row.id, state="done", data={"script_seconds": seconds})
    assert policy.script_timeout(store, entry) == (
        1800.0,
        "twice the longest of the last 2 refresh(es)",
    )


def test_version_names_are_the_date_made_unique():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert policy.version_name([_template(version_name="2026-11-30")], now) == "2026-12-02"
    taken = [_template(version_name="2026-12-02"), _template(version_name="2026-12-02.2")]
    assert policy.version_name(taken, now) == "2026-12-02.3"
