"""Preflight: before anything is created, check the plan against the engine as it is now.

A "fail" blocks the launch with its reason; a "warn" needs one explicit confirmation
(`confirm_warnings=True`, the CLI's --yes, the TUI's confirm button). Engine reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.flow import marks
from console.flow.licenses import KIND_LABELS, check_license
from console.flow.plan import Plan
from console.ovirt import EngineError, Template, Vm
from console.units import format_mib

if TYPE_CHECKING:
    # Only named here: the engine module loads the SDK (~18 MiB), which the CLI's order
    # commands (through console.flow.intake) never use.
    from console.ovirt import Engine

# How a check's level is marked in the CLI and the console, the same width each.
CHECK_MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
# A full clone writes the whole disk; keep some room so the domain does not hit the
# engine's low-space blocker right after.
SPACE_HEADROOM = 1.10


@dataclass
class Reads:
    """What a preflight read from the engine, for the launch to reuse instead of reading
    it again: the VM found under the plan's name (looked up or not), and the cluster and
    template names by id."""

    name_looked_up: bool = False
    vm: Vm | None = None
    cluster_names: dict[str, str] = field(default_factory=dict)
    template_names: dict[str, str] = field(default_factory=dict)
    # The domain the template's disk is on, where a full clone is written (clone slots).
    storage_domain: str | None = None


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | fail
    message: str
    fix: str = ""


def _age_days(template: Template, now: datetime) -> int | None:
    if template.created_at is None:
        return None
    return (now - template.created_at.astimezone(UTC)).days


def check_template(
    templates: list[Template], plan: Plan, stale_after_days: int, now: datetime
) -> Check:
    chosen = next((t for t in templates if t.id == plan.template_id), None)
    if chosen is None:
        return Check(
            "template",
            "fail",
            f"template {plan.template_name} v{plan.template_version} is no longer on the engine",
            "pick another version or template and plan again",
        )
    if chosen.status and chosen.status != "ok":
        return Check(
            "template",
            "fail",
            f"template {chosen.label} is {chosen.status}",
            "wait until the engine finishes with it, or pick another version",
        )
    newest = max((t for t in templates if t.name == chosen.name), key=lambda t: t.version_number)
    age = _age_days(chosen, now)
    aged = f", sealed {age} days ago" if age is not None else ""
    if newest.version_number > chosen.version_number:
        return Check(
            "template",
            "warn",
            f"{chosen.label}{aged}; v{newest.version_number} is newer",
            f"use {chosen.name}:{newest.version_number} unless this version is needed on purpose",
        )
    if age is not None and age > stale_after_days:
        return Check(
            "template",
            "warn",
            f"{chosen.label} is stale{aged} (limit {stale_after_days})",
            "patch and seal a new version of the template "
            "soon; the VM will need updates on first boot",
        )
    return Check("template", "ok", f"{chosen.label}{aged}, the newest version")


def check_storage(
    engine: Engine, template: Template | None, plan: Plan, reads: Reads | None = None
) -> Check:
    domains = engine.storage_domains()
    if reads is not None and template is not None and template.storage_domain_ids:
        first = template.storage_domain_ids[0]
        reads.storage_domain = next((d.name for d in domains if d.id == first), None)
    wanted = engine.config.storage_domain
    candidates = [
        d
        for d in domains
        if (
            d.name == wanted
            if wanted
            else template is not None and d.id in template.storage_domain_ids
        )
    ]
    if not candidates:
        return Check(
            "storage",
            "warn",
            "cannot tell which storage domain the clone goes to",
            "set storage_domain in the [[engines]] entry",
        )
    domain = min(candidates, key=lambda d: d.available_gib)
    need = plan.disk_gib
    if domain.available_gib < need:
        return Check(
            "storage",
            "fail",
            f"{domain.name} has {domain.available_gib} GiB free; a full clone needs {need} GiB",
            "free space on it or move the template's disk to a domain with room",
        )
    if domain.available_gib < need * SPACE_HEADROOM:
        return Check(
            "storage",
            "warn",
            f"{domain.name} has {domain.available_gib} GiB free; "
            f"the clone takes {need} GiB and leaves almost nothing",
            "free space on it soon",
        )
    return Check(
        "storage", "ok", f"{domain.name}: {domain.available_gib} GiB free, clone needs {need} GiB"
    )


def check_cluster(engine: Engine, plan: Plan) -> Check:
    clusters = {c.name: c for c in engine.clusters()}
    cluster = clusters.get(plan.cluster)
    if cluster is None:
        return Check(
            "cluster",
            "fail",
            f"the engine has no cluster {plan.cluster!r}",
            "pick one of: " + ", ".join(sorted(clusters)),
        )
    free = cluster.free_memory_mib
    if free is None:
        free = engine.cluster_free_memory_mib(plan.cluster)
    if free is None:
        return Check(
            "cluster",
            "warn",
            f"{plan.cluster} did not report its free memory",
            "check the hosts of the cluster in the engine's UI",
        )
    if free < plan.memory_mib:
        return Check(
            "cluster",
            "fail",
            f"{plan.cluster} has {format_mib(free)} free; the VM "
            f"needs {format_mib(plan.memory_mib)}",
            "pick another cluster or free memory (migrate or stop VMs)",
        )
    largest = cluster.largest_host_free_mib
    if largest is not None and largest < plan.memory_mib:
        return Check(
            "cluster",
            "fail",
            f"no host of {plan.cluster} can run the VM: the "
            f"emptiest has {format_mib(largest)} free, the VM needs "
            f"{format_mib(plan.memory_mib)} (a VM runs on one host)",
            "lower the RAM, pick another cluster, or free a host (migrate or stop VMs)",
        )
    return Check(
        "cluster",
        "ok",
        f"{plan.cluster}: {format_mib(free)} free"
        + (f" (at most {format_mib(largest)} on one host)" if largest is not None else "")
        + f", VM needs {format_mib(plan.memory_mib)}",
    )


def check_name(engine: Engine, plan: Plan, reads: Reads | None = None) -> Check:
    vm = engine.find_vm(plan.vm_name)
    if reads is not None:
        reads.name_looked_up, reads.vm = True, vm
    if vm is None:
        return Check("name", "ok", f"{plan.vm_name} is free on the engine")
    owner = marks.order_of(vm)
    if owner == plan.order_id:
        return Check(
            "name",
            "ok",
            f"{plan.vm_name} exists and belongs to order {owner}; it "
            "will be adopted, not created again",
        )
    return Check(
        "name",
        "fail",
        f"a VM named {plan.vm_name} already exists on the engine and {marks.ownership(vm)}",
        marks.not_ours_fix(vm, plan.order_id),
    )


def check_licenses(plan: Plan, licenses: dict[str, str]) -> list[Check]:
    checks = []
    for kind in plan.license_kinds:
        problem = check_license(kind, licenses.get(kind))
        if problem is not None:
            checks.append(Check(f"license.{kind}", "fail", problem.message, problem.fix))
        elif kind == "cpanel":
            checks.append(
                Check(
                    "license.cpanel",
                    "ok",
                    "cPanel is licensed by the VM's IP; "
                    "no key needed (make sure the IP range is licensed)",
                )
            )
        else:
            checks.append(Check(f"license.{kind}", "ok", f"{KIND_LABELS[kind]} given"))
    return checks


def preflight(
    engine: Engine,
    plan: Plan,
    licenses: dict[str, str],
    stale_after_days: int,
    *,
    now: datetime | None = None,
    reads: Reads | None = None,
) -> list[Check]:
    """All checks, in the order a person reads them; engine errors become failed checks.
    `reads` (when given) is filled with what was read, for the caller to reuse."""
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    template = None
    try:
        templates = engine.list_templates(search=f"name={plan.template_name}")
        template = next((t for t in templates if t.id == plan.template_id), None)
        checks.append(check_template(templates, plan, stale_after_days, now))
        checks.append(check_storage(engine, template, plan, reads))
        checks.append(check_cluster(engine, plan))
        checks.append(check_name(engine, plan, reads))
    except EngineError as error:
        checks.append(Check("engine", "fail", error.message, error.hint or ""))
    if reads is not None:
        reads.cluster_names, reads.template_names = engine.known_names()
    checks += check_licenses(plan, licenses)
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.level == "fail"]


def warnings(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.level == "warn"]
