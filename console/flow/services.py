"""The composition root: config, store and secrets in; engines, billing and runners out.

The CLI and the TUI both build one `Services` and ask it for what they need, so they
provision the same way with the same credentials rules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from console.config import Config
from console.flow.pace import Pace
from console.identity import current_actor
from console.ovirt import Engine, EngineAuthFailed
from console.secrets import SecretStore, billing_secret, engine_env_variable, engine_password
from console.store.db import Store

if TYPE_CHECKING:
    from console.billing.whmcs import WhmcsClient
    from console.flow.events import ProgressEvent
    from console.flow.runner import Runner


class Services:
    def __init__(self, config: Config, store: Store, secrets: SecretStore):
        self.config = config
        self.store = store
        self.secrets = secrets
        self.actor = current_actor()
        self._engines: dict[str, Engine] = {}
        self._billing: WhmcsClient | None = None
        self._lock = threading.Lock()
        # What the engines' waits take, learned by every job this process runs.
        self.pace = Pace()

    def engine(self, name: str | None = None) -> Engine:
        engine_config = self.config.engine(name)
        with self._lock:
            engine = self._engines.get(engine_config.name)
            if engine is None:
                password = engine_password(
                    self.secrets, engine_config.name, len(self.config.engines)
                )
                if not password:
                    raise EngineAuthFailed(
                        f"no password for engine {engine_config.name}",
                        f"vps-console credentials set engine {engine_config.name}, or set "
                        f"{engine_env_variable(engine_config.name)} / "
                        "VPS_CONSOLE_ENGINE_PASSWORD",
                    )
                engine = Engine(engine_config, password, timeout=engine_config.timeout_seconds)
                self._engines[engine_config.name] = engine
            return engine

    def billing(self) -> WhmcsClient | None:
        """The WHMCS client when billing is WHMCS, else None (file and manual orders)."""
        billing = self.config.billing
        if billing.kind != "whmcs":
            return None
        with self._lock:
            if self._billing is None:
                from console.billing.whmcs import open_billing_client

                # The same client as `orders sync`: its ca_file and timeout included.
                self._billing = open_billing_client(billing, billing_secret(self.secrets))
            return self._billing

    def runner(self, on_event: Callable[[ProgressEvent], None] | None = None) -> Runner:
        from console.flow.runner import Runner

        return Runner(self, on_event=on_event)

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
            billing, self._billing = self._billing, None
        for engine in engines:
            engine.close()
        if billing is not None:
            billing.close()
