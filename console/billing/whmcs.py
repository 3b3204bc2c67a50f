"""Thin client of the WHMCS classic API (``POST <root>/includes/api.php``).

Only the actions vps-console needs. Every answer is checked and normalised
here, at the edge: ids become ints, dates become ``datetime``, empty lists
that WHMCS sends as ``[]`` or ``""`` become empty lists, so nothing above this
module deals with PHP's loose types.

Retries: only on network errors, and only where a retry cannot do a thing
twice. A refused connection never reached WHMCS, so every action retries it;
a timeout or dropped connection after the request was sent retries only the
read-only ``Get*`` actions (an AcceptOrder may have gone through).

Secrets: the API secret and every password are never logged. Debug logs name
the action and its non-secret parameters only.
"""

from __future__ import annotations

import logging
import re
import ssl
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.config import BillingConfig
from console.text_safety import safe_data, safe_text

from .errors import (
    BadRecord,
    BillingAccessDenied,
    BillingApiError,
    BillingAuthError,
    BillingBadResponse,
    BillingUnreachable,
    OrderNotPending,
)
from .phpserialize import dumps_base64

# httpx's package imports its command-line client whenever click and pygments are installed
# (they are: click for our CLI, pygments for rich): ~2.7 MiB of pygments and rich.syntax in
# every console that talks to WHMCS, for a `httpx` command nobody runs from here. A None in
# sys.modules makes that import fail as if they were missing (httpx then defines a stub).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

log = logging.getLogger(__name__)

API_PATH = "/includes/api.php"
HINT_IP = (
    "add it under Setup > General Settings > Security > API IP Access Restriction "
    "(single IPs only, no CIDR)"
)
HINT_AUTH = (
    "check the API identifier in the [billing] config, and store the secret again "
    "with vps-console credentials set billing (or VPS_CONSOLE_BILLING_SECRET); "
    "credentials live in WHMCS under System Settings > Manage API Credentials"
)
HINT_PERMISSION = "give the API credential's role this action (System Settings > API Roles)"
SECRET_PARAM_WORDS = ("password", "secret", "pass", "accesskey", "customfields")

NOT_PENDING = "order id not found or status not pending"
# Pages of GetOrders one sync reads at most: 1000 pages of 100 is far more pending orders
# than any shop has; a billing (or proxy) that never stops sending pages is stopped here.
MAX_PAGES = 1000
_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a 64-bit column


# ----------------------------------------------------------------- loose types
def as_int(value: Any, default: int | None = None) -> int | None:
    """WHMCS sends ids and counts as ints or strings; "" and None mean absent."""
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def as_str(value: Any) -> str:
    """Text from WHMCS, with control and bidi characters made visible: every string that
    enters the console from billing passes here (console.text_safety)."""
    return "" if value is None else safe_text(value)


def as_id(value: Any, what: str) -> int:
    """An order, service or client id: a positive integer, else BadRecord naming the raw
    value (``"abc"``, ``""`` or ``null`` must not all become order 0)."""
    text = (
        str(value).strip()
        if isinstance(value, (int, str)) and not isinstance(value, bool)
        else None
    )
    if text is None or not _ID.fullmatch(text) or int(text) == 0:
        shown = (
            "null" if value is None else repr(safe_text(value) if isinstance(value, str) else value)
        )
        raise BadRecord(
            f"WHMCS sent {what} id {shown}, which is not a positive whole number",
            "look at that record in WHMCS (or whatever sits between it and the "
            "console); the other records are read anyway",
        )
    return int(text)


def as_datetime(value: Any) -> datetime | None:
    """ "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" in server-local time; zeros mean none."""
    text = as_str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def as_list(container: Any, key: str) -> list[dict[str, Any]]:
    """``{"order": [...]}`` → the list; ``[]``, ``""``, missing, or a single dict handled."""
    if not isinstance(container, Mapping):
        return []
    items = container.get(key)
    if isinstance(items, Mapping):
        return [dict(items)]
    if isinstance(items, list):
        return [dict(i) for i in items if isinstance(i, Mapping)]
    return []


# ---------------------------------------------------------------- data shapes
@dataclass(frozen=True)
class OrderLine:
    type: str
    service_id: int | None
    product: str
    domain: str
    status: str


