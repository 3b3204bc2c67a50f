"""Driving the console in tests: settle workers, read tables and notes."""

from __future__ import annotations

import asyncio


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and their results be rendered (results arrive as messages).

    A worker that failed (a lost engine, say) has finished too: the screens handle its
    error in on_worker_state_changed, and the tests assert on what they show.
    """
    for _ in range(rounds):
        workers = list(pilot.app.workers)
        if workers:
            await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        await pilot.pause()


def table_keys(app, selector: str) -> list[str]:
    return app.screen.query_one(selector).keys_in_order()


def cell_texts(app, selector: str, key: str) -> list[str]:
    table = app.screen.query_one(selector)
    return [getattr(cell, "plain", str(cell)) for cell in table.get_row(key)]


def note_of(app, input_id: str) -> str:
    field = app.screen.query_one(f"#{input_id}").parent
    return str(field.query_one(".field-note").render())
