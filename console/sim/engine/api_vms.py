"""Routes of VmsService, VmService and every sub-collection VmService locates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ovirtsdk4 import types

from . import vm_writer
from .convert import Converter
from .faults import EngineFault
from .rest import ApiRequest, ApiResponse, parse_body
from .vm_xml import VmXmlCache
from .xmlout import XML_DECLARATION, Follow, href, masked, parse_follow, render_one

# VM sub-collections the engine has nothing in for the simulated VMs, with their XML roots
# (the SDK writers' plural names).
EMPTY_VM_COLLECTIONS = {
    "affinitylabels": "affinity_labels",
    "applications": "applications",
    "graphicsconsoles": "graphics_consoles",
    "hostdevices": "host_devices",
    "katelloerrata": "katello_errata",
    "numanodes": "vm_numa_nodes",
    "sessions": "sessions",
    "watchdogs": "watchdogs",
    "backups": "backups",
    "checkpoints": "checkpoints",
    "mediateddevices": "vm_mediated_devices",
}


class VmApi:
    """Mixin of :class:`RestApi`."""

    w: Any
    conv: Any
    vm_xml: VmXmlCache
    cpu_profile_ids: dict[str, str]  # by cluster id (a uuid5 of it): made once each
    _select: Callable[..., tuple[list[Any], Any]]
    _route: Callable[..., None]

    def register_vms(self) -> None:
        r = self._route
        r("GET", "/vms", self.list_vms)
        r("POST", "/vms", self.add_vm)
        r("GET", "/vms/{vid}", self.get_vm)
        r("PUT", "/vms/{vid}", self.update_vm)
        r("DELETE", "/vms/{vid}", self.remove_vm)
        for verb in ("start", "stop", "shutdown", "reboot", "suspend"):
            r("POST", f"/vms/{{vid}}/{verb}", self._action(verb), is_action=True)
        for rel, root in EMPTY_VM_COLLECTIONS.items():
            r("GET", f"/vms/{{vid}}/{rel}", self._empty(root))
        r("GET", "/vms/{vid}/permissions", self.permissions)
        r("GET", "/vms/{vid}/cdroms", self.vm_cdroms)
        r("GET", "/vms/{vid}/cdroms/{cdid}", self.vm_cdrom)
        r("PUT", "/vms/{vid}/cdroms/{cdid}", self.update_vm_cdrom)
        r("GET", "/vms/{vid}/diskattachments", self.vm_disk_attachments)
        r("POST", "/vms/{vid}/diskattachments", self.add_disk_attachment)
        r("GET", "/vms/{vid}/diskattachments/{daid}", self.vm_disk_attachment)
        r("PUT", "/vms/{vid}/diskattachments/{daid}", self.update_disk_attachment)
        r("DELETE", "/vms/{vid}/diskattachments/{daid}", self.remove_disk_attachment)
        r("GET", "/vms/{vid}/nics", self.vm_nics)
        r("POST", "/vms/{vid}/nics", self.add_nic)
        r("GET", "/vms/{vid}/nics/{nicid}", self.vm_nic)
        r("PUT", "/vms/{vid}/nics/{nicid}", self.update_nic)
        r("DELETE", "/vms/{vid}/nics/{nicid}", self.remove_nic)
        r("GET", "/vms/{vid}/nics/{nicid}/reporteddevices", self.vm_nic_reported_devices)
        r("GET", "/vms/{vid}/reporteddevices", self.vm_reported_devices)
        r("GET", "/vms/{vid}/reporteddevices/{rdid}", self.vm_reported_device)
        r("GET", "/vms/{vid}/statistics", self.vm_statistics)
        r("GET", "/vms/{vid}/statistics/{stid}", self.vm_statistic)
        r("GET", "/vms/{vid}/snapshots", self.vm_snapshots)
        r("POST", "/vms/{vid}/snapshots", self.add_snapshot)
        r("GET", "/vms/{vid}/snapshots/{snid}", self.vm_snapshot)
        r("DELETE", "/vms/{vid}/snapshots/{snid}", self.remove_snapshot)
        r("POST", "/vms/{vid}/snapshots/{snid}/restore", self.restore_snapshot, is_action=True)
        r("GET", "/vms/{vid}/tags", self.vm_tags)
        r("POST", "/vms/{vid}/tags", self.assign_tag)
        r("GET", "/vms/{vid}/tags/{tagid}", self.vm_tag)
        r("DELETE", "/vms/{vid}/tags/{tagid}", self.unassign_tag)

    # ------------------------------------------------------------------- VMs
    def list_vms(self, request: ApiRequest) -> ApiResponse:
        all_content = request.flag("all_content")
        vms, follow = self._select(
            request, self.w.vms.values(), self._vm_fields, sort_key=self._vm_sort_key
        )
        body = self.vm_xml.render(
            vms,
            follow,
            all_content,
            lambda vm: self.conv.vm(vm, follow, all_content=all_content),
            lambda vm: self._write_vm(vm, follow, all_content=all_content),
        )
        return ApiResponse(200, body)

    def get_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        next_run, all_content = request.flag("next_run"), request.flag("all_content")
        written = self._write_vm(vm, follow, next_run=next_run, all_content=all_content)
        if written is not None:
            return ApiResponse(200, (XML_DECLARATION + written).encode())
        return ApiResponse(
            200,
            render_one(self.conv.vm(vm, follow, next_run=next_run, all_content=all_content)),
        )

    def _write_vm(
        self, vm: Any, follow: Follow, *, next_run: bool = False, all_content: bool = False
    ) -> str | None:
        """The VM's element written from its record (console/sim/engine/vm_writer.py), or
        None when only the SDK's writers can write it."""
        if not vm_writer.writable(vm, follow):
            return None
        profile = self.cpu_profile_ids.get(vm.cluster_id)
        if profile is None:
            profile = self.cpu_profile_ids[vm.cluster_id] = Converter.cpu_profile_id(vm.cluster_id)
        return vm_writer.vm_xml(vm, self.w, profile, next_run=next_run, all_content=all_content)

    def add_vm(self, request: ApiRequest) -> ApiResponse:
        spec = parse_body(request.body, types.Vm)
        vm = self.w.add_vm(spec, clone=request.flag("clone"), correlation_id=request.correlation_id)
        # Disk copies are VDSM tasks: the engine answers 202 unless the client asked for "Expect: 201-created".
        status = 202 if vm.disk_ids and request.headers.get("expect") != "201-created" else 201
        return ApiResponse(
            status, render_one(self.conv.vm(vm)), headers={"Location": href("vms", vm.id)}
        )

    def update_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        patch = parse_body(request.body, types.Vm)
        next_run = request.flag("next_run")
        vm = self.w.update_vm(vid, patch, next_run, request.correlation_id)
        return ApiResponse(200, render_one(self.conv.vm(vm, next_run=next_run)))

    def remove_vm(self, request: ApiRequest, vid: str) -> ApiResponse:
        self.w.remove_vm(vid, request.correlation_id, detach_only=request.flag("detach_only"))
        if request.flag("async"):
            return ApiResponse(202, render_one(types.Action(status="pending")))
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def _action(self, verb: str) -> Callable[..., ApiResponse]:
        def handler(request: ApiRequest, vid: str) -> ApiResponse:
            w = self.w
            action = parse_body(request.body or b"<action/>", types.Action)
            w.get_vm(vid)
            cid = request.correlation_id
            job = {
                "start": lambda: w.start(vid, action, cid),
                "stop": lambda: w.stop(vid, cid),
                "shutdown": lambda: w.shutdown(vid, cid),
                "reboot": lambda: w.reboot(vid, cid),
                "suspend": lambda: w.suspend(vid, cid),
            }[verb]()
            return self._action_done(action, job)

        return handler

    @staticmethod
    def _action_done(action: types.Action, job: Any = None) -> ApiResponse:
        if action.vm is not None and action.vm.initialization is not None:
            action.vm.initialization = masked(action.vm.initialization)
        action.status = "complete"
        if job is not None:
            action.job = types.Job(id=job.id)
            action.job.href = href("jobs", job.id)
        return ApiResponse(200, render_one(action))

    # ------------------------------------------------------------- CD-ROM
    def vm_cdroms(self, request: ApiRequest, vid: str) -> ApiResponse:
        return self._many([self.conv.cdrom(vm=self.w.get_vm(vid))], "cdroms")

    def vm_cdrom(self, request: ApiRequest, vid: str, cdid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        if cdid != self.conv.cdrom(vm=vm).id:
            raise EngineFault(404, None)
        return ApiResponse(200, render_one(self.conv.cdrom(vm=vm)))

    def update_vm_cdrom(self, request: ApiRequest, vid: str, cdid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        body = parse_body(request.body, types.Cdrom)
        if cdid != self.conv.cdrom(vm=vm).id:
            raise EngineFault(404, None)
        # CdRomMapper: the file id is the ISO path; an empty id ejects. current=true changes only the
        # running VM (ChangeDisk), which the simulator does not tell apart from the configuration.
        vm.cdrom_file = body.file.id if body.file is not None and body.file.id else None
        return ApiResponse(200, render_one(self.conv.cdrom(vm=vm)))

    # ------------------------------------------------------ disk attachments
    def vm_disk_attachments(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        return self._many(
            [self.conv.disk_attachment(self.w.disks[d], follow, vm=vm) for d in vm.disk_ids],
            "disk_attachments",
        )

    def vm_disk_attachment(self, request: ApiRequest, vid: str, daid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        if daid not in vm.disk_ids:
            raise EngineFault(404, None)
        follow = parse_follow(request.query.get("follow"))
        return ApiResponse(
            200, render_one(self.conv.disk_attachment(self.w.disks[daid], follow, vm=vm))
        )

    def add_disk_attachment(self, request: ApiRequest, vid: str) -> ApiResponse:
        disk = self.w.attach_disk(
            vid, parse_body(request.body, types.DiskAttachment), request.correlation_id
        )
        vm = self.w.get_vm(vid)
        return ApiResponse(
            201,
            render_one(self.conv.disk_attachment(disk, None, vm=vm)),
            headers={"Location": href("vms", vid, "diskattachments", disk.id)},
        )

    def update_disk_attachment(self, request: ApiRequest, vid: str, daid: str) -> ApiResponse:
        body = parse_body(request.body, types.DiskAttachment)
        disk = self.w.update_attachment(vid, daid, body, request.correlation_id)
        return ApiResponse(
            200, render_one(self.conv.disk_attachment(disk, None, vm=self.w.get_vm(vid)))
        )

    def remove_disk_attachment(self, request: ApiRequest, vid: str, daid: str) -> ApiResponse:
        # DiskAttachmentService.remove: detach; detach_only=false removes the disk as well.
        if request.query.get("detach_only", "true").lower() == "false":
            self.w.get_vm(vid)
            self.w.remove_disk(daid, request.correlation_id)
        else:
            self.w.detach_disk(vid, daid, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    # ------------------------------------------------------------------ NICs
    def vm_nics(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        follow = parse_follow(request.query.get("follow"))
        return self._many([self.conv.nic(self.w.nics[n], vm, follow) for n in vm.nic_ids], "nics")

    def vm_nic(self, request: ApiRequest, vid: str, nicid: str) -> ApiResponse:
        vm, nic = self.w.vm_nic(vid, nicid)
        return ApiResponse(
            200, render_one(self.conv.nic(nic, vm, parse_follow(request.query.get("follow"))))
        )

    def add_nic(self, request: ApiRequest, vid: str) -> ApiResponse:
        nic = self.w.add_nic(vid, parse_body(request.body, types.Nic), request.correlation_id)
        return ApiResponse(
            201,
            render_one(self.conv.nic(nic, self.w.get_vm(vid))),
            headers={"Location": href("vms", vid, "nics", nic.id)},
        )

    def update_nic(self, request: ApiRequest, vid: str, nicid: str) -> ApiResponse:
        nic = self.w.update_nic(
            vid, nicid, parse_body(request.body, types.Nic), request.correlation_id
        )
        return ApiResponse(200, render_one(self.conv.nic(nic, self.w.get_vm(vid))))

    def remove_nic(self, request: ApiRequest, vid: str, nicid: str) -> ApiResponse:
        self.w.remove_nic(vid, nicid, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def vm_nic_reported_devices(self, request: ApiRequest, vid: str, nicid: str) -> ApiResponse:
        vm, nic = self.w.vm_nic(vid, nicid)
        return self._many(self.conv.reported_devices(vm, nic), "reported_devices")

    def vm_reported_devices(self, request: ApiRequest, vid: str) -> ApiResponse:
        return self._many(self.conv.reported_devices(self.w.get_vm(vid)), "reported_devices")

    def vm_reported_device(self, request: ApiRequest, vid: str, rdid: str) -> ApiResponse:
        found = [d for d in self.conv.reported_devices(self.w.get_vm(vid)) if d.id == rdid]
        return self._one(found[0] if found else None, lambda d: d)

    def vm_statistics(self, request: ApiRequest, vid: str) -> ApiResponse:
        return self._many(self.conv.statistics(self.w.get_vm(vid)), "statistics")

    def vm_statistic(self, request: ApiRequest, vid: str, stid: str) -> ApiResponse:
        found = [s for s in self.conv.statistics(self.w.get_vm(vid)) if s.id == stid]
        return self._one(found[0] if found else None, lambda s: s)

    # ------------------------------------------------------------- snapshots
    def vm_snapshots(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        ids = [*vm.snapshot_ids, vm.active_snapshot_id]
        return self._many([self.conv.snapshot(self.w.snapshots[s], vm) for s in ids], "snapshots")

    def vm_snapshot(self, request: ApiRequest, vid: str, snid: str) -> ApiResponse:
        vm, snapshot = self.w.vm_snapshot_record(vid, snid)
        return ApiResponse(200, render_one(self.conv.snapshot(snapshot, vm)))

    def add_snapshot(self, request: ApiRequest, vid: str) -> ApiResponse:
        snapshot = self.w.create_snapshot(
            vid, parse_body(request.body, types.Snapshot), request.correlation_id
        )
        vm = self.w.get_vm(vid)
        return ApiResponse(
            202 if request.headers.get("expect") != "201-created" else 201,
            render_one(self.conv.snapshot(snapshot, vm)),
            headers={"Location": href("vms", vid, "snapshots", snapshot.id)},
        )

    def remove_snapshot(self, request: ApiRequest, vid: str, snid: str) -> ApiResponse:
        self.w.remove_snapshot(vid, snid, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    def restore_snapshot(self, request: ApiRequest, vid: str, snid: str) -> ApiResponse:
        action = parse_body(request.body or b"<action/>", types.Action)
        self.w.restore_snapshot(vid, snid, request.correlation_id)
        return self._action_done(action)

    # ------------------------------------------------------------------ tags
    def vm_tags(self, request: ApiRequest, vid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        return self._many([self.conv.vm_tag(self.w.tags[t], vm) for t in vm.tag_ids], "tags")

    def vm_tag(self, request: ApiRequest, vid: str, tagid: str) -> ApiResponse:
        vm = self.w.get_vm(vid)
        if tagid not in vm.tag_ids:
            raise EngineFault(404, None)
        return ApiResponse(200, render_one(self.conv.vm_tag(self.w.tags[tagid], vm)))

    def assign_tag(self, request: ApiRequest, vid: str) -> ApiResponse:
        tag = self.w.assign_tag(vid, parse_body(request.body, types.Tag), request.correlation_id)
        vm = self.w.get_vm(vid)
        return ApiResponse(
            201,
            render_one(self.conv.vm_tag(tag, vm)),
            headers={"Location": href("vms", vid, "tags", tag.id)},
        )

    def unassign_tag(self, request: ApiRequest, vid: str, tagid: str) -> ApiResponse:
        self.w.unassign_tag(vid, tagid, request.correlation_id)
        return ApiResponse(200, render_one(types.Action(status="complete")))

    # ---------------------------------------------------------------- search
    def _vm_fields(self, vm: Any, name: str) -> Any:
        getter = VM_FIELDS.get(name)
        return getter(self.w, vm) if getter else None

    @staticmethod
    def _vm_sort_key(vm: Any, key: str) -> Any:
        return getattr(vm, VM_SORT_FIELDS.get(key, "name"))


# The record field a `sortby` sorts on (by name when the engine knows no such field here).
VM_SORT_FIELDS = {
    "name": "name",
    "status": "status",
    "creationdate": "creation_time",
    "memory": "memory",
}

# A VM's values for each search field (None: a field the engine does not know). Evaluated
# for every VM a search reads: plain functions, none made per call.
VM_FIELDS: dict[str, Callable[[Any, Any], list[str]]] = {
    "name": lambda w, vm: [vm.name],
    "comment": lambda w, vm: [vm.comment],
    "description": lambda w, vm: [vm.description],
    "status": lambda w, vm: [vm.status, vm.status.replace("_", "")],
    "cluster": lambda w, vm: [w.clusters[vm.cluster_id].name],
    "tag": lambda w, vm: [w.tags[t].name for t in vm.tag_ids],
    "id": lambda w, vm: [vm.id],
    "fqdn": lambda w, vm: [vm.fqdn] if vm.fqdn else [],
    "ip": lambda w, vm: list(vm.ips),
    "type": lambda w, vm: ["server"],
    "datacenter": lambda w, vm: [w.datacenters[w.clusters[vm.cluster_id].data_center_id].name],
    "host": lambda w, vm: [w.hosts[vm.host_id].name] if vm.host_id else [],
    "template": lambda w, vm: [w.templates[vm.template_id].name],
    "os": lambda w, vm: [vm.os_type],
    "memory": lambda w, vm: [str(vm.memory // (1024 * 1024))],
    "creationdate": lambda w, vm: [vm.creation_time.strftime("%m/%d/%Y")],
    "next_run_config_exists": lambda w, vm: ["true" if vm.next_run else "false"],
}
