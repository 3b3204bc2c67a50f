"""Turn inventory records into the engine's XML, using the SDK's own types and writers.

The SDK writers give the element layout by construction; this module adds
what the writers never emit but the engine does: ``<link rel href>`` entries
for sub-collections, the XML declaration, and root-password masking.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ovirtsdk4 import types, writers, xml

API = "/ovirt-engine/api"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ENGINE_VERSION = types.Version(build=6, full_version="4.5.6-1.el9", major=4, minor=5, revision=0)

Follow = dict[str, "Follow"]


def href(*parts: str) -> str:
    return "/".join((API,) + parts)


def parse_follow(value: str | None) -> Follow:
    """``disk_attachments.disk,nics.reported_devices`` -> nested dict of link names."""
    tree: Follow = {}
    for path in (value or "").split(","):
        node = tree
        for name in path.strip().split("."):
            if name:
                node = node.setdefault(FOLLOW_ALIASES.get(name, name), {})
    return tree


# Link rel names the engine also accepts in follow=, mapped to element names.
FOLLOW_ALIASES = {"diskattachments": "disk_attachments", "reporteddevices": "reported_devices"}


class _LinkingWriter:
    """Wraps the SDK's XmlWriter; adds ``<link>`` elements just before the outermost entity closes."""

    def __init__(self, inner: xml.XmlWriter, links: list[tuple[str, str]]) -> None:
        self._inner = inner
        self._links = links
        self._depth = 0

    def write_start(self, name: str) -> None:
        self._depth += 1
        self._inner.write_start(name)

    def write_attribute(self, name: str, value: str) -> None:
        self._inner.write_attribute(name, value)

    def write_element(self, name: str, value: str) -> None:
        self._inner.write_element(name, value)

    def write_end(self) -> None:
        if self._depth == 1:
            for rel, link_href in self._links:
                self._inner.write_start("link")
                self._inner.write_attribute("href", link_href)
                self._inner.write_attribute("rel", rel)
                self._inner.write_end()
        self._depth -= 1
        self._inner.write_end()


def _write(obj: Any, cursor: Any, tag: str | None = None) -> None:
    getattr(writers, type(obj).__name__ + "Writer").write_one(obj, cursor, tag)


# The sub-collections the engine links from each entity (the locators of its service in the
# API model, services/*.java), in the engine's alphabetical order. The REST layer serves a
# GET for every one of them, so every link emitted resolves.
SUBRESOURCES: dict[type, tuple[str, ...]] = {
    types.Vm: (
        "affinitylabels",
        "applications",
        "cdroms",
        "diskattachments",
        "graphicsconsoles",
        "hostdevices",
        "katelloerrata",
        "nics",
        "numanodes",
        "permissions",
        "reporteddevices",
        "sessions",
        "snapshots",
        "statistics",
        "tags",
        "watchdogs",
    ),
    types.Template: (
        "cdroms",
        "diskattachments",
        "graphicsconsoles",
        "nics",
        "permissions",
        "tags",
        "watchdogs",
    ),
    types.Host: ("permissions", "statistics", "tags"),
    types.Cluster: ("networks", "permissions"),
    types.DataCenter: ("clusters", "networks", "permissions", "storagedomains"),
    types.StorageDomain: ("disks", "permissions", "templates", "vms"),
    types.Disk: ("permissions", "statistics"),
    types.Network: ("permissions", "vnicprofiles"),
    types.VnicProfile: ("permissions",),
    types.Job: ("steps",),
    types.User: ("permissions", "roles"),
    types.Role: ("permits",),
}


def links_for(obj: Any) -> list[tuple[str, str]]:
    base = obj.href
    if base is None or not isinstance(base, str):
        return []
    if isinstance(obj, types.Nic):
        return [("reporteddevices", f"{base}/reporteddevices")] if obj.vm is not None else []
    if base.count("/") > API.count("/") + 2:
        return []  # an item of a sub-collection (a cluster's network, a template's NIC ...): no links
    return [(rel, f"{base}/{rel}") for rel in SUBRESOURCES.get(type(obj), ())]


def render_one(obj: Any, tag: str | None = None) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        _write(obj, _LinkingWriter(cursor, links_for(obj)), tag)
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def write(obj: Any, cursor: xml.XmlWriter, links: list[tuple[str, str]]) -> None:
    """One entity with its links, into an open writer."""
    _write(obj, _LinkingWriter(cursor, links), None)


def render_many(objs: Iterable[Any], root: str, item_tag: str | None = None) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        cursor.write_start(root)
        for obj in objs:
            _write(obj, _LinkingWriter(cursor, links_for(obj)), item_tag)
        cursor.write_end()
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def render_fault(reason: str | None, detail: str | None) -> bytes:
    return render_one(types.Fault(reason=reason, detail=detail))


def render_action(action: types.Action) -> bytes:
    return render_one(action)


ROOT_COLLECTIONS = (
    "clusters",
    "datacenters",
    "disks",
    "events",
    "hosts",
    "jobs",
    "networks",
    "permissions",
    "roles",
    "storagedomains",
    "tags",
    "templates",
    "users",
    "vms",
    "vnicprofiles",
)
ROOT_LINKS = [(rel, href(rel)) for rel in ROOT_COLLECTIONS]
ROOT_LINKS += [
    (f"{rel}/search", href(rel) + "?search={query}")
    for rel in (
        "clusters",
        "datacenters",
        "disks",
        "events",
        "hosts",
        "networks",
        "storagedomains",
        "templates",
        "users",
        "vms",
    )
]


def render_api(api: types.Api) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        writers.ApiWriter.write_one(api, _LinkingWriter(cursor, ROOT_LINKS), None)
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def masked(init: types.Initialization | None) -> types.Initialization | None:
    """The engine never sends the root password back: it echoes ``******``."""
    if init is None:
        return None
    shown = copy.copy(init)
    if shown.root_password:
        shown.root_password = "******"
    return shown


__all__ = [
    "API",
    "SUBRESOURCES",
    "href",
    "parse_follow",
    "render_action",
    "render_api",
    "render_fault",
    "render_many",
    "render_one",
]
