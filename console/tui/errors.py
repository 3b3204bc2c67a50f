"""How a worker's failure reaches the engineer: one message (with the hint, when the error
has one) and one notification path, the same on every screen."""

from __future__ import annotations

from typing import Protocol

from textual.notifications import SeverityLevel


class _Notifies(Protocol):
    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: SeverityLevel = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...


def error_message(error: BaseException) -> str:
    """What went wrong: a ConsoleError's message, else the exception's own text."""
    return getattr(error, "message", None) or str(error)


def error_hint(error: BaseException) -> str | None:
    return getattr(error, "hint", None)


def notify_error(target: _Notifies, error: BaseException, *, title: str = "") -> None:
    """A toast with the reason and the fix; plain text, since engine and billing texts
    may hold brackets that markup would eat."""
    hint = error_hint(error)
    target.notify(
        error_message(error) + (f"\nhint: {hint}" if hint else ""),
        title=title,
        severity="error",
        timeout=10,
        markup=False,
    )
