"""What the guest runs on its first boot: cloud-init for Linux, sysprep for Windows.

Pure: plan + keys + password in, an ovirt Initialization out. The templates are sealed
with cloud-init / the oVirt sysprep integration, so hostname, password and SSH keys go in
the standard fields; license activation that no standard field covers runs as a
first-boot command:
- Plesk: `plesk bin license --install CODE` (Linux and Windows);
- SQL Server: an edition upgrade with the product key, from the setup media the template
  keeps under C:\\SQLServerSetup;
- cPanel: licensed by IP at cPanel's server; `cpkeyclt` only asks it to look again once the
  VM has its IP.
The result carries secrets: it goes to the engine and nowhere else.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from xml.sax.saxutils import escape

from console.errors import ConsoleError
from console.flow.licenses import check_license, normalise_license
from console.flow.passwords import unprintable
from console.flow.plan import Plan, check_hostname
from console.ovirt.models import Initialization

SQL_SETUP = r"C:\SQLServerSetup\setup.exe"
# What may stand in a `cmd` line as an argument: cmd has no quoting that holds against
# &, |, <, >, ^, % and ", so a value is checked against this, never escaped.
_CMD_SAFE = re.compile(r"[A-Za-z0-9._-]+")


class FirstBootRefused(ConsoleError):
    """A key or hostname that must not go into a first-boot script."""

    code = "unsafe_first_boot_value"


def checked(plan: Plan, licenses: dict[str, str]) -> tuple[Plan, dict[str, str]]:
    """The plan and keys as the builders may use them: every key of the plan's kinds valid
    for its kind (canonical spelling), the hostname valid. Re-checked here, right before
    use, whatever checked them when they were entered: a key stored by another path (the
    secrets store, an old job) reaches the guest only through this."""
    problem = check_hostname(plan.hostname, windows=plan.init_kind == "sysprep")
    if problem is not None:
        raise FirstBootRefused(f"hostname: {problem.message}", problem.fix)
    clean: dict[str, str] = {}
    for kind in plan.key_kinds:
        value = normalise_license(kind, licenses.get(kind, ""))
        problem = check_license(kind, value)
        if problem is not None:
            raise FirstBootRefused(
                f"{problem.field}: {problem.message}; it is not put into the first-boot script",
                f"store a valid key with vps-console credentials set license "
                f"{plan.order_id} {kind}, then retry the job",
            )
        clean[kind] = value
    return replace(plan, hostname=plan.hostname.rstrip(".").lower()), clean


def _cmd_arg(value: str) -> str:
    if not _CMD_SAFE.fullmatch(value):
        raise FirstBootRefused(
            f"{value!r} cannot be passed safely on a Windows command line", "check the key"
        )
    return value


def _quote_yaml(value: str) -> str:
    # A JSON string is a YAML double-quoted scalar; ensure_ascii escapes every control
    # and non-ASCII character, so nothing can end the scalar or the line.
    return json.dumps(value, ensure_ascii=True)


def linux_commands(plan: Plan, licenses: dict[str, str]) -> list[str]:
    commands = []
    if "plesk" in plan.license_kinds and licenses.get("plesk"):
        commands.append(shlex.join(["plesk", "bin", "license", "--install", licenses["plesk"]]))
    if "cpanel" in plan.license_kinds:
        commands.append("/usr/local/cpanel/cpkeyclt --force-no-tty-check || true")
    return commands


def windows_commands(plan: Plan, licenses: dict[str, str]) -> list[str]:
    commands = []
    if "plesk" in plan.license_kinds and licenses.get("plesk"):
        commands.append(f"cmd /c plesk bin license --install {_cmd_arg(licenses['plesk'])}")
    if "mssql" in plan.license_kinds and licenses.get("mssql"):
        commands.append(
            f"{SQL_SETUP} /q /ACTION=EditionUpgrade /INSTANCENAME=MSSQLSERVER "
            f"/PID={_cmd_arg(licenses['mssql'])} /IACCEPTSQLSERVERLICENSETERMS"
        )
    return commands


def cloud_config(plan: Plan, licenses: dict[str, str]) -> str:
    plan, licenses = checked(plan, licenses)
    lines = ["#cloud-config", f"fqdn: {_quote_yaml(plan.hostname)}", "preserve_hostname: false"]
    commands = linux_commands(plan, licenses)
    if commands:
        lines.append("runcmd:")
        lines += [f"  - {_quote_yaml(command)}" for command in commands]
    return "\n".join(lines) + "\n"


def unattend_xml(plan: Plan, licenses: dict[str, str], admin_password: str) -> str:
    plan, licenses = checked(plan, licenses)
    _check_password(admin_password)
    computer = plan.hostname.split(".")[0][:15].upper()
    key = licenses.get("windows", "")
    commands = windows_commands(plan, licenses)
    synchronous = "".join(
        f'<SynchronousCommand wcm:action="add"><Order>{number}</Order>'
        f"<CommandLine>{escape(command)}</CommandLine></SynchronousCommand>"
        for number, command in enumerate(commands, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<unattend xmlns="urn:schemas-microsoft-com:unattend" '
        'xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">'
        '<settings pass="specialize"><component name="Microsoft-Windows-Shell-Setup" '
        'processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" '
        'versionScope="nonSxS">'
        f"<ComputerName>{escape(computer)}</ComputerName>"
        f"<ProductKey>{escape(key)}</ProductKey></component></settings>"
        '<settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup" '
        'processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" '
        'versionScope="nonSxS"><UserAccounts><AdministratorPassword>'
        f"<Value>{escape(admin_password)}</Value><PlainText>true</PlainText>"
        "</AdministratorPassword></UserAccounts>"
        f"<FirstLogonCommands>{synchronous}</FirstLogonCommands>"
        "</component></settings></unattend>\n"
    )


def _check_password(admin_password: str) -> None:
    # Checked at entry too (console.flow.passwords); again here, right before the guest.
    if unprintable(admin_password):
        raise FirstBootRefused(
            "the admin password has control or invisible characters, which neither sysprep's "
            "XML nor cloud-init's YAML may carry",
            "generate a new one (ctrl+g) and launch again",
        )


def initialization(plan: Plan, licenses: dict[str, str], admin_password: str) -> Initialization:
    plan, licenses = checked(plan, licenses)
    _check_password(admin_password)
    if plan.init_kind == "sysprep":
        return Initialization(
            kind="sysprep",
            host_name=plan.hostname.split(".")[0][:15],
            user_name=plan.admin_user,
            root_password=admin_password,
            custom_script=unattend_xml(plan, licenses, admin_password),
            windows_license_key=licenses.get("windows"),
        )
    return Initialization(
        kind="cloud-init",
        host_name=plan.hostname,
        user_name=plan.admin_user,
        root_password=admin_password,
        authorized_ssh_keys=plan.ssh_keys,
        custom_script=cloud_config(plan, licenses),
    )
