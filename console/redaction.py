"""Masking secrets out of text: a process-wide registry of known secrets plus shape rules.

Two nets, because each misses what the other catches:
- known secrets: every value the SecretStore reads or writes, every password or API secret
  a client is given (`register_secret`), in the encodings it may travel in (URL-encoded in
  a form body, JSON-escaped in a payload);
- shapes: anything that looks like a license key (groups of 4–6 letters/digits joined by
  dashes, like Windows and Plesk keys) or sits after `password=`, `secret: `,
  `"password": "…"`, `Authorization: Bearer …`, or in a URL's user:password@ part.

`redact(text)` applies both; `RedactingFilter` applies it to every log record (message,
args, exception and stack text). Nothing here can be turned off: `--verbose` only
changes the level of detail, never the masking.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

HIDDEN = "••••"
# Shorter values would mask ordinary words all over the logs; secrets that short are
# refused where they are set (see console.secrets.check_secret_value).
MIN_REGISTERED_LENGTH = 4

_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def _variants(value: str) -> set[str]:
    """The forms a secret takes on its way out: raw, URL-encoded, JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return {form for form in forms if len(form) >= MIN_REGISTERED_LENGTH}


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later log line and redacted text masks it."""
    global _known_pattern
    if not value or len(value) < MIN_REGISTERED_LENGTH:
        return
    with _lock:
        new = _variants(value) - _known
        if not new:
            return
        _known.update(new)
        # Longest first, so a secret that contains another is masked whole.
        alternatives = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(item) for item in alternatives))


# A license key: 4+ groups of 4–6 letters/digits, e.g. Windows XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
# or Plesk A00C00-XXXXXX-XXXXXX-XXXXXX-XXXXXX. UUIDs (8-4-4-4-12) do not match.
LICENSE_KEY = re.compile(
    r"(?<![A-Za-z0-9-])[A-Za-z0-9]{4,6}(?:-[A-Za-z0-9]{4,6}){3,}(?![A-Za-z0-9-])"
)
_SECRET_KEY_WORDS = (
    r"[A-Za-z_]*(?:password|passwd|passphrase|secret|token|api_?key|"
    r"license_?key|product_?key|accesskey|rootpw)[A-Za-z_]*"
)
# key="value" / key: 'value' in JSON or Python reprs
_QUOTED_PAIR = re.compile(
    r"""(?P<head>(?P<q>["'])"""
    + _SECRET_KEY_WORDS
    + r"""(?P=q)\s*[:=]\s*)(?P<vq>["'])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)""",
    re.IGNORECASE,
)
# key=value / key: value in forms, query strings, command lines and prose
_BARE_PAIR = re.compile(
    r"(?P<head>\b" + _SECRET_KEY_WORDS + r"\b\s*[=:]\s*)"
    r"(?P<value>[^\s\"'&,;)}\]]+)",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]{6,})")
_URL_USERINFO = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)(?P<value>[^\s@/]+)(?=@)", re.IGNORECASE
)


def _hide_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if value in ("", HIDDEN) or value.startswith("…") or value.startswith("***"):
        return match.group(0)  # empty or already masked: keep as is, it helps debugging
    start, end = match.span("value")
    base = match.start(0)
    text = match.group(0)
    return text[: start - base] + HIDDEN + text[end - base :]


def redact(text: str) -> str:
    """`text` with every known secret and every secret-shaped value masked."""
    if not text:
        return text
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(HIDDEN, text)
    text = _QUOTED_PAIR.sub(_hide_value, text)
    text = _BARE_PAIR.sub(_hide_value, text)
    text = _AUTH_HEADER.sub(_hide_value, text)
    text = _URL_USERINFO.sub(_hide_value, text)
    text = LICENSE_KEY.sub(HIDDEN, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the line, nor leak its args
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatter.format reuses exc_text when it is set, so the masked text is what
            # every handler prints.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
