"""The console holds tens of thousands of long-lived objects (orders, rows, cells): the
cyclic garbage collector would walk all of them on every full collection, a stall of up to
a second on the UI thread while a refresh allocates. Once a big read has been taken in,
what is alive is moved out of the collector's sight (gc.freeze); it is still freed by
reference counting when dropped."""

from __future__ import annotations

import gc


def keep_loaded() -> None:
    gc.freeze()
