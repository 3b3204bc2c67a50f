"""Command palette (`:` or ctrl+p): screen jumps, actions, and "go to" an order, VM or
template by what the app has already loaded (no engine call from a keystroke)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp


class ConsoleCommands(Provider):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp

        @property
        def app(self) -> ConsoleApp: ...

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("orders", partial(app.action_go, "queue"), "the order queue (1)"),
            ("templates", partial(app.action_go, "templates"), "the template catalog (2)"),
            ("vms", partial(app.action_go, "vms"), "managed VMs (3)"),
            ("jobs", partial(app.action_go, "jobs"), "jobs and activity (4)"),
            ("refresh", partial(app.screen.run_action, "refresh"), "refresh this screen now"),
            ("help", app.action_help, "keys of this screen (?)"),
        ]
        orders = app.known_orders
        for order in orders.values():
            commands.append(
                (
                    f"order {order.id}",
                    partial(app.go_to_order, order.id),
                    f"{order.client_name} - {order.product_name} ({order.status})",
                )
            )
        for vm in app.known_vms:
            commands.append(
                (
                    f"vm {vm.name}",
                    partial(app.go_to_vm, vm.name),
                    f"{vm.status} {', '.join(getattr(vm, 'ips', None) or [])}",
                )
            )
        for template in app.known_templates:
            commands.append(
                (
                    f"template {template.name}",
                    partial(app.go_to_template, template.name),
                    f"v{template.version_number} {template.os_type}",
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands()[:6]:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.lstrip(":"))
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
