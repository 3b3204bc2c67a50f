"""From what the customer bought to what we provision: resources and template.

Input is a billing-neutral :class:`OrderRequest` (built from a WHMCS service, an
import row or a manual order). Output is a :class:`MappingResult` with either a
template and resources, or ``problems`` that each say what to fix and where.
Nothing is guessed: an unknown product, an option we cannot read, a size
without a unit — all become problems, and the order shows as "needs mapping".

Which catalog entry applies (``[[catalog.products]] billing_product``):
  1. ``"<pid or product name> / <OS choice>"`` when the order carries an OS or
     template choice (custom field or option "Operating System", "OS",
     "Template", "Image") — e.g. ``"VPS Linux Bare / Ubuntu 22.04"``;
  2. otherwise ``"<pid>"`` or ``"<product name>"``. If OS-specific entries
     exist for the product but none for this OS, that is a problem, not a
     fallback to the plain entry.
Matching ignores case and repeated spaces.

Resources come from what was billed: the product's configurable options (a name with
"CPU", "RAM", "Disk" … in it), else the catalog entry's defaults. A custom field is free
text the customer types, so it counts only where the entry names that exact field
(``fields = {disk = "Disk GB"}``); a custom field is never read because of words in its
name. Every size is bounded twice, by the entry's ``max_*`` and by absolute sanity bounds,
before it is stored: out of range makes the order "needs mapping" with the reason.

Option names and values may use the ``key|Display`` convention
(``cpu|CPU Cores`` = ``2|2 vCPU``); both halves are tried, the display half
first since it usually carries the unit. RAM and disk need a unit ("4 GB",
"4096 MB", "4G"); a bare CPU count is fine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from console.config import CatalogConfig, ProductMapping
from console.store.models import Order
from console.store.states import OrderStatus
from console.units import SizeError, parse_mib

if TYPE_CHECKING:
    from console.billing.whmcs import WhmcsService

# Used with fullmatch (and \Z, not $, which also matches before a trailing newline).
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)"
    r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?\Z",
    re.IGNORECASE | re.ASCII,
)
# Whatever a product allows, nothing beyond these reaches the store (or the engine).
SANITY_BOUNDS = {"cpus": 512, "memory": 16 * 1024 * 1024, "disk": 64 * 1024}  # MiB, GiB


def valid_hostname(name: str) -> bool:
    """RFC 1123 host name, the whole string (a trailing newline is not a host name)."""
    return isinstance(name, str) and HOSTNAME_RE.fullmatch(name) is not None


_CPU_VALUE = re.compile(
    r"^\s*(\d{1,3})\s*(x\s*)?(v?cpus?|v?cores?|vcpus?|threads?)?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class OrderRequest:
    """What a customer ordered, whatever the source."""

    product_id: str | None
    product_name: str
    options: tuple[tuple[str, str], ...] = ()  # (option name, value), as billed
    custom_fields: tuple[tuple[str, str], ...] = ()
    hostname: str = ""
    os_choice: str | None = None  # explicit (file/manual intake)
    cpus: str | int | None = None  # explicit sizes override options
    memory: str | int | None = None
    disk: str | int | None = None


@dataclass
class MappingResult:
    mapping: ProductMapping | None
    template: str | None
    template_version: str | int | None
    cpus: int | None
    memory_mib: int | None
    disk_gib: int | None
    os_choice: str | None
    hostname: str | None
    license_kinds: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.template is not None

    @property
    def problem_text(self) -> str | None:
        return "; ".join(self.problems) if self.problems else None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _halves(text: str) -> list[str]:
    """ "ram|RAM" → ["RAM", "ram"]: display first, then key; plain text → [text]."""
    if "|" in text:
        key, display = text.split("|", 1)
        return [display.strip(), key.strip()]
    return [text.strip()]


def _kind_of(option_name: str) -> str | None:
    words = " ".join(_halves(option_name)).casefold()
    if re.search(r"\b(operating system|os|template|image|distribution|distro)\b", words):
        return "os"
    if re.search(r"\b(ram|memory|mem)\b", words):
        return "memory"
    if re.search(r"\b(disk|storage|ssd|hdd|nvme|space)\b", words):
        return "disk"
    if re.search(r"\b(v?cpus?|v?cores?|processors?|vcpus?)\b", words):
        return "cpus"
    return None


def _read_cpus(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        candidates = [str(value)]
    else:
        candidates = _halves(str(value))
    for text in candidates:
        match = _CPU_VALUE.match(text)
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    raise ValueError(f'{value!r} is not a CPU count; write it like "2" or "2|2 vCPU"')


def _read_size(value: str | int, parse: Callable[[str], int]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'{value!r} has no unit; write it like "4 GB" or "4096 MB"')
    errors = []
    for text in _halves(str(value)):
        try:
            return parse(text)
        except SizeError as exc:
            errors.append(str(exc))
    raise ValueError(errors[0] if errors else f"{value!r} is not a size")


def _mib_strict(text: str) -> int:
    return parse_mib(text, bare_unit="")  # "" has no factor: a bare number is refused


def _gib_strict(text: str) -> int:
    mib = _mib_strict(text)
    if mib % 1024:
        raise SizeError(f"{text!r} is not a whole number of GiB")
    return mib // 1024


def _shown(value: object) -> str:
    """A value for a problem text: quoted, and short (a customer may type a novel)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:36] + "…" + text[-1]


