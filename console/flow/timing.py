"""How long the runner waits, polls and backs off: one place, scalable for tests and demos.

`VPS_CONSOLE_FLOW_TIME_SCALE` (e.g. 0.01, like the simulator's time_scale) shrinks every
duration, so a subprocess runner in a test or a demo waits as fast as the simulated engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

ENV_TIME_SCALE = "VPS_CONSOLE_FLOW_TIME_SCALE"


@dataclass(frozen=True)
class Timing:
    poll_seconds: float = 5.0
    lease_seconds: float = 90.0
    retry_budget_seconds: float = 300.0
    backoff_first_seconds: float = 2.0
    backoff_max_seconds: float = 30.0
    # A full clone copies the whole disk; a healthy engine does ~1 GiB per 10–20 s.
    clone_base_seconds: float = 600.0
    clone_seconds_per_gib: float = 30.0
    disk_extend_seconds: float = 600.0
    boot_seconds: float = 600.0
    ip_seconds: float = 900.0
    hostname_grace_seconds: float = 300.0
    # What a wait is expected to take before anything is learned (console.flow.pace): the
    # first look at a clone, an extend, a boot comes then; later ones every tenth of it,
    # at least poll_floor_seconds and at most poll_seconds apart. A clone copies what the
    # template's disk holds (a few GiB of a 20–40 GiB disk): ~0.5 s per GiB of the plan's
    # disk on a healthy engine; a boot, until cloud-init has set the name and the guest
    # agent reports it: ~20 s.
    clone_expect_seconds_per_gib: float = 0.5
    disk_expect_seconds: float = 3.0
    boot_expect_seconds: float = 20.0
    poll_floor_seconds: float = 0.5

    def clone_expect(self, disk_gib: int) -> float:
        return self.clone_expect_seconds_per_gib * disk_gib

    def clone_limit(self, disk_gib: int) -> float:
        return self.clone_base_seconds + self.clone_seconds_per_gib * disk_gib

    def scaled(self, factor: float) -> Timing:
        return replace(
            self,
            **{
                f.name: getattr(self, f.name) * factor
                for f in fields(self)
                if f.name != "lease_seconds"
            },
            lease_seconds=max(5.0, self.lease_seconds * factor),
        )

    @classmethod
    def from_env(cls) -> Timing:
        raw = os.environ.get(ENV_TIME_SCALE)
        if not raw:
            return cls()
        try:
            factor = float(raw)
        except ValueError:
            return cls()
        return cls().scaled(factor) if 0 < factor < 1 else cls()
