"""What an admin password may be before the console hands it to a guest and a customer.

A generated password always passes. One typed or piped in (`credentials set
admin-password`, `Runner.launch(admin_password=...)`) is checked here once, at entry, with a
message naming the field and the fix; the first-boot builders check again what they must
never carry (control characters) right before use.
"""

from __future__ import annotations

import string
import unicodedata

from console.errors import BadInput

FIELD = "admin password"
MIN_LENGTH = 12
# Windows' unattend AdministratorPassword and most control panels stop well before this.
MAX_LENGTH = 127
FIX = "use `vps-console credentials set admin-password ORDER` again with another value"


def unprintable(value: str) -> bool:
    """Characters no terminal, sysprep XML or cloud-init YAML should carry: control and
    format characters (ESC, NUL, newlines, bidi overrides, zero-width marks)."""
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value)


def _classes(value: str) -> int:
    upper = any(char.isupper() for char in value)
    lower = any(char.islower() for char in value)
    digit = any(char.isdigit() for char in value)
    other = any(not char.isalnum() for char in value)
    return sum((upper, lower, digit, other))


def password_problem(value: str) -> str | None:
    """Why `value` cannot be an admin password, or None."""
    if unprintable(value):
        return "has control or invisible characters (pasted escape codes, tabs or newlines?)"
    if value != value.strip(string.whitespace + "\u00a0\u3000"):
        return "starts or ends with a space, which is lost when it is copied from an e-mail"
    if len(value) < MIN_LENGTH:
        return f"is {len(value)} characters long; it needs at least {MIN_LENGTH}"
    if len(value) > MAX_LENGTH:
        return f"is {len(value)} characters long; Windows takes at most {MAX_LENGTH}"
    # Windows' default policy asks for three of the four classes; a Linux-only product
    # gets the same so one order type never hands out what another would refuse.
    if _classes(value) < 3:
        return "needs three of: upper case, lower case, digits, symbols (Windows refuses it)"
    return None


def validated_admin_password(value: str) -> str:
    problem = password_problem(value)
    if problem is not None:
        raise BadInput(f"{FIELD}: {problem}", FIX)
    return value
