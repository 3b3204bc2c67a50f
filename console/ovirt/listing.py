"""A listing in pages whose parse overlaps the next page's fetch.

Fetching a page waits on the engine (it serialises the page meanwhile) and parsing it waits
on the parse helper (console/ovirt/slim.py): two other processes, so on two cores they can
run at once. Here the calling thread fetches page N+1 while one parse thread has page N
parsed, and page N+1's parse is under way before page N is handed to the caller, who shows
it meanwhile. The fetches stay in the calling thread: the SDK's Connection is per thread
(a new thread would log in anew).

Seen from the caller nothing else changes: the pages come in order, the same calls are
made in the same order (the next page is fetched ahead only when this one looks full, so
the listing does not end with one call more), a page that does not parse raises the parse's
error when its turn comes, and a fetch that fails does so after the pages before it were
handed over, as when each page was fetched after the previous one was parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Row = TypeVar("Row")


class _Page(Generic[Row]):
    """A page of the listing: the rows asked for, its body until parsed, its parse (once
    started), or the error its fetch ended with (when fetched ahead of its turn)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.body: bytes | None = None
        self.error: BaseException | None = None
        self.parsed: Future[list[Row]] | None = None


def pages(
    fetch: Callable[[int, int], bytes],
    parse: Callable[[bytes], list[Row]],
    looks_full: Callable[[bytes, int], bool],
    *,
    per_page: int,
    first: int | None = None,
) -> Iterator[list[Row]]:
    """The rows of each page, in order: `first` rows first when given (page 1 of that size),
    then pages of `per_page` counted from the start, until a page comes short.

    `fetch(page, size)` gets a page's body (in the calling thread), `parse(body)` its rows
    (in a parse thread), `looks_full(body, size)` says cheaply whether the page is likely
    full: then the next page is fetched while this one is parsed (not after the first
    screenful, which is wanted on screen at once).
    """
    sizes = ([(1, first)] if first else []) + [(1, per_page)]

    def request(index: int) -> tuple[int, int]:
        if index < len(sizes):
            return sizes[index]
        return index - len(sizes) + 2, per_page

    parsing = ThreadPoolExecutor(1, thread_name_prefix="listing-parse")
    try:
        page, size = request(0)
        current: _Page[Row] = _Page(size)
        current.body = fetch(page, size)
        current.parsed = parsing.submit(parse, current.body)
        index = 0
        while True:
            assert current.body is not None and current.parsed is not None
            page, size = request(index + 1)
            ahead: _Page[Row] = _Page(size)
            # The first screenful is handed over as soon as it is read: its rows on screen
            # first, the next page's fetch after.
            screenful = index == 0 and bool(first)
            if not screenful and looks_full(current.body, current.size):
                try:
                    ahead.body = fetch(page, size)
                except Exception as error:  # noqa: BLE001 - raised in its turn, below
                    ahead.error = error
            found = current.parsed.result()
            last = len(found) < current.size
            if not last and ahead.body is not None:
                ahead.parsed = parsing.submit(parse, ahead.body)
            current.body = None  # parsed: let it go while the caller works
            yield found
            if last:
                return
            if ahead.error is not None:
                raise ahead.error
            if ahead.body is None:  # this page looked short but was not
                ahead.body = fetch(page, size)
            if ahead.parsed is None:
                ahead.parsed = parsing.submit(parse, ahead.body)
            current, index = ahead, index + 1
    finally:
        # Ended, failed or left by the caller: no parse still queued, none left running.
        parsing.shutdown(wait=True, cancel_futures=True)
