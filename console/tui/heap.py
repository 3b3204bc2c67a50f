"""The console holds tens of thousands of long-lived objects (orders, rows, cells): the
cyclic garbage collector would walk all of them on every full collection, a stall of up to
a second on the UI thread while a refresh allocates. Once a big read has been taken in,
what is alive is moved out of the collector's sight (gc.freeze); it is still freed by
reference counting when dropped."""

from __future__ import annotations

import gc

# Below this many records a full collection is quick, and nothing is frozen (what is frozen
# and later becomes garbage in a cycle is never collected).
WORTH_FREEZING = 2000


def keep_loaded(records: int) -> None:
    if records >= WORTH_FREEZING:
        gc.freeze()


def keep_loading() -> None:
    """A big read still coming in (a listing's pages): what it brought so far is frozen at
    once, or the full collections its own allocations trigger walk it again and again."""
    gc.freeze()
