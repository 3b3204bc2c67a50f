"""Template upkeep policy: staleness per template, the script timeout learnt from history, and
the new version's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.config import Config, TemplateUpkeep

# One rule for "latest": the version provisioning clones from is the one upkeep judges.
from console.flow.plan import _latest as latest_versions
from console.ovirt.models import Template
from console.store import refresh_jobs
from console.store.db import Store
from console.store.models import utcnow

# A script that took T before gets this much more before it is called hung: updates vary.
HISTORY_FACTOR = 2.0
HISTORY_MIN_SECONDS = 300.0
HISTORY_SAMPLES = 5


@dataclass(frozen=True)
class Staleness:
    template: str
    version: int
    sealed_at: datetime | None
    age_days: int | None
    max_age_days: int
    products: tuple[str, ...]

    @property
    def stale(self) -> bool:
        return self.age_days is None or self.age_days > self.max_age_days

    def describe(self) -> str:
        age = "never sealed" if self.age_days is None else f"sealed {self.age_days} days ago"
        served = f"; serves {', '.join(self.products)}" if self.products else ""
        return f"{self.template} v{self.version} {age} (max {self.max_age_days}){served}"


def products_of(config: Config, template_name: str) -> tuple[str, ...]:
    return tuple(p.billing_product for p in config.catalog.products if p.template == template_name)


def staleness(
    config: Config, templates: list[Template], now: datetime | None = None
) -> list[Staleness]:
    """Per template (its latest version): how old it is against its max_age_days."""
    now = now or utcnow()
    found = []
    for name, template in sorted(latest_versions(templates).items()):
        policy = config.catalog.upkeep_for(name)
        age = (now - template.created_at).days if template.created_at else None
        found.append(
            Staleness(
                name,
                template.version_number,
                template.created_at,
                age,
                policy.max_age_days,
                products_of(config, name),
            )
        )
    return found


def script_timeout(store: Store, policy: TemplateUpkeep) -> tuple[float, str]:
    """Seconds the build VM's script may run, and where the number comes from: twice the
    longest of the last successful runs of this template, else the configured default."""
    done = refresh_jobs.list_refreshes(
        store, template_name=policy.name, states=("done",), limit=HISTORY_SAMPLES
    )
    runs = [float(r.data["script_seconds"]) for r in done if (r.data or {}).get("script_seconds")]
    if runs:
        seconds = max(HISTORY_MIN_SECONDS, HISTORY_FACTOR * max(runs))
        return seconds, f"twice the longest of the last {len(runs)} refresh(es)"
    return policy.script_timeout_minutes * 60.0, "script_timeout_minutes (no earlier refresh)"


def version_name(existing: list[Template], now: datetime | None = None) -> str:
    """The date, made unique among the template's versions (a second refresh the same day)."""
    base = f"{(now or utcnow()):%Y-%m-%d}"
    taken = {t.version_name for t in existing}
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"
