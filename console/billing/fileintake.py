"""Orders without WHMCS: import from a file, or type one in.

File format (``vps-console orders import FILE``), JSON or CSV by extension:

  CSV, UTF-8, first line the header; columns in any order, unknown ones refused:
      id,client_name,client_email,client_company,product,cpus,memory,disk,os,hostname,notes
  JSON: a list of objects with the same keys.

  required  id            unique order id, letters/digits/._- (e.g. "INV-1042")
            client_name   customer's name
            product       a catalog entry's billing_product (name or id)
  optional  client_email, client_company, notes
            cpus          whole number, e.g. 2
            memory        with a unit: "4GiB", "4096 MB", "4G"
            disk          with a unit: "80GiB", "80 GB"
            os            OS choice, for catalog entries like "Product / OS"
            hostname      the server's host name

Empty optional cells take the catalog entry's defaults. Every bad row is
reported with its line and field; good rows are imported anyway. A row whose
id is already in the queue from an earlier import of the file is skipped, so
importing the same file twice is harmless. A product missing from the catalog
is not a bad row: the order is kept as "needs mapping" with the fix.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from console.billing.errors import ImportFileError
from console.billing.mapping import OrderRequest, apply_mapping, map_order, valid_hostname
from console.config import CatalogConfig
from console.errors import BadInput
from console.identity import current_actor
from console.store import audit
from console.store.db import Store
from console.store.models import Order, utcnow
from console.store.states import OrderStatus
from console.text_safety import safe_text
from console.units import SizeError, parse_mib

COLUMNS = (
    "id",
    "client_name",
    "client_email",
    "client_company",
    "product",
    "cpus",
    "memory",
    "disk",
    "os",
    "hostname",
    "notes",
)
REQUIRED = ("id", "client_name", "product")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass
class ImportReport:
    path: str
    imported: list[str] = field(default_factory=list)
    needs_mapping: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "imported": self.imported,
            "needs_mapping": self.needs_mapping,
            "skipped_existing": self.skipped_existing,
            "errors": [
                {"line": e.line, "field": e.field, "message": e.message} for e in self.errors
            ],
        }


# ------------------------------------------------------------------ reading
def _read_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError(
            "the CSV file is empty", "its first line must be the header: " + ",".join(COLUMNS)
        )
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        parts = ([f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else []) + (
            [f"missing column(s) {', '.join(missing)}"] if missing else []
        )
        raise ImportFileError(
            f"line 1 (header): {'; '.join(parts)}",
            "the header must use these names: " + ",".join(COLUMNS),
        )
    reader.fieldnames = header
    rows = []
    start = 2
    for raw in reader:
        rows.append((start, raw))
        start = reader.line_num + 1  # a quoted cell may span lines
    return rows


def _read_json(text: str) -> list[tuple[int, Any]]:
    """Each list item with the line it starts on (json.loads keeps no positions)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos : pos + 1] == "[":
        raise ImportFileError(
            "the JSON file must hold a list of orders ([{...}, ...])",
            "see `vps-console orders import --help` for the keys",
        )
    pos += 1
    rows: list[tuple[int, Any]] = []
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text):
                raise ImportFileError(
                    "the JSON list is not closed with ]", "check the end of the file"
                )
            if text[pos] == "]":
                return rows
            item, end = decoder.raw_decode(text, pos)
            rows.append((text.count("\n", 0, pos) + 1, item))
            pos = end
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"line {exc.lineno}: not valid JSON ({exc.msg})", "fix that line; nothing was imported"
        ) from None


