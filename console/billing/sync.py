"""Bring the queue up to date with WHMCS: idempotent, incremental, on demand.

One call of :func:`sync_orders`:
  1. reads every Pending order from WHMCS (paginated);
  2. creates a row for each paid one not seen before (one GetClientsProducts
     and, per client, one GetClientsDetails); rows already known are only
     touched (``seen_at``) and re-mapped from their stored payload while they
     wait, so a catalog fix in the config clears "needs mapping" at once;
  3. asks WHMCS about each open order that left the Pending list (one
     GetOrders id=… per order, once): cancelled, fraud or refunded → our row
     becomes ``cancelled``, with a warning when a job already runs for it.
The same order seen twice stays one row (primary key = WHMCS order id; a
concurrent sync that inserts first wins and the other one just moves on).

One bad order never stops a sync: each is validated and stored on its own. A record
WHMCS sends that is not an order (an id that is not a positive number, an order sent
twice) is reported in ``rejected``; an order that cannot be taken in (its service cannot
be read, it cannot be stored) is kept as "needs mapping" with the reason when even that
is possible, else reported, and the next sync tries it again.

When WHMCS cannot be reached the error propagates unchanged (its message says
what to do) after recording ``billing.stale_since`` in SyncState; the queue in
the store is left as it was. Scheduling (every N seconds) is the caller's job.

WHMCS dates carry no zone; they are read as this machine's local time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from console.billing.errors import (
    BadRecord,
    BillingAccessDenied,
    BillingApiError,
    BillingAuthError,
    BillingError,
    BillingUnreachable,
)
from console.billing.mapping import OrderRequest, apply_mapping, request_from_service
from console.config import CatalogConfig
from console.identity import current_actor
from console.store import audit
from console.store.db import Store, StoreError
from console.store.models import Order, SyncState, utcnow
from console.store.orders import delete_sync_state, get_sync_state, open_job, set_sync_state
from console.store.states import IN_QUEUE_STATUSES, OrderStatus
from console.text_safety import safe_text

if TYPE_CHECKING:
    # The client (and httpx, ~2 MiB) loads with the first sync, not with the console: a
    # console without WHMCS billing never loads it (console.flow.worker imports this module).
    from console.billing.whmcs import WhmcsClient, WhmcsClientDetails, WhmcsOrder

log = logging.getLogger(__name__)

STALE_SINCE = "billing.stale_since"
LAST_ERROR = "billing.last_error"
LAST_SYNC = "billing.last_sync_at"
WAITING = (OrderStatus.NEW, OrderStatus.NEEDS_MAPPING)  # re-mapped on every sync
OPEN = IN_QUEUE_STATUSES
ENDED_IN_BILLING = ("cancelled", "fraud", "refunded")
# What an empty queue says, in the CLI and the console alike: how orders get in.
EMPTY_QUEUE_HINT = (
    "the queue is empty: run `vps-console orders sync` to pull the paid orders "
    "from billing (the console also syncs on its own), or without billing "
    "`vps-console orders import FILE` / `orders add`"
)


@dataclass
class SyncReport:
    started_at: datetime
    finished_at: datetime | None = None
    pending_in_billing: int = 0
    created: list[str] = field(default_factory=list)
    remapped: list[str] = field(default_factory=list)
    unchanged: int = 0
    needs_mapping: list[str] = field(default_factory=list)
    skipped_unpaid: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "pending_in_billing": self.pending_in_billing,
            "created": self.created,
            "remapped": self.remapped,
            "unchanged": self.unchanged,
            "needs_mapping": self.needs_mapping,
            "skipped_unpaid": self.skipped_unpaid,
            "cancelled": self.cancelled,
            "rejected": self.rejected,
            "warnings": self.warnings,
        }

    def summary(self) -> str:
        text = (
            f"{self.pending_in_billing} pending in WHMCS: {len(self.created)} new, "
            f"{len(self.needs_mapping)} need mapping, {len(self.cancelled)} cancelled, "
            f"{len(self.skipped_unpaid)} unpaid (waiting)"
            + (f", {len(self.rejected)} rejected" if self.rejected else "")
        )
        return (
            text
            + "".join(f"\nrejected: {r}" for r in self.rejected)
            + "".join(f"\nwarning: {w}" for w in self.warnings)
        )


@dataclass(frozen=True)
class Staleness:
    """How fresh the queue is, for the status line: stale since when, and why."""

    last_sync_at: datetime | None
    stale_since: datetime | None
    last_error: str | None


def billing_staleness(store: Store) -> Staleness:
    def when(name: str) -> datetime | None:
        row = get_sync_state(store, name)
        return datetime.fromisoformat(row.value) if row and row.value else None

    error = get_sync_state(store, LAST_ERROR)
    return Staleness(when(LAST_SYNC), when(STALE_SINCE), error.value if error else None)


def _local_to_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None  # naive = this machine's local time


def _request_from_row(row: Order) -> OrderRequest | None:
    from console.billing.whmcs import parse_service  # see the imports: loads httpx

    service = (row.raw or {}).get("service")
    return request_from_service(parse_service(service)) if service else None


class _Syncer:
    def __init__(self, store: Store, client: WhmcsClient, catalog: CatalogConfig, actor: str):
        self.store, self.client, self.catalog, self.actor = store, client, catalog, actor
        self.clients: dict[int, WhmcsClientDetails | None] = {}
        self.report = SyncReport(started_at=utcnow())

    def run(self) -> SyncReport:
        listing = self.client.read_orders("Pending")
        pending = listing.orders
        self.report.rejected += listing.rejected
        self.report.warnings += listing.warnings
        self.report.pending_in_billing = len(pending)
        with self.store.session() as session:
            known = {o.id: o for o in session.exec(select(Order).where(Order.source == "whmcs"))}
        pending_ids = set()
        for order in sorted(pending, key=lambda o: o.id):
            oid = str(order.id)
            pending_ids.add(oid)
            self._one(order, oid, known.get(oid))
        for oid, row in known.items():
            if (
                oid not in pending_ids
                and row.status in OPEN
                and (row.billing_status or "Pending") == "Pending"
            ):
                self._guarded(oid, partial(self._check_left_pending, row))
        self.report.finished_at = utcnow()
        return self.report

    def _one(self, order: WhmcsOrder, oid: str, row: Order | None) -> None:
        def take() -> None:
            if order.payment_status.lower() == "refunded":
                if row is not None:
                    self._end(row, order.status, "refunded")
                return
            if row is None or (row.data or {}).get("intake_failed"):
                if order.payment_status.lower() != "paid":
                    self.report.skipped_unpaid.append(oid)
                    return
                self._create(order, replace=row is not None)
            else:
                self._refresh(row)

        reason = self._guarded(oid, take)
        if reason is not None:
            self._keep_failed(order, oid, reason)

    def _guarded(self, oid: str, work: Callable[[], object]) -> str | None:
        """Run one order's work; a failure of that order alone is reported, not raised.
        Billing that is down and a store that cannot write stop the sync (every order
        would fail the same way): their own messages say what to do."""
        try:
            work()
            return None
        except (BillingUnreachable, BillingAuthError, BillingAccessDenied, StoreError):
            raise
        except Exception as exc:  # noqa: BLE001 - one order's failure is that order's
            reason = safe_text(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")
            log.warning("sync: order %s not taken in: %s", oid, reason)
            self.report.rejected.append(f"order {oid}: {reason}")
            return reason

    def _keep_failed(self, order: WhmcsOrder, oid: str, reason: str) -> None:
        """An order that could not be taken in stays visible, as needs mapping with why;
        the next sync tries it again from WHMCS."""
        row = Order(
            id=oid,
            source="whmcs",
            billing_status=order.status,
            status=OrderStatus.NEEDS_MAPPING,
            client_name=order.client_name,
            product_name="",
            created_at=_local_to_utc(order.date) or utcnow(),
            paid_at=utcnow(),
            seen_at=utcnow(),
            problem=f"could not take the order in ({reason}); "
            "correct it in WHMCS, it is read again on the next sync",
            raw={"order": order.raw},
            data={"intake_failed": True},
        )
        try:
            with self.store.session() as session:
                if session.get(Order, oid) is None:
                    session.add(row)
        except Exception as exc:  # noqa: BLE001 - already reported in `rejected`
            log.warning("sync: order %s not recorded either: %s", oid, exc)

    # ----------------------------------------------------------- new orders
    def _client(self, client_id: int | None) -> WhmcsClientDetails | None:
        if client_id is None:
            return None
        if client_id not in self.clients:
            try:
                self.clients[client_id] = self.client.get_client(client_id)
            except BillingApiError as exc:  # e.g. "Client Not Found": keep the order anyway
                self.report.warnings.append(f"client {client_id}: {exc.message}")
                self.clients[client_id] = None
        return self.clients[client_id]

    def _paid_at(self, order: WhmcsOrder) -> datetime:
        """Since when the customer waits: the invoice's payment time. If WHMCS cannot tell,
        the order's own time: a wait overstated is safer than an SLA breach hidden."""
        paid = None
        if order.invoice_id is not None:
            try:
                paid = self.client.get_invoice_paid_at(order.invoice_id)
            except (BillingApiError, BillingAccessDenied) as exc:
                # An API role without GetInvoice must not stop the queue from filling.
                self.report.warnings.append(
                    f"order {order.id}: invoice {order.invoice_id}: "
                    f"{exc.message}; its age counts from the order"
                    + (f" ({exc.hint})" if isinstance(exc, BillingAccessDenied) else "")
                )
        return _local_to_utc(paid) or _local_to_utc(order.date) or utcnow()

    def _create(self, order: WhmcsOrder, *, replace: bool = False) -> None:
        oid = str(order.id)
        lines = order.product_lines
        row = Order(
            id=oid,
            source="whmcs",
            billing_status=order.status,
            client_name=order.client_name,
            created_at=_local_to_utc(order.date) or utcnow(),
            paid_at=self._paid_at(order),
            seen_at=utcnow(),
            notes=order.notes,
            raw={"order": order.raw},
            data={"ordernum": order.ordernum, "client_id": order.client_id},
        )
        extra = None
        if not lines:
            extra = "the order has no product line; nothing to provision (handle it in WHMCS)"
        elif len(lines) > 1:
            extra = (
                f"the order has {len(lines)} services; intake takes one VPS per order — "
                "provision them by hand or split the order in WHMCS"
            )
        service = None
        if lines and lines[0].service_id is not None:
            try:
                service = self.client.get_service(lines[0].service_id)
            except BillingApiError as exc:
                extra = f"cannot read service {lines[0].service_id} from WHMCS ({exc.whmcs_message}); sync again"
        if service is not None:
            row.service_id = str(service.id)
            row.product_id = str(service.pid) if service.pid is not None else None
            row.product_name = service.name
            row.raw = {**row.raw, "service": service.raw}
            request = request_from_service(service)
        else:
            row.product_name = lines[0].product if lines else ""
            request = OrderRequest(
                product_id=None,
                product_name=row.product_name,
                hostname=lines[0].domain if lines else "",
            )
            extra = extra or "WHMCS returned no service for this order; sync again"
        details = self._client(order.client_id)
        if details is not None:
            row.client_name = details.name or row.client_name
            row.client_email, row.client_company = details.email, details.companyname
        apply_mapping(row, request, self.catalog, extra)
        try:
            with self.store.session() as session:
                if replace:  # an order whose intake failed before: this one takes its place
                    session.merge(row)
                else:
                    session.add(row)
                audit.record(
                    session,
                    "intake",
                    actor=self.actor,
                    order_id=oid,
                    message=f"from WHMCS: {row.product_name} ({row.status})",
                )
        except IntegrityError:
            # another console synced the same order a moment ago: one row, theirs
            self.report.unchanged += 1
            return
        self.report.created.append(oid)
        if row.status == OrderStatus.NEEDS_MAPPING:
            self.report.needs_mapping.append(oid)

    # ------------------------------------------------------- known orders
    def _refresh(self, known: Order) -> None:
        with self.store.session() as session:
            row = session.get(Order, known.id)
            if row is None:
                return
            row.seen_at = utcnow()
            row.billing_status = "Pending"
            if row.status in WAITING:
                request = _request_from_row(row)
                if request is None:
                    self.report.unchanged += 1
                    session.add(row)
                    return
                before = (
                    row.status,
                    row.template_name,
                    row.problem,
                    row.cpus,
                    row.memory_mib,
                    row.disk_gib,
                )
                apply_mapping(row, request, self.catalog)
                after = (
                    row.status,
                    row.template_name,
                    row.problem,
                    row.cpus,
                    row.memory_mib,
                    row.disk_gib,
                )
                if before != after:
                    row.updated_at = utcnow()
                    self.report.remapped.append(row.id)
                else:
                    self.report.unchanged += 1
                if row.status == OrderStatus.NEEDS_MAPPING:
                    self.report.needs_mapping.append(row.id)
            else:
                self.report.unchanged += 1
            session.add(row)

    def _check_left_pending(self, row: Order) -> None:
        try:
            order = self.client.get_order(int(row.id))
        except (ValueError, BillingApiError, BadRecord) as exc:
            self.report.warnings.append(f"order {row.id}: cannot read it from WHMCS ({exc})")
            return
        if order is None:
            self._end(row, "Deleted", "deleted")
            return
        paid = order.payment_status.lower()
        if order.status.lower() in ENDED_IN_BILLING or paid == "refunded":
            self._end(row, order.status, "refunded" if paid == "refunded" else order.status.lower())
            return
        with self.store.session() as session:
            current = session.get(Order, row.id)
            if current is not None:
                current.billing_status, current.updated_at = order.status, utcnow()
                session.add(current)
        if order.status.lower() == "active" and row.status in WAITING:
            # accepted in WHMCS (by staff, or another tool) before anyone here provisioned it
            self.report.warnings.append(
                f"order {row.id} was accepted in WHMCS but has no VM from this console yet; "
                "check whether someone provisioned it by hand before taking it"
            )

    def _end(self, known: Order, billing_status: str, why: str) -> None:
        with self.store.session() as session:
            row = session.get(Order, known.id)
            if row is None or row.status == OrderStatus.CANCELLED:
                return
            job = open_job(session, row.id)
            row.status, row.billing_status, row.updated_at = (
                OrderStatus.CANCELLED,
                billing_status,
                utcnow(),
            )
            row.problem = f"{why} in WHMCS"
            session.add(row)
            message = f"order {row.id} was {why} in WHMCS"
            if job is not None or known.status == OrderStatus.PROVISIONING:
                warning = (
                    f"{message} but job {job.id if job else '?'} is running for it "
                    f"(VM {job.vm_name if job and job.vm_name else 'not created yet'}); "
                    "stop or cancel the job and remove the VM if it should not exist"
                )
                self.report.warnings.append(warning)
                message = warning
            audit.record(
                session,
                "billing_cancelled",
                actor=self.actor,
                order_id=row.id,
                message=message,
                billing_status=billing_status,
            )
        self.report.cancelled.append(known.id)


