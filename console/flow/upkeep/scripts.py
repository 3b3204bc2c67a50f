"""The build VM's first-boot payload: the template's update and hardening script, then power-off.

Linux gets a cloud-config that writes the script to the guest, runs it, cleans up what must
not be baked into the next version, and powers off (the engine then seals the copy with
virt-sysprep). Windows gets an unattend.xml whose first logon runs the script in PowerShell
and ends with sysprep /generalize /oobe /shutdown: Windows seals itself, the engine cannot.
`[[catalog.templates]] update_script` replaces the default update part; the power-off is
always added, so a custom script cannot forget it.
"""

from __future__ import annotations

import base64
from pathlib import Path
from xml.sax.saxutils import escape

from console.errors import BadInput
from console.ovirt.models import Initialization, Template
from console.secrets import generate_password

LINUX_CLEANUP = (
    "cloud-init clean --logs",
    "rm -f /etc/ssh/ssh_host_*",
    "truncate -s 0 /etc/machine-id",
    "rm -f /root/.bash_history",
    "sync",
)
WINDOWS_SEAL = r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet"
# CreateProcess takes at most 32,767 characters; cmd.exe lines 8,191. An encoded PowerShell
# script must stay under the smaller one.
WINDOWS_COMMAND_LIMIT = 8191


def _family(template: Template) -> str:
    os_type = template.os_type.lower()
    if template.is_windows:
        return "windows"
    if any(word in os_type for word in ("ubuntu", "debian")) or "ubuntu" in template.name.lower():
        return "apt"
    if "rhel_7" in os_type or "centos7" in template.name.lower():
        return "yum"
    return "dnf"


def default_script(template: Template) -> str:
    """A sensible update for the OS family and the applications baked in."""
    family = _family(template)
    if family == "windows":
        lines = [
            "$ErrorActionPreference = 'Continue'",
            "Install-PackageProvider -Name NuGet -Force | Out-Null",
            "Install-Module PSWindowsUpdate -Force",
            "Get-WindowsUpdate -Install -AcceptAll -IgnoreReboot",
        ]
        if "plesk" in template.apps:
            lines.append(
                "& plesk installer --select-release-current --upgrade-installed-components"
            )
        if "mssql" in template.apps:
            lines.append("Get-WindowsUpdate -MicrosoftUpdate -Install -AcceptAll -IgnoreReboot")
        lines.append("Dism.exe /online /Cleanup-Image /StartComponentCleanup /ResetBase")
        return "\n".join(lines) + "\n"
    upgrade = {
        "apt": "export DEBIAN_FRONTEND=noninteractive\napt-get update\n"
        "apt-get -y dist-upgrade\napt-get -y autoremove --purge\napt-get clean",
        "yum": "yum -y update\nyum clean all",
        "dnf": "dnf -y upgrade --refresh\ndnf clean all",
    }[family]
    lines = ["#!/bin/bash", "set -u", upgrade]
    if "cpanel" in template.apps:
        lines.append("/scripts/upcp --force")
    if "plesk" in template.apps:
        lines.append("plesk installer --select-release-current --upgrade-installed-components")
    return "\n".join(lines) + "\n"


def script_for(template: Template, update_script: Path | None) -> str:
    """The configured update script's text, else the default; a missing file is bad input."""
    if update_script is None:
        return default_script(template)
    try:
        return update_script.read_text()
    except OSError as error:
        raise BadInput(
            f"[[catalog.templates]] {template.name}: update_script {update_script} "
            f"cannot be read ({error.strerror})",
            "fix the path (relative paths are "
            "read from the config file's folder) or remove the key for the default "
            "script",
        ) from None


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else "" for line in text.splitlines())


def cloud_config(script: str) -> str:
    """Write the script, run it, clean up, power off (the engine's seal does the rest)."""
    body = script if script.startswith("#!") else "#!/bin/bash\n" + script
    commands = [
        "bash /root/vpsc-template-update.sh",
        "rm -f /root/vpsc-template-update.sh",
        *LINUX_CLEANUP,
        "poweroff",
    ]
    return (
        "#cloud-config\n"
        "write_files:\n"
        "  - path: /root/vpsc-template-update.sh\n"
        "    permissions: '0700'\n"
        "    content: |\n" + _indent(body, 6) + "\n"
        "runcmd:\n" + "".join(f"  - '{c.replace(chr(39), chr(39) * 2)}'\n" for c in commands)
    )


def unattend_xml(script: str, admin_password: str) -> str:
    """First logon (auto, once) runs the script in PowerShell, then sysprep seals and shuts down."""
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    run = f"powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand {encoded}"
    if len(run) > WINDOWS_COMMAND_LIMIT:
        raise BadInput(
            f"the Windows update script is too long once encoded ({len(run)} > "
            f"{WINDOWS_COMMAND_LIMIT} characters)",
            "keep it short: let it download and run a longer script from your file server",
        )
    commands = "".join(
        f'<SynchronousCommand wcm:action="add"><Order>{n}</Order>'
        f"<CommandLine>{escape(command)}</CommandLine></SynchronousCommand>"
        for n, command in enumerate((run, WINDOWS_SEAL), start=1)
    )
    password = escape(admin_password)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<unattend xmlns="urn:schemas-microsoft-com:unattend" '
        'xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">'
        '<settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup" '
        'processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" '
        'versionScope="nonSxS"><OOBE><HideEULAPage>true</HideEULAPage><SkipMachineOOBE>true'
        "</SkipMachineOOBE></OOBE><UserAccounts><AdministratorPassword>"
        f"<Value>{password}</Value><PlainText>true</PlainText></AdministratorPassword></UserAccounts>"
        "<AutoLogon><Enabled>true</Enabled><LogonCount>1</LogonCount><Username>Administrator"
        f"</Username><Password><Value>{password}</Value><PlainText>true</PlainText></Password>"
        f"</AutoLogon><FirstLogonCommands>{commands}</FirstLogonCommands>"
        "</component></settings></unattend>\n"
    )


def build_initialization(template: Template, vm_name: str, script: str) -> Initialization:
    """The run-once payload of the build VM. Windows gets a one-time Administrator password
    for its auto-logon: never stored, the build VM is removed once sealed."""
    if template.is_windows:
        password = generate_password()
        return Initialization(
            kind="sysprep",
            host_name=vm_name[:15],
            user_name="Administrator",
            root_password=password,
            custom_script=unattend_xml(script, password),
        )
    return Initialization(
        kind="cloud-init", host_name=vm_name, user_name="root", custom_script=cloud_config(script)
    )
