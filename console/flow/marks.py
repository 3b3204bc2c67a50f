"""How a VM on the engine says which order and job it belongs to.

The engine alone must be able to tell, even with the console's store lost: the comment
carries `vps-console order=… service=… job=…`, the description says it in words, and a tag
`order-<id>` makes it searchable (`vms?search=tag=order-2001`).
"""

from __future__ import annotations

import re

from console.ovirt.models import Vm

_MARK = re.compile(r"vps-console order=(?P<order>[^\s;]+)(?: service=(?P<service>[^\s;]*))?"
                   r"(?: job=(?P<job>[^\s;]+))?")


def tag_name(order_id: str) -> str:
    return f"order-{order_id}"


def comment(order_id: str, service_id: str | None, job_id: str) -> str:
    return f"vps-console order={order_id} service={service_id or ''} job={job_id}"


def description(order_id: str, service_id: str | None, job_id: str) -> str:
    service = f", service {service_id}" if service_id else ""
    return f"VPS for order {order_id}{service}; provisioned by vps-console job {job_id}"


def order_of(vm: Vm) -> str | None:
    """The order a VM was provisioned for, from its comment, else from its tags."""
    match = _MARK.search(vm.comment or "")
    if match:
        return match.group("order")
    for tag in vm.tags:
        if tag.startswith("order-"):
            return tag[len("order-"):]
    return None


def job_of(vm: Vm) -> str | None:
    match = _MARK.search(vm.comment or "")
    return match.group("job") if match else None
