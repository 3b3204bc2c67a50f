"""A guest's first-boot script: it runs for a while after boot and, when it says so, powers the guest off.

The engine itself never looks inside the payload; the guest does. cloud-init powers off on
``power_state: {mode: poweroff}`` or a ``poweroff`` / ``shutdown -h|-P`` /
``systemctl poweroff`` / ``halt -p`` command in ``runcmd``; Windows on a
``shutdown /s`` or ``sysprep ... /shutdown`` among its ``FirstLogonCommands``. When the
guest goes down by itself the engine only sees the VM stop: VM_DOWN (61) with the exit
message VDSM gives for a shutdown from within the guest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .clock import FIRSTBOOT_SCRIPT_SECONDS, SHUTDOWN_SECONDS
from .model import GuestBehaviour, Vm

if TYPE_CHECKING:
    from .world import World

_LINUX_POWEROFF = re.compile(
    r"(^|[\s;&|'\"])(poweroff|systemctl\s+poweroff|shutdown\s+(-h|-P|--poweroff)|"
    r"halt\s+-p)\b",
    re.MULTILINE,
)
_CLOUD_POWER_STATE = re.compile(
    r"^power_state:\s*\n(\s+.*\n)*?\s+mode:\s*['\"]?poweroff", re.MULTILINE
)
_WINDOWS_POWEROFF = re.compile(
    r"shutdown(\.exe)?\s+(/\w+\s+)*/s\b|sysprep(\.exe)?\b[^<]*/shutdown\b", re.IGNORECASE
)


def powers_off(script: str | None, kind: str | None) -> bool:
    """Whether a first-boot payload ends by powering the guest off."""
    if not script:
        return False
    if kind == "sysprep":
        return bool(_WINDOWS_POWEROFF.search(script))
    text = script if script.endswith("\n") else script + "\n"
    return bool(_CLOUD_POWER_STATE.search(text) or _LINUX_POWEROFF.search(_runcmd(text)))


def _runcmd(text: str) -> str:
    """The ``runcmd`` section of a cloud-config (or the whole text of a plain shell script)."""
    if not text.startswith("#cloud-config"):
        return text
    match = re.search(r"^runcmd:\s*\n((?:[ \t]+.*\n|\n)*)", text, re.MULTILINE)
    return match.group(1) if match else ""


def schedule_first_boot(world: World, vm: Vm, behaviour: GuestBehaviour) -> None:
    """Once up: run the run-once payload's script; power the guest off if it ends so."""
    init: Any = vm.run_once_initialization
    if init is None or behaviour.script_hangs:
        return
    if not powers_off(getattr(init, "custom_script", None), vm.run_once_type):
        return

    def guest_powered_off() -> None:
        world.emit(
            61, f"VM {vm.name} is down. Exit message: User shut down from within the guest", vm=vm
        )
        world._went_down(vm)

    world._later(vm, FIRSTBOOT_SCRIPT_SECONDS + SHUTDOWN_SECONDS, guest_powered_off)