@dataclass(frozen=True)
class WhmcsOrder:
    id: int
    ordernum: str
    client_id: int | None
    client_name: str
    date: datetime | None
    status: str  # Pending, Active, Fraud, Cancelled, or a custom one
    payment_status: str  # of the invoice: Paid, Unpaid, Refunded, ...
    amount: str
    notes: str
    lines: tuple[OrderLine, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    invoice_id: int | None = None

    @property
    def product_lines(self) -> list[OrderLine]:
        return [line for line in self.lines if line.type == "product"]


@dataclass(frozen=True)
class ConfigOption:
    id: int | None
    name: str
    value: str
    type: str = ""


@dataclass(frozen=True)
class CustomField:
    id: int | None
    name: str
    value: str


@dataclass(frozen=True)
class WhmcsService:
    id: int
    client_id: int | None
    order_id: int | None
    pid: int | None
    name: str
    groupname: str
    domain: str
    status: str
    dedicated_ip: str
    assigned_ips: str
    username: str
    regdate: datetime | None
    configoptions: tuple[ConfigOption, ...]
    customfields: tuple[CustomField, ...]
    # the service password (the customer's chosen root password at order time);
    # never stored, never logged, never in ``raw``
    password: str = field(default="", repr=False, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class WhmcsClientDetails:
    id: int
    firstname: str
    lastname: str
    email: str
    companyname: str
    status: str

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()


@dataclass
class OrderListing:
    """What one read of the orders gave: the good ones, and why the others were left."""

    orders: list[WhmcsOrder] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def strip_secrets(data: Any) -> Any:
    """A copy of an API payload with every password-like value replaced."""
    if isinstance(data, Mapping):
        cleaned = {}
        for key, value in data.items():
            if any(word in str(key).lower() for word in ("password", "secret", "rootpw")):
                cleaned[key] = "***" if value else value
            else:
                cleaned[key] = strip_secrets(value)
        # custom fields named like "Root Password" hold secrets in their value
        name = str(data.get("name", "")).lower()
        if "value" in data and any(word in name for word in ("password", "passwort", "secret")):
            cleaned["value"] = "***" if data["value"] else data["value"]
        return cleaned
    if isinstance(data, list):
        return [strip_secrets(item) for item in data]
    return data


def parse_order(raw: Mapping[str, Any]) -> WhmcsOrder:
    lines = tuple(
        OrderLine(
            type=as_str(li.get("type")),
            # a line with no service (a domain, an addon) has relid 0 or none
            service_id=(
                as_id(li.get("relid"), "service")
                if li.get("relid") not in (None, "", 0, "0")
                else None
            ),
            product=as_str(li.get("product")),
            domain=as_str(li.get("domain")),
            status=as_str(li.get("status")),
        )
        for li in as_list(raw.get("lineitems"), "lineitem")
    )
    return WhmcsOrder(
        id=as_id(raw.get("id"), "order"),
        ordernum=as_str(raw.get("ordernum")),
        client_id=as_int(raw.get("userid")),
        client_name=as_str(raw.get("name")),
        date=as_datetime(raw.get("date")),
        status=as_str(raw.get("status")),
        payment_status=as_str(raw.get("paymentstatus")),
        amount=as_str(raw.get("amount")),
        notes=as_str(raw.get("notes")),
        lines=lines,
        raw=safe_data(strip_secrets(dict(raw))),
        invoice_id=as_int(raw.get("invoiceid")) or None,
    )


def parse_service(raw: Mapping[str, Any]) -> WhmcsService:
    options = tuple(
        ConfigOption(
            id=as_int(o.get("id")),
            name=as_str(o.get("option")).strip(),
            value=as_str(o.get("value")).strip(),
            type=as_str(o.get("type")),
        )
        for o in as_list(raw.get("configoptions"), "configoption")
    )
    fields_ = tuple(
        CustomField(
            id=as_int(c.get("id")),
            name=as_str(c.get("name")).strip(),
            value=as_str(c.get("value")).strip(),
        )
        for c in as_list(raw.get("customfields"), "customfield")
    )
    return WhmcsService(
        id=as_id(raw.get("id"), "service"),
        client_id=as_int(raw.get("clientid")),
        order_id=as_int(raw.get("orderid")),
        pid=as_int(raw.get("pid")),
        name=as_str(raw.get("name")),
        groupname=as_str(raw.get("groupname")),
        domain=as_str(raw.get("domain")).strip(),
        status=as_str(raw.get("status")),
        dedicated_ip=as_str(raw.get("dedicatedip")),
        assigned_ips=as_str(raw.get("assignedips")),
        username=as_str(raw.get("username")),
        regdate=as_datetime(raw.get("regdate")),
        configoptions=options,
        customfields=fields_,
        password="" if raw.get("password") is None else str(raw.get("password")),
        raw=safe_data(strip_secrets(dict(raw))),
    )


def _loggable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: ("***" if any(w in k.lower() for w in SECRET_PARAM_WORDS) else v)
        for k, v in params.items()
    }


def api_url_for(url: str) -> str:
    """Accept the WHMCS root URL or the full api.php URL from config."""
    url = url.rstrip("/")
    return url if url.endswith("api.php") else url + API_PATH


# ---------------------------------------------------------------------- client
class WhmcsClient:
    """One WHMCS install. Thread-safe (httpx.Client is); use as a context manager."""

    READ_ONLY_PREFIX = "get"

    def __init__(
        self,
        url: str,
        identifier: str,
        secret: str,
        *,
        timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.5,
        verify: bool | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url_for(url)
        self.identifier = identifier
        self._secret = secret
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            timeout=timeout,
            verify=verify,
            transport=transport,
            headers={"User-Agent": "vps-console"},
        )

    def __repr__(self) -> str:  # never show the secret
        return f"WhmcsClient({self.api_url!r}, identifier={self.identifier!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WhmcsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ core
    def call(self, action: str, **params: Any) -> dict[str, Any]:
        """POST one action; return the decoded success envelope or raise BillingError."""
        form = {k: _form_value(v) for k, v in params.items() if v is not None}
        payload = {
            "action": action,
            "identifier": self.identifier,
            "secret": self._secret,
            "responsetype": "json",
            **form,
        }
        log.debug("whmcs %s %s", action, _loggable(form))
        response = self._post_with_retries(action, payload)
        return self._decode(action, response)

    def _post_with_retries(self, action: str, payload: dict[str, Any]) -> httpx.Response:
        read_only = action.lower().startswith(self.READ_ONLY_PREFIX)
        attempt = 0
        while True:
            error: httpx.HTTPError
            try:
                return self._http.post(self.api_url, data=payload)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = exc  # never reached WHMCS: safe to retry any action
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                error = exc
                if not read_only:
                    raise BillingUnreachable(
                        f"WHMCS did not answer {action} ({_describe(exc)}); it may or may not have "
                        "been applied",
                        "run it again: vps-console detects an action that already went through",
                        action=action,
                    ) from None
            except httpx.HTTPError as exc:
                raise BillingUnreachable(
                    f"cannot reach WHMCS at {self.api_url}: {_describe(exc)}",
                    "check [billing] url in the config",
                    action=action,
                ) from None
            attempt += 1
            if attempt > self.retries:
                raise BillingUnreachable(
                    f"cannot reach WHMCS at {self.api_url} ({_describe(error)}, "
                    f"{attempt} attempts)",
                    "check that WHMCS is up and [billing] url is right; the queue keeps working "
                    "from the last sync",
                    action=action,
                ) from None
            log.debug("whmcs %s: %s, retry %d/%d", action, _describe(error), attempt, self.retries)
            time.sleep(self.backoff * attempt)

    def _decode(self, action: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if (
            isinstance(body, dict)
            and "result" not in body
            and body.get("status") == "error"
            and "message" in body
        ):
            body = {**body, "result": "error"}  # GetInvoice's "not found" says status, not result
        if not isinstance(body, dict) or "result" not in body:
            raise self._not_api(action, response)
        message = as_str(body.get("message"))
        if body.get("result") == "success" and response.status_code < 400:
            return body
        lowered = message.lower()
        if lowered.startswith("invalid ip"):
            ip = message.split()[-1] if message.split() else "?"
            raise BillingAccessDenied(f"WHMCS refused our IP {ip}", HINT_IP, action=action)
        if lowered.startswith("invalid permissions"):
            raise BillingAccessDenied(
                f"WHMCS does not allow {action} for this API credential ({message})",
                HINT_PERMISSION,
                action=action,
            )
        if "authentication failed" in lowered:
            raise BillingAuthError(
                f"WHMCS rejected the API credentials (identifier {self.identifier!r})",
                HINT_AUTH,
                action=action,
            )
        if response.status_code >= 400 and body.get("result") != "error":
            raise self._not_api(action, response)
        if NOT_PENDING in lowered:
            raise OrderNotPending(
                f"WHMCS {action}: {message}",
                "the order was accepted, cancelled or deleted in WHMCS already",
                action=action,
                whmcs_message=message,
            )
        raise BillingApiError(
            f"WHMCS {action} failed: {message or 'no message'}",
            "see the message from WHMCS; nothing was changed on our side",
            action=action,
            whmcs_message=message,
        )

    def _not_api(self, action: str, response: httpx.Response) -> BillingBadResponse:
        kind = response.headers.get("content-type", "?").split(";")[0]
        snippet = " ".join(response.text[:400].split())
        if "maintenance" in snippet.lower():
            hint = "WHMCS shows a maintenance page; try again when maintenance is over"
        elif response.status_code >= 500:
            hint = "WHMCS or its web server failed; look at its error log, then retry"
        elif response.status_code == 404:
            hint = "check [billing] url: it must be the WHMCS root (…/includes/api.php is added)"
        else:
            hint = (
                "this is not the WHMCS API: check [billing] url, and any proxy or WAF in front "
                "of WHMCS"
            )
        title = _html_title(snippet)
        return BillingBadResponse(
            f"WHMCS {action}: HTTP {response.status_code} {kind}, not a WHMCS API answer"
            + (f" ({title})" if title else ""),
            hint,
            action=action,
        )

    # --------------------------------------------------------------- actions
    def read_orders(
        self, status: str | None = None, *, page_size: int = 100, max_pages: int = MAX_PAGES
    ) -> OrderListing:
        """GetOrders, page by page. The offset is our own (a server that ignores
        ``limitstart`` or lies in ``startnumber`` cannot make us loop); reading stops on a
        short page, a page seen before, or past ``max_pages`` (then BillingBadResponse).
        A record that cannot be read is listed in ``rejected``; the others are kept."""
        listing = OrderListing()
        seen: set[int] = set()
        pages: set[tuple[str, ...]] = set()
        start = 0
        for _ in range(max_pages):
            body = self.call("GetOrders", status=status, limitstart=start, limitnum=page_size)
            page = as_list(body.get("orders"), "order")
            signature = tuple(str(raw.get("id")) for raw in page)
            if signature in pages:
                listing.warnings.append(
                    f"WHMCS sent the same page of orders again at offset {start} (it, or a "
                    "proxy in front of it, ignores limitstart); read the first "
                    f"{len(seen)} orders only"
                )
                return listing
            pages.add(signature)
            for raw in page:
                try:
                    order = parse_order(raw)
                except BadRecord as exc:
                    listing.rejected.append(exc.message)
                    continue
                if order.id in seen:
                    listing.rejected.append(
                        f"WHMCS sent order {order.id} twice in one answer; the first copy was kept"
                    )
                    continue
                seen.add(order.id)
                listing.orders.append(order)
            start += len(page)
            total = as_int(body.get("totalresults"))
            if len(page) < page_size or (total is not None and start >= total):
                return listing
        raise BillingBadResponse(
            f"WHMCS GetOrders: still sending full pages after {max_pages} pages "
            f"({max_pages * page_size} orders)",
            "check that WHMCS honours limitstart/limitnum (and any proxy in front of it); "
            "the queue keeps what it had",
            action="GetOrders",
        )

    def get_orders(self, status: str | None = None, *, page_size: int = 100) -> list[WhmcsOrder]:
        return self.read_orders(status, page_size=page_size).orders

    def get_order(self, order_id: int) -> WhmcsOrder | None:
        body = self.call("GetOrders", id=order_id)
        page = as_list(body.get("orders"), "order")
        for raw in page:
            order = parse_order(raw)
            if order.id == int(order_id):
                return order
        return None

    def get_invoice_paid_at(self, invoice_id: int) -> datetime | None:
        """When the invoice was paid (WHMCS server-local time), or None while it is unpaid."""
        body = self.call("GetInvoice", invoiceid=invoice_id)
        if as_str(body.get("status")).lower() != "paid":
            return None
        return as_datetime(body.get("datepaid"))

    def get_service(self, service_id: int) -> WhmcsService | None:
        body = self.call("GetClientsProducts", serviceid=service_id)
        for raw in as_list(body.get("products"), "product"):
            service = parse_service(raw)
            if service.id == int(service_id):
                return service
        return None

    def get_client(self, client_id: int) -> WhmcsClientDetails:
        body = self.call("GetClientsDetails", clientid=client_id)
        # current WHMCS nests the fields under "client"; older ones only at the top level
        nested = body.get("client")
        data: Mapping[str, Any] = nested if isinstance(nested, Mapping) else body
        return WhmcsClientDetails(
            id=as_int(data.get("id", data.get("userid")), client_id) or client_id,
            firstname=as_str(data.get("firstname")),
            lastname=as_str(data.get("lastname")),
            email=as_str(data.get("email")),
            companyname=as_str(data.get("companyname")),
            status=as_str(data.get("status")),
        )

    def accept_order(
        self, order_id: int, *, send_email: bool = False, autosetup: bool = False
    ) -> None:
        """AcceptOrder. Raises OrderNotPending if WHMCS says it is not Pending (any more)."""
        self.call("AcceptOrder", orderid=order_id, sendemail=send_email, autosetup=autosetup)

    def update_client_product(
        self,
        service_id: int,
        *,
        dedicated_ip: str | None = None,
        assigned_ips: list[str] | str | None = None,
        username: str | None = None,
        password: str | None = None,
        status: str | None = None,
        domain: str | None = None,
        notes: str | None = None,
        customfields: Mapping[int, str] | None = None,
    ) -> None:
        if isinstance(assigned_ips, (list, tuple)):
            assigned_ips = "\n".join(assigned_ips)  # one IP per line, as the admin UI shows them
        self.call(
            "UpdateClientProduct",
            serviceid=service_id,
            dedicatedip=dedicated_ip,
            assignedips=assigned_ips,
            serviceusername=username,
            servicepassword=password,
            status=status,
            domain=domain,
            notes=notes,
            customfields=dumps_base64(customfields) if customfields else None,
        )

    def log_activity(self, description: str, *, client_id: int | None = None) -> None:
        self.call("LogActivity", description=description, clientid=client_id)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # PHP reads "false" as true
    return str(value)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _html_title(text: str) -> str:
    lower = text.lower()
    start = lower.find("<title>")
    end = lower.find("</title>")
    if 0 <= start < end:
        return text[start + 7 : end].strip()[:80]
    return ""


def open_billing_client(
    billing: BillingConfig, secret: str | None, *, retries: int = 2
) -> WhmcsClient:
    """The client for ``Config.billing`` (kind "whmcs"); ``secret`` from
    console.secrets.billing_secret(...). Raises BillingError saying what is missing."""
    from .errors import BillingError

    if billing.kind != "whmcs":
        raise BillingError(
            f'billing kind is "{billing.kind}": there is no WHMCS to talk to',
            'set [billing] kind = "whmcs" with url and identifier, or use '
            "`vps-console orders import FILE` / `orders add`",
        )
    if not secret:
        raise BillingError(
            "no WHMCS API secret",
            "store it with `vps-console credentials set billing` or set VPS_CONSOLE_BILLING_SECRET",
        )
    # BillingConfig refuses kind "whmcs" without both.
    assert billing.url and billing.identifier
    verify: ssl.SSLContext | bool = True
    if billing.ca_file is not None:  # a private CA, like the engines' ca_file
        verify = ssl.create_default_context(cafile=str(billing.ca_file.expanduser()))
    return WhmcsClient(
        billing.url,
        billing.identifier,
        secret,
        timeout=billing.timeout_seconds,
        retries=retries,
        verify=verify,
    )
