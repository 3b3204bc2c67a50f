"""EngineSimulator: the public face of the embedded oVirt engine."""

from __future__ import annotations

import secrets
import shutil
import threading
from pathlib import Path
from typing import Any

from .api import RestApi
from .clock import Ticker
from .faults import FaultInjector
from .model import GuestBehaviour
from .server import EngineHTTPServer
from .sso import SsoService
from .tls import TlsMaterial, generate
from .world import World


class EngineSimulator:
    """An oVirt 4.5 engine over real HTTP(S), seeded with a VPS host's inventory.

    ``start()`` serves in background threads and returns ``self``; the object is
    also a context manager. All inspection helpers are thread-safe.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        time_scale: float = 1.0,
        vms: int = 300,
        seed: int = 1,
        password: str | None = None,
        username: str = "admin@internal",
        token_lifetime: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.time_scale = time_scale
        self.username = username
        self._fixed_password = password
        self.password = password or secrets.token_urlsafe(12)
        self.world = World(time_scale=time_scale, vms=vms, seed=seed)
        self.api = RestApi(self.world)
        self.sso = SsoService(
            username, self.password, token_lifetime, on_session=self.world.session_event
        )
        self.faults = FaultInjector(self)
        self._calls: list[tuple[str, str, dict[str, str]]] = []
        self._calls_lock = threading.Lock()
        self._server: EngineHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: Ticker | None = None
        self._tls: TlsMaterial | None = None

    @classmethod
    def from_fault_file(cls, path: str | Path, **kwargs: Any) -> EngineSimulator:
        sim = cls(**kwargs)
        sim.faults.load(path)
        return sim

    # ------------------------------------------------------------ lifecycle
    def start(self) -> EngineSimulator:
        if self._server is not None:
            return self
        if self._fixed_password is None:
            self.password = secrets.token_urlsafe(12)
            self.sso.password = self.password
        context = None
        if self.tls:
            self._tls = generate(self.host)
            context = self._tls.server_context()
        self._server = EngineHTTPServer((self.host, self.port), self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="engine-sim-http",
            daemon=True,
        )
        self._thread.start()
        self._ticker = Ticker(self.world.lock, self.world.scheduler)
        self._ticker.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all_connections()
        self._server.server_close()
        self._ticker.stop()
        self._thread.join(5)
        self._ticker.join(5)
        self._server = None
        if self._tls is not None:
            shutil.rmtree(self._tls.directory, ignore_errors=True)
            self._tls = None

    def __enter__(self) -> EngineSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------- addresses
    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/ovirt-engine/api"

    @property
    def ca_file(self) -> str | None:
        return self._tls.ca_file if self._tls else None

    # ------------------------------------------------------ call recording
    def _record_call(self, method: str, path: str, query: dict[str, str]) -> None:
        with self._calls_lock:
            self._calls.append((method, path, dict(query)))

    @property
    def calls(self) -> list[tuple[str, str, dict[str, str]]]:
        """API calls so far, as (method, path relative to the API root, query dict)."""
        with self._calls_lock:
            return list(self._calls)

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()

    # ------------------------------------------------------- test helpers
    def copies(self) -> dict[str, tuple[int, int]]:
        """Full clones from templates by storage domain name: (copies started, most copies
        running at once), as the engine's image locks had them."""
        with self.world.lock:
            log = self.world.copy_log
            names = {sd.id: sd.name for sd in self.world.storage_domains.values()}
            return {
                names.get(domain, domain): (
                    sum(1 for started, _ in log.started if started == domain),
                    peak,
                )
                for domain, peak in log.peaks.items()
            }

    def vm(self, name: str) -> dict[str, Any]:
        """Snapshot of a VM's state, including its stored initialization with the real secrets."""
        return self.world.vm_snapshot(name)

    def expire_tokens(self) -> None:
        """Every SSO token issued so far stops working (the SDK must log in again)."""
        self.sso.expire_all()

    def set_token_lifetime(self, seconds: float | None) -> None:
        """Tokens issued from now on expire after ``seconds`` real seconds (None = never)."""
        self.sso.token_lifetime = seconds

    @property
    def token_grants(self) -> int:
        return self.sso.grants

    def fill_storage_domain(self, name: str) -> None:
        """Make a storage domain full: creations and extends on it fail with the engine's low-space fault."""
        self.world.fill_storage_domain(name)

    def set_guest_behaviour(
        self,
        name_glob: str,
        never_ip: bool = False,
        fail_boot: bool = False,
        hostname: str | None = None,
        script_hangs: bool = False,
    ) -> None:
        """How guests in VMs whose name matches ``name_glob`` behave; later calls win."""
        with self.world.lock:
            self.world.guest_rules.append(
                (name_glob, GuestBehaviour(never_ip, fail_boot, hostname, script_hangs))
            )

    def template_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of template ``name``, oldest first, with what the API does not show (sealed)."""
        with self.world.lock:
            self.world.scheduler.run_due()
            found = sorted(
                (t for t in self.world.templates.values() if t.name == name),
                key=lambda t: t.version_number,
            )
            return [
                {
                    "id": t.id,
                    "version_number": t.version_number,
                    "version_name": t.version_name,
                    "status": t.status,
                    "sealed": t.sealed,
                    "vm_id": t.vm_id,
                    "creation_time": t.creation_time,
                }
                for t in found
            ]

    def set_time_scale(self, time_scale: float) -> None:
        """Change the factor for steps scheduled from now on (tests slow time down to observe a state)."""
        with self.world.lock:
            self.time_scale = time_scale
            self.world.scheduler.time_scale = time_scale

    def advance(self, seconds: float | None = None) -> None:
        """Jump simulated time forward (None: until every pending step is due) and run what is due."""
        with self.world.lock:
            self.world.scheduler.advance(seconds)
            self.world.scheduler.run_due()

    def storage_domain(self, name: str) -> dict[str, Any]:
        with self.world.lock:
            sd = next(s for s in self.world.storage_domains.values() if s.name == name)
            return {
                "id": sd.id,
                "name": sd.name,
                "total": sd.total,
                "used": sd.used,
                "available": sd.available,
                "committed": sd.committed,
                "full": sd.id in self.world.full_domains,
            }

    def events(self) -> list[dict[str, Any]]:
        with self.world.lock:
            return [
                {
                    "index": e.index,
                    "code": e.code,
                    "description": e.description,
                    "severity": e.severity,
                    "correlation_id": e.correlation_id,
                    "vm": e.vm_name,
                }
                for e in self.world.events
            ]
