"""What every screen needs: config, store, the flow services, who is acting, and the clock.

The clock is injectable so snapshot tests can freeze ages; `live` switches the poll loops
off for the same reason. Nothing here talks to an engine or billing directly: that goes
through `services` (console.flow.services.Services) inside workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from console.config import Config
from console.store.db import Store
from console.store.models import utcnow

if TYPE_CHECKING:
    from console.billing.whmcs import WhmcsClient
    from console.flow.events import ProgressEvent
    from console.flow.runner import Runner
    from console.ovirt import Engine
    from console.secrets import SecretStore


class ConsoleServices(Protocol):
    """What the screens ask of the flow's composition root: console.flow.services.Services,
    and the showcase's fixed world in the snapshot tests."""

    actor: str
    secrets: SecretStore

    def engine(self, name: str | None = None) -> Engine: ...

    def billing(self) -> WhmcsClient | None: ...

    def runner(self, on_event: Callable[[ProgressEvent], None] | None = None) -> Runner: ...


@dataclass
class ConsoleContext:
    config: Config
    store: Store
    services: ConsoleServices
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
