"""Errors of the billing layer: each carries what happened and what to do.

The TUI and CLI show ``message`` and ``hint`` as they are, so both are written
for a provisioning engineer, not for a developer.
"""

from __future__ import annotations

from console.errors import ConsoleError


class BillingError(ConsoleError):
    """Base of every billing failure. ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str = "", *, action: str | None = None) -> None:
        super().__init__(message, hint)
        self.hint = hint  # "" rather than None: always printable
        self.action = action

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "action": self.action,
        }


class BillingUnreachable(BillingError):
    """No answer at all: connection refused, DNS, timeout, dropped connection."""


class BillingAuthError(BillingError):
    """WHMCS rejected the API identifier/secret."""


class BillingAccessDenied(BillingError):
    """HTTP 403: our IP is not on the allow-list, or the API role lacks an action."""


class BillingBadResponse(BillingError):
    """An answer that is not the WHMCS API: HTML (maintenance, wrong URL), 5xx, junk."""


class BadRecord(BillingBadResponse):
    """One record of an answer that cannot be taken in (an id that is not an id); the rest
    of the answer is good."""


class BillingApiError(BillingError):
    """``result: error`` from WHMCS; ``whmcs_message`` is its text, verbatim."""

    def __init__(
        self, message: str, hint: str = "", *, action: str | None = None, whmcs_message: str = ""
    ) -> None:
        super().__init__(message, hint, action=action)
        self.whmcs_message = whmcs_message


class OrderNotPending(BillingApiError):
    """AcceptOrder/CancelOrder on an order that is not Pending (or does not exist)."""


class ImportFileError(BillingError):
    """An import file that cannot be read at all (row errors are reported, not raised)."""
