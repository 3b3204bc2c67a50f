"""Handover: give the customer's server back to WHMCS once the VM is running.

    result = handover(client, order, ips=["192.0.2.10"], username="root", password=pw)

``client`` is a WhmcsClient (or None for file/manual orders, which have no
billing to tell), ``order`` the store's Order row. Steps, each safe to repeat:

  1. GetOrders id=…: a Cancelled/Fraud order gets nothing (HandoverRefused);
     an Active one was accepted already (by us on an earlier try, or by staff).
  2. UpdateClientProduct: dedicated IP, further IPs, username, password,
     status Active. Setting values is idempotent, so a retry re-sends them.
  3. AcceptOrder (autosetup=0, sendemail=0) only if the order is still
     Pending. If WHMCS answers "Order ID not found or Status not Pending", the
     order is read again; Active means someone accepted it meanwhile: fine.
  4. LogActivity (no password in it); a failure here is only a warning.

A failure raises BillingError and leaves the VM alone: the caller retries the
handover step, never the provisioning. The password is sent to WHMCS and
nowhere else: not logged, not in the result, not in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.billing.errors import BillingApiError, BillingError, OrderNotPending
from console.billing.whmcs import WhmcsClient
from console.identity import current_actor
from console.store import audit
from console.store.db import Store
from console.store.models import Order, utcnow

log = logging.getLogger(__name__)


class HandoverRefused(BillingError):
    """Billing says the order must not get a server (cancelled, fraud, deleted)."""


@dataclass
class HandoverResult:
    order_id: str
    service_id: str | None
    billing: bool = True  # False: file/manual order, nothing sent anywhere
    updated_service: bool = False
    accepted_now: bool = False  # we sent the AcceptOrder that went through
    already_accepted: bool = False  # it was Active before (earlier try, or staff)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "service_id": self.service_id,
            "billing": self.billing,
            "updated_service": self.updated_service,
            "accepted_now": self.accepted_now,
            "already_accepted": self.already_accepted,
            "steps": self.steps,
            "warnings": self.warnings,
        }


def handover(
    client: WhmcsClient | None,
    order: Order,
    ips: Sequence[str],
    username: str,
    password: str,
    *,
    actor: str | None = None,
    before_first_write: Callable[[], None] | None = None,
    after_service_update: Callable[[], object] | None = None,
) -> HandoverResult:
    """Tell billing the server is ready. Idempotent; see the module docstring.

    `before_first_write` runs after the reads and before anything changes in WHMCS; it may
    raise to stop the handover there (a cancel). `after_service_update` runs once WHMCS holds
    the VM's IP and credentials, so that a later cancel knows to withdraw them."""
    result = HandoverResult(order_id=order.id, service_id=order.service_id)
    if order.source != "whmcs" or client is None:
        result.billing = False
        result.steps.append("no billing system for this order: nothing to send")
        return result
    if not order.service_id:
        raise HandoverRefused(
            f"order {order.id} has no WHMCS service id",
            "sync the order again (vps-console orders sync) and retry the handover",
        )
    if not ips:
        raise BillingError(
            f"order {order.id}: no IP address to hand over",
            "wait for the VM to report its IP, then retry the handover",
        )
    order_id, service_id = int(order.id), int(order.service_id)

    status = _billing_status(client, order_id)
    if status in ("cancelled", "fraud", "deleted"):
        raise HandoverRefused(
            f"order {order.id} is {status} in WHMCS; nothing was handed over",
            "the VM is untouched: remove it if it should not exist",
        )
    result.already_accepted = status == "active"

    if before_first_write is not None:
        before_first_write()
    client.update_client_product(
        service_id,
        dedicated_ip=ips[0],
        assigned_ips=list(ips[1:]) or "",
        username=username,
        password=password,
        status="Active",
    )
    result.updated_service = True
    if after_service_update is not None:
        after_service_update()
    result.steps.append(
        f"service {service_id}: IP {ips[0]}"
        + (f" (+{len(ips) - 1} more)" if len(ips) > 1 else "")
        + f", user {username}, password set"
    )

    if result.already_accepted:
        result.steps.append(f"order {order_id} was accepted already: not accepting twice")
    else:
        try:
            client.accept_order(order_id)
            result.accepted_now = True
            result.steps.append(f"order {order_id} accepted")
        except OrderNotPending:
            # someone (or our own earlier, lost, request) got there first — check which
            status = _billing_status(client, order_id)
            if status != "active":
                raise HandoverRefused(
                    f"order {order.id} is {status} in WHMCS and cannot be accepted",
                    "check the order in WHMCS; the VM is untouched",
                ) from None
            result.already_accepted = True
            result.steps.append(f"order {order_id} was accepted meanwhile: not accepting twice")

    note = (
        f"vps-console: VPS ready for order {order_id} (service {service_id}), "
        f"IP {', '.join(ips)}, user {username}; by {actor or current_actor()}"
    )
    try:
        client.log_activity(note, client_id=order.data.get("client_id") if order.data else None)
        result.steps.append("activity logged in WHMCS")
    except BillingError as exc:
        result.warnings.append(f"could not log the handover in WHMCS: {exc.message}")
    log.info("handover of order %s done (accepted now: %s)", order.id, result.accepted_now)
    return result


def withdraw_handover(client: WhmcsClient, order: Order) -> str:
    """Undo step 2 for a VM that is being removed before its order was accepted: the
    service loses the IPs and goes back to Pending (the password it was given opens
    nothing once the VM is gone). An order accepted meanwhile keeps its service as it is
    (someone in billing decided)."""
    if not order.service_id:
        return "no WHMCS service to withdraw"
    status = _billing_status(client, int(order.id))
    if status == "active":
        return (
            f"order {order.id} is accepted in WHMCS already: its service keeps the IP and "
            "credentials; cancel the order in WHMCS if the customer should not have it"
        )
    client.update_client_product(
        int(order.service_id), dedicated_ip="", assigned_ips="", status="Pending"
    )
    return f"WHMCS service {order.service_id}: IPs withdrawn, status back to Pending"


def _billing_status(client: WhmcsClient, order_id: int) -> str:
    try:
        found = client.get_order(order_id)
    except BillingApiError as exc:
        raise BillingError(
            f"cannot read order {order_id} from WHMCS: {exc.whmcs_message}",
            "retry the handover; the VM is untouched",
        ) from None
    return found.status.lower() if found else "deleted"


def record_handover(store: Store, result: HandoverResult, *, actor: str | None = None) -> None:
    """Note a finished handover on the order and in the audit trail (no password)."""
    with store.session() as session:
        row = session.get(Order, result.order_id)
        if row is None:
            return
        row.handed_over_at = utcnow()
        row.updated_at = utcnow()
        if result.billing:
            row.billing_status = "Active"
        session.add(row)
        audit.record(
            session,
            "handover",
            actor=actor or current_actor(),
            order_id=row.id,
            message="; ".join(result.steps),
            accepted_now=result.accepted_now,
            already_accepted=result.already_accepted,
            warnings=result.warnings,
        )
