"""Driving the console in tests: settle workers, read tables and notes."""

from __future__ import annotations

from tests.showcase.screenshots import settle  # noqa: F401 - the scenes and the tests settle alike


def table_keys(app, selector: str) -> list[str]:
    return app.screen.query_one(selector).keys_in_order()


def cell_texts(app, selector: str, key: str) -> list[str]:
    table = app.screen.query_one(selector)
    # Stripped: a narrow table pads its cells itself (one space after each).
    return [getattr(cell, "plain", str(cell)).strip() for cell in table.get_row(key)]


def note_of(app, input_id: str) -> str:
    field = app.screen.query_one(f"#{input_id}").parent
    return str(field.query_one(".field-note").render())


def screen_text(app) -> str:
    """What the user sees: the current screen rendered as plain text, one line a row."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()
