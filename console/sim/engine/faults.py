"""Engine faults (what a real oVirt 4.5 engine answers) and fault injection.

Two things live here:

* :class:`EngineFault` - raised anywhere in the simulator to answer with the
  engine's ``<fault><reason/><detail/></fault>`` body (or an ``<action>``
  wrapping it, for actions) and HTTP status; plus the engine's message texts.
* :class:`FaultInjector` - rules that make matching API calls fail, hang or
  drop the connection, for tests, the bench and training.

Fault file format (JSON, or TOML when the file name ends in ``.toml``)::

    {
      "rules": [
        {"method": "POST", "path": "^/vms$", "nth": 1,
         "status": 409, "reason": "Operation Failed",
         "detail": "[Cannot add VM: VM is locked. Please try again in a few minutes.]"},
        {"method": "POST", "path": "^/vms/[^/]+/start$", "every": 2, "drop": true},
        {"method": "GET", "path": "^/vms", "delay": 3.0, "scaled": false, "count": 5}
      ],
      "storage_full": ["data-hdd"],
      "guests": [{"name": "vps-20*", "never_ip": true},
                 {"name": "tpl-build-*", "script_hangs": true},
                 {"name": "vps-2002", "fail_boot": true},
                 {"name": "vps-2003", "hostname": "wrong.example.net"}],
      "token_lifetime": 300
    }

Rule keys:

``method``  HTTP method (any when absent).
``path``    regular expression searched in the request path *relative to the
            API root* (``/vms/ID/start``); SSO paths are matched whole
            (``/ovirt-engine/sso/oauth/token``). Any path when absent.
``action``  shorthand: the last path segment must equal it (``start``).
``nth``     fire only on the N-th matching call (1-based).
``every``   fire on every N-th matching call (1 = every call). Default when
            neither ``nth`` nor ``every`` is given: every call.
``count``   fire at most this many times (default: unlimited; 1 with ``nth``).
``status``/``reason``/``detail``  answer with this fault (reason defaults to
            "Operation Failed"; detail optional, sent verbatim).
``delay``   seconds to wait before handling the call normally (or before the
            fault, if ``status`` is also given). Real seconds unless
            ``"scaled": true``, then multiplied by the simulator's time_scale.
``drop``    close the connection without answering.

``storage_full`` lists storage domains to fill; ``guests`` sets guest
behaviour per VM-name glob; ``token_lifetime`` makes SSO tokens expire after
that many real seconds.
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPERATION_FAILED = "Operation Failed"


class EngineFault(Exception):
    """An error answer exactly as the engine would give it."""

    def __init__(
        self, status: int, reason: str | None, detail: str | None = None, bare: bool = False
    ):
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        # Failed actions normally answer <action><fault/><status>failed</status></action>; a few
        # checks in the REST layer itself answer a bare <fault>.
        self.bare = bare


def backend_failed(status: int, *messages: str) -> EngineFault:
    """A validation failure of a backend command.

    The REST layer sends reason "Operation Failed" and the translated
    messages as a Java list (``[msg1, msg2]``).
    """
    return EngineFault(status, OPERATION_FAILED, "[" + ", ".join(messages) + "]")


def not_found(what: str) -> EngineFault:
    """The REST layer's 404 for a name or id it could not resolve."""
    return EngineFault(404, OPERATION_FAILED, f"Entity not found: {what}")


def incomplete(type_name: str, fields: list[str], method: str) -> EngineFault:
    """CompletenessAssertor: ``Vm [name] required for add``."""
    return EngineFault(
        400, "Incomplete parameters", f"{type_name} [{', '.join(fields)}] required for {method}"
    )


