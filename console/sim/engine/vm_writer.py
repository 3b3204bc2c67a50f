"""A VM's XML written straight from its record, as the SDK's writers write it.

The general path (convert.py, then xmlout.py) builds SDK objects and runs the SDK's
pure-Python writers: about 0.4 ms a VM, half of it building the objects. A first listing of
5,000 VMs spends ~2 s there under the world lock. Here the same bytes are written from the
record with string formatting: the element order is VmWriter.write_one's (and that of the
writers it calls: CpuWriter, CpuTopologyWriter, MemoryPolicyWriter, ...), the escaping
that of the SDK's XmlWriter (libxml2's text writer, no encoding declared): in text `&`,
`<`, `>`, `"` and CR become references, in attributes also LF and TAB, and every
character past ASCII a hexadecimal one.

It covers what the console lists, a VM with no follow, with or without `all_content` and
`next_run`; a VM holding what only the SDK's writers render (an `initialization`, attributes
a client set that the simulator does not model) is left to the general path, and so is any
follow. tests/sim/test_vm_writer.py holds both paths to the same bytes for hostile values.
"""

from __future__ import annotations

import re
from typing import Any

from ovirtsdk4 import types

from .model import Vm
from .xmlout import SUBRESOURCES, href

_TEXT = re.compile(r'[&<>"\r]')
_TEXT_REFS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}
_ATTRIBUTE = re.compile(r'[&<>"\n\r\t]|[^\x00-\x7f]')
_ATTRIBUTE_REFS = {**_TEXT_REFS, "\n": "&#10;", "\t": "&#9;"}


def _text(value: str) -> str:
    return _TEXT.sub(lambda m: _TEXT_REFS[m.group()], value) if _TEXT.search(value) else value


def _attribute(value: str) -> str:
    if not _ATTRIBUTE.search(value):
        return value
    return _ATTRIBUTE.sub(
        lambda m: _ATTRIBUTE_REFS.get(m.group()) or f"&#x{ord(m.group()):X};", value
    )


def _element(name: str, value: Any) -> str:
    """An element as Writer.write_string/_integer/_boolean/_date write it; none for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = _text(value)
    else:
        text = _text(value.isoformat())
    return f"<{name}>{text}</{name}>"


def _nested(name: str, inner: str) -> str:
    return f"<{name}>{inner}</{name}>" if inner else f"<{name}/>"


def _ref(name: str, collection: str, entity_id: str | None) -> str:
    if entity_id is None:
        return ""
    link = _attribute(href(collection, entity_id))
    return f'<{name} href="{link}" id="{_attribute(entity_id)}"/>'


_VM_LINKS = SUBRESOURCES[types.Vm]


def writable(vm: Vm, follow: dict[str, Any]) -> bool:
    """Whether `vm_xml` writes this VM (else the SDK's writers must)."""
    return not follow and not vm.extra and vm.initialization is None


def vm_xml(
    vm: Vm,
    world: Any,
    cpu_profile_id: str,
    *,
    next_run: bool = False,
    all_content: bool = False,
) -> str:
    """The `<vm>` element of `Converter.vm(vm, {}, next_run, all_content)` as the SDK writes
    it with the engine's links (xmlout.write); only for a VM `writable` says it can write."""
    config = {k: getattr(vm, k) for k in world.CONFIG_FIELDS}
    if next_run:
        config.update(vm.next_run)
    world.clusters[vm.cluster_id]  # a VM in no cluster fails here as in Converter.vm
    status = types.VmStatus(vm.status).value  # an unknown status fails as Converter.vm does
    vm_href = href("vms", vm.id)
    topology = (
        _element("cores", config["cores"])
        + _element("sockets", config["sockets"])
        + _element("threads", config["threads"])
    )
    memory_policy = (
        _element("ballooning", True)
        + _element("guaranteed", config["memory_guaranteed"])
        + _element("max", config["memory_max"])
    )
    base = _attribute(vm_href)  # the rels are plain ASCII: nothing of theirs to escape
    links = "".join(f'<link href="{base}/{rel}" rel="{rel}"/>' for rel in _VM_LINKS)
    return "".join(
        (
            f'<vm href="{base}" id="{_attribute(vm.id)}">',
            _element("comment", vm.comment),
            "<console><enabled>false</enabled></console>" if all_content else "",
            "<cpu><architecture>x86_64</architecture>",
            _nested("topology", topology),
            "</cpu>",
            _element("creation_time", vm.creation_time),
            "<delete_protected>false</delete_protected>",
            _element("description", vm.description),
            _element("fqdn", vm.fqdn),
            "<high_availability><enabled>false</enabled><priority>0</priority></high_availability>",
            _element("memory", config["memory"]),
            _nested("memory_policy", memory_policy),
            _element("name", vm.name),
            _element("next_run_configuration_exists", bool(vm.next_run)),
            _nested("os", _element("type", vm.os_type)),
            _element("run_once", vm.run_once_initialization is not None),
            "<soundcard_enabled>false</soundcard_enabled>" if all_content else "",
            _element("start_time", vm.start_time),
            "<stateless>false</stateless>",
            f"<status>{status}</status>",
            _element("stop_time", vm.stop_time),
            "<type>server</type>",
            _element("use_latest_template_version", vm.use_latest_template_version),
            "<virtio_scsi><enabled>true</enabled></virtio_scsi>" if all_content else "",
            _ref("cluster", "clusters", vm.cluster_id),
            _ref("cpu_profile", "cpuprofiles", cpu_profile_id),
            _ref("host", "hosts", vm.host_id),
            _ref("original_template", "templates", vm.template_id),
            _ref("template", "templates", vm.template_id),
            links,
            "</vm>",
        )
    )
