"""Fault injection for the simulated WHMCS.

A fault matches calls (all actions, or one action by name) and fires on the
N-th matching call only, on the next ``count`` matching calls, or always
until cleared::

    sim.faults.inject("http500", action="GetOrders", nth=2)
    sim.faults.inject("delay", seconds=3, count=1)
    sim.faults.inject("auth")          # every call fails until clear()
    sim.faults.clear()

Kinds:
  auth         403 + ``Authentication Failed`` (status code UNVERIFIED for real WHMCS)
  ip           403 + ``Invalid IP <ip>``: the API IP allow-list refused us
  permission   403 + ``Invalid Permissions: API action "<action>" is not allowed``
  error        200 + ``result: error`` with ``message`` (default "Simulated failure")
  http500      500 with an HTML error page
  http503      503 with an HTML error page
  maintenance  200 with an HTML maintenance page (not JSON)
  delay        sleeps ``seconds`` and then answers normally (client timeouts)
  drop         closes the connection without any answer
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("auth", "ip", "permission", "error", "http500", "http503", "maintenance", "delay", "drop")


@dataclass
class Fault:
    kind: str
    action: str | None = None  # None: every action
    nth: int | None = None  # fire on this matching call only (1-based)
    count: int | None = None  # fire on this many matching calls, then retire
    message: str = "Simulated failure"
    seconds: float = 0.0
    ip: str = "203.0.113.50"
    seen: int = 0
    fired: int = 0

    def matches(self, action: str) -> bool:
        return self.action is None or self.action.lower() == action.lower()

    def exhausted(self) -> bool:
        if self.nth is not None:
            return self.seen >= self.nth
        if self.count is not None:
            return self.fired >= self.count
        return False


class Faults:
    """The list of armed faults; thread-safe, shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        kind: str,
        *,
        action: str | None = None,
        nth: int | None = None,
        count: int | None = None,
        message: str = "Simulated failure",
        seconds: float = 0.0,
        ip: str = "203.0.113.50",
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        fault = Fault(
            kind=kind, action=action, nth=nth, count=count, message=message, seconds=seconds, ip=ip
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, action: str) -> Fault | None:
        """The fault to apply to this call, if any (first armed match wins)."""
        with self._lock:
            chosen = None
            for fault in self._faults:
                if not fault.matches(action) or fault.exhausted():
                    continue
                fault.seen += 1
                fires = fault.nth is None or fault.seen == fault.nth
                if fires and chosen is None:
                    fault.fired += 1
                    chosen = fault
            self._faults = [f for f in self._faults if not f.exhausted()]
            return chosen
