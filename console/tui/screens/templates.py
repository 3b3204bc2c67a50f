"""The template catalog: grouped by OS + app, versions, base resources, age since sealed,
stale ones flagged, and which billing products map to each. The cached catalog shows at
once (with its age) while the engine is asked, and stays when the engine is unreachable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker

from console.flow.upkeep.policy import staleness
from console.tui.errors import error_message
from console.tui.formatting import format_age, format_resources, theme_style
from console.tui.polling import FINISHED, PollLoop
from console.tui.screens import template_upkeep
from console.tui.screens.listing import ListScreen
from console.tui.widgets.filter_input import FilterInput, matches
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.keyed_table import KeyedTable
from console.tui.widgets.refresh_status import RefreshStatus

# What matters first, so it stays in view at 80 columns; the engine's ids come last.
COLUMNS = (
    ("name", "Template"),
    ("version", "Ver"),
    ("sealed", "Sealed"),
    ("state", "State"),
    ("products", "Products"),
    ("base", "Base"),
    ("group", "OS + app"),
    ("id", "Id"),
)
# A template's state word -> (theme colour, bold): the table colours the rows it draws.
STATE_STYLES = {"STALE": ("warning", True), "old": ("text-muted", False), "ok": ("success", False)}
CATALOG_REFRESH_FACTOR = 12  # the catalog changes rarely: poll it 12x less often than VMs


def state_cell(app, plain: str) -> Text:
    variable, bold = STATE_STYLES.get(plain, ("", False))
    return Text(plain, style=theme_style(app, variable, bold=bold) if variable else "")


def apps_of(template: Any) -> str:
    apps = getattr(template, "apps", None) or ()
    return "+".join(apps) if not isinstance(apps, str) else apps


def group_of(template: Any) -> str:
    apps = apps_of(template)
    return f"{template.os_type}" + (f" + {apps}" if apps else "")


class TemplatesScreen(ListScreen):
    TABLE_ID = "templates"
    TITLE_TEXT = "Templates"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="templates.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="templates.refresh"),
        Binding("f", "refresh_template", "Refresh template", id="templates.refresh_template"),
        Binding("x", "prune", "Prune old", id="templates.prune"),
        Binding("d", "drift", "Drift", id="templates.drift"),
        Binding("g", "top", "Top", id="templates.top", show=False),
        Binding("G", "bottom", "Bottom", id="templates.bottom", show=False),
    ]
    DEFAULT_CSS = """
    TemplatesScreen #templates { height: 1fr; }
    TemplatesScreen #template-state { height: auto; max-height: 6; padding: 0 1;
                                      color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.templates: list[Any] = []
        self.query_text = ""
        self.error: str | None = None
        self.loaded_at: datetime | None = None
        self.from_cache = False
        self.pool_lines: list[str] = []  # the warm pool, one line per [[pool]]

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield FilterInput(id="filter")
        yield Static("loading the catalog from the engine...", id="template-state")
        yield KeyedTable(COLUMNS, id="templates", styles={"state": state_cell})
        yield RefreshStatus(id="refresh-status")
        yield KeyBar()

    def on_mount(self) -> None:
        context = self.app.context
        self.loop = PollLoop(
            self,
            self.load_templates,
            context.refresh_seconds * CATALOG_REFRESH_FACTOR,
            live=context.live,
        )
        self.load_cached()
        self.loop.request()
        self.query_one("#templates").focus()

    @work(thread=True, exclusive=True, group="templates-cache", exit_on_error=False)
    def load_cached(self) -> Any:
        from console.flow.catalog import catalog_from_cache

        context = self.app.context
        self.read_pool()
        return catalog_from_cache(context.store, context.config.engine().name)

    @work(thread=True, exclusive=True, group="templates", exit_on_error=False)
    def load_templates(self) -> list[Any]:
        from console.flow.catalog import refresh_catalog

        context = self.app.context
        self.read_pool()
        return refresh_catalog(
            context.services.engine(), context.store, context.config.engine().name
        )

    def read_pool(self) -> None:
        """The warm pool's lines, from the store (in the catalog's worker)."""
        from console.flow.pool import status

        context = self.app.context
        self.pool_lines = [
            p.line() for p in status(context.config, context.store, now=context.now())
        ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED:
            return
        worker = event.worker
        if worker.group == "templates-cache":
            catalog = worker.result
            # The engine may have answered first: its list always wins over the cache.
            if catalog is not None and catalog.templates and not self.templates:
                self.templates = list(catalog.templates)
                self.loaded_at = catalog.cached_at
                self.from_cache = True
                self.show()
            return
        if not self.loop.owns(worker):
            return
        if worker.error is not None:
            self.error = error_message(worker.error)
            self.app.report_engine(False, self.error)
        elif worker.result is not None:
            self.templates = list(worker.result)
            self.app.known_templates = self.templates
            self.error = None
            self.from_cache = False
            self.loaded_at = self.app.context.now()
            self.app.report_engine(True)
        self.show()
        self.loop.finished()

    def products_for(self, name: str) -> str:
        products = [
            mapping.billing_product
            for mapping in self.app.context.config.catalog.products
            if mapping.template == name
        ]
        return ", ".join(products)

    def show(self) -> None:
        context = self.app.context
        now = context.now()
        # Template upkeep's rule, as `templates list` and doctor apply it: each template's
        # latest version against its own max_age_days ([[catalog.templates]]).
        judged = {s.template: s for s in staleness(context.config, self.templates, now)}
        ordered = sorted(self.templates, key=lambda t: (group_of(t), t.name, -t.version_number))
        rows = []
        previous_group = None
        stale_count = 0
        for template in ordered:
            group = group_of(template)
            sealed = getattr(template, "created_at", None)
            is_latest = template.version_number == judged[template.name].version
            stale = is_latest and judged[template.name].stale
            if stale:
                stale_count += 1
            state = "STALE" if stale else "old" if not is_latest else "ok"
            products = self.products_for(template.name) if is_latest else ""
            cells = (
                template.name,
                f"v{template.version_number} {template.version_name or ''}".strip(),
                format_age(sealed, now),
                state,
                products,
                format_resources(template.cpus, template.memory_mib, template.disk_gib),
                group if group != previous_group else "",
                template.id,
            )
            previous_group = group
            if matches(
                self.query_text,
                (
                    group,
                    template.name,
                    template.version_name or "",
                    products,
                    template.description or "",
                ),
            ):
                rows.append((template.id, cells))
        self.query_one("#templates", KeyedTable).sync(rows)
        status = Text(
            f"{len(self.templates)} templates, {stale_count} stale (older than their max_age_days)"
        )
        if self.error:
            since = f" since {self.loaded_at:%H:%M}" if self.loaded_at else ""
            status.append(f"  STALE{since}: {self.error}", style=theme_style(self.app, "error"))
        elif self.from_cache and self.loaded_at is not None:
            status.append(
                f"  cached {format_age(self.loaded_at, now)} ago, asking the engine",
                style=theme_style(self.app, "warning"),
            )
        for line in self.pool_lines:
            status.append("\n" + line)
        self.query_one("#template-state", Static).update(status)

    # ------------------------------------------------------------ template upkeep
    def selected_template(self) -> Any | None:
        key = self.query_one("#templates", KeyedTable).selected_key
        return next((t for t in self.templates if t.id == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("refresh_template", "prune") and self.app.context.read_only:
            return None
        return True

    def action_refresh_template(self) -> None:
        template_upkeep.ask_and_refresh(self, self.selected_template())

    def action_prune(self) -> None:
        template_upkeep.ask_and_prune(self, self.selected_template())

    def action_drift(self) -> None:
        from console.tui.screens.drift import DriftScreen

        self.app.push_screen(DriftScreen())
