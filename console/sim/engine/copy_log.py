"""The engine's own record of full disk copies: which VM's images were locked copying on
which storage domain, and how many such copies ran at once on each domain.

The engine locks the images of a VM cloned from a template until its copy ends (the VM is
image_locked, its disks locked); this log follows exactly that lock, so a test can ask
how many copies one domain ever ran at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CopyLog:
    in_flight: dict[str, set[str]] = field(default_factory=dict)  # domain id -> VM ids
    peaks: dict[str, int] = field(default_factory=dict)  # domain id -> most at once
    started: list[tuple[str, str]] = field(default_factory=list)  # (domain id, VM id)

    def begin(self, domain_id: str, vm_id: str) -> None:
        running = self.in_flight.setdefault(domain_id, set())
        running.add(vm_id)
        self.started.append((domain_id, vm_id))
        self.peaks[domain_id] = max(self.peaks.get(domain_id, 0), len(running))

    def end(self, vm_id: str) -> None:
        for running in self.in_flight.values():
            running.discard(vm_id)
