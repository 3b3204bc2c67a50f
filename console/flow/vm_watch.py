"""Keeping a list of thousands of VMs current at the cost of what changed.

The VMs are listed once (in pages, without statistics); from then on each refresh reads the
engine's events after the last one seen (one small call) and re-reads, in one search, only
the VMs those events name. Every event a 4.5 engine logs about a VM carries the VM (id and
name): started (USER_RUN_VM 32, USER_STARTED_VM 153), down (VM_DOWN 61, VM_DOWN_ERROR 119),
paused (VM_PAUSED 1025, USER_PAUSE_VM 39), created (USER_ADD_VM_STARTED 37,
USER_ADD_VM_FINISHED_SUCCESS 53), removed (USER_REMOVE_VM_FINISHED 113), migrated
(VM_MIGRATION_DONE 63), updated (USER_UPDATE_VM 35)... so any event naming one of ours (or a
VM already listed: it may have been renamed) is reason to re-read it, whatever its code.
What no event announces (statistics, a guest's IPs) is read only for the VMs on screen, at
most every `stats_seconds`, and with it each VM's disks: a listing leaves them out (they
would make it half as long again), so a row's disk size is the one its last read with
statistics found, and a row never on screen has none. A full re-list every `relist_seconds`, or when more events came
than one read returns, repairs whatever was missed.

One refresh runs at a time, in a worker thread; the watch hands back immutable updates and
keeps only what it needs to decide the next calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from console.ovirt import Engine
from console.ovirt.rows import VmRow, VmStats

EVENTS_PER_READ = 500
PAGE_SIZE = 500
# The first read of a listing is a screenful or so, to have rows on screen at once; the
# pages after it (of PAGE_SIZE, counted from the start) read those again.
FIRST_PAGE = 100


@dataclass(frozen=True)
class WatchUpdate:
    """What one refresh (or one page of a listing) learnt: rows new or changed, ids gone,
    fresh statistics; `listed` when a complete listing ended with it."""

    rows: tuple[VmRow, ...] = ()
    removed: tuple[str, ...] = ()
    stats: dict[str, VmStats] = field(default_factory=dict)
    listed: bool = False


class VmWatch:
    def __init__(
        self,
        search: str,
        ours: Callable[[str], bool],
        *,
        stats_seconds: float = 15.0,
        relist_seconds: float = 300.0,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.search = search
        self.ours = ours
        self.stats_seconds = stats_seconds
        self.relist_seconds = relist_seconds
        self.page_size = page_size
        self.clock = clock
        self.last_event: int | None = None
        self.listed_at: float | None = None
        self.known: set[str] = set()
        self.stats_read: dict[str, float] = {}
        self.disk_gib: dict[str, int | None] = {}  # as the last read with statistics found
        self.relist_wanted = False

    def relist(self) -> None:
        """Have the next refresh list every VM again (events were missed, or asked for)."""
        self.relist_wanted = True

    def refresh(
        self,
        engine: Engine,
        visible: list[str],
        now: datetime,
        on_page: Callable[[WatchUpdate], None] | None = None,
    ) -> WatchUpdate:
        """Bring the view up to date; `visible` are the VMs on screen (selected first)."""
        due = (
            self.listed_at is None
            or self.relist_wanted
            or self.clock() - self.listed_at >= self.relist_seconds
        )
        pages: list[WatchUpdate] = []
        deliver = on_page if on_page is not None else pages.append
        if due:
            self._list_all(engine, deliver)
            changed: set[str] = set()
        else:
            batch = engine.vm_events_since(self.last_event or 0, limit=EVENTS_PER_READ)
            newest = batch.newest
            if batch.overflow:
                # More happened than one read holds: the missing events can only be
                # made up for by listing again.
                self._list_all(engine, deliver)
                changed = set()
            else:
                changed = {
                    e.vm_id for e in batch.events if e.vm_id in self.known or self.ours(e.vm_name)
                }
        stale_before = self.clock() - self.stats_seconds
        wanted = [
            vm_id
            for vm_id in visible
            if vm_id in self.known and self.stats_read.get(vm_id, -1e18) <= stale_before
        ]
        ids = sorted(changed | set(wanted))
        if ids:
            found, stats = engine.vm_rows_with_stats(ids, now)
        # Only now are the events taken in: a re-read that failed is tried again with them.
        if not due and not batch.overflow:
            self.last_event = newest
        if not ids:
            return _joined(pages, WatchUpdate(listed=due))
        kept = [row for row in found if self.ours(row.name)]
        self.disk_gib.update({row.id: row.disk_gib for row in kept})
        read_at = self.clock()
        for vm_id in stats:
            self.stats_read[vm_id] = read_at
        kept_ids = {row.id for row in kept}
        removed = tuple(vm_id for vm_id in ids if vm_id not in kept_ids and vm_id in self.known)
        self.known |= kept_ids
        self.known -= set(removed)
        for vm_id in removed:
            self.stats_read.pop(vm_id, None)
            self.disk_gib.pop(vm_id, None)
        fresh = {k: v for k, v in stats.items() if k in kept_ids}
        return _joined(pages, WatchUpdate(tuple(kept), removed, fresh, due))

    def _list_all(self, engine: Engine, on_page: Callable[[WatchUpdate], None]) -> None:
        # The newest event first: what happens while the pages are read is re-read after.
        self.last_event = engine.newest_event_index()
        seen: set[str] = set()
        first = FIRST_PAGE if self.listed_at is None and self.page_size > FIRST_PAGE else None
        listing = engine.vm_row_pages(self.search, per_page=self.page_size, first=first)
        for index, rows in enumerate(listing):
            mine = self._mine(rows)
            seen |= {row.id for row in mine}
            if first and index == 0:
                if mine:
                    on_page(WatchUpdate(mine))
                if len(rows) < first:  # that was all of them
                    self._listed(seen, on_page)
                    return
                continue
            last = len(rows) < self.page_size
            removed = tuple(self.known - seen) if last else ()
            if mine or removed:
                on_page(WatchUpdate(mine, removed, listed=last))
        self._listed(seen, None)

    def _mine(self, listed: list[VmRow]) -> tuple[VmRow, ...]:
        """The listed rows of our VMs, with the disk size last read for them."""
        sizes = self.disk_gib
        return tuple(
            replace(row, disk_gib=sizes[row.id]) if row.id in sizes else row
            for row in listed
            if self.ours(row.name)
        )

    def _listed(self, seen: set[str], on_page: Callable[[WatchUpdate], None] | None) -> None:
        if on_page is not None:  # a listing that ended with its first read
            on_page(WatchUpdate(removed=tuple(self.known - seen), listed=True))
        self.known = seen
        self.stats_read = {k: v for k, v in self.stats_read.items() if k in seen}
        self.disk_gib = {k: v for k, v in self.disk_gib.items() if k in seen}
        self.listed_at = self.clock()
        self.relist_wanted = False


def _joined(pages: list[WatchUpdate], last: WatchUpdate) -> WatchUpdate:
    """Pages of a listing and the refresh's own update as one (later ones win)."""
    if not pages:
        return last
    rows: dict[str, VmRow] = {}
    removed: set[str] = set()
    for update in [*pages, last]:
        for row in update.rows:
            rows[row.id] = row
            removed.discard(row.id)
        for vm_id in update.removed:
            rows.pop(vm_id, None)
            removed.add(vm_id)
    return WatchUpdate(tuple(rows.values()), tuple(removed), last.stats, True)
