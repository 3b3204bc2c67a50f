"""How a run stops short: a step that cannot finish, a job someone else runs, a preflight
that says no; and the two signals a run raises inside itself (cancel asked, lease lost)."""

from __future__ import annotations

from typing import Any

from console.errors import BadInput, ConsoleError


class StepFailed(ConsoleError):
    """A step cannot finish; `code` names the kind of failure for scripts."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "step_failed"):
        super().__init__(message, hint)
        self.code = code


class JobBusy(ConsoleError):
    """Another runner holds the job (or the order)."""


class PreflightBlocked(BadInput):
    def __init__(self, message: str, hint: str | None, checks: list[Any]):
        super().__init__(message, hint)
        self.checks = checks


class Cancelled(Exception):
    """A cancel was asked for while the run was between engine calls."""


class LeaseLost(Exception):
    """Another runner took the job over while this one was stalled."""
