"""Plans changed by hand: values the engineer gives for an order that lacks them, and the
plan of a failed job edited before its retry.

Both fronts call these rules: the console greys out what may not change and marks what
the engineer typed; the runner refuses a retry that changes what a finished step already
applied, and the audit names every value a person provided or changed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from console.billing.mapping import mapping_for_order
from console.config import CatalogConfig
from console.errors import BadInput
from console.flow.licenses import FieldProblem
from console.flow.plan import RESOURCE_SHOWN, Overrides, Plan
from console.store.states import STEPS, OrderStatus, Step

# The step that puts each editable field of a plan onto the VM: once that step is done the
# field is part of the VM and a retry may not change it. (Engine, order and VM name never
# change on a retry: the job finds its VM by them.)
APPLIED_BY: dict[str, Step] = {
    "template_name": Step.CLONING,
    "template_id": Step.CLONING,
    "template_version": Step.CLONING,
    "cluster": Step.CLONING,
    "cpus": Step.RESIZING,
    "memory_mib": Step.RESIZING,
    "guaranteed_mib": Step.RESIZING,
    "disk_gib": Step.RESIZING,
    "hostname": Step.INITIALIZING,
    "ssh_keys": Step.INITIALIZING,
}
# The form's fields (console.tui.widgets.provision_form) for each plan field.
FORM_FIELDS: dict[str, str] = {
    "template_name": "template",
    "template_id": "template",
    "template_version": "template",
    "cluster": "cluster",
    "cpus": "cpus",
    "memory_mib": "memory",
    "guaranteed_mib": "guaranteed",
    "disk_gib": "disk",
    "hostname": "hostname",
    "ssh_keys": "ssh_keys",
}
LABELS: dict[str, str] = {
    "template_name": "template",
    "template_version": "template version",
    "cluster": "cluster",
    "cpus": "vCPU",
    "memory_mib": "RAM",
    "guaranteed_mib": "guaranteed RAM",
    "disk_gib": "disk",
    "hostname": "hostname",
    "ssh_keys": "SSH keys",
}


def editable_on_retry(failed_step: Step | str | None) -> frozenset[str]:
    """The plan fields a retry from `failed_step` may change: those applied by that step or
    a later one (the failed step is not done; it runs again with the new value)."""
    if failed_step is None:
        return frozenset()
    start = STEPS.index(Step(failed_step))
    return frozenset(name for name, step in APPLIED_BY.items() if STEPS.index(step) >= start)


def _shown(name: str, value: Any) -> str:
    if name == "memory_mib" or name == "guaranteed_mib":
        return RESOURCE_SHOWN["RAM"](value)
    if name == "disk_gib":
        return RESOURCE_SHOWN["disk"](value)
    if name == "ssh_keys":
        return f"{len(value)} key(s)"
    return str(value)


def amend_plan(
    job_plan: Plan, edited: Plan, failed_step: Step | str | None
) -> tuple[Plan, list[str]]:
    """The job's plan with the editable fields taken from `edited`, and what changed
    ("RAM 4GiB -> 8GiB"). A change to a field a finished step applied is refused."""
    allowed = editable_on_retry(failed_step)
    changes: list[str] = []
    values: dict[str, Any] = {}
    for name in APPLIED_BY:
        before, after = getattr(job_plan, name), getattr(edited, name)
        if before == after:
            continue
        if name not in allowed:
            step = APPLIED_BY[name]
            raise BadInput(
                f"{LABELS.get(name, name)} cannot change on this retry: the {step} step "
                f"already applied {_shown(name, before)} to {job_plan.vm_name}",
                "keep it, or cancel the job (its VM is removed) and provision the order again",
            )
        values[name] = after
        if name in LABELS:
            changes.append(f"{LABELS[name]} {_shown(name, before)} -> {_shown(name, after)}")
    if edited.license_kinds != job_plan.license_kinds:
        raise BadInput(
            "the edited plan needs other license keys than the job was launched with",
            "keep the template, or cancel the job and provision the order again",
        )
    return replace(job_plan, **values), changes


def overrides_of(plan: Plan) -> Overrides:
    """The form's values that draft `plan` again (a retry's form starts from the job's plan)."""
    return Overrides(
        template=plan.template_name,
        version=plan.template_version,
        cluster=plan.cluster,
        cpus=plan.cpus,
        memory_mib=plan.memory_mib,
        guaranteed_mib=plan.guaranteed_mib,
        disk_gib=plan.disk_gib,
        hostname=plan.hostname,
        ssh_keys=plan.ssh_keys,
    )


# ---- orders that lack values (needs_mapping) --------------------------------------------

# What an order may lack, as (order column, Overrides field, form field, label, fix).
ORDER_VALUES: tuple[tuple[str, str, str], ...] = (
    ("cpus", "vCPU", "type the vCPU count the customer bought, e.g. 2"),
    ("memory_mib", "RAM", "type the RAM the customer bought, e.g. 4G"),
    ("disk_gib", "disk", "type the disk size the customer bought, e.g. 80G"),
)
PROBLEM_FIELDS = {"cpus": "cpus", "memory_mib": "memory", "disk_gib": "disk"}


def lacks_values(order: Any) -> bool:
    """Billing left the order short (no mapping, or sizes it could not read)."""
    return bool(getattr(order, "status", None) == OrderStatus.NEEDS_MAPPING)


def missing_from_order(order: Any) -> tuple[str, ...]:
    """The sizes billing left out of the order (by label), for the form's title."""
    return tuple(label for column, label, _ in ORDER_VALUES if getattr(order, column, None) is None)


def engineer_problems(order: Any, overrides: Overrides) -> list[FieldProblem]:
    """On an order billing left short, each size it lacks must be typed: never a guess
    (the product's default or the template's minimum) that nobody decided."""
    if not lacks_values(order):
        return []
    return [
        FieldProblem(PROBLEM_FIELDS[column], f"the order does not say the {label}", fix)
        for column, label, fix in ORDER_VALUES
        if getattr(order, column, None) is None and getattr(overrides, column) is None
    ]


def engineer_provided(order: Any, plan: Plan, catalog: CatalogConfig) -> dict[str, str]:
    """What the engineer typed for what the order lacked ({"RAM": "4GiB", "template":
    "alma9 v3"}), for the audit line that says a person, not billing, provided it."""
    if not lacks_values(order):
        return {}
    given = {
        label: RESOURCE_SHOWN[label](getattr(plan, column))
        for column, label, _ in ORDER_VALUES
        if getattr(order, column, None) is None
    }
    if mapping_for_order(catalog, order) is None:
        given["template"] = f"{plan.template_name} v{plan.template_version}"
    return given
