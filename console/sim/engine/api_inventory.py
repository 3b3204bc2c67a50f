"""Routes of everything but VMs: infrastructure, disks, templates, networks, tags, events, jobs, users."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ovirtsdk4 import types

from .convert import ADMIN_USER_ID, ROLES
from .faults import EngineFault
from .rest import ApiRequest, ApiResponse, parse_body
from .world import severity_rank
from .xmlout import href, parse_follow, render_one

# Sub-collections with nothing in them for the simulated inventory: (collection, id key, rel) -> XML root.
EMPTY = {
    ("templates", "tid", "graphicsconsoles"): "graphics_consoles",
    ("templates", "tid", "watchdogs"): "watchdogs",
    ("templates", "tid", "tags"): "tags",
    ("hosts", "hid", "tags"): "tags",
    ("jobs", "jid", "steps"): "steps",
    ("disks", "did", "statistics"): "statistics",
}
PERMISSION_OWNERS = (
    ("vms", "vid"),
    ("templates", "tid"),
    ("hosts", "hid"),
    ("clusters", "cid"),
    ("datacenters", "dcid"),
    ("storagedomains", "sdid"),
    ("disks", "did"),
    ("networks", "nid"),
    ("vnicprofiles", "pid"),
)


class InventoryApi:
    """Mixin of :class:`RestApi`."""

    w: Any
    conv: Any
    _route: Callable[..., None]

    def register_inventory(self) -> None:
        r = self._route
        conv, w = self.conv, self.w
        simple = {
            "datacenters": (
                "data_centers",
                lambda: w.datacenters,
                conv.datacenter,
                self._dc_fields,
            ),
            "clusters": ("clusters", lambda: w.clusters, conv.cluster, self._cluster_fields),
            "hosts": ("hosts", lambda: w.hosts, conv.host, self._host_fields),
            "storagedomains": (
                "storage_domains",
                lambda: w.storage_domains,
                conv.storage_domain,
                _sd_fields,
            ),
            "templates": ("templates", lambda: w.templates, conv.template, self._template_fields),
            "disks": ("disks", lambda: w.disks, conv.disk, self._disk_fields),
            "tags": ("tags", lambda: w.tags, conv.tag, _tag_fields),
            "jobs": ("jobs", lambda: w.jobs, conv.job, _job_fields),
            "networks": ("networks", lambda: w.networks, conv.network, self._network_fields),
            "vnicprofiles": ("vnic_profiles", lambda: w.vnic_profiles, conv.vnic_profile, None),
        }
        for collection, (root, table, convert, fields) in simple.items():
            r("GET", f"/{collection}", self._lister(root, table, convert, fields))
            r("GET", f"/{collection}/{{id}}", self._getter(table, convert))
        r("GET", "/events", self.list_events)
        r("GET", "/events/{id}", self.get_event)
        for (collection, key, rel), root in EMPTY.items():
            r("GET", f"/{collection}/{{{key}}}/{rel}", self._empty(root))
        for collection, key in PERMISSION_OWNERS:
            r("GET", f"/{collection}/{{{key}}}/permissions", self.permissions)
        r("GET", "/permissions", self.permissions)
        r("GET", "/permissions/{item}", self._item_of(self.permissions))
        r("GET", "/users", self.users)
        r("GET", "/users/{uid}", self.user)
        r("GET", "/users/{uid}/permissions", self.permissions)
        r("GET", "/users/{uid}/roles", self.user_roles)
        r("GET", "/roles", self.roles)
        r("GET", "/roles/{rid}", self.role)
        r("GET", "/roles/{rid}/permits", self.role_permits)
        r("GET", "/cpuprofiles/{id}", self.cpu_profile)
        r("POST", "/tags", self.add_tag)
        r("DELETE", "/tags/{id}", self.remove_tag)
        r("POST", "/disks", self.add_disk)
        r("DELETE", "/disks/{id}", self.remove_disk)
        r("POST", "/templates", self.add_template)
        r("DELETE", "/templates/{id}", self.remove_template)
        r("GET", "/templates/{tid}/diskattachments", self.template_disk_attachments)
        r("GET", "/templates/{tid}/nics", self.template_nics)
        r("GET", "/templates/{tid}/cdroms", self.template_cdroms)
        r("GET", "/hosts/{hid}/statistics", self.host_statistics)
        r("GET", "/clusters/{cid}/networks", self.cluster_networks)
        r("GET", "/datacenters/{dcid}/networks", self.dc_networks)
        r("GET", "/datacenters/{dcid}/clusters", self.dc_clusters)
        r("GET", "/datacenters/{dcid}/storagedomains", self.dc_storage_domains)
        r("GET", "/storagedomains/{sdid}/disks", self.sd_disks)
        r("GET", "/storagedomains/{sdid}/vms", self.sd_vms)
        r("GET", "/storagedomains/{sdid}/templates", self.sd_templates)
        r("GET", "/networks/{nid}/vnicprofiles", self.network_profiles)

    # ------------------------------------------------------------ generic
    def _lister(
        self, root: str, table: Callable[[], dict], convert: Callable[..., Any], fields: Any
    ) -> Callable:
        def handler(request: ApiRequest) -> ApiResponse:
            items = list(table().values())
            if root == "templates":
                items.sort(
                    key=lambda t: (
                        t.id != "00000000-0000-0000-0000-000000000000",
                        t.name,
                        t.version_number,
                    )
                )
            return self._list(request, items, convert, root, fields)

        return handler

    def _getter(self, table: Callable[[], dict], convert: Callable[..., Any]) -> Callable:
        def handler(request: ApiRequest, id: str) -> ApiResponse:
            follow = parse_follow(request.query.get("follow"))
            return self._one(table().get(id), lambda item: convert(item, follow))

        return handler

    # ------------------------------------------------------ sub-collections
    def template_disk_attachments(self, request: ApiRequest, tid: str) -> ApiResponse:
        template = self.w.get(self.w.templates, tid)
        follow = parse_follow(request.query.get("follow"))
        return self._many(
            [
                self.conv.disk_attachment(self.w.disks[d], follow, template=template)
                for d in template.disk_ids
            ],
            "disk_attachments",
        )

    def template_nics(self, request: ApiRequest, tid: str) -> ApiResponse:
        template = self.w.get(self.w.templates, tid)
        return self._many(
            [self.conv.template_nic(template, n) for n in range(len(template.nics))], "nics"
        )

    def template_cdroms(self, request: ApiRequest, tid: str) -> ApiResponse:
        return self._many([self.conv.cdrom(template=self.w.get(self.w.templates, tid))], "cdroms")

    def host_statistics(self, request: ApiRequest, hid: str) -> ApiResponse:
        return self._many(self.conv.host_statistics(self.w.get(self.w.hosts, hid)), "statistics")

    def cluster_networks(self, request: ApiRequest, cid: str) -> ApiResponse:
        cluster = self.w.get(self.w.clusters, cid)
        return self._many(
            [
                self.conv.cluster_network(n, cluster.id)
                for n in self.w.networks.values()
                if n.data_center_id == cluster.data_center_id
            ],
            "networks",
        )

    def dc_networks(self, request: ApiRequest, dcid: str) -> ApiResponse:
        self.w.get(self.w.datacenters, dcid)
        return self._many(
            [self.conv.network(n) for n in self.w.networks.values() if n.data_center_id == dcid],
            "networks",
        )

    def dc_clusters(self, request: ApiRequest, dcid: str) -> ApiResponse:
        self.w.get(self.w.datacenters, dcid)
        return self._many(
            [self.conv.cluster(c) for c in self.w.clusters.values() if c.data_center_id == dcid],
            "clusters",
        )

    def dc_storage_domains(self, request: ApiRequest, dcid: str) -> ApiResponse:
        self.w.get(self.w.datacenters, dcid)
        return self._many(
            [
                self.conv.storage_domain(s)
                for s in self.w.storage_domains.values()
                if s.data_center_id == dcid
            ],
            "storage_domains",
        )

    def sd_disks(self, request: ApiRequest, sdid: str) -> ApiResponse:
        self.w.get(self.w.storage_domains, sdid)
        disks = [d for d in self.w.disks.values() if d.storage_domain_id == sdid]
        return self._list(request, disks, self.conv.disk, "disks", self._disk_fields)

    def sd_vms(self, request: ApiRequest, sdid: str) -> ApiResponse:
        self.w.get(self.w.storage_domains, sdid)
        vms = [
            vm
            for vm in self.w.vms.values()
            if any(self.w.disks[d].storage_domain_id == sdid for d in vm.disk_ids)
        ]
        return self._many([self.conv.vm(vm) for vm in vms], "vms")

    def sd_templates(self, request: ApiRequest, sdid: str) -> ApiResponse:
        self.w.get(self.w.storage_domains, sdid)
        templates = [
            t
            for t in self.w.templates.values()
            if any(
                self.w.disks[d].storage_domain_id == sdid for d in t.disk_ids if d in self.w.disks
            )
        ]
        return self._many([self.conv.template(t) for t in templates], "templates")

    def network_profiles(self, request: ApiRequest, nid: str) -> ApiResponse:
        self.w.get(self.w.networks, nid)
        return self._many(
            [
                self.conv.vnic_profile(p)
                for p in self.w.vnic_profiles.values()
                if p.network_id == nid
            ],
            "vnic_profiles",
        )

    def cpu_profile(self, request: ApiRequest, id: str) -> ApiResponse:
        cluster = next(
            (c for c in self.w.clusters.values() if self.conv.cpu_profile_id(c.id) == id), None
        )
        return self._one(cluster, self.conv.cpu_profile)

    # ------------------------------------------------- users, roles, permissions
    def permissions(self, request: ApiRequest, **ids: str) -> ApiResponse:
        if "uid" in ids and ids["uid"] != ADMIN_USER_ID:
            raise EngineFault(404, None)
        self._owner(ids)
        parent = request.path.rstrip("/").rsplit("/permissions", 1)[0]
        return self._many(
            [self.conv.permission(href() + parent if parent else href())], "permissions"
        )

    def users(self, request: ApiRequest) -> ApiResponse:
        return self._list(
            request,
            [ADMIN_USER_ID],
            lambda _u, follow: self.conv.user(),
            "users",
            lambda _u, name: {"name": ["admin"], "usrname": ["admin@internal-authz"]}.get(name),
        )

    def user(self, request: ApiRequest, uid: str) -> ApiResponse:
        return self._one(uid if uid == ADMIN_USER_ID else None, lambda _u: self.conv.user())

    def user_roles(self, request: ApiRequest, uid: str) -> ApiResponse:
        if uid != ADMIN_USER_ID:
            raise EngineFault(404, None)
        return self._many([self.conv.role(r) for r in ROLES if ROLES[r][2]], "roles")

    def roles(self, request: ApiRequest) -> ApiResponse:
        return self._many([self.conv.role(r) for r in ROLES], "roles")

    def role(self, request: ApiRequest, rid: str) -> ApiResponse:
        return self._one(rid if rid in ROLES else None, self.conv.role)

    def role_permits(self, request: ApiRequest, rid: str) -> ApiResponse:
        if rid not in ROLES:
            raise EngineFault(404, None)
        return self._many([], "permits")  # the action groups are not modelled

    # ------------------------------------------------------------ writes
    def add_tag(self, request: ApiRequest) -> ApiResponse:
        tag = self.w.add_tag(parse_body(request.body, types.Tag))
        return ApiResponse(
            201, render_one(self.conv.tag(tag)), headers={"Location": href("tags", tag.id)}
        )

    def remove_tag(self, request: ApiRequest, id: str) -> ApiResponse:
        self.w.remove_tag(id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def add_disk(self, request: ApiRequest) -> ApiResponse:
        disk = self.w.add_disk(parse_body(request.body, types.Disk), request.correlation_id)
        return ApiResponse(
            202 if request.headers.get("expect") != "201-created" else 201,
            render_one(self.conv.disk(disk)),
            headers={"Location": href("disks", disk.id)},
        )

    def remove_disk(self, request: ApiRequest, id: str) -> ApiResponse:
        self.w.remove_disk(id, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def add_template(self, request: ApiRequest) -> ApiResponse:
        template = self.w.add_template(
            parse_body(request.body, types.Template), request.flag("seal"), request.correlation_id
        )
        return ApiResponse(
            202 if request.headers.get("expect") != "201-created" else 201,
            render_one(self.conv.template(template)),
            headers={"Location": href("templates", template.id)},
        )

    def remove_template(self, request: ApiRequest, id: str) -> ApiResponse:
        self.w.remove_template(id, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    # ---------------------------------------------------------------- events
    def list_events(self, request: ApiRequest) -> ApiResponse:
        events = list(self.w.events)
        start = request.query.get("from")
        if start is not None:
            try:
                after = int(start)
            except ValueError:
                raise EngineFault(
                    400, "Invalid value", f"Value '{start}' isn't a valid integer"
                ) from None
            events = [e for e in events if e.index > after]
        # AuditLogDao / SearchQuery sort by audit_log_id DESC, with or without from=.
        events.reverse()
        return self._list(
            request,
            events,
            self.conv.event,
            "events",
            self._event_fields,
            rank=lambda s: float(severity_rank(s)),
            sort_key=lambda e, key: e.index,
        )

    def get_event(self, request: ApiRequest, id: str) -> ApiResponse:
        return self._one(
            next((e for e in self.w.events if str(e.index) == id), None), self.conv.event
        )

    # ----------------------------------------------------- search field maps
    # "Object.field" conditions are the cross-references each entity's *CrossRefAutoCompleter
    # (searchbackend) allows: a data center's Clusters/Storage/Network, a disk's Datacenter/Storage,
    # a template's Vms/Storage, a cluster's Datacenter, an event's Vm. Anything else is a syntax
    # error, which the engine answers with an empty list.
    def _template_fields(self, t: Any, name: str) -> Iterable[str] | None:
        w = self.w
        cluster = w.clusters.get(t.cluster_id) if t.cluster_id else None
        values = {
            "name": [t.name],
            "description": [t.description],
            "comment": [t.comment],
            "id": [t.id],
            "status": [t.status],
            "os": [t.os_type],
            "version": [str(t.version_number)],
            "cluster": [cluster.name] if cluster else [],
            "datacenter": [w.datacenters[cluster.data_center_id].name] if cluster else [],
            "vm.name": [vm.name for vm in w.vms.values() if vm.template_id == t.id],
            "vms.name": [vm.name for vm in w.vms.values() if vm.template_id == t.id],
            "storage.name": sorted(
                {
                    w.storage_domains[w.disks[d].storage_domain_id].name
                    for d in t.disk_ids
                    if d in w.disks
                }
            ),
        }
        return values.get(name)

    def _dc_fields(self, dc: Any, name: str) -> Iterable[str] | None:
        clusters = [c.name for c in self.w.clusters.values() if c.data_center_id == dc.id]
        sds = [s.name for s in self.w.storage_domains.values() if s.data_center_id == dc.id]
        networks = [n.name for n in self.w.networks.values() if n.data_center_id == dc.id]
        return {
            "name": [dc.name],
            "id": [dc.id],
            "description": [dc.description],
            "clusters.name": clusters,
            "cluster.name": clusters,
            "storage.name": sds,
            "network.name": networks,
        }.get(name)

    def _cluster_fields(self, c: Any, name: str) -> Iterable[str] | None:
        dc = self.w.datacenters[c.data_center_id].name
        return {
            "name": [c.name],
            "id": [c.id],
            "description": [c.description],
            "datacenter": [dc],
            "datacenter.name": [dc],
        }.get(name)

    def _host_fields(self, h: Any, name: str) -> Iterable[str] | None:
        cluster = self.w.clusters[h.cluster_id].name
        return {
            "name": [h.name],
            "id": [h.id],
            "address": [h.address],
            "status": ["up"],
            "cluster": [cluster],
        }.get(name)

    def _disk_fields(self, d: Any, name: str) -> Iterable[str] | None:
        sd = self.w.storage_domains[d.storage_domain_id]
        return {
            "name": [d.alias],
            "alias": [d.alias],
            "id": [d.id],
            "status": [d.status],
            "provisioned_size": [str(d.provisioned_size)],
            "description": [d.description],
            "storage.name": [sd.name],
            "datacenter.name": [self.w.datacenters[sd.data_center_id].name],
        }.get(name)

    def _network_fields(self, n: Any, name: str) -> Iterable[str] | None:
        dc = self.w.datacenters[n.data_center_id].name
        return {
            "name": [n.name],
            "id": [n.id],
            "description": [n.description],
            "datacenter": [dc],
            "vlanid": [str(n.vlan)] if n.vlan is not None else [],
        }.get(name)

    def _event_fields(self, e: Any, name: str) -> Iterable[str] | None:
        values = {
            "type": [str(e.code)],
            "severity": [e.severity],
            "message": [e.description],
            "correlation_id": [e.correlation_id] if e.correlation_id else [],
            "event_vm": [e.vm_name] if e.vm_name else [],
            "usrname": [e.user_name or ""],
            "origin": ["oVirt"],
            "id": [str(e.index)],
            "vm.name": [e.vm_name] if e.vm_name else [],
            "vm.id": [e.vm_id] if e.vm_id else [],
        }
        return values.get(name)


def _sd_fields(sd: Any, name: str) -> Iterable[str] | None:
    return {"name": [sd.name], "id": [sd.id], "type": ["data"], "status": ["active"]}.get(name)


def _tag_fields(t: Any, name: str) -> Iterable[str] | None:
    return {"name": [t.name], "id": [t.id], "description": [t.description]}.get(name)


def _job_fields(j: Any, name: str) -> Iterable[str] | None:
    return {
        "description": [j.description],
        "status": [j.status],
        "id": [j.id],
        "correlation_id": [j.correlation_id] if j.correlation_id else [],
    }.get(name)
