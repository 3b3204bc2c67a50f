"""How a VM on the engine says which order and job it belongs to.

The engine alone must be able to tell, even with the console's store lost: the comment
carries `vps-console order=… service=… job=…`, the description says it in words, and a tag
`order-<id>` makes it searchable (`vms?search=tag=order-2001`).
"""

from __future__ import annotations

import re

from console.ovirt.models import Vm
from console.ovirt.records import VmRow

_MARK = re.compile(
    r"vps-console order=(?P<order>[^\s;]+)(?: service=(?P<service>[^\s;]*))?"
    r"(?: job=(?P<job>[^\s;]+))?"
)


def tag_name(order_id: str) -> str:
    return f"order-{order_id}"


def comment(order_id: str, service_id: str | None, job_id: str) -> str:
    return f"vps-console order={order_id} service={service_id or ''} job={job_id}"


def description(order_id: str, service_id: str | None, job_id: str) -> str:
    service = f", service {service_id}" if service_id else ""
    return f"VPS for order {order_id}{service}; provisioned by vps-console job {job_id}"


def order_of(vm: Vm | VmRow) -> str | None:
    """The order a VM was provisioned for, from the mark in its comment. A tag alone does
    not count: anyone who can tag a VM on the engine could otherwise hand it to an order,
    and the console would adopt and change it."""
    match = _MARK.search(vm.comment or "")
    return match.group("order") if match else None


def tagged_order(vm: Vm) -> str | None:
    for tag in vm.tags:
        if tag.startswith("order-"):
            return tag[len("order-") :]
    return None


def ownership(vm: Vm) -> str:
    """How a VM that is not the order's reads, for a refusal: whose it is, or why unknown."""
    owner = order_of(vm)
    if owner:
        return f"belongs to order {owner}"
    tagged = tagged_order(vm)
    if tagged:
        return (
            f"carries the tag order-{tagged} but no vps-console order mark in its comment "
            "(a tag alone does not make it this console's)"
        )
    return "carries no order mark"


def not_ours_fix(vm: Vm, order_id: str) -> str:
    return (
        f"rename or remove VM {vm.name} on the engine, or change [naming] vm_name; if it "
        f'really is order {order_id}\'s VM made by hand, put "vps-console order={order_id}" '
        "in its comment so it is adopted"
    )


def job_of(vm: Vm) -> str | None:
    match = _MARK.search(vm.comment or "")
    return match.group("job") if match else None


# ---- the pool mark: a warm-pool VM belongs to no order yet (console/flow/pool.py) ----
_POOL_MARK = re.compile(
    r"vps-console pool=(?P<template>[^\s;]+) version=(?P<version>\d+)"
    r"(?: cluster=(?P<cluster>[^\s;]*))?"
)
POOL_NAME_PREFIX = "pool-"


def pool_comment(template: str, version: int, cluster: str) -> str:
    return f"vps-console pool={template} version={version} cluster={cluster}"


def pool_description(template: str, version: int) -> str:
    return (
        f"warm pool VM of {template} v{version}: down until vps-console hands it to an order; "
        "do not start it"
    )


def pool_of(vm: Vm) -> tuple[str, int, str] | None:
    """(template, version, cluster) of a pool VM, from the pool mark in its comment. A VM
    with an order mark is an order's, whatever else its comment says."""
    if order_of(vm) is not None:
        return None
    match = _POOL_MARK.search(vm.comment or "")
    if match is None:
        return None
    return match.group("template"), int(match.group("version")), match.group("cluster") or ""
