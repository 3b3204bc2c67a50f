"""State of the simulated WHMCS and the API actions that read and change it.

Response shapes follow the WHMCS developer docs (api-reference/*.md), quirks
included: ids are ints in GetOrders but strings in GetClientsProducts,
``totalresults`` is a string there, dates are server-local
"YYYY-MM-DD HH:MM:SS" without a zone, empty lists come back as ``[]``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from .catalog import (
    COMPANIES,
    FIRST_NAMES,
    LAST_NAMES,
    MALFORMED_RAM,
    PAYMENT_METHODS,
    PRODUCTS,
    Client,
    ProductDef,
    choice_id,
    product_by_name,
    product_by_pid,
)
from .phpunserialize import UnserializeError, loads_base64

FIRST_ORDER_ID = 2001
FIRST_SERVICE_ID = 501


class ApiError(Exception):
    """A business error: WHMCS answers HTTP 200 with ``result: error``."""


class EnvelopeError(ApiError):
    """A business error whose API file answers with an envelope of its own (HTTP 200)."""

    def __init__(self, envelope: dict) -> None:
        super().__init__(envelope.get("message", ""))
        self.envelope = envelope


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Service:
    id: int
    clientid: int
    orderid: int
    pid: int
    domain: str
    regdate: datetime
    amount: str
    status: str = "Pending"
    username: str = ""
    password: str = ""
    dedicatedip: str = ""
    assignedips: str = ""
    notes: str = ""
    billingcycle: str = "Monthly"
    # (option def id, option name, value) and (field id, field name, value)
    configoptions: list[tuple[int, str, str]] = field(default_factory=list)
    customfields: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Order:
    id: int
    ordernum: int
    userid: int
    date: datetime
    amount: str
    paymentmethod: str
    invoiceid: int
    status: str = "Pending"
    paymentstatus: str = "Paid"
    datepaid: datetime | None = None  # of its invoice
    notes: str = ""
    service_ids: list[int] = field(default_factory=list)

    # Bumped whenever any order's status or client changes, however it is changed (tests and
    # demos set them directly), so the filtered lists World caches are never stale.
    filter_changes: ClassVar[int] = 0

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name in ("status", "userid"):
            Order.filter_changes += 1


class World:
    """Everything the simulated WHMCS knows. All access goes through ``lock``."""

    def __init__(
        self,
        seed: int = 1,
        orders: int = 40,
        arrival_per_minute: float = 0.0,
        time_scale: float = 1.0,
    ) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.clients: dict[int, Client] = {}
        self.orders: dict[int, Order] = {}
        self.services: dict[int, Service] = {}
        self.activity: list[dict] = []
        # WHMCS answers these from indexed SQL columns; scanning every order per call made a
        # sync of N orders cost N^2. `examined` counts the records a lookup walks through, so
        # tests can assert that a sync stays linear without timing it.
        self.examined = 0
        self._by_invoice: dict[str, Order] = {}
        self._order_lists: dict[tuple[str, str], list[Order]] = {}
        self._order_lists_at = -1  # Order.filter_changes when they were built
        self.arrival_per_minute = arrival_per_minute
        self.time_scale = time_scale if time_scale > 0 else 1.0
        self._next_order_id = FIRST_ORDER_ID
        self._next_service_id = FIRST_SERVICE_ID
        self._next_note_id = 1
        self._arrived = 0
        self._started_monotonic = time.monotonic()
        self._seed_clients(24)
        self._seed_orders(orders)

    # ----------------------------------------------------------------- seeding
    def _seed_clients(self, count: int) -> None:
        for client_id in range(1, count + 1):
            first = self.rng.choice(FIRST_NAMES)
            last = self.rng.choice(LAST_NAMES)
            self.clients[client_id] = Client(
                id=client_id,
                firstname=first,
                lastname=last,
                email=f"{first.lower()}.{last.lower()}{client_id}@example.net",
                companyname=self.rng.choice(COMPANIES),
            )

    def _seed_orders(self, count: int) -> None:
        now = datetime.now().replace(microsecond=0)
        for index in range(count):
            # ages spread over the last six hours, oldest first
            age = timedelta(minutes=int(360 * (count - index) / max(count, 1)))
            order = self._generate_order(now - age)
            # a realistic mix: most are pending and paid, some are not
            roll = self.rng.random()
            if roll < 0.06:
                order.paymentstatus, order.datepaid = "Unpaid", None
            elif roll < 0.09:
                self._set_order_status(order, "Active")
            elif roll < 0.11:
                self._set_order_status(order, "Cancelled")
            elif roll < 0.12:
                self._set_order_status(order, "Fraud")

    def _generate_order(self, when: datetime) -> Order:
        weights = [p.weight for p in PRODUCTS]
        product = self.rng.choices(PRODUCTS, weights=weights)[0]
        configoptions = [(opt.id, opt.name, self.rng.choice(opt.values)) for opt in product.options]
        # about one order in fifteen has a RAM value nobody can read
        if self.rng.random() < 0.07:
            configoptions = [
                (
                    oid,
                    name,
                    self.rng.choice(MALFORMED_RAM)
                    if "ram" in name.lower() or "memory" in name.lower()
                    else value,
                )
                for oid, name, value in configoptions
            ]
        customfields = [
            (cf.id, cf.name, self.rng.choice(cf.values) if cf.values else "")
            for cf in product.customfields
        ]
        client_id = self.rng.choice(list(self.clients))
        hostname = (
            f"srv{self._next_order_id}.{self.clients[client_id].lastname.lower()}.example.net"
        )
        return self.add_order(
            client_id=client_id,
            pid=product.pid,
            hostname=hostname,
            configoptions={name: value for _, name, value in configoptions},
            customfields={name: value for _, name, value in customfields},
            when=when,
            rootpw=f"Init-{self.rng.randrange(10**8):08d}",
        )

    def add_order(
        self,
        *,
        client_id: int | None = None,
        pid: int | str = 1,
        hostname: str = "",
        configoptions: dict[str, str] | None = None,
        customfields: dict[str, str] | None = None,
        paymentstatus: str = "Paid",
        status: str = "Pending",
        when: datetime | None = None,
        rootpw: str = "",
    ) -> Order:
        """Create an order with one service, as AddOrder + a paid invoice would."""
        with self.lock:
            product = product_by_pid(int(pid)) if str(pid).isdigit() else product_by_name(str(pid))
            if product is None:
                raise ValueError(f"unknown product {pid!r}")
            if client_id is None:
                client_id = self.rng.choice(list(self.clients))
            if client_id not in self.clients:
                raise ValueError(f"unknown client {client_id}")
            when = when or datetime.now().replace(microsecond=0)
            options = self._resolve_options(product, configoptions or {})
            fields = self._resolve_fields(product, customfields or {})
            order_id = self._next_order_id
            self._next_order_id += 1
            service = Service(
                id=self._next_service_id,
                clientid=client_id,
                orderid=order_id,
                pid=product.pid,
                domain=hostname,
                regdate=when,
                amount=product.price,
                configoptions=options,
                customfields=fields,
                password=rootpw,
            )
            self._next_service_id += 1
            order = Order(
                id=order_id,
                ordernum=7_000_000_000 + order_id * 7919 % 999_983,
                userid=client_id,
                date=when,
                amount=product.price,
                paymentmethod=self.rng.choice(PAYMENT_METHODS),
                invoiceid=order_id - 1000,
                paymentstatus=paymentstatus,
                service_ids=[service.id],
                # a card payment lands a minute or so after the order (never in the future)
                datepaid=(
                    min(
                        when + timedelta(seconds=self.rng.randint(15, 240)),
                        max(when, datetime.now().replace(microsecond=0)),
                    )
                    if paymentstatus == "Paid"
                    else None
                ),
            )
            self.services[service.id] = service
            self.orders[order.id] = order
            self._by_invoice[str(order.invoiceid)] = order
            self._set_order_status(order, status)
            return order

    @staticmethod
    def _resolve_options(product: ProductDef, chosen: dict[str, str]) -> list[tuple[int, str, str]]:
        result = []
        for opt in product.options:
            value = chosen.get(opt.name, opt.values[0] if opt.values else "")
            result.append((opt.id, opt.name, value))
        return result

    @staticmethod
    def _resolve_fields(product: ProductDef, chosen: dict[str, str]) -> list[tuple[int, str, str]]:
        result = []
        for cf in product.customfields:
            result.append((cf.id, cf.name, chosen.get(cf.name, cf.values[0] if cf.values else "")))
        return result

    def _set_order_status(self, order: Order, status: str) -> None:
        order.status = status
        for sid in order.service_ids:
            service = self.services[sid]
            service.status = {"Active": "Active", "Cancelled": "Cancelled", "Fraud": "Fraud"}.get(
                status, "Pending"
            )

    def pay_order(self, order_id: int, when: datetime | None = None) -> None:
        """What a gateway callback does: the order's invoice is paid."""
        with self.lock:
            order = self.orders[order_id]
            order.paymentstatus = "Paid"
            order.datepaid = when or datetime.now().replace(microsecond=0)

    def cancel_order(self, order_id: int, *, refund: bool = False) -> None:
        """What an admin does by hand: cancel (and maybe refund) an order."""
        with self.lock:
            order = self.orders[order_id]
            self._set_order_status(order, "Cancelled")
            if refund:
                order.paymentstatus = "Refunded"

    def tick(self) -> None:
        """Let orders arrive: as many as the rate says should exist by now."""
        if self.arrival_per_minute <= 0:
            return
        with self.lock:
            sim_minutes = (time.monotonic() - self._started_monotonic) / self.time_scale / 60.0
            due = int(sim_minutes * self.arrival_per_minute)
            while self._arrived < due:
                self._arrived += 1
                self._generate_order(datetime.now().replace(microsecond=0))

    # ----------------------------------------------------------------- actions
    def dispatch(self, action: str, params: dict[str, str]) -> dict:
        handler = getattr(self, "act_" + action.lower(), None)
        if handler is None:
            # WHMCS answers unknown actions with a 200 error envelope
            raise ApiError("Command Not Found")
        self.tick()
        with self.lock:
            return handler(params)

    @staticmethod
    def _page(params: dict[str, str]) -> tuple[int, int]:
        try:
            start = int(params.get("limitstart") or 0)
            num = int(params.get("limitnum") or 25)
        except ValueError:
            raise ApiError("Invalid limitstart or limitnum") from None
        return max(start, 0), max(num, 0)

    def _orders_newest_first(self, userid: str, status: str) -> list[Order]:
        """The orders a filter selects, newest first; built once per change of the orders, so
        paging through them costs one pass, not one pass per page."""
        key = (userid, status.lower())
        if self._order_lists_at != Order.filter_changes:
            self._order_lists.clear()
            self._order_lists_at = Order.filter_changes
        selected = self._order_lists.get(key)
        if selected is None:
            self.examined += len(self.orders)
            selected = [
                o
                for o in reversed(self.orders.values())  # ids only grow: insertion order
                if (not userid or str(o.userid) == userid)
                and (not status or o.status.lower() == key[1])
            ]
            self._order_lists[key] = selected
        return selected

    def act_getorders(self, params: dict[str, str]) -> dict:
        start, num = self._page(params)
        userid = (params.get("userid") or "").strip()
        status = (params.get("status") or "").strip()
        if params.get("id"):
            wanted = params["id"].strip()
            found = self.orders.get(int(wanted)) if wanted.isdigit() else None
            self.examined += 1
            selected = [
                o
                for o in ([found] if found is not None and str(found.id) == wanted else [])
                if (not userid or str(o.userid) == userid)
                and (not status or o.status.lower() == status.lower())
            ]
        else:
            selected = self._orders_newest_first(userid, status)
        page = selected[start : start + num]
        return {
            "totalresults": len(selected),
            "startnumber": start,
            "numreturned": len(page),
            "orders": {"order": [self._order_json(o) for o in page]} if page else [],
        }

    def _order_json(self, order: Order) -> dict:
        client = self.clients[order.userid]
        lines = []
        for sid in order.service_ids:
            service = self.services[sid]
            product = product_by_pid(service.pid)
            lines.append(
                {
                    "type": "product",
                    "relid": service.id,
                    "producttype": "Server/VPS",
                    "product": product.name if product else "",
                    "domain": service.domain,
                    "billingcycle": service.billingcycle,
                    "amount": service.amount,
                    "status": service.status,
                }
            )
        return {
            "id": order.id,
            "ordernum": order.ordernum,
            "userid": order.userid,
            "contactid": 0,
            "date": _fmt(order.date),
            "amount": order.amount,
            "paymentmethod": order.paymentmethod,
            "invoiceid": order.invoiceid,
            "status": order.status,
            "ipaddress": "198.51.100.7",
            "notes": order.notes,
            "paymentmethodname": order.paymentmethod.title(),
            "paymentstatus": order.paymentstatus,
            "name": f"{client.firstname} {client.lastname}",
            "currencyprefix": "$",
            "currencysuffix": "USD",
            "lineitems": {"lineitem": lines},
        }

    def act_getinvoice(self, params: dict[str, str]) -> dict:
        text = (params.get("invoiceid") or "").strip()
        self.examined += 1
        order = self._by_invoice.get(text)
        if order is None:
            # getinvoice.php answers with "status", not "result", on this one error
            raise EnvelopeError({"status": "error", "message": "Invoice ID Not Found"})
        paid = order.paymentstatus == "Paid"
        service = self.services[order.service_ids[0]] if order.service_ids else None
        product = product_by_pid(service.pid) if service else None
        items = (
            [
                {
                    "id": order.invoiceid * 10,
                    "type": "Hosting",
                    "relid": service.id,
                    "description": f"{product.name if product else ''} - {service.domain}",
                    "amount": order.amount,
                    "taxed": 0,
                }
            ]
            if service
            else []
        )
        return {
            "invoiceid": order.invoiceid,
            "invoicenum": "",
            "userid": order.userid,
            "date": order.date.strftime("%Y-%m-%d"),
            "duedate": order.date.strftime("%Y-%m-%d"),
            "datepaid": _fmt(order.datepaid) if paid and order.datepaid else "0000-00-00 00:00:00",
            "lastcaptureattempt": "0000-00-00 00:00:00",
            "subtotal": order.amount,
            "credit": "0.00",
            "tax": "0.00",
            "tax2": "0.00",
            "total": order.amount,
            "balance": "0.00" if paid else order.amount,
            "taxrate": "0.00",
            "taxrate2": "0.00",
            "status": order.paymentstatus,
            "paymentmethod": order.paymentmethod,
            "notes": "",
            "ccgateway": False,
            "items": {"item": items},
            "transactions": {
                "transaction": [
                    {
                        "id": order.invoiceid,
                        "userid": order.userid,
                        "gateway": order.paymentmethod,
                        "date": _fmt(order.datepaid),
                        "amountin": order.amount,
                    }
                ]
            }
            if paid and order.datepaid
            else "",
        }

    def act_getclientsproducts(self, params: dict[str, str]) -> dict:
        start, num = self._page(params)
        wanted = (params.get("serviceid") or "").strip()
        if wanted:
            found = self.services.get(int(wanted)) if wanted.isdigit() else None
            selected = [found] if found is not None else []
        else:
            selected = list(self.services.values())  # ids only grow: insertion order
        self.examined += len(selected)
        for key, attr in (("clientid", "clientid"), ("serviceid", "id"), ("pid", "pid")):
            if params.get(key):
                selected = [s for s in selected if str(getattr(s, attr)) == params[key].strip()]
        if params.get("domain"):
            selected = [s for s in selected if s.domain == params["domain"]]
        page = selected[start : start + num]
        return {
            "clientid": params.get("clientid"),
            "serviceid": params.get("serviceid"),
            "pid": params.get("pid"),
            "domain": params.get("domain"),
            "totalresults": str(len(selected)),
            "startnumber": start,
            "numreturned": len(page),
            "products": {"product": [self._service_json(s) for s in page]} if page else [],
        }

    def _service_json(self, service: Service) -> dict:
        product = product_by_pid(service.pid)
        order = self.orders[service.orderid]
        return {
            "id": str(service.id),
            "qty": "1",
            "clientid": str(service.clientid),
            "orderid": str(service.orderid),
            "ordernumber": str(order.ordernum),
            "pid": str(service.pid),
            "regdate": service.regdate.strftime("%Y-%m-%d"),
            "name": product.name if product else "",
            "translated_name": product.name if product else "",
            "groupname": product.groupname if product else "",
            "domain": service.domain,
            "dedicatedip": service.dedicatedip,
            "serverid": "1",
            "servername": "ovirt-a",
            "serverip": "192.0.2.10",
            "firstpaymentamount": service.amount,
            "recurringamount": service.amount,
            "paymentmethod": order.paymentmethod,
            "billingcycle": service.billingcycle,
            "nextduedate": "0000-00-00",
            "status": service.status,
            "username": service.username,
            "password": service.password,
            "assignedips": service.assignedips,
            "notes": service.notes,
            "lastupdate": "0000-00-00 00:00:00",
            "customfields": {
                "customfield": [
                    {"id": str(fid), "name": name, "translated_name": name, "value": value}
                    for fid, name, value in service.customfields
                ]
            },
            "configoptions": {
                "configoption": [
                    {"id": str(oid), "option": name, "type": "dropdown", "value": value}
                    for oid, name, value in service.configoptions
                ]
            },
        }

    def act_getclientsdetails(self, params: dict[str, str]) -> dict:
        client = None
        if params.get("clientid"):
            client = (
                self.clients.get(int(params["clientid"]))
                if params["clientid"].strip().isdigit()
                else None
            )
        elif params.get("email"):
            client = next((c for c in self.clients.values() if c.email == params["email"]), None)
        if client is None:
            raise ApiError("Client Not Found")
        details = {
            "id": client.id,
            "userid": client.id,
            "client_id": client.id,
            "firstname": client.firstname,
            "lastname": client.lastname,
            "fullname": f"{client.firstname} {client.lastname}",
            "companyname": client.companyname,
            "email": client.email,
            "status": client.status,
            "language": "english",
            "customfields": [],
            "users": {
                "user": [
                    {
                        "id": client.id,
                        "name": f"{client.firstname} {client.lastname}",
                        "email": client.email,
                        "is_owner": True,
                    }
                ]
            },
        }
        # the deprecated duplicate of the client fields at the top level
        return {
            "userid": client.id,
            "id": client.id,
            **{k: details[k] for k in ("firstname", "lastname", "email", "companyname")},
            "client": details,
            "stats": {},
        }

    def act_acceptorder(self, params: dict[str, str]) -> dict:
        order = self._order_param(params)
        if order is None or order.status != "Pending":
            raise ApiError("Order ID not found or Status not Pending")
        self._set_order_status(order, "Active")
        for sid in order.service_ids:
            service = self.services[sid]
            if params.get("serviceusername"):
                service.username = params["serviceusername"]
            if params.get("servicepassword"):
                service.password = params["servicepassword"]
        return {}

    def _order_param(self, params: dict[str, str]) -> Order | None:
        raw = (params.get("orderid") or "").strip()
        return self.orders.get(int(raw)) if raw.isdigit() else None

    def act_pendingorder(self, params: dict[str, str]) -> dict:
        order = self._order_param(params)
        if order is None:
            raise ApiError("Order ID Not Found")
        self._set_order_status(order, "Pending")
        return {}

    def act_cancelorder(self, params: dict[str, str]) -> dict:
        order = self._order_param(params)
        if order is None or order.status != "Pending":
            raise ApiError("Order ID not found or Status not Pending")
        self._set_order_status(order, "Cancelled")
        return {}

    def act_updateclientproduct(self, params: dict[str, str]) -> dict:
        raw = (params.get("serviceid") or "").strip()
        service = self.services.get(int(raw)) if raw.isdigit() else None
        if service is None:
            raise ApiError("Service ID Not Found")
        simple = {
            "domain": "domain",
            "dedicatedip": "dedicatedip",
            "assignedips": "assignedips",
            "serviceusername": "username",
            "servicepassword": "password",
            "status": "status",
            "notes": "notes",
        }
        for param, attr in simple.items():
            if param in params:
                setattr(service, attr, params[param])
        if params.get("customfields"):
            try:
                values = loads_base64(params["customfields"])
            except UnserializeError as exc:
                raise ApiError(f"Invalid customfields: {exc}") from None
            if not isinstance(values, dict):
                raise ApiError("Invalid customfields: expected an array")
            service.customfields = [
                (fid, name, str(values.get(fid, values.get(str(fid), value))))
                for fid, name, value in service.customfields
            ]
        return {"serviceid": service.id}

    def act_addclientnote(self, params: dict[str, str]) -> dict:
        raw = (params.get("userid") or "").strip()
        client = self.clients.get(int(raw)) if raw.isdigit() else None
        if client is None:
            raise ApiError("Client ID not found")
        if not params.get("notes"):
            raise ApiError("Notes can not be empty")
        note_id = self._next_note_id
        self._next_note_id += 1
        client.notes.append(
            {"id": note_id, "notes": params["notes"], "sticky": params.get("sticky")}
        )
        return {"noteid": note_id}

    def act_logactivity(self, params: dict[str, str]) -> dict:
        if not params.get("description"):
            raise ApiError("Description can not be empty")
        self.activity.append(
            {
                "description": params["description"],
                "clientid": params.get("clientid"),
                "date": _fmt(datetime.now()),
            }
        )
        return {}

    def act_getorderstatuses(self, params: dict[str, str]) -> dict:
        names = ("Pending", "Active", "Fraud", "Cancelled")
        statuses = [
            {"title": n, "color": "#888", "count": sum(o.status == n for o in self.orders.values())}
            for n in names
        ]
        return {"totalresults": len(names), "statuses": {"status": statuses}}

    # ------------------------------------------------- what a shop front calls
    def act_addclient(self, params: dict[str, str]) -> dict:
        """AddClient: the fields a checkout form sends, checked as WHMCS checks them."""
        required = (
            ("firstname", "You did not enter your first name"),
            ("lastname", "You did not enter your last name"),
            ("email", "You did not enter your email address"),
            ("address1", "You did not enter your  address line 1"),
            ("city", "You did not enter your city"),
            ("state", "You did not enter your state"),
            ("postcode", "You did not enter your postcode"),
            ("country", "You did not enter your country"),
            ("phonenumber", "You did not enter your phone number"),
        )
        skip = _truthy(params.get("skipvalidation"))
        for key, message in required:
            if key in ("firstname", "lastname", "email") or not skip:
                if not (params.get(key) or "").strip():
                    raise ApiError(message)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", params["email"].strip()):
            raise ApiError("The email address you entered was not valid")
        if any(c.email.lower() == params["email"].strip().lower() for c in self.clients.values()):
            raise ApiError("A user already exists with that email address")
        client_id = max(self.clients, default=0) + 1
        self.clients[client_id] = Client(
            id=client_id,
            firstname=params["firstname"],
            lastname=params["lastname"],
            email=params["email"].strip(),
            companyname=params.get("companyname", ""),
        )
        return {"clientid": client_id}

    def act_addorder(self, params: dict[str, str]) -> dict:
        """AddOrder: products with their hostname, root password, custom fields and
        configurable options, each of the last two base64(serialize(array)) keyed by the
        field's or option's id (an option's value: the id of the chosen choice). The order
        is Pending with an Unpaid invoice, as after a checkout; AddInvoicePayment pays it."""
        raw_client = (params.get("clientid") or "").strip()
        client = self.clients.get(int(raw_client)) if raw_client.isdigit() else None
        if client is None:
            raise ApiError("Client ID Not Found")
        method = (params.get("paymentmethod") or "").strip()
        if method not in PAYMENT_METHODS:
            raise ApiError(
                "Invalid Payment Method. Valid options include " + ",".join(PAYMENT_METHODS)
            )
        pids = _array(params, "pid")
        if not pids:
            raise ApiError("No items added to cart so order cannot proceed")
        if len(pids) != 1:
            raise ApiError("the simulator takes one product per AddOrder")
        product = product_by_pid(int(pids[0])) if pids[0].strip().isdigit() else None
        if product is None:
            raise ApiError("No items added to cart so order cannot proceed")
        hostname = (_array(params, "domain") or _array(params, "hostname") or [""])[0]
        fields = self._decoded(params, "customfields")
        options = self._decoded(params, "configoptions")
        chosen_fields = {
            cf.name: str(fields[cf.id]) for cf in product.customfields if cf.id in fields
        }
        chosen_options = {}
        for opt in product.options:
            picked = options.get(opt.id)
            for index, value in enumerate(opt.values):
                if str(picked) == str(choice_id(opt, index)):
                    chosen_options[opt.name] = value
        order = self.add_order(
            client_id=client.id,
            pid=product.pid,
            hostname=hostname,
            configoptions=chosen_options,
            customfields=chosen_fields,
            paymentstatus="Unpaid",
            rootpw=(_array(params, "rootpw") or [""])[0],
        )
        order.paymentmethod = method
        return {
            "orderid": order.id,
            "serviceids": ",".join(map(str, order.service_ids)),
            "addonids": "",
            "domainids": "",
            "invoiceid": order.invoiceid,
        }

    @staticmethod
    def _decoded(params: dict[str, str], name: str) -> dict:
        encoded = (_array(params, name) or [""])[0]
        if not encoded:
            return {}
        try:
            values = loads_base64(encoded)
        except UnserializeError as exc:
            raise ApiError(f"Invalid {name}: {exc}") from None
        if not isinstance(values, dict):
            raise ApiError(f"Invalid {name}: expected an array")
        return {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in values.items()}

    def act_addinvoicepayment(self, params: dict[str, str]) -> dict:
        """AddInvoicePayment: what the gateway's callback records; the order is then paid."""
        raw = (params.get("invoiceid") or "").strip()
        self.examined += 1
        order = self._by_invoice.get(raw)
        if order is None:
            raise ApiError("Invoice ID Not Found")
        if not params.get("transid") or not params.get("gateway"):
            raise ApiError("Transaction ID and gateway are required")
        order.paymentstatus = "Paid"
        order.datepaid = datetime.now().replace(microsecond=0)
        return {}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


def _array(params: dict[str, str], name: str) -> list[str]:
    """A PHP array parameter as http_build_query sends it (``pid[0]=1&pid[1]=2``), or the
    plain ``pid=1`` WHMCS also takes for one item."""
    if name in params:
        return [params[name]]
    indexed = []
    for key, value in params.items():
        match = re.fullmatch(re.escape(name) + r"\[(\d*)\]", key)
        if match:
            indexed.append((int(match.group(1) or len(indexed)), value))
    return [value for _, value in sorted(indexed)]
