"""How the console writes ages, sizes and statuses: plain words first, colour second.

Colours are named by theme variable (success, warning, error, text-muted) and resolved
against the running theme, so the 16-colour `ansi-dark` theme and NO_COLOR stay readable:
the word alone always carries the meaning.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.style import Style
from rich.text import Text

# Status word -> theme variable. Anything unknown stays in the default foreground.
STATUS_COLOURS = {
    "up": "success",
    "done": "text-muted",
    "new": "primary",
    "ready_for_engineer": "success",  # pre-cloned: the engineer's launch is quick
    "ok": "success",
    "powering_up": "warning",
    "reboot_in_progress": "warning",
    "wait_for_launch": "warning",
    "image_locked": "warning",
    "locked": "warning",
    "cloning": "warning",
    "clone_wait": "warning",
    "resizing": "warning",
    "initializing": "warning",
    "starting": "warning",
    "ip_wait": "warning",
    "handover": "warning",
    "planned": "warning",
    "provisioning": "warning",
    "warn": "warning",
    "needs_mapping": "warning",
    "down": "text-muted",
    "cancelled": "text-muted",
    "suspended": "warning",
    "failed": "error",
    "fail": "error",
    "not_responding": "error",
    "unknown": "error",
    "stale": "warning",
}


def theme_style(app, variable: str, *, bold: bool = False) -> Style:
    """A Rich style in the colour the running theme gives `variable` (e.g. "success").

    Resolved once per theme and kept: a list of thousands of rows asks for the same few
    styles on every refresh, and some variables (`text-muted` is `auto 60%`) are not plain
    colours and fail to parse each time they are tried."""
    theme = getattr(app, "theme", None)
    cache = getattr(app, "_theme_styles", None)
    if cache is None or cache[0] != theme:
        cache = (theme, {})
        try:
            app._theme_styles = cache
        except AttributeError:  # an object that takes no attributes: resolve every time
            pass
    styles: dict[tuple[str, bool], Style] = cache[1]
    style = styles.get((variable, bold))
    if style is None:
        style = styles[(variable, bold)] = _resolve_style(app, variable, bold)
    return style


def _resolve_style(app, variable: str, bold: bool) -> Style:
    from textual.color import Color

    value = app.theme_variables.get(variable)
    if not value:
        return Style(bold=bold)
    try:
        return Style(color=Color.parse(value).rich_color, bold=bold)
    except Exception:  # noqa: BLE001 - a theme variable that is not a plain colour: keep the word, drop colour
        return Style(bold=bold)


def status_text(app, status: str | None) -> Text:
    word = (status or "-").lower()
    variable = STATUS_COLOURS.get(word)
    return Text(word, style=theme_style(app, variable) if variable else Style())


def format_age(since: datetime | None, now: datetime) -> str:
    """Compact age for a table cell: <1m, 12m, 3h05, 2d04."""
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:  # minutes are the grain: the queue recomputes ages once a minute
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}"


def format_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


# SLA for a paid order: amber after 4 hours waiting, red after 24 (the promise to customers).
SLA_WARN = timedelta(hours=4)
SLA_BREACH = timedelta(hours=24)


def sla_level(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "ok"
    waited = now - since
    if waited >= SLA_BREACH:
        return "breach"
    if waited >= SLA_WARN:
        return "warn"
    return "ok"


def age_plain(since: datetime | None, now: datetime) -> str:
    """The age, with a marker that works without colour: `!` past warn, `!!` past breach."""
    level = sla_level(since, now)
    age = format_age(since, now)
    return f"{age}!!" if level == "breach" else f"{age}!" if level == "warn" else age


def age_cell(app, plain: str) -> Text:
    """An age (as `age_plain` writes it) in its SLA colour: the table styles only the
    rows it draws, from their plain text."""
    if plain.endswith("!!"):
        return Text(plain, style=theme_style(app, "error", bold=True))
    if plain.endswith("!"):
        return Text(plain, style=theme_style(app, "warning"))
    return Text(plain)


def format_memory(mib: int | None) -> str:
    if not mib:
        return "-"
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


def format_resources(cpus: int | None, memory_mib: int | None, disk_gib: int | None) -> str:
    """`2c/4G/80G`: vCPU, RAM, disk, short enough for an 80-column table."""
    return f"{cpus or '-'}c/{format_memory(memory_mib)}/{f'{disk_gib}G' if disk_gib else '-'}"


def format_percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"