# Engine message texts: frontend/.../AppErrors.properties (the engine's translation bundle),
# with ${action}/${type} filled from the command's VAR__ACTION__*/VAR__TYPE__* (e.g. RebootVmCommand
# uses VAR__ACTION__RESTART = "restart"); restapi .../logging/Messages.properties for REST-layer texts.
NAME_IN_USE = (
    "Cannot {action} VM. The VM name is already in use, please choose a unique name and try again."
)
VM_LOCKED = "Cannot {action} VM: VM is locked. Please try again in a few minutes."  # ACTION_TYPE_FAILED_VM_IS_LOCKED
VM_STATUS_ILLEGAL = "Cannot {action} VM because the VM is in {status} status."  # ACTION_TYPE_FAILED_VM_STATUS_ILLEGAL
VM_IMAGE_LOCKED_STATUS = VM_STATUS_ILLEGAL.replace("{status}", "Image Locked")
VM_NOT_RUNNING = "Cannot {action} VM. VM is not running."  # ACTION_TYPE_FAILED_VM_IS_NOT_RUNNING
VM_RUNNING = "Cannot {action} VM. VM is running."  # ACTION_TYPE_FAILED_VM_IS_RUNNING
VM_NOT_UP = "Cannot {action} VM. VM is not up."  # ACTION_TYPE_FAILED_VM_IS_NOT_UP
VM_SAVING_RESTORING = (
    "Cannot {action} VM. VM is in saving/restoring state.\n"
    "-Please try again when the VM is either up or down."
)
# VM_CANNOT_REMOVE_VM_WHEN_STATUS_IS_NOT_DOWN
REMOVE_NOT_DOWN = "Cannot remove VM that its state is not down.\n-Please stop the VM first."
LOW_DISK_SPACE = "Cannot {action} {type}. Low disk space on Storage Domain {domain}."
# SCHEDULING_ALL_HOSTS_FILTERED_OUT, then per host SCHEDULING_HOST_FILTERED_REASON_WITH_DETAIL
# with VAR__FILTERTYPE__INTERNAL, filter "Memory" (MemoryPolicyUnit) and
# VAR__DETAIL__NOT_ENOUGH_MEMORY; SchedulingManager lists them in this order.
NO_HOST_FITS = (
    "Cannot {action} {type}. There is no host that satisfies current scheduling "
    "constraints. See below for details:"
)
HOST_MEMORY_TOO_LOW = (
    "The host {host} did not satisfy internal filter Memory because its "
    "available memory is too low ({available} MB) to run the VM."
)
DISKS_LOCKED = "Cannot {action} {type}: The following disks are locked: {aliases}. Please try again in a few minutes."
GUARANTEED_OVER_MEMORY = "Cannot {action} VM. Physical Memory Guaranteed cannot exceed Memory Size."
MEMORY_OVER_MAX = (
    "Cannot {action} VM. Memory size ({memory}MB) cannot exceed maximum memory size ({max}MB)."
)
DISK_SHRINK = "Cannot edit Virtual Disk. New disk size must be larger than the current disk size."
# TAGS_SPECIFY_TAG_IS_IN_USE (AddTagCommand sets no action/type)
TAG_NAME_IN_USE = "The specified Tag name already exists."

# LocalizedVmStatus: VAR__VM_STATUS__* texts for ${vmStatus}.
LOCALIZED_STATUS = {
    "unassigned": "Unassigned",
    "down": "Down",
    "up": "Up",
    "powering_up": "Powering Up",
    "paused": "Paused",
    "migrating": "Migrating",
    "unknown": "Unknown",
    "not_responding": "Not Responding",
    "wait_for_launch": "Wait for Launch",
    "reboot_in_progress": "Reboot in Progress",
    "saving_state": "Saving State",
    "restoring_state": "Restoring State",
    "suspended": "Suspended",
    "image_illegal": "Image Illegal",
    "image_locked": "Image Locked",
    "powering_down": "Powering Down",
}
# VMStatus.name() (used by VM_ALREADY_IN_REQUESTED_STATUS's ${VmStatus}).
JAVA_STATUS = {"down": "Down"}
# Disks, NICs, snapshots, templates (AppErrors.properties; ${type} from VAR__TYPE__DISK "Virtual Disk",
# VAR__TYPE__SNAPSHOT "Snapshot", VAR__TYPE__VM_TEMPLATE "Template", VAR__TYPE__INTERFACE "Interface").
DISK_ALREADY_ATTACHED = "Cannot {action} {type}. The disk is already attached to VM."
DISK_BOOT_IN_USE = "Cannot {action} {type}. Disk {disk} in VM {vm} is already marked as boot."
VMS_NOT_DOWN = "Cannot {action} {type}. At least one of the VMs is not down."  # ACTION_TYPE_FAILED_VM_IS_NOT_DOWN
OBJECT_LOCKED = (
    "Cannot {action} {type}. Related operation is currently in progress. Please try again later."
)
SNAPSHOT_NOT_FOUND = "Cannot {action} {type}. VM's Snapshot does not exist."
# ACTION_TYPE_FAILED_TEMPLATE_NAME_IS_USED
TEMPLATE_NAME_IN_USE = "Cannot {action} {type}. Template name {name} already used."
# VMT_CANNOT_REMOVE_DETECTED_DERIVED_VM
TEMPLATE_IN_USE = "Cannot delete Template. Template is being used by the following VMs: {vms}."
BASE_WITH_VERSIONS = (
    "Cannot delete Base Template that has Template Versions, please first remove all Template "
    "Versions for this Template: {versions}."
)  # VMT_CANNOT_REMOVE_BASE_WITH_VERSIONS
BLANK_TEMPLATE = "Cannot {action} {type}. Removing Blank Template is not allowed."  # VMT_CANNOT_REMOVE_BLANK_TEMPLATE
TEMPLATE_FROM_RUNNING_VM = (
    "Cannot {action} {type}. VM is locked or still running, try again once VM is in the "
    "Down state."
)  # VMT_CANNOT_CREATE_TEMPLATE_FROM_DOWN_VM
NIC_NAME_IN_USE = (
    "Network interface name is already in use"  # NETWORK_INTERFACE_NAME_ALREADY_IN_USE
)
MAC_IN_USE = (
    "MAC Address {mac} is already in use by VM or snapshot: {vm}."  # NETWORK_MAC_ADDRESS_IN_USE
)
# AddVmTemplateCommand.validate: seal with a Windows VM fails with VM_TEMPLATE_CANNOT_SEAL_WINDOWS; the
# bundle's text for that key was not in the sources at hand, so this wording is the simulator's own.
SEAL_WINDOWS = "Cannot {action} {type}. Sealing is not supported for Windows templates."
MIXED_INIT = "Cannot use multiple initialization tags simultaneously when running VM."