def sync_orders(
    store: Store, client: WhmcsClient, catalog: CatalogConfig, *, actor: str | None = None
) -> SyncReport:
    """Pull pending orders from WHMCS into the queue. Raises BillingError if WHMCS fails."""
    syncer = _Syncer(store, client, catalog, actor or current_actor())
    try:
        report = syncer.run()
    except BillingError as exc:
        with store.session() as session:
            if session.get(SyncState, STALE_SINCE) is None:  # keep the first failure's time
                set_sync_state(session, STALE_SINCE, utcnow().isoformat())
            set_sync_state(session, LAST_ERROR, str(exc))
        log.warning("billing sync failed: %s", exc.message)
        raise
    assert report.finished_at is not None  # run() stamps it
    with store.session() as session:
        set_sync_state(session, LAST_SYNC, report.finished_at.isoformat())
        delete_sync_state(session, STALE_SINCE)
        delete_sync_state(session, LAST_ERROR)
        # The console syncs every minute: only a sync that changed the queue is worth a line
        # in the trail (each new or cancelled order has its own line as well).
        if report.created or report.cancelled or report.remapped:
            audit.record(
                session,
                "sync",
                actor=syncer.actor,
                message=report.summary().split("\n")[0],
                created=len(report.created),
                cancelled=len(report.cancelled),
            )
    return report


def remap_waiting_orders(store: Store, catalog: CatalogConfig) -> list[str]:
    """Re-apply the catalog to waiting orders without asking billing (after a config edit)."""
    changed = []
    with store.session() as session:
        for row in session.exec(select(Order).where(col(Order.status).in_(list(WAITING)))):
            request = _request_from_row(row) if row.source == "whmcs" else _request_from_data(row)
            if request is None:
                continue
            before = (row.status, row.problem, row.template_name)
            apply_mapping(row, request, catalog)
            if before != (row.status, row.problem, row.template_name):
                row.updated_at = utcnow()
                changed.append(row.id)
            session.add(row)
    return changed


def _request_from_data(row: Order) -> OrderRequest | None:
    wanted = (row.data or {}).get("request")
    if not wanted:
        return None
    return OrderRequest(
        product_id=wanted.get("product_id"),
        product_name=wanted.get("product_name", ""),
        hostname=wanted.get("hostname") or "",
        os_choice=wanted.get("os_choice"),
        cpus=wanted.get("cpus"),
        memory=wanted.get("memory"),
        disk=wanted.get("disk"),
    )
