"""The XML of listed VMs, kept per VM and made again only when what it is made from changed.

Serialising a VM builds SDK objects and runs the SDK's pure-Python writers: at thousands of
VMs a listing spends seconds there, under the world lock, for VMs that did not change since
the last listing. The world changes its records in many places (setattr, lists and dicts
changed in place), so rather than hook every change, each VM's entry remembers a snapshot
of every value its XML is made from (the VM's record, and its disks' records when disks are
followed) and is used only while the snapshot still equals the record: the bytes sent are
those a fresh serialisation would give (tests/sim/test_vm_xml_cache.py).

Only what a listing's XML depends on nothing else than these records is kept: the plain
VM, and `follow=disk_attachments[.disk]`. Statistics (they move with the clock), NICs,
tags and anything else followed are serialised afresh every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ovirtsdk4 import xml

from .model import Disk, Vm
from .xmlout import XML_DECLARATION, Follow, links_for, render_many, write

Snapshot = tuple[Any, ...]


def _cacheable(follow: Follow) -> tuple[str, ...] | None:
    """The follow as a key, when the VM's XML depends only on its own and its disks' records."""
    if not follow:
        return ()
    attachments = follow.get("disk_attachments")
    if set(follow) != {"disk_attachments"} or attachments is None:
        return None
    if not attachments:
        return ("disk_attachments",)
    if set(attachments) == {"disk"} and not attachments["disk"]:
        return ("disk_attachments", "disk")
    return None


def _values(record: Any) -> Snapshot:
    # Lists and dicts are changed in place: copy their content, not the container.
    return tuple(
        tuple(value.items())
        if isinstance(value, dict)
        else tuple(value)
        if isinstance(value, list)
        else value
        for value in vars(record).values()
    )


class VmXmlCache:
    """Call with the world lock held (as every serialisation)."""

    def __init__(self, vms: dict[str, Vm], disks: dict[str, Disk]) -> None:
        self._vms = vms
        self._disks = disks
        self._entries: dict[tuple[str, tuple[str, ...], bool], tuple[Snapshot, str]] = {}

    def render(
        self,
        vms: list[Vm],
        follow: Follow,
        all_content: bool,
        convert: Callable[[Vm], Any],
        write: Callable[[Vm], str | None] = lambda vm: None,
        root: str = "vms",
    ) -> bytes:
        """The `<vms>` document of these VMs, as `render_many(convert(vm) ...)` gives it;
        a VM's element is `write(vm)` when that is not None (the same bytes, written from
        the record: console/sim/engine/vm_writer.py), else the SDK's writers'."""
        key = _cacheable(follow)
        if key is None or not vms:
            return render_many([convert(vm) for vm in vms], root)
        with_disks = bool(key)
        parts = []
        for vm in vms:
            snapshot = _values(vm)
            if with_disks:
                snapshot += tuple(_values(self._disks[d]) for d in vm.disk_ids)
            entry_key = (vm.id, key, all_content)
            entry = self._entries.get(entry_key)
            if entry is None or entry[0] != snapshot:
                written = write(vm) if not key else None
                entry = (snapshot, written if written is not None else _one(convert(vm)))
                self._entries[entry_key] = entry
            parts.append(entry[1])
        if len(self._entries) > 2 * len(self._vms) + 1000:
            self._drop_gone()
        return (XML_DECLARATION + f"<{root}>" + "".join(parts) + f"</{root}>").encode()

    def _drop_gone(self) -> None:
        # Entries of VMs removed since; when all are of live VMs (listed with several
        # follows), start again.
        kept = {k: v for k, v in self._entries.items() if k[0] in self._vms}
        self._entries = kept if len(kept) <= 2 * len(self._vms) + 1000 else {}


def _one(obj: Any) -> str:
    """One VM element as render_many writes it among others (no declaration)."""
    cursor = xml.XmlWriter(None, False)
    try:
        write(obj, cursor, links_for(obj))
        text: str = cursor.string()
        return text
    finally:
        cursor.close()
