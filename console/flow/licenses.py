"""License keys by kind: what each looks like, and how to write it canonically.

- windows, mssql: a 25-character product key, five groups of five joined by dashes, in the
  product-key alphabet BCDFGHJKMPQRTVWXY2346789 (no vowels, no 0/1/5, no L/S/Z: nothing
  that reads as something else). Keys since Windows 8 / SQL Server 2012 may carry one "N".
- plesk: an activation code, five groups of six letters/digits joined by dashes
  (e.g. A00Q00-28H603-...), what `plesk bin license --install CODE` takes.
- cpanel: licensed by the VM's IP address at cPanel's licensing server, so there is no
  key to paste; the first-boot script only refreshes the license once the IP is up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.errors import BadInput

PRODUCT_KEY_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
KEYLESS_KINDS = ("cpanel",)
KEY_KINDS = ("windows", "mssql", "plesk")
KIND_LABELS = {
    "windows": "Windows product key",
    "mssql": "SQL Server product key",
    "plesk": "Plesk activation code",
    "cpanel": "cPanel license",
}
_PRODUCT_KEY = re.compile(
    rf"^[{PRODUCT_KEY_ALPHABET}N]{{5}}(-[{PRODUCT_KEY_ALPHABET}N]{{5}}){{4}}$"
)
_PLESK = re.compile(r"^[A-Z0-9]{6}(-[A-Z0-9]{6}){4}$")


@dataclass(frozen=True)
class FieldProblem:
    """A value that cannot be used: which field, what is wrong, and how to fix it."""

    field: str
    message: str
    fix: str


def normalise_license(kind: str, value: str) -> str:
    """The canonical spelling: trimmed, upper case, dashes where they belong."""
    compact = re.sub(r"[\s\-]", "", value or "").upper()
    if kind in ("windows", "mssql") and len(compact) == 25:
        return "-".join(compact[i : i + 5] for i in range(0, 25, 5))
    if kind == "plesk" and len(compact) == 30:
        return "-".join(compact[i : i + 6] for i in range(0, 30, 6))
    return (value or "").strip().upper()


def check_license(kind: str, value: str | None) -> FieldProblem | None:
    field = f"license.{kind}"
    if kind not in KIND_LABELS:
        return FieldProblem(
            field,
            f"{kind!r} is not a license kind the console knows",
            "use one of: " + ", ".join(KIND_LABELS),
        )
    if kind in KEYLESS_KINDS:
        if value and value.strip():
            return FieldProblem(
                field,
                "cPanel is licensed by the VM's IP address; there is no key to enter",
                "leave it empty; make sure the IP is licensed "
                "in cPanel Manage2 once the VM has one",
            )
        return None
    label = KIND_LABELS[kind]
    if not value or not value.strip():
        return FieldProblem(
            field,
            f"the {label} is missing",
            f"paste the {label} for this order (--license {kind}=@FILE or "
            f"{kind}=- to read it from stdin)",
        )
    key = normalise_license(kind, value)
    if kind in ("windows", "mssql"):
        if not _PRODUCT_KEY.match(key):
            bad = sorted({c for c in key.replace("-", "") if c not in PRODUCT_KEY_ALPHABET + "N"})
            why = (
                f"it has characters no product key uses ({''.join(bad)})"
                if bad
                else "it is not five groups of five characters"
            )
            return FieldProblem(
                field,
                f"this is not a {label}: {why}",
                "enter XXXXX-XXXXX-XXXXX-XXXXX-XXXXX using only "
                f"{PRODUCT_KEY_ALPHABET} (and at most one N)",
            )
        if key.count("N") > 1:
            return FieldProblem(
                field,
                f"this is not a {label}: it has more than one N",
                "check the key for typos (N appears at most once)",
            )
        return None
    if not _PLESK.match(key):
        return FieldProblem(
            field,
            f"this is not a {label}: expected five groups of six letters or digits",
            "enter it like A00Q00-XXXXXX-XXXXXX-XXXXXX-"
            "XXXXXX, as shown in the license e-mail or Partner Central",
        )
    return None


def validated_license(kind: str, value: str) -> str:
    """A key as it may be stored (canonical spelling), or BadInput naming the field and the
    fix. Every entry (CLI flags, the TUI form, `credentials set license`) goes through it;
    the first-boot builders check again before use."""
    key = normalise_license(kind, value)
    problem = check_license(kind, key)
    if problem is not None:
        raise BadInput(f"{problem.field}: {problem.message}", problem.fix)
    return key
