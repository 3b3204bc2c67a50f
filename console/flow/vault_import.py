"""Putting keys in the vault: a file of keys (one per line, or CSV rows) checked line by
line, duplicates refused, the good keys kept (each in the secret store, its reference in
the database). Bad lines are named with their number and reason, never with the key."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from console.flow.licenses import KEY_KINDS, check_license, normalise_license
from console.flow.vault import (
    LicenseAction,
    LicenseKey,
    VaultError,
    describe,
    fingerprint,
    new_reference,
    record,
    secret_name,
)
from console.secrets import SecretStore, mask
from console.store import licenses as repo
from console.store.db import Store

__all__ = ["BadLine", "ImportReport", "import_keys", "parse_key_file"]


@dataclass(frozen=True)
class BadLine:
    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


@dataclass
class ImportReport:
    imported: list[LicenseKey] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    number: int
    key: str
    kind: str
    product: str
    note: str


_HEADER = ("key", "kind", "product", "note")


def parse_key_file(
    text: str, *, kind: str | None = None, product: str = "", note: str = ""
) -> tuple[list[_Entry], list[BadLine]]:
    """One key per line, or CSV rows `key, kind, product, note` (an optional header row;
    empty columns take --kind / --product / --note). Blank lines and `#` comments are
    skipped. Reasons never quote the key."""
    if kind is not None and kind not in KEY_KINDS:
        raise VaultError(
            f"--kind {kind!r} is not a kind the vault keeps", "use one of: " + ", ".join(KEY_KINDS)
        )
    entries: list[_Entry] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "," in line:
            row = [cell.strip() for cell in next(csv.reader(io.StringIO(line)))]
            if [cell.lower() for cell in row[: len(_HEADER)]] == list(_HEADER[: len(row)]):
                continue  # the header row
            if len(row) > len(_HEADER):
                bad.append(
                    BadLine(
                        number, f"{len(row)} columns; expected at most 4: key, kind, product, note"
                    )
                )
                continue
            row += [""] * (len(_HEADER) - len(row))
            value, line_kind, line_product, line_note = row
            line_kind = line_kind.lower() or (kind or "")
            line_product = line_product or product
            line_note = line_note or note
        else:
            value, line_kind, line_product, line_note = line, kind or "", product, note
        if not line_kind:
            bad.append(
                BadLine(number, "no kind: give --kind, or a kind column (windows, mssql or plesk)")
            )
            continue
        if line_kind not in KEY_KINDS:
            bad.append(
                BadLine(
                    number,
                    f"kind {line_kind[:20]!r} is not one the vault keeps "
                    f"(use {', '.join(KEY_KINDS)})",
                )
            )
            continue
        problem = check_license(line_kind, value)
        if problem is not None:
            bad.append(BadLine(number, problem.message))
            continue
        entries.append(
            _Entry(number, normalise_license(line_kind, value), line_kind, line_product, line_note)
        )
    return entries, bad


def import_keys(
    store: Store,
    secrets: SecretStore,
    text: str,
    *,
    actor: str,
    kind: str | None = None,
    product: str = "",
    note: str = "",
) -> ImportReport:
    """Validate every line, refuse duplicates (in the file, or already in the vault in any
    state), keep the good keys: each in the secret store, its reference in the database."""
    entries, bad = parse_key_file(text, kind=kind, product=product, note=note)
    report = ImportReport(bad=bad)
    first_seen: dict[str, int] = {}
    with store.session() as session:
        known = repo.by_fingerprint(session, [fingerprint(e.key) for e in entries])
    for entry in entries:
        digest = fingerprint(entry.key)
        if digest in first_seen:
            report.bad.append(BadLine(entry.number, f"the same key as line {first_seen[digest]}"))
            continue
        first_seen[digest] = entry.number
        if digest in known:
            existing = known[digest]
            report.bad.append(
                BadLine(
                    entry.number, f"already in the vault as {existing.id} ({describe(existing)})"
                )
            )
            continue
        key = LicenseKey(
            id=new_reference(),
            kind=entry.kind,
            product=entry.product,
            masked=mask(entry.key),
            fingerprint=digest,
            note=entry.note,
            secret_name="",
            imported_by=actor,
        )
        key.secret_name = secret_name(key.id, key.kind)
        # The secret first: a row whose key is missing would be handed out; a key whose row
        # is missing is only an unused entry.
        secrets.set(key.secret_name, entry.key)
        try:
            with store.session() as session:
                session.add(key)
                session.flush()
                record(
                    session,
                    LicenseAction.IMPORTED,
                    key,
                    actor=actor,
                    message=f"{key.kind} key {key.masked} imported"
                    + (f" for {key.product}" if key.product else ""),
                )
        except IntegrityError:  # imported meanwhile by someone else
            secrets.delete(key.secret_name)
            report.bad.append(
                BadLine(entry.number, "already in the vault (imported meanwhile by another run)")
            )
            continue
        report.imported.append(key)
    report.bad.sort(key=lambda line: line.number)
    return report
