"""A VM listing read straight into list rows: no SDK objects, no whole XML tree.

The SDK's readers build a `types.Vm` (and one object per nested element) for every VM,
in pure Python, before the console keeps a dozen values of it: at thousands of VMs that
parse is most of a listing's time, and it holds the GIL against the UI loop. Here the
body is fed in chunks to the C pull parser (expat), each VM element is read into a
`VmRow` when it ends and then dropped, so memory stays at one VM's elements.

What it reads mirrors the SDK's VmReader (ovirtsdk4/readers.py) and `rows.vm_row`: the
VM's `id` attribute; its own `name`, `status`, `description`, `comment`, `fqdn`,
`memory` elements; `cpu/topology` (sockets, cores, threads); `memory_policy/guaranteed`;
`cluster` and `template` as links (`id` attribute, and `name` when followed); and, when
the listing followed `disk_attachments.disk`, each attachment's `disk/provisioned_size`.
Every child of the root is read as a VM, whatever its tag, as VmReader.read_many does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import cast

from ovirtsdk4 import types

from console.ovirt.convert import GiB, MiB
from console.ovirt.rows import VmRow
from console.text_safety import safe_text

# Bytes handed to the C parser at once: each feed holds the GIL only that long.
CHUNK = 64 * 1024
# An unknown status reads as none, as the SDK's Reader.parse_enum makes it.
_STATUSES = frozenset(status.value for status in types.VmStatus)


def vm_rows(
    body: bytes, *, cluster_names: dict[str, str], template_names: dict[str, str]
) -> list[VmRow]:
    """The rows of a `GET /vms` answer (a `<vms>` document)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    found: list[VmRow] = []
    root: ET.Element | None = None
    depth = 0
    for offset in range(0, len(body), CHUNK):
        parser.feed(body[offset : offset + CHUNK])
        events = cast(Iterator[tuple[str, ET.Element]], parser.read_events())
        for event, element in events:
            if event == "start":
                if root is None:
                    root = element
                depth += 1
                continue
            depth -= 1
            if depth == 1 and root is not None:
                found.append(_row(element, cluster_names, template_names))
                root.clear()  # the VM is read: let its elements go
    parser.close()
    return found


def _int(text: str | None) -> int | None:
    # The SDK reads an empty element as no value (`<memory/>`); anything else must be a number.
    return int(text) if text else None


def _named(link: ET.Element | None, names: dict[str, str]) -> str | None:
    if link is None:
        return None
    return link.findtext("name") or names.get(link.get("id") or "")


def _row(vm: ET.Element, cluster_names: dict[str, str], template_names: dict[str, str]) -> VmRow:
    cluster_name = _named(vm.find("cluster"), cluster_names)
    template_name = _named(vm.find("template"), template_names)
    topology = vm.find("cpu/topology")
    cpus = 1
    if topology is not None:
        cpus = (
            (_int(topology.findtext("sockets")) or 1)
            * (_int(topology.findtext("cores")) or 1)
            * (_int(topology.findtext("threads")) or 1)
        )
    guaranteed = _int(vm.findtext("memory_policy/guaranteed"))
    sizes = [
        _int(attachment.findtext("disk/provisioned_size"))
        for attachment in vm.iterfind("disk_attachments/*")
    ]
    gib = [-(-size // GiB) for size in sizes if size is not None]
    status = vm.findtext("status")
    fqdn = vm.findtext("fqdn")
    return VmRow(
        id=vm.get("id"),  # type: ignore[arg-type]  # as the SDK: an engine always sends it
        name=safe_text(vm.findtext("name") or ""),
        status=safe_text(status) if status in _STATUSES else "",
        cluster=safe_text(cluster_name) if cluster_name else None,
        cpus=cpus,
        memory_mib=(_int(vm.findtext("memory")) or 0) // MiB,
        guaranteed_mib=guaranteed // MiB if guaranteed is not None else None,
        disk_gib=sum(gib) if gib else None,
        fqdn=safe_text(fqdn) if fqdn else None,
        template_name=safe_text(template_name) if template_name else None,
        description=safe_text(vm.findtext("description") or ""),
        comment=safe_text(vm.findtext("comment") or ""),
    )