def _entry_hint(key: str) -> str:
    return f'[[catalog.products]] billing_product = "{key}"'


def find_mapping(
    catalog: CatalogConfig, request: OrderRequest, os_choice: str | None
) -> tuple[ProductMapping | None, str | None]:
    """The catalog entry for this order, or (None, problem naming the key to add)."""
    names = [n for n in (request.product_id, request.product_name) if n]
    by_key = {_norm(p.billing_product): p for p in catalog.products}
    if os_choice:
        for name in names:
            for choice in _halves(os_choice):
                entry = by_key.get(_norm(f"{name} / {choice}"))
                if entry is not None:
                    return entry, None
        os_specific = [
            p
            for p in catalog.products
            if any(_norm(p.billing_product).startswith(_norm(n) + " /") for n in names)
        ]
        if os_specific:
            display = request.product_name or request.product_id
            return None, (
                f"no catalog entry for {display!r} with OS {_halves(os_choice)[0]!r}; add "
                f"{_entry_hint(f'{display} / {_halves(os_choice)[0]}')} with its template"
            )
    for name in names:
        entry = by_key.get(_norm(name))
        if entry is not None:
            return entry, None
    label = f"product {request.product_id} " if request.product_id else "product "
    display = request.product_name or request.product_id or "?"
    return None, (
        f'{label}"{display}" is not in the catalog; add {_entry_hint(display)} '
        'with template = "<template name>" to the config'
    )


class OrderProduct(Protocol):
    """What finding an order's catalog entry reads: a stored Order or the queue's record."""

    @property
    def product_id(self) -> str | None: ...
    @property
    def product_name(self) -> str: ...
    @property
    def os_choice(self) -> str | None: ...


def mapping_for_order(catalog: CatalogConfig, order: OrderProduct) -> ProductMapping | None:
    """The catalog entry an order in the store maps to, found the way the intake found it
    (by product name or pid, and "Product / OS" when the order has an OS choice)."""
    request = OrderRequest(product_id=order.product_id, product_name=order.product_name or "")
    return find_mapping(catalog, request, order.os_choice)[0]


