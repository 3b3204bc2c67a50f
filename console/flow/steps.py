"""The steps of a job, one function each, and the table that maps every Step to its function.

Each step reconciles: it reads what the engine has (the VM by its deterministic name and
the marks it carries), then does only what is missing, so running it twice, or after a
crash halfway through, ends in the same place. A step returns (message, values): what the
log says, and the job's columns to save as it advances (`data` merged into Job.data).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypedDict

from console.flow import clone_slots, firstboot, hostname_wait, marks, parking, pool, vault
from console.flow.context import VM_AT_LAUNCH, RunContext
from console.flow.errors import StepFailed
from console.flow.pace import Poll, WaitKind
from console.flow.plan import Plan
from console.ovirt import EngineNotFound, EngineRejected, Vm
from console.ovirt.models import Initialization
from console.secrets import mask
from console.store import audit
from console.store.models import BILLING_SERVICE_UPDATED, Order, utcnow
from console.store.states import Step

if TYPE_CHECKING:
    from console.billing.handover import HandoverResult

StepOutcome = tuple[str, dict[str, Any]]

STEP_TITLES: dict[Step, str] = {
    Step.PLANNED: "checking the job's keys and password are in the secret store",
    Step.CLONING: "creating the VM as a full clone of the template",
    Step.CLONE_WAIT: "waiting for the engine to copy the template's disks",
    Step.RESIZING: "setting vCPU and memory, growing the disk",
    Step.INITIALIZING: "storing hostname, password, keys and first-boot script on the VM",
    Step.STARTING: "booting the VM with cloud-init / sysprep",
    Step.IP_WAIT: "waiting for the guest agent to report the IP and hostname",
    Step.HANDOVER: "handing the server over to billing",
}
RUNNING_STATUSES = ("up", "powering_up", "wait_for_launch", "reboot_in_progress")


def usable_ips(ips: tuple[str, ...]) -> tuple[str, ...]:
    """Addresses a customer can reach: no link-local, IPv4 first."""
    return tuple(
        ip for ip in ips if not ip.lower().startswith("fe80:") and not ip.startswith("169.254.")
    )


def hostname_matches(reported: str | None, plan: Plan) -> bool:
    if not reported:
        return False
    reported = reported.lower().rstrip(".")
    if "." in reported:
        return reported == plan.hostname
    # Windows guests report their NetBIOS computer name only.
    return reported == plan.hostname.split(".")[0][:15]


def step_planned(ctx: RunContext) -> StepOutcome:
    if parking.parks(ctx.job):  # the keys and password come with the engineer's launch
        return "pre-clone on payment: the VM is copied now and waits, down, for the engineer", {}
    licenses, _ = ctx.secrets()
    kinds = ", ".join(f"{k} {mask(v)}" for k, v in licenses.items()) or "no keys needed"
    return f"secrets in place ({kinds})", {}


def ours(ctx: RunContext, vm: Vm) -> None:
    owner = marks.order_of(vm)
    if owner != ctx.plan.order_id:
        raise StepFailed(
            f"a VM named {vm.name} already exists on the engine and "
            f"{marks.ownership(vm)}; it is not touched",
            marks.not_ours_fix(vm, ctx.plan.order_id) + ", then retry",
            code="name_collision",
        )


def creation_settings(ctx: RunContext) -> dict[str, Any]:
    """What the create call sets beyond the template when the plan's sizes are known at clone
    time: CPU, memory, memory policy and the first-boot initialization, so that resizing and
    initializing find nothing left to change."""
    return {**vm_sizes(ctx.plan), "initialization": initialization(ctx)}


def ensure_vm(ctx: RunContext, *, sized: bool = True, look_first: bool = True) -> tuple[Vm, str]:
    """The job's VM: found by name and marks, else created. Never a second one.

    `sized`: create it at the plan's sizes with its initialization (else at the template's,
    for the resizing and initializing steps to change). `look_first=False`: try the create
    first; a name in use (an earlier, lost create of ours, or someone else's VM) is then
    looked up, so a new VM costs one call instead of two."""
    plan = ctx.plan
    found = (
        ctx.call(
            f"look up VM {plan.vm_name}",
            lambda: ctx.engine.find_vm(plan.vm_name, correlation_id=ctx.job.correlation_id),
            changes=False,
        )
        if look_first
        else None
    )
    if found is not None:
        ours(ctx, found)
        mine = marks.job_of(found) == ctx.job_id
        ctx.save(vm_id=found.id, vm_name=found.name, vm_created_by_job=mine)
        ctx.hand_over(found, detail=True)
        return found, f"adopted {found.name} ({found.status}), already on the engine"
    taken = pool.take_for(ctx)  # a warm-pool VM instead of a clone, when there is one
    if taken is not None:
        return taken
    clone_slots.wait_for_slot(ctx)
    settings = creation_settings(ctx) if sized else {}
    try:
        created = ctx.call(
            f"create VM {plan.vm_name} from {plan.template_name} v{plan.template_version}",
            lambda: ctx.engine.clone_vm(
                plan.vm_name,
                template_id=plan.template_id,
                cluster=plan.cluster,
                description=marks.description(plan.order_id, plan.service_id, ctx.job_id),
                comment=marks.comment(plan.order_id, plan.service_id, ctx.job_id),
                correlation_id=ctx.job.correlation_id,
                **settings,
            ),
        )
    except EngineRejected as error:
        if "already in use" not in (error.detail or error.message):
            raise
        # Someone (our own earlier, lost request) created it meanwhile: adopt.
        return ensure_vm(ctx, sized=sized)
    ctx.wait_begins(WaitKind.CLONE)
    ctx.save(vm_id=created.id, vm_name=created.name, vm_created_by_job=True)
    ctx.hand_over(created, detail=False)
    return created, f"created {created.name} ({created.id})"


def step_cloning(ctx: RunContext) -> StepOutcome:
    # A job that never recorded a VM, and found none at launch, creates first and looks up
    # only on a name in use.
    look_first = bool(ctx.job.vm_id) or bool((ctx.job.data or {}).get(VM_AT_LAUNCH, True))
    # A pre-clone is made at the template's size with no first-boot data: the engineer's
    # plan, given at launch, is applied by the resizing and initializing steps.
    vm, message = ensure_vm(ctx, sized=not parking.parks(ctx.job), look_first=look_first)
    tagged = ensure_tag(ctx, vm)
    ctx.hand_over(vm, detail=False)
    return f"{message}, tagged {tagged}", {}


def ensure_tag(ctx: RunContext, vm: Vm) -> str:
    """The order's tag on the VM. The tag is the order's own, so it most likely does not
    exist yet: created first (a name in use is fine), then attached."""
    tag = marks.tag_name(ctx.plan.order_id)
    if tag not in vm.tags:
        ctx.call(
            f"tag {vm.name} with {tag}",
            lambda: ctx.engine.tag_vm(
                vm.id,
                tag,
                description=f"order {ctx.plan.order_id}",
                tag_is_new=True,
                correlation_id=ctx.job.correlation_id,
            ),
        )
    return tag


def current_vm(ctx: RunContext, *, detail: bool = True) -> Vm:
    seen = ctx.take_seen(detail=detail)
    if seen is not None:
        return seen
    if ctx.job.vm_id:
        try:
            return ctx.read_vm(ctx.job.vm_id, detail=detail)
        except EngineNotFound:
            pass
    vm, message = ensure_vm(ctx)
    ctx.record("info", ctx.job.state, f"the VM was not where the job left it: {message}")
    return vm


def step_clone_wait(ctx: RunContext) -> StepOutcome:
    vm = current_vm(ctx, detail=False)
    plan = ctx.plan
    limit = ctx.timing.clone_limit(plan.disk_gib)
    # The copy takes time in proportion to the disk: first look when it should be done.
    poll = ctx.poll(
        WaitKind.CLONE, plan.template_id, ctx.timing.clone_expect(plan.disk_gib), Step.CLONE_WAIT
    )
    detailed = False
    while vm.status == "image_locked":
        waited = ctx.since(Step.CLONE_WAIT)
        if waited > limit:
            raise StepFailed(
                f"{vm.name} is still image_locked after {waited:.0f}s; a {ctx.plan.disk_gib} "
                f"GiB clone should take at most {limit:.0f}s",
                "check the engine's Tasks "
                "and Events for the disk copy, and the storage domain's health; retry "
                "once the VM is no longer locked",
                code="stuck_image_locked",
            )
        ctx.sleep(poll.next_delay())
        # In detail: the last look is what resizing starts from (disks, sizes, tags).
        vm, detailed = ctx.read_vm(vm.id), True
    ctx.waited(WaitKind.CLONE)
    if not detailed:
        vm = ctx.read_vm(vm.id)
    tag = ensure_tag(ctx, vm)  # a job that cloned before tagging moved into cloning
    ctx.hand_over(vm, detail=True)
    return f"{vm.name} copied ({vm.status}), tagged {tag}", {}


class _Resize(TypedDict, total=False):  # what update_vm may change in one call
    cpus: int
    memory_mib: int
    max_memory_mib: int
    guaranteed_mib: int


def vm_sizes(plan: Plan) -> _Resize:
    """The plan's CPU and memory as the engine takes them (max memory: room to hot-plug)."""
    return {
        "cpus": plan.cpus,
        "memory_mib": plan.memory_mib,
        "max_memory_mib": plan.memory_mib * 4,
        "guaranteed_mib": plan.guaranteed_mib,
    }


def step_resizing(ctx: RunContext) -> StepOutcome:
    # Reconciles whatever the VM was created with: the plan's sizes (folded into the
    # create), or the template's (a preclone, or a job created before the folding).
    plan = ctx.plan
    vm = current_vm(ctx)
    changes: _Resize = {}
    if vm.cpus != plan.cpus:
        changes["cpus"] = plan.cpus
    if vm.memory_mib != plan.memory_mib:
        changes["memory_mib"] = plan.memory_mib
        changes["max_memory_mib"] = plan.memory_mib * 4
    if vm.guaranteed_mib != plan.guaranteed_mib:
        changes["guaranteed_mib"] = plan.guaranteed_mib
    if changes:
        ctx.call(
            f"set {vm.name} to {plan.cpus} vCPU, {plan.memory_mib} MiB",
            lambda: ctx.engine.update_vm(vm.id, correlation_id=ctx.job.correlation_id, **changes),
        )
    disks = vm.disks or ctx.call(
        "list disks",
        lambda: ctx.engine.vm_disks(vm.id, correlation_id=ctx.job.correlation_id),
        changes=False,
    )
    if not disks:
        raise StepFailed(f"{vm.name} has no disk", "check the template has a disk", code="no_disk")
    disk = next((d for d in disks if d.bootable), disks[0])
    extended = disk.provisioned_gib < plan.disk_gib
    if extended:
        ctx.call(
            f"extend disk {disk.alias} to {plan.disk_gib} GiB",
            lambda: ctx.engine.extend_disk(
                vm.id, disk.id, plan.disk_gib, correlation_id=ctx.job.correlation_id
            ),
        )
        ctx.wait_begins(WaitKind.DISK)
    poll = ctx.poll(WaitKind.DISK, "extend", ctx.timing.disk_expect_seconds, Step.RESIZING)
    current = disk
    while extended or current.status == "locked" or current.provisioned_gib < plan.disk_gib:
        if extended:  # it is locked now: the first look comes when the extend should be done
            extended = False
        else:
            current = ctx.call(
                "read disk",
                lambda: ctx.engine.get_disk(disk.id, correlation_id=ctx.job.correlation_id),
                changes=False,
            )
            if current.status != "locked" and current.provisioned_gib >= plan.disk_gib:
                break
        waited = ctx.since(Step.RESIZING)
        if waited > ctx.timing.disk_extend_seconds:
            raise StepFailed(
                f"disk {disk.alias} is still {current.status} at "
                f"{current.provisioned_gib} GiB after {waited:.0f}s",
                "check the engine's Tasks for the extend and the storage domain",
                code="stuck_disk",
            )
        ctx.sleep(poll.next_delay())
    ctx.waited(WaitKind.DISK)
    if not changes:  # what the next steps need of it (status, initialization) is as read
        ctx.hand_over(replace(vm, disks=(current,), disk_gib=current.provisioned_gib), detail=True)
    return (
        f"{plan.cpus} vCPU, {plan.memory_mib} MiB (guaranteed {plan.guaranteed_mib}), "
        f"disk {current.provisioned_gib} GiB"
    ), {}


def initialization(ctx: RunContext) -> Initialization:
    licenses, password = ctx.secrets()
    return firstboot.initialization(ctx.plan, licenses, password)


def step_initializing(ctx: RunContext) -> StepOutcome:
    init = initialization(ctx)
    vm = current_vm(ctx, detail=False)
    if vm.init_host_name != init.host_name:
        ctx.call(
            f"store {init.kind} settings on {vm.name}",
            lambda: ctx.engine.update_vm(
                vm.id, initialization=init, correlation_id=ctx.job.correlation_id
            ),
        )
    else:  # stored at creation (or by an earlier pass): the VM is as read
        ctx.hand_over(vm, detail=False)
    keys = ", ".join(f"{k} {m}" for k, m in ctx.plan.license_masks.items()) or "none"
    return f"{init.kind}: hostname {init.host_name}, keys {keys}", {}


def step_starting(ctx: RunContext) -> StepOutcome:
    # From the first start on, the vault's keys may be activated in the guest: a cancel
    # from here retires them instead of putting them back in stock (one asked before it
    # still puts them back).
    ctx.check()
    vault.on_boot(ctx.store, ctx.job.order_id, ctx.plan.vm_name, actor=ctx.runner.actor)
    vm = current_vm(ctx, detail=False)
    started_here = False
    seen_running = vm.status in RUNNING_STATUSES
    if vm.status == "down":
        init = initialization(ctx)
        try:
            ctx.call(
                f"start {vm.name} with {init.kind}",
                lambda: ctx.engine.start_vm(vm.id, init, correlation_id=ctx.job.correlation_id),
            )
            ctx.wait_begins(WaitKind.BOOT)
            started_here = True
        except EngineRejected as error:
            if "is running" not in (error.detail or error.message):
                raise
    elif vm.status not in RUNNING_STATUSES:
        raise StepFailed(
            f"{vm.name} is {vm.status}; it can only be started from down",
            "bring it to down (or up) on the engine, then retry",
            code="unexpected_status",
        )
    # First look when the guest should have booted and reported its address: in detail,
    # so that the IP wait starts from it.
    poll = boot_poll(ctx)
    looked = not started_here  # what was read before the start says nothing about the boot
    while not (looked and vm.status == "up"):
        if looked:
            seen_running = seen_running or vm.status in RUNNING_STATUSES
            if vm.status == "down" and (started_here or seen_running):
                raise StepFailed(
                    f"{vm.name} went down while booting",
                    "open the VM's console and the engine's events (VM_DOWN_ERROR); fix and retry",
                    code="boot_failed",
                )
            waited = ctx.since(Step.STARTING)
            if waited > ctx.timing.boot_seconds:
                raise StepFailed(
                    f"{vm.name} is still {vm.status} after {waited:.0f}s",
                    "check the host it runs on and the VM's console",
                    code="stuck_boot",
                )
        ctx.sleep(poll.next_delay())
        vm, looked = ctx.read_vm(vm.id), True
        ctx.hand_over(vm, detail=True)
    return f"{vm.name} is up", {}


def boot_poll(ctx: RunContext) -> Poll:
    """The wait from the start call until the guest reports its address (starting, ip_wait)."""
    return ctx.poll(
        WaitKind.BOOT, ctx.plan.template_id, ctx.timing.boot_expect_seconds, Step.STARTING
    )


def step_ip_wait(ctx: RunContext) -> StepOutcome:
    plan = ctx.plan
    ip_since = None
    while True:
        vm = current_vm(ctx)
        if vm.status in ("down", "paused", "suspended"):
            raise StepFailed(
                f"{vm.name} is {vm.status}; it stopped before reporting an IP",
                "check its console and the engine's events, then retry "
                "(the starting step runs again)",
                code="vm_stopped",
            )
        ips = usable_ips(vm.ips)
        waited = ctx.since(Step.IP_WAIT)
        if ips and hostname_matches(vm.fqdn, plan):
            ctx.waited(WaitKind.BOOT)
            return (
                f"guest reports {', '.join(ips)} as {vm.fqdn}",
                {"ips": list(ips), "data": hostname_wait.CLEARED},
            )
        if ips:
            ip_since = ip_since if ip_since is not None else time.monotonic()
            # Said at once, and an engineer may accept the reported name or fail now.
            decided = hostname_wait.on_mismatch(ctx, vm.fqdn, ips) if vm.fqdn else None
            if decided is not None:
                return decided
            if vm.fqdn and time.monotonic() - ip_since > ctx.timing.hostname_grace_seconds:
                raise StepFailed(
                    f"the guest reports hostname {vm.fqdn!r} but the plan says {plan.hostname!r}",
                    f"check that {plan.init_kind} ran (VM console; "
                    + (
                        "/var/log/cloud-init.log"
                        if plan.init_kind == "cloud-init"
                        else r"C:\Windows\Panther\UnattendGC\setupact.log"
                    )
                    + ") and that the template was sealed; fix the name, then retry",
                    code="hostname_mismatch",
                )
        if waited > ctx.timing.ip_seconds and ips:
            # The address came, the name did not: say so, not "no IP".
            raise StepFailed(
                f"{vm.name} reports {', '.join(ips)} but no hostname after {waited:.0f}s; "
                f"the plan says {plan.hostname!r} and handover needs it confirmed",
                "check the guest agent runs in the VM and reports the FQDN "
                "(qemu-guest-agent / oVirt guest tools), and that "
                f"{plan.init_kind} set the hostname; then retry",
                code="no_hostname",
            )
        if waited > ctx.timing.ip_seconds:
            raise StepFailed(
                f"{vm.name} reported no IP address in {waited:.0f}s",
                "check the guest agent runs in the VM (qemu-guest-agent / "
                "oVirt guest tools) and that its NIC is on a network with "
                "DHCP",
                code="no_ip",
            )
        ctx.sleep(boot_poll(ctx).next_delay())


def step_handover(ctx: RunContext) -> StepOutcome:
    from console.billing.handover import handover

    _, password = ctx.secrets()
    with ctx.store.session() as session:
        order = session.get(Order, ctx.job.order_id)
    if order is None:
        raise StepFailed(
            f"order {ctx.job.order_id} is gone from the store",
            "sync orders again, then retry",
            code="order_missing",
        )
    client = ctx.runner.services.billing() if order.source == "whmcs" else None
    if order.source == "whmcs" and client is None:
        raise StepFailed(
            "this order came from WHMCS but billing is not configured",
            'set [billing] kind = "whmcs" with url and identifier, then retry',
            code="billing_missing",
        )
    # A cancel is honoured up to the first write to billing; from there the handover
    # completes, so that WHMCS never holds the credentials of a VM that was removed.
    result = handover(
        client,
        order,
        list(ctx.job.ips),
        ctx.plan.admin_user,
        password,
        actor=ctx.runner.actor,
        before_first_write=ctx.check,
        after_service_update=lambda: ctx.save(data={BILLING_SERVICE_UPDATED: True}),
    )
    record_handover(ctx, result)
    vault.on_handover(ctx.store, ctx.job.order_id, ctx.plan.vm_name, actor=ctx.runner.actor)
    return "; ".join(result.steps), {"data": {"handover": result.to_dict()}}


def record_handover(ctx: RunContext, result: HandoverResult) -> None:
    """The handover on the order (when, billing status Active) and in the audit trail,
    with this job's id, in one commit; the steps it lists carry no password."""
    with ctx.store.session() as session:
        order = session.get(Order, result.order_id)
        if order is None:
            return
        order.handed_over_at = order.updated_at = utcnow()
        if result.billing:
            order.billing_status = "Active"
        session.add(order)
        audit.record(
            session,
            "handover",
            actor=ctx.runner.actor,
            order_id=order.id,
            job_id=ctx.job_id,
            message="; ".join(result.steps),
            accepted_now=result.accepted_now,
            already_accepted=result.already_accepted,
            warnings=result.warnings,
        )


STEP_ACTIONS: dict[Step, Callable[[RunContext], StepOutcome]] = {
    Step.PLANNED: step_planned,
    Step.CLONING: step_cloning,
    Step.CLONE_WAIT: step_clone_wait,
    Step.RESIZING: step_resizing,
    Step.INITIALIZING: step_initializing,
    Step.STARTING: step_starting,
    Step.IP_WAIT: step_ip_wait,
    Step.HANDOVER: step_handover,
}
# A step added to the enum without a function (or a title) stops the import, not a job.
_missing = set(Step) - set(STEP_ACTIONS) | set(Step) - set(STEP_TITLES)
if _missing:
    raise ImportError(f"steps without a function or a title: {sorted(_missing)}")
