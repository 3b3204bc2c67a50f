"""The console's heap: what it keeps out of the garbage collector's sight, and how the C
allocator under it is set up.

The console holds tens of thousands of long-lived objects (orders, rows, cells): the
cyclic garbage collector would walk all of them on every full collection, a stall of up to
a second on the UI thread while a refresh allocates. Once a big read has been taken in,
what is alive is moved out of the collector's sight (gc.freeze); it is still freed by
reference counting when dropped.

glibc's malloc gives every thread that allocates its own arena (up to eight per core), and
each arena keeps what was freed in it for the next allocation of that thread. The console
runs threads for the UI's workers, the job pool and the SDK's calls; what one of them
freed stays in its arena while the others grow theirs. Python's small objects do not go
through malloc (pymalloc), the larger ones do: bodies, lists and dicts of thousands of
rows. One arena for all of them (`tune_allocator`) is what the GIL makes them share
anyway."""

from __future__ import annotations

import gc
import logging
import os

log = logging.getLogger(__name__)

# Below this many records a full collection is quick, and nothing is frozen (what is frozen
# and later becomes garbage in a cycle is never collected).
WORTH_FREEZING = 2000

# mallopt(3) parameters (malloc.h) and the value the console sets.
M_ARENA_MAX = -8
ARENAS = 1


def keep_loaded(records: int) -> None:
    if records >= WORTH_FREEZING:
        gc.freeze()


def keep_loading() -> None:
    """A big read still coming in (a listing's pages): what it brought so far is frozen at
    once, or the full collections its own allocations trigger walk it again and again."""
    gc.freeze()


def glibc() -> bool:
    """Whether this process runs on glibc (mallopt and its parameters are glibc's)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):  # no confstr, or not glibc (musl, macOS)
        return False


def tune_allocator() -> bool:
    """One malloc arena for every thread of the console; call it at the console's start,
    before its threads allocate. Whether it was applied: only on glibc, nothing elsewhere."""
    if not glibc():
        return False
    import ctypes  # only here: the rest of the console has no use for it

    try:
        applied = ctypes.CDLL(None).mallopt(M_ARENA_MAX, ARENAS) == 1
    except (OSError, AttributeError):  # a libc without mallopt
        return False
    log.debug("malloc arenas at most %d: %s", ARENAS, applied)
    return applied
