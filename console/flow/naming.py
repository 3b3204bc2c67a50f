"""VM names: the name a job gives its VM (`[naming] vm_name`), and which engine VMs this
console manages (those named by that pattern), for the CLI and the console alike."""

from __future__ import annotations

import re
from collections.abc import Iterable

from console.config import Config


def vm_name_for(config: Config, order_id: str) -> str:
    """The deterministic name of an order's VM, by which a retry or a lost store finds it."""
    return config.naming.vm_name.format(order_id=order_id)


def managed_search(config: Config) -> str:
    """The engine search for our VMs, e.g. `name=vps-*` for the pattern `vps-{order_id}`."""
    return "name=" + config.naming.vm_name.replace("{order_id}", "*")


def order_id_of(config: Config, vm_name: str) -> str | None:
    prefix, _, suffix = config.naming.vm_name.partition("{order_id}")
    match = re.fullmatch(re.escape(prefix) + r"(.+)" + re.escape(suffix), vm_name)
    return match.group(1) if match else None


def names_search(names: Iterable[str | None]) -> str | None:
    """One engine search for exactly these VMs (`name=a or name=b`), or None for none."""
    unique = sorted({name for name in names if name})
    if not unique:
        return None
    return " or ".join(f"name={name}" for name in unique)
