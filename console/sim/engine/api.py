"""The REST layer: routes under /ovirt-engine/api, list parameters, status codes, fault bodies.

Transport-free: takes an :class:`ApiRequest`, returns an :class:`ApiResponse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ovirtsdk4 import reader, types

from . import search
from .faults import EngineFault
from .world import World, severity_rank
from .xmlout import Converter, href, masked, parse_follow, render_api, render_fault, render_many, render_one

XML = "application/xml;charset=UTF-8"


@dataclass
class ApiRequest:
    method: str
    path: str  # relative to the API root: "" or "/vms/ID/start"
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def correlation_id(self) -> str | None:
        return self.query.get("correlation_id") or self.headers.get("correlation-id")

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        if value is None and name == "all_content":
            value = self.headers.get("all-content")
        return (value or "").lower() == "true"


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str | None = XML
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., ApiResponse]
_ID = r"(?P<{}>[^/]+)"


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{(\w+)\}", lambda m: _ID.format(m.group(1)), template))


def _parse(body: bytes, expected: type) -> Any:
    try:
        obj = reader.Reader.read(body) if body.strip() else None
    except Exception:
        obj = None
    if not isinstance(obj, expected):
        raise EngineFault(400, "Operation Failed", f"Failed to parse the request body as {expected.__name__}")
    return obj


class RestApi:
    def __init__(self, world: World) -> None:
        self.w = world
        self.conv = Converter(world)
        r = self._route
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        r("GET", "", self.root)
        for collection, root in (("datacenters", "data_centers"), ("clusters", "clusters"), ("hosts", "hosts"),
                                 ("storagedomains", "storage_domains"), ("templates", "templates"), ("disks", "disks"),
                                 ("tags", "tags"), ("events", "events"), ("jobs", "jobs")):
            r("GET", f"/{collection}", self._lister(collection, root))
            r("GET", f"/{collection}/{{id}}", self._getter(collection))
        r("GET", "/templates/{tid}/diskattachments", self.template_disk_attachments)
        r("GET", "/vms", self.list_vms)
        r("POST", "/vms", self.add_vm)
        r("GET", "/vms/{vid}", self.get_vm)
        r("PUT", "/vms/{vid}", self.update_vm)
        r("DELETE", "/vms/{vid}", self.remove_vm)
        r("GET", "/vms/{vid}/diskattachments", self.vm_disk_attachments)
        r("GET", "/vms/{vid}/diskattachments/{did}", self.vm_disk_attachment)
        r("PUT", "/vms/{vid}/diskattachments/{did}", self.update_disk_attachment)
        r("GET", "/vms/{vid}/nics", self.vm_nics)
        r("GET", "/vms/{vid}/nics/{nid}", self.vm_nic)
        r("GET", "/vms/{vid}/nics/{nid}/reporteddevices", self.vm_nic_reported_devices)
        r("GET", "/vms/{vid}/reporteddevices", self.vm_reported_devices)
        r("GET", "/vms/{vid}/statistics", self.vm_statistics)
        r("GET", "/vms/{vid}/tags", self.vm_tags)
        r("POST", "/vms/{vid}/tags", self.assign_tag)
        r("GET", "/vms/{vid}/tags/{tid}", self.vm_tag)
        r("DELETE", "/vms/{vid}/tags/{tid}", self.unassign_tag)
        r("POST", "/vms/{vid}/{verb}", self.vm_action)
        r("POST", "/tags", self.add_tag)
        r("DELETE", "/tags/{id}", self.remove_tag)

    def _route(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append((method, _pattern(template), handler))

    # ------------------------------------------------------------- dispatch
    def handle(self, request: ApiRequest) -> ApiResponse:
        path = request.path.rstrip("/")
        path_known = False
        for method, pattern, handler in self._routes:
            m = pattern.fullmatch(path)
            if not m:
                continue
            path_known = True
            if method != request.method:
                continue
            try:
                with self.w.lock:
                    self.w.scheduler.run_due()
                    return handler(request, **m.groupdict())
            except EngineFault as fault:
                return self._fault_response(fault, is_action=handler == self.vm_action)
        return ApiResponse(405 if path_known else 404, b"", None)

    @staticmethod
    def _fault_response(fault: EngineFault, is_action: bool) -> ApiResponse:
        if fault.reason is None and fault.detail is None:
            return ApiResponse(fault.status, b"", None)
        if is_action and not fault.bare:
            action = types.Action(fault=types.Fault(reason=fault.reason, detail=fault.detail), status="failed")
            return ApiResponse(fault.status, render_one(action))
        return ApiResponse(fault.status, render_fault(fault.reason, fault.detail))

    # ----------------------------------------------------------------- lists
    def _list(self, request: ApiRequest, items: Iterable[Any], convert: Callable[..., Any], root: str,
              getter: search.FieldGetter | None, rank: Callable[[str], float] | None = None,
              sort_key: Callable[[Any], Any] | None = None) -> ApiResponse:
        items = list(items)
        text = request.query.get("search")
        if text and getter is not None:
            try:
                query = search.parse(text)
                keep = search.matcher(query, getter, request.flag("case_sensitive"), rank)
                items = [item for item in items if keep(item)]
            except search.InvalidSearch:
                items = []  # SearchQuery: syntax error -> empty result, HTTP 200 (see search.InvalidSearch)
            else:
                if query.sort_by and sort_key is not None:
                    items.sort(key=lambda i: sort_key(i, query.sort_by), reverse=query.descending)
        limit = request.query.get("max")
        if limit is not None:
            try:
                n = int(limit)
            except ValueError:
                raise EngineFault(400, "Invalid value", f"Value '{limit}' isn't a valid integer")
            if n >= 0:
                items = items[:n]
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_many((convert(item, follow) for item in items), root))

    def _lister(self, collection: str, root: str) -> Handler:
        def handler(request: ApiRequest) -> ApiResponse:
            w = self.w
            if collection == "events":
                return self.list_events(request)
            source, convert, getter = {
                "datacenters": (w.datacenters, self.conv.datacenter, _dc_fields),
                "clusters": (w.clusters, self.conv.cluster, self._cluster_fields),
                "hosts": (w.hosts, self.conv.host, self._host_fields),
                "storagedomains": (w.storage_domains, self.conv.storage_domain, _sd_fields),
                "templates": (w.templates, self.conv.template, self._template_fields),
                "disks": (w.disks, self.conv.disk, _disk_fields),
                "tags": (w.tags, self.conv.tag, _tag_fields),
                "jobs": (w.jobs, self.conv.job, _job_fields),
            }[collection]
            items = list(source.values())
            if collection == "disks":
                items = [d for d in items if d.vm_id or d.template_id]
            if collection == "templates":
                items.sort(key=lambda t: (t.id != "00000000-0000-0000-0000-000000000000", t.name, t.version_number))
            return self._list(request, items, convert, root, getter)
        return handler

    def _getter(self, collection: str) -> Handler:
        def handler(request: ApiRequest, id: str) -> ApiResponse:
            w = self.w
            if collection == "events":
                event = next((e for e in w.events if str(e.index) == id), None)
                return self._one(event, self.conv.event)
            source, convert = {
                "datacenters": (w.datacenters, self.conv.datacenter), "clusters": (w.clusters, self.conv.cluster),
                "hosts": (w.hosts, self.conv.host), "storagedomains": (w.storage_domains, self.conv.storage_domain),
                "templates": (w.templates, self.conv.template), "disks": (w.disks, self.conv.disk),
                "tags": (w.tags, self.conv.tag), "jobs": (w.jobs, self.conv.job),
            }[collection]
            return self._one(source.get(id), lambda item: convert(item, parse_follow(request.query.get("follow"))))
        return handler

    @staticmethod
    def _one(item: Any, convert: Callable[[Any], Any]) -> ApiResponse:
        if item is None:
            return ApiResponse(404, b"", None)
        return ApiResponse(200, render_one(convert(item)))

    # ------------------------------------------------------------------ root
    def root(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, render_api(self.conv.api()))

    # ------------------------------------------------------------- templates
    def template_disk_attachments(self, request: ApiRequest, tid: str) -> ApiResponse:
        template = self.w.templates.get(tid)
        if template is None:
            return ApiResponse(404, b"", None)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_many(
            [self.conv.disk_attachment(self.w.disks[d], follow, template=template) for d in template.disk_ids],
            "disk_attachments"))

    # ------------------------------------------------------------------- VMs
    def list_vms(self, request: ApiRequest) -> ApiResponse:
        all_content = request.flag("all_content")
        return self._list(request, self.w.vms.values(),
                          lambda vm, follow: self.conv.vm(vm, follow, all_content=all_content),
                          "vms", self._vm_fields, sort_key=self._vm_sort_key)

    def get_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_one(self.conv.vm(vm, follow, next_run=request.flag("next_run"),
                                                        all_content=request.flag("all_content"))))

    def add_vm(self, request: ApiRequest) -> ApiResponse:
        spec = _parse(request.body, types.Vm)
        vm = self.w.add_vm(spec, clone=request.flag("clone"), correlation_id=request.correlation_id)
        # Disk copies are VDSM tasks: the engine answers 202 unless the client asked for "Expect: 201-created".
        status = 202 if vm.disk_ids and request.headers.get("expect") != "201-created" else 201
        return ApiResponse(status, render_one(self.conv.vm(vm)), headers={"Location": href("vms", vm.id)})

    def update_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        patch = _parse(request.body, types.Vm)
        next_run = request.flag("next_run")
        vm = self.w.update_vm(vid, patch, next_run, request.correlation_id)
        return ApiResponse(200, render_one(self.conv.vm(vm, next_run=next_run)))

    def remove_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        self.w.remove_vm(vid, request.correlation_id)
        if request.flag("async"):
            return ApiResponse(202, render_one(types.Action(status="pending")))
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def vm_action(self, request: ApiRequest, vid: str, verb: str) -> ApiResponse:
        w = self.w
        operations = {"start": lambda a: w.start(vid, a, request.correlation_id),
                      "stop": lambda a: w.stop(vid, request.correlation_id),
                      "shutdown": lambda a: w.shutdown(vid, request.correlation_id),
                      "reboot": lambda a: w.reboot(vid, request.correlation_id),
                      "suspend": lambda a: w.suspend(vid, request.correlation_id)}
        if verb not in operations:
            return ApiResponse(404, b"", None)
        action = _parse(request.body or b"<action/>", types.Action)
        w.get_vm(vid)
        job = operations[verb](action)
        echo = action
        if echo.vm is not None and echo.vm.initialization is not None:
            echo.vm.initialization = masked(echo.vm.initialization)
        echo.status = "complete"
        echo.job = types.Job(id=job.id)
        echo.job.href = href("jobs", job.id)
        return ApiResponse(200, render_one(echo))

    # ----------------------------------------------------- VM sub-collections
    def vm_disk_attachments(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_many(
            [self.conv.disk_attachment(self.w.disks[d], follow, vm=vm) for d in vm.disk_ids], "disk_attachments"))

    def vm_disk_attachment(self, request: ApiRequest, vid: str, did: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        if did not in vm.disk_ids:
            return ApiResponse(404, b"", None)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_one(self.conv.disk_attachment(self.w.disks[did], follow, vm=vm)))

    def update_disk_attachment(self, request: ApiRequest, vid: str, did: str) -> ApiResponse:
        body = _parse(request.body, types.DiskAttachment)
        size = body.disk.provisioned_size if body.disk is not None else None
        disk = self.w.extend_disk(vid, did, size, request.correlation_id)
        return ApiResponse(200, render_one(self.conv.disk_attachment(disk, None, vm=self.w.get_vm(vid))))

    def vm_nics(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(200, render_many([self.conv.nic(self.w.nics[n], vm, follow) for n in vm.nic_ids], "nics"))

    def _nic(self, vid: str, nid: str) -> Any:
        vm = self.w.get_vm(vid)
        if nid not in vm.nic_ids:
            raise EngineFault(404, None)
        return vm, self.w.nics[nid]

    def vm_nic(self, request: ApiRequest, vid: str, nid: str) -> ApiResponse:
        vm, nic = self._nic(vid, nid)
        return ApiResponse(200, render_one(self.conv.nic(nic, vm, parse_follow(request.query.get("follow")))))

    def vm_nic_reported_devices(self, request: ApiRequest, vid: str, nid: str) -> ApiResponse:
        vm, nic = self._nic(vid, nid)
        return ApiResponse(200, render_many(self.conv.reported_devices(vm, nic), "reported_devices"))

    def vm_reported_devices(self, request: ApiRequest, vid: str) -> ApiResponse:
        return ApiResponse(200, render_many(self.conv.reported_devices(self.w.get_vm(vid)), "reported_devices"))

    def vm_statistics(self, request: ApiRequest, vid: str) -> ApiResponse:
        return ApiResponse(200, render_many(self.conv.statistics(self.w.get_vm(vid)), "statistics"))

    # ------------------------------------------------------------------ tags
    def vm_tags(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        return ApiResponse(200, render_many([self.conv.vm_tag(self.w.tags[t], vm) for t in vm.tag_ids], "tags"))

    def vm_tag(self, request: ApiRequest, vid: str, tid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        if tid not in vm.tag_ids:
            return ApiResponse(404, b"", None)
        return ApiResponse(200, render_one(self.conv.vm_tag(self.w.tags[tid], vm)))

    def assign_tag(self, request: ApiRequest, vid: str) -> ApiResponse:
        tag = self.w.assign_tag(vid, _parse(request.body, types.Tag), request.correlation_id)
        vm = self.w.get_vm(vid)
        return ApiResponse(201, render_one(self.conv.vm_tag(tag, vm)), headers={"Location": href("vms", vid, "tags", tag.id)})

    def unassign_tag(self, request: ApiRequest, vid: str, tid: str) -> ApiResponse:
        self.w.unassign_tag(vid, tid, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def add_tag(self, request: ApiRequest) -> ApiResponse:
        tag = self.w.add_tag(_parse(request.body, types.Tag))
        return ApiResponse(201, render_one(self.conv.tag(tag)), headers={"Location": href("tags", tag.id)})

    def remove_tag(self, request: ApiRequest, id: str) -> ApiResponse:
        self.w.remove_tag(id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    # ---------------------------------------------------------------- events
    def list_events(self, request: ApiRequest) -> ApiResponse:
        events = list(self.w.events)
        start = request.query.get("from")
        if start is not None:
            try:
                after = int(start)
            except ValueError:
                raise EngineFault(400, "Invalid value", f"Value '{start}' isn't a valid integer")
            events = [e for e in events if e.index > after]
        else:
            events.reverse()  # newest first
        return self._list(request, events, self.conv.event, "events", self._event_fields,
                          rank=lambda s: float(severity_rank(s)),
                          sort_key=lambda e, key: e.index)

    # ----------------------------------------------------- search field maps
    def _vm_fields(self, vm: Any, name: str) -> Iterable[str] | None:
        w = self.w
        cluster = w.clusters[vm.cluster_id]
        values: dict[str, Callable[[], list[str]]] = {
            "name": lambda: [vm.name], "comment": lambda: [vm.comment], "description": lambda: [vm.description],
            "status": lambda: [vm.status, vm.status.replace("_", "")], "cluster": lambda: [cluster.name],
            "tag": lambda: [w.tags[t].name for t in vm.tag_ids], "id": lambda: [vm.id],
            "fqdn": lambda: [vm.fqdn] if vm.fqdn else [], "ip": lambda: list(vm.ips), "type": lambda: ["server"],
            "datacenter": lambda: [w.datacenters[cluster.data_center_id].name],
            "host": lambda: [w.hosts[vm.host_id].name] if vm.host_id else [],
            "template": lambda: [w.templates[vm.template_id].name], "os": lambda: [vm.os_type],
            "memory": lambda: [str(vm.memory // (1024 * 1024))],
            "creationdate": lambda: [vm.creation_time.strftime("%m/%d/%Y")],
            "next_run_config_exists": lambda: ["true" if vm.next_run else "false"],
        }
        getter = values.get(name)
        return getter() if getter else None

    @staticmethod
    def _vm_sort_key(vm: Any, key: str) -> Any:
        return {"name": vm.name, "status": vm.status, "creationdate": vm.creation_time,
                "memory": vm.memory}.get(key, vm.name)

    def _template_fields(self, t: Any, name: str) -> Iterable[str] | None:
        w = self.w
        cluster = w.clusters.get(t.cluster_id) if t.cluster_id else None
        values = {"name": [t.name], "description": [t.description], "comment": [t.comment], "id": [t.id],
                  "status": [t.status], "os": [t.os_type], "version": [str(t.version_number)],
                  "cluster": [cluster.name] if cluster else [],
                  "datacenter": [w.datacenters[cluster.data_center_id].name] if cluster else []}
        return values.get(name)

    def _cluster_fields(self, c: Any, name: str) -> Iterable[str] | None:
        values = {"name": [c.name], "id": [c.id], "description": [c.description],
                  "datacenter": [self.w.datacenters[c.data_center_id].name]}
        return values.get(name)

    def _host_fields(self, h: Any, name: str) -> Iterable[str] | None:
        values = {"name": [h.name], "id": [h.id], "address": [h.address], "status": ["up"],
                  "cluster": [self.w.clusters[h.cluster_id].name]}
        return values.get(name)

    def _event_fields(self, e: Any, name: str) -> Iterable[str] | None:
        values = {"type": [str(e.code)], "severity": [e.severity], "message": [e.description],
                  "correlation_id": [e.correlation_id] if e.correlation_id else [],
                  "event_vm": [e.vm_name] if e.vm_name else [], "usrname": [e.user_name or ""],
                  "origin": ["oVirt"], "id": [str(e.index)]}
        return values.get(name)


def _dc_fields(dc: Any, name: str) -> Iterable[str] | None:
    return {"name": [dc.name], "id": [dc.id], "description": [dc.description]}.get(name)


def _sd_fields(sd: Any, name: str) -> Iterable[str] | None:
    return {"name": [sd.name], "id": [sd.id], "type": ["data"], "status": ["active"]}.get(name)


def _disk_fields(d: Any, name: str) -> Iterable[str] | None:
    return {"name": [d.alias], "alias": [d.alias], "id": [d.id], "status": [d.status],
            "provisioned_size": [str(d.provisioned_size)]}.get(name)


def _tag_fields(t: Any, name: str) -> Iterable[str] | None:
    return {"name": [t.name], "id": [t.id], "description": [t.description]}.get(name)


def _job_fields(j: Any, name: str) -> Iterable[str] | None:
    return {"description": [j.description], "status": [j.status], "id": [j.id],
            "correlation_id": [j.correlation_id] if j.correlation_id else []}.get(name)
