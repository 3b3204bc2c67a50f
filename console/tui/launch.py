"""Opening the console: from config, store and secrets to a running ConsoleApp.

`vps-console run` and `vps-console demo` both come through here, so the demo is the real
console wired to simulators rather than a special build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from console.config import Config
from console.store.db import Store
from console.tui.context import ConsoleContext, ConsoleServices
from console.tui.heap import tune_allocator

if TYPE_CHECKING:
    from console.billing.sync import SyncReport


def billing_sync_for(
    config: Config, store: Store, services: ConsoleServices
) -> Callable[[], SyncReport] | None:
    """The callable that pulls new orders from billing into the store, or None."""
    if config.billing.kind != "whmcs":
        return None
    from console.billing.sync import sync_orders

    def sync() -> SyncReport:
        client = services.billing()
        assert client is not None  # billing of kind "whmcs" always has a client
        return sync_orders(store, client, config.catalog, actor=services.actor)

    return sync


def screen_banner(config: Config) -> str | None:
    from console.tls_notice import insecure_banner

    banner = insecure_banner(config)
    # Only ASCII on screen: a symbol glyph would shift columns over some SSH terminals.
    return banner.replace("\u26a0", "WARNING:").strip() if banner else None


def build_context(
    config: Config,
    store: Store,
    secrets,
    *,
    read_only: bool = False,
    services: ConsoleServices | None = None,
) -> ConsoleContext:
    from console.flow.services import Services

    # Before the console's threads (the job pool, the screens' workers) first allocate.
    tune_allocator()
    services = services or Services(config, store, secrets)
    return ConsoleContext(
        config=config,
        store=store,
        services=services,
        actor=services.actor,
        secrets=secrets,
        read_only=read_only,
        sync_billing=billing_sync_for(config, store, services),
        banner=screen_banner(config),
    )


def run_console(context: ConsoleContext, *, mouse: bool = True) -> None:
    from console.tui.app import ConsoleApp

    app = ConsoleApp(context, mouse=mouse)
    try:
        app.run(mouse=mouse)
    finally:
        close = getattr(context.services, "close", None)
        if close is not None:
            close()