def read_rows(path: Path) -> list[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(
            f"cannot read {path}: {exc}", "check the path and that it is UTF-8 text"
        ) from None
    if path.suffix.lower() == ".json":
        return _read_json(text)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(text)
    raise ImportFileError(f"{path.name}: unknown file type", "use a .json or .csv file")


# --------------------------------------------------------------- validating
def validate_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean values and (field, message) problems of one order's fields."""
    errors: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    unknown = [k for k in raw if k not in COLUMNS]
    for key in unknown:
        errors.append((str(key), f"unknown field; allowed: {', '.join(COLUMNS)}"))
    for key in COLUMNS:
        value = raw.get(key)
        # customer data, whoever typed the file: made safe for display as it enters
        clean[key] = (
            "" if value is None else (safe_text(value.strip()) if isinstance(value, str) else value)
        )
    for key in REQUIRED:
        if clean[key] in ("", None):
            errors.append((key, "required, but empty"))
    if clean["id"] != "" and not _ID.match(str(clean["id"])):
        errors.append(("id", f"{clean['id']!r} may use letters, digits and . _ - only (max 64)"))
    clean["id"] = str(clean["id"])
    if clean["client_email"] and not _EMAIL.match(str(clean["client_email"])):
        errors.append(("client_email", f"{clean['client_email']!r} is not an email address"))
    if clean["cpus"] != "":
        try:
            cpus = int(str(clean["cpus"]))
            if cpus < 1:
                raise ValueError
            clean["cpus"] = cpus
        except ValueError:
            errors.append(("cpus", f"{clean['cpus']!r} is not a whole number of CPUs, e.g. 2"))
    for key, bare in (("memory", ""), ("disk", "")):
        if clean[key] != "":
            try:
                mib = parse_mib(str(clean[key]), bare_unit=bare)
                if key == "disk" and mib % 1024:
                    raise SizeError(f"{clean[key]!r} is not a whole number of GiB")
            except SizeError as exc:
                errors.append((key, str(exc)))
    if clean["hostname"] and not valid_hostname(str(clean["hostname"])):
        errors.append(("hostname", f"{clean['hostname']!r} is not a valid host name"))
    return clean, errors


def _new_row(clean: dict[str, Any], source: str, catalog: CatalogConfig) -> Order:
    request = OrderRequest(
        product_id=None,
        product_name=str(clean["product"]),
        hostname=str(clean["hostname"] or ""),
        os_choice=clean["os"] or None,
        cpus=clean["cpus"] or None,
        memory=clean["memory"] or None,
        disk=clean["disk"] or None,
    )
    row = Order(
        id=clean["id"],
        source=source,
        client_name=str(clean["client_name"]),
        client_email=str(clean["client_email"]),
        client_company=str(clean["client_company"]),
        product_name=str(clean["product"]),
        notes=str(clean["notes"] or ""),
        paid_at=utcnow(),
        seen_at=utcnow(),
        raw={k: v for k, v in clean.items() if v not in ("", None)},
        data={
            "request": {
                "product_name": request.product_name,
                "hostname": request.hostname,
                "os_choice": request.os_choice,
                "cpus": request.cpus,
                "memory": request.memory,
                "disk": request.disk,
            }
        },
    )
    mapping = map_order(request, catalog)
    if mapping.mapping is not None:
        row.product_id = mapping.mapping.billing_product
    apply_mapping(row, request, catalog)
    return row


# ----------------------------------------------------------------- importing
def import_orders(
    store: Store, path: str | Path, catalog: CatalogConfig, *, actor: str | None = None
) -> ImportReport:
    """Import a JSON or CSV file (format in the module docstring). Raises ImportFileError
    only when the file as a whole cannot be read; row problems are in the report."""
    path = Path(path)
    report = ImportReport(path=str(path))
    actor = actor or current_actor()
    seen_ids: dict[str, int] = {}
    for line, raw in read_rows(path):
        if not isinstance(raw, dict):
            report.errors.append(RowError(line, "(row)", "each order must be an object {...}"))
            continue
        clean, problems = validate_fields(raw)
        if clean["id"] in seen_ids:
            problems.append(
                (
                    "id",
                    f"{clean['id']!r} is used twice in this file "
                    f"(first on line {seen_ids[clean['id']]})",
                )
            )
        elif clean["id"]:
            seen_ids[clean["id"]] = line
        if problems:
            report.errors.extend(RowError(line, f, m) for f, m in problems)
            continue
        row = _new_row(clean, "file", catalog)
        with store.session() as session:
            existing = session.get(Order, row.id)
        if existing is not None:
            if existing.source == "file":
                report.skipped_existing.append(row.id)
            else:
                report.errors.append(
                    RowError(
                        line,
                        "id",
                        f"order {row.id} already exists (from {existing.source}); use another id",
                    )
                )
            continue
        try:
            with store.session() as session:
                session.add(row)
                audit.record(
                    session,
                    "intake",
                    actor=actor,
                    order_id=row.id,
                    message=f"imported from {path.name} line {line}",
                )
        except IntegrityError:
            report.skipped_existing.append(row.id)
            continue
        report.imported.append(row.id)
        if row.status == OrderStatus.NEEDS_MAPPING:
            report.needs_mapping.append(row.id)
    return report


def add_manual_order(
    store: Store,
    catalog: CatalogConfig,
    *,
    product: str,
    client_name: str,
    client_email: str = "",
    client_company: str = "",
    cpus: int | str | None = None,
    memory: str | None = None,
    disk: str | None = None,
    os: str | None = None,
    hostname: str | None = None,
    notes: str = "",
    order_id: str | None = None,
    actor: str | None = None,
) -> Order:
    """Create one order typed in by an engineer. Raises BadInput naming the bad field."""
    fields = {
        "id": order_id or "M-pending",
        "client_name": client_name,
        "client_email": client_email,
        "client_company": client_company,
        "product": product,
        "cpus": cpus,
        "memory": memory,
        "disk": disk,
        "os": os,
        "hostname": hostname,
        "notes": notes,
    }
    clean, problems = validate_fields(fields)
    if problems:
        raise BadInput(
            "; ".join(f"{f}: {m}" for f, m in problems),
            "correct the field and run the command again",
        )
    actor = actor or current_actor()
    for attempt in range(20):
        if not order_id:
            clean["id"] = _next_manual_id(store, attempt)
        row = _new_row(clean, "manual", catalog)
        try:
            with store.session() as session:
                session.add(row)
                audit.record(
                    session,
                    "intake",
                    actor=actor,
                    order_id=row.id,
                    message=f"manual order: {row.product_name} ({row.status})",
                )
            return row
        except IntegrityError:
            if order_id:
                raise BadInput(
                    f"id: order {order_id} already exists", "choose another id"
                ) from None
    raise BadInput("could not pick a free id for the manual order", "pass an explicit id")


def _next_manual_id(store: Store, bump: int) -> str:
    from sqlmodel import select

    with store.session() as session:
        count = len(session.exec(select(Order.id).where(Order.source == "manual")).all())
    return f"M-{count + 1 + bump}"
