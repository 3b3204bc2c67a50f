"""Where a console order's wall time goes: a breakdown for bench/flow_calls.py --profile.

Hooks, installed in this process only: ovirtsdk4's Connection.send/wait (every engine
request, from send to answer), the store's sessions (each one a transaction: queries and
its commit), the run's sleeps (the paced waits), the WHMCS client's
requests (httpx), and the secret store's reads (get). What is left of the wall time is
the console's own work between them (Python: planning, building requests and parsing
answers, the steps' logic).

The waits are split further: how long after the engine finished each one the console
saw it ("late"). The engine's own finish is known from the simulator's durations (the
same constants as the engine floor): the clone ends CLONE_SECONDS_PER_GIB × the
template's GiB after the create's answer, the extend its seconds after the PUT's, the
address is reported LAUNCH + POWERING_UP + IP_REPORT after the start's.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import ovirtsdk4 as sdk

from console.flow import context as context_module
from console.secrets import MemorySecretStore
from console.store import db


@dataclass
class Span:
    kind: str  # engine | store | sleep | whmcs | secrets
    begin: float
    end: float
    what: str = ""


@dataclass
class Profile:
    """Spans of one order at a time (reset between orders); thread-safe enough for one
    runner (the heartbeat's store writes are counted too, as they cost the same)."""

    spans: list[Span] = field(default_factory=list)
    started: float = 0.0
    orders: list[dict[str, float]] = field(default_factory=list)

    def reset(self) -> None:
        self.spans.clear()
        self.started = time.perf_counter()

    def install(self) -> None:
        spans = self.spans
        pending: dict[int, tuple[float, str]] = {}
        send, wait = sdk.Connection.send, sdk.Connection.wait

        def timed_send(connection, request):
            context = send(connection, request)
            pending[id(context)] = (time.perf_counter(), f"{request.method} {request.path}")
            return context

        def timed_wait(connection, context, *args, **kwargs):
            answer = wait(connection, context, *args, **kwargs)
            begin, what = pending.pop(id(context), (time.perf_counter(), "?"))
            spans.append(Span("engine", begin, time.perf_counter(), what))
            return answer

        sdk.Connection.send, sdk.Connection.wait = timed_send, timed_wait

        session = db.Store.session

        @contextlib.contextmanager
        def timed_session(store) -> Iterator:
            begin = time.perf_counter()
            with session(store) as opened:
                yield opened
            spans.append(Span("store", begin, time.perf_counter()))

        db.Store.session = timed_session

        class TimedSleep:
            """The run context's `time`, its sleeps timed (the cancel checks around them
            are store transactions, counted as such)."""

            def __getattr__(self, name):
                return getattr(time, name)

            def sleep(self, seconds):
                begin = time.perf_counter()
                time.sleep(seconds)
                spans.append(Span("sleep", begin, time.perf_counter()))

        context_module.time = TimedSleep()  # type: ignore[assignment]

        http_send = httpx.Client.send

        def timed_http(client, request, **kwargs):
            begin = time.perf_counter()
            answer = http_send(client, request, **kwargs)
            spans.append(Span("whmcs", begin, time.perf_counter()))
            return answer

        httpx.Client.send = timed_http

        get = MemorySecretStore.get

        def timed_get(store, name):
            begin = time.perf_counter()
            value = get(store, name)
            spans.append(Span("secrets", begin, time.perf_counter()))
            return value

        MemorySecretStore.get = timed_get

    def order_done(
        self, wall: float, clone_s: float, extend_s: float, boot_s: float, floor: float
    ) -> dict[str, float]:
        """Sum this order's spans (only those inside it) and how late each wait ended."""
        ours = [s for s in self.spans if s.begin >= self.started]
        row: dict[str, float] = defaultdict(float)
        for span in ours:
            row[span.kind] += span.end - span.begin
            row[f"{span.kind} n"] += 1
        row["wall"] = wall
        row["floor"] = floor
        row["rest"] = wall - sum(row[k] for k in ("engine", "store", "sleep", "whmcs", "secrets"))
        engine = [s for s in ours if s.kind == "engine"]
        for label, call, seconds, look in (
            ("clone late", "POST /vms", clone_s, "GET /vms/"),
            ("extend late", "PUT ", extend_s, "GET /disks/"),
            ("boot late", "/start", boot_s, "GET /vms/"),
        ):
            row[label] = _late(engine, call, seconds, look)
        self.orders.append(dict(row))
        return dict(row)


def _late(engine: list[Span], call: str, seconds: float, look: str) -> float:
    """From when the engine finished (the call's answer + its duration) to the answer of
    the first look after that."""
    began = next((s.end for s in engine if call in s.what and s.what.startswith(("P",))), None)
    if began is None:
        return float("nan")
    done = began + seconds
    seen = next((s.end for s in engine if s.what.startswith(look) and s.begin >= done), None)
    return float("nan") if seen is None else seen - done


def summary(rows: list[dict[str, float]]) -> list[str]:
    """Medians over the orders, ms, in reading order."""
    if not rows:
        return []

    def med(key: str) -> float:
        return statistics.median(r.get(key, 0.0) for r in rows)

    lines = [
        f"console order, median of {len(rows)} (ms): wall {med('wall') * 1e3:.0f}, "
        f"engine floor {med('floor') * 1e3:.0f}"
    ]
    for kind, label in (
        ("sleep", "sleeping in paced waits"),
        ("engine", "engine requests (send to answer)"),
        ("store", "store transactions"),
        ("whmcs", "WHMCS requests (handover)"),
        ("secrets", "secret store reads"),
    ):
        lines.append(f"  {label:<34} {med(kind) * 1e3:7.1f}  (n={med(kind + ' n'):.0f})")
    lines.append(f"  {'console work between them':<34} {med('rest') * 1e3:7.1f}")
    lines.append(
        "  waits seen after the engine finished: clone "
        f"{med('clone late') * 1e3:.0f}, extend {med('extend late') * 1e3:.0f}, "
        f"boot {med('boot late') * 1e3:.0f}"
    )
    return lines
