"""What every screen needs: config, store, the flow services, who is acting, and the clock.

The clock is injectable so snapshot tests can freeze ages; `live` switches the poll loops
off for the same reason. Nothing here talks to an engine or billing directly: that goes
through `services` (console.flow.services.Services) inside workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.config import Config
from console.store.db import Store
from console.store.models import utcnow


@dataclass
class ConsoleContext:
    config: Config
    store: Store
    services: Any  # console.flow.services.Services: engine(), billing(), runner(), actor
    actor: str
    secrets: Any = None
    read_only: bool = False
    live: bool = True
    clock: Callable[[], datetime] = field(default=utcnow)
    banner: str | None = None  # e.g. the insecure-secrets or TLS-off warning, shown on screen
    # Pulls new orders from billing into the store (console.billing); None: no billing.
    sync_billing: Callable[[], Any] | None = None

    def now(self) -> datetime:
        return self.clock()

    @property
    def refresh_seconds(self) -> float:
        return self.config.ui.refresh_seconds

    @property
    def engine_name(self) -> str:
        return self.config.engine().name