@dataclass
class FaultRule:
    """One injected misbehaviour; see the module docstring for the keys."""

    method: str | None = None
    path: str | None = None
    action: str | None = None
    nth: int | None = None
    every: int | None = None
    count: int | None = None
    status: int | None = None
    reason: str | None = None
    detail: str | None = None
    delay: float = 0.0
    scaled: bool = False
    drop: bool = False
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._path_re = re.compile(self.path) if self.path else None
        if self.nth is not None and self.count is None:
            self.count = 1
        if self.status is None and not self.drop and not self.delay:
            raise ValueError("a fault rule needs status, delay or drop")

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self._path_re and not self._path_re.search(path):
            return False
        if self.action and path.rstrip("/").rsplit("/", 1)[-1] != self.action:
            return False
        return True

    def should_fire(self) -> bool:
        """Count one matching call and say whether this rule fires on it."""
        self.matched += 1
        if self.count is not None and self.fired >= self.count:
            return False
        if self.nth is not None:
            hit = self.matched == self.nth
        else:
            hit = self.matched % (self.every or 1) == 0
        if hit:
            self.fired += 1
        return hit

    def to_fault(self) -> EngineFault | None:
        if self.status is None:
            return None
        return EngineFault(self.status, self.reason or OPERATION_FAILED, self.detail)


class FaultInjector:
    """Thread-safe list of :class:`FaultRule`; the simulator consults it per call."""

    _RULE_KEYS = {
        "method",
        "path",
        "action",
        "nth",
        "every",
        "count",
        "status",
        "reason",
        "detail",
        "delay",
        "scaled",
        "drop",
    }

    def __init__(self, simulator: Any = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._simulator = simulator

    def add(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        action: str | None = None,
        nth: int | None = None,
        every: int | None = None,
        count: int | None = None,
        status: int | None = None,
        reason: str | None = None,
        detail: str | None = None,
        delay: float = 0.0,
        scaled: bool = False,
        drop: bool = False,
    ) -> FaultRule:
        """Add a rule; returns it so callers can read ``matched``/``fired``."""
        rule = FaultRule(
            method=method,
            path=path,
            action=action,
            nth=nth,
            every=every,
            count=count,
            status=status,
            reason=reason,
            detail=detail,
            delay=delay,
            scaled=scaled,
            drop=drop,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this call, counting the call on every matching rule."""
        chosen = None
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and rule.should_fire() and chosen is None:
                    chosen = rule
        return chosen

    def load(self, path: str | Path) -> None:
        """Load a fault file (format in the module docstring)."""
        path = Path(path)
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        self.apply(data)

    def apply(self, data: dict[str, Any]) -> None:
        """Apply an already parsed fault document."""
        unknown = set(data) - {"rules", "storage_full", "guests", "token_lifetime"}
        if unknown:
            raise ValueError(f"unknown fault file keys: {sorted(unknown)}")
        for raw in data.get("rules", []):
            bad = set(raw) - self._RULE_KEYS
            if bad:
                raise ValueError(f"unknown fault rule keys: {sorted(bad)}")
            self.add(**raw)
        sim = self._simulator
        if sim is None:
            if any(k in data for k in ("storage_full", "guests", "token_lifetime")):
                raise ValueError("storage_full/guests/token_lifetime need a simulator")
            return
        for name in data.get("storage_full", []):
            sim.fill_storage_domain(name)
        for guest in data.get("guests", []):
            guest = dict(guest)
            sim.set_guest_behaviour(guest.pop("name"), **guest)
        if "token_lifetime" in data:
            sim.set_token_lifetime(float(data["token_lifetime"]))