def map_order(request: OrderRequest, catalog: CatalogConfig) -> MappingResult:
    problems: list[str] = []
    found: dict[str, tuple[str, str]] = {}  # kind -> (option name, value); first wins
    for name, value in request.options:  # billed: the shop's own configurable options
        kind = _kind_of(name)
        if kind and kind not in found:
            found[kind] = (name, value)
    # A custom field may only choose among the product's own per-OS entries, never a size.
    guessed_os = next(
        (value for name, value in request.custom_fields if _kind_of(name) == "os" and value), None
    )
    os_choice = request.os_choice or (
        found["os"][1] if "os" in found and found["os"][1] else guessed_os
    )
    if os_choice:
        os_choice = _halves(os_choice)[0]
    mapping, problem = find_mapping(catalog, request, os_choice)
    if problem:
        problems.append(problem)
    entry_key = (
        mapping.billing_product if mapping else (request.product_name or request.product_id or "?")
    )

    named = dict(mapping.fields) if mapping is not None else {}
    fields_by_name = {_norm(name): (name, value) for name, value in request.custom_fields}

    def resolve(
        kind: str,
        explicit: str | int | None,
        reader: Callable[[str | int], int],
        default: int | None,
        config_key: str,
    ) -> int | None:
        value: str | int
        if explicit not in (None, ""):
            label, value = f"{kind} {_shown(explicit)}", explicit
        elif kind in named and _norm(named[kind]) in fields_by_name:
            field_name, value = fields_by_name[_norm(named[kind])]
            label = f'{kind}: custom field "{field_name}" = {_shown(value)}'
        elif kind in found:
            opt_name, value = found[kind]
            label = f'{kind}: option "{_halves(opt_name)[0]}" = {_shown(value)}'
        else:
            return default  # the product has no such option: the catalog default applies
        try:
            if str(value).strip() == "":
                raise ValueError("it is empty")
            return reader(value)
        except OverflowError:  # "9" * 400 GB: a float that is infinite
            problems.append(f"{label} is not a size any VM can have; correct the order in billing")
            return None
        except ValueError as exc:
            problems.append(
                f"{label} cannot be read ({exc}); fix it in billing, or drop the option "
                f"and set {config_key} under {_entry_hint(entry_key)}"
            )
            return None

    cpus = resolve("cpus", request.cpus, _read_cpus, mapping.cpus if mapping else None, "cpus")
    memory = resolve(
        "memory",
        request.memory,
        lambda v: _read_size(v, _mib_strict),
        mapping.memory_mib if mapping else None,
        'memory = "4GiB"',
    )
    disk = resolve(
        "disk",
        request.disk,
        lambda v: _read_size(v, _gib_strict),
        mapping.disk_gib if mapping else None,
        'disk = "80GiB"',
    )

    sizes = {"cpus": cpus, "memory": memory, "disk": disk}
    limits = (
        {
            "cpus": (mapping.max_cpus, "max_cpus"),
            "memory": (mapping.max_memory_mib, "max_memory"),
            "disk": (mapping.max_disk_gib, "max_disk"),
        }
        if mapping is not None
        else {}
    )
    units = {"cpus": "", "memory": " MiB", "disk": " GiB"}
    for kind, size in sizes.items():
        if size is None:
            continue
        if size < 1 or size > SANITY_BOUNDS[kind]:
            problems.append(
                f"{kind} {size}{units[kind]} is not a size any VM can have (1 to "
                f"{SANITY_BOUNDS[kind]}{units[kind]}); correct the order in billing"
            )
            sizes[kind] = None
        elif kind in limits and size > limits[kind][0]:
            limit, name = limits[kind]
            problems.append(
                f"{kind} {size} is above the limit {limit} ({name} under {_entry_hint(entry_key)})"
            )
    cpus, memory, disk = sizes["cpus"], sizes["memory"], sizes["disk"]

    hostname_field = _norm(named.get("hostname", ""))
    hostname = request.hostname.strip() or next(
        (
            v.strip()
            for n, v in request.custom_fields
            if _norm(n)
            in (("hostname", "host name") + ((hostname_field,) if hostname_field else ()))
        ),
        "",
    )
    if hostname and not valid_hostname(hostname):
        problems.append(
            f"hostname {hostname!r} is not a valid host name; correct it in billing "
            "(service domain) or on the order"
        )

    return MappingResult(
        mapping=mapping,
        template=mapping.template if mapping else None,
        template_version=mapping.version if mapping else None,
        cpus=cpus,
        memory_mib=memory,
        disk_gib=disk,
        os_choice=os_choice,
        hostname=hostname.rstrip(".").lower() or None,
        license_kinds=tuple(mapping.license_kinds) if mapping else (),
        problems=problems,
    )


def request_from_service(service: WhmcsService) -> OrderRequest:
    """A WHMCS service (console.billing.whmcs.WhmcsService) as an OrderRequest."""
    return OrderRequest(
        product_id=str(service.pid) if service.pid is not None else None,
        product_name=service.name,
        options=tuple((o.name, o.value) for o in service.configoptions),
        custom_fields=tuple((c.name, c.value) for c in service.customfields),
        hostname=service.domain,
    )


def apply_mapping(
    row: Order, request: OrderRequest, catalog: CatalogConfig, extra_problem: str | None = None
) -> None:
    """Write a mapping outcome onto an order row: "new" when clean, else "needs_mapping"."""
    result = map_order(request, catalog)
    problems = list(result.problems) + ([extra_problem] if extra_problem else [])
    row.template_name = result.template
    row.cpus, row.memory_mib, row.disk_gib = result.cpus, result.memory_mib, result.disk_gib
    row.os_choice, row.hostname = result.os_choice, result.hostname
    row.problem = "; ".join(problems) if problems else None
    row.status = OrderStatus.NEEDS_MAPPING if problems or not result.template else OrderStatus.NEW
    row.data = {
        **row.data,
        "template_version": result.template_version,
        "license_kinds": list(result.license_kinds),
    }
