"""Start, stop and remove a managed VM on an engineer's say-so, leaving a line in the audit
trail: a power action on a customer's server must always be traceable to someone."""

from __future__ import annotations

from console.ovirt import Engine
from console.store import audit
from console.store.db import Store

ENGINE_CALLS = {"start": "start_vm", "stop": "stop_vm", "remove": "remove_vm"}


def power(
    engine: Engine,
    store: Store,
    actor: str,
    operation: str,
    vm_id: str,
    vm_name: str,
    order_id: str | None = None,
) -> str:
    """Send `operation` (start, stop, remove) to the engine; audited once the engine took it."""
    call = ENGINE_CALLS.get(operation)
    if call is None:
        raise ValueError(f"unknown VM operation {operation!r}; one of {', '.join(ENGINE_CALLS)}")
    getattr(engine, call)(vm_id)
    with store.session() as session:
        audit.record(
            session,
            f"vm_{operation}",
            actor=actor,
            order_id=order_id,
            message=f"{operation} {vm_name} ({vm_id})",
            vm=vm_name,
        )
    return f"{operation} {vm_name}: sent"
