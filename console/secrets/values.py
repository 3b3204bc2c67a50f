"""Secrets read from the store or the environment, masked for display, and generated."""

from __future__ import annotations

import os
import re
import secrets as _random
import string

from console.redaction import LICENSE_KEY, register_secret
from console.secrets.store import BILLING_SECRET, SecretStore, engine_secret

ENV_ENGINE_PASSWORD = "VPS_CONSOLE_ENGINE_PASSWORD"
ENV_BILLING_SECRET = "VPS_CONSOLE_BILLING_SECRET"


# -------------------------------------------------------- engine and billing secrets
def engine_env_variable(engine_name: str) -> str:
    return "VPS_CONSOLE_ENGINE_" + re.sub(r"[^A-Z0-9]", "_", engine_name.upper()) + "_PASSWORD"


def engine_password(
    store: SecretStore | None, engine_name: str, engine_count: int = 1
) -> str | None:
    """The engine's password: keyring first, then VPS_CONSOLE_ENGINE_<NAME>_PASSWORD, then
    (with a single engine configured) VPS_CONSOLE_ENGINE_PASSWORD."""
    value = store.get(engine_secret(engine_name)) if store is not None else None
    if not value:
        value = os.environ.get(engine_env_variable(engine_name))
    if not value and engine_count <= 1:
        value = os.environ.get(ENV_ENGINE_PASSWORD)
    register_secret(value)
    return value or None


def billing_secret(store: SecretStore | None) -> str | None:
    """The WHMCS API secret: keyring first, then VPS_CONSOLE_BILLING_SECRET."""
    value = store.get(BILLING_SECRET) if store is not None else None
    if not value:
        value = os.environ.get(ENV_BILLING_SECRET)
    register_secret(value)
    return value or None


# ------------------------------------------------------------------ masking, making
def mask(value: str | None) -> str:
    """A form safe to show and store: `…-7XK2Q` for license keys, `…a1B2` for the rest.

    Short values are hidden entirely: their last characters would be most of them.
    """
    if not value:
        return ""
    if LICENSE_KEY.fullmatch(value):  # groups of 4–6: the tail is one group of 4+
        return "…-" + value.rsplit("-", 1)[1]
    if len(value) < 8:
        return "••••"
    if len(value) < 16:
        return "…" + value[-2:]
    return "…" + value[-4:]


# No quotes, backslash, space, `$`, `<>&` or `!`: the password travels through cloud-init
# YAML, sysprep XML, shells and e-mails. No 0/O, 1/l/I: it may be read out over the phone.
PASSWORD_SYMBOLS = "%+-.=@_#"
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "OI")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "l")
_DIGITS = "23456789"


def generate_password(length: int = 20) -> str:
    """A random password meeting Linux and Windows complexity rules (all four classes)."""
    if length < 12:
        raise ValueError("a generated password needs at least 12 characters")
    classes = (_UPPER, _LOWER, _DIGITS, PASSWORD_SYMBOLS)
    alphabet = "".join(classes)
    while True:
        candidate = "".join(_random.choice(alphabet) for _ in range(length))
        # Symbols at the ends get lost in copy-paste and some shells; require the classes.
        if candidate[0] in PASSWORD_SYMBOLS or candidate[-1] in PASSWORD_SYMBOLS:
            continue
        if all(any(c in group for c in candidate) for group in classes):
            register_secret(candidate)
            return candidate
