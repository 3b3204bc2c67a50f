"""Drift: for each VM this console provisioned, the template version it was cloned from and how
far behind that template's latest version it is."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from console.config import Config
from console.flow import marks
from console.flow.plan import _latest as latest_versions
from console.ovirt import Engine


@dataclass(frozen=True)
class Drift:
    vm: str
    order_id: str
    status: str
    template: str | None
    version: int | None
    latest_version: int | None
    sealed_at: datetime | None  # of the version the VM came from
    latest_sealed_at: datetime | None

    @property
    def behind(self) -> int | None:
        if self.version is None or self.latest_version is None:
            return None
        return self.latest_version - self.version

    @property
    def days_behind(self) -> int | None:
        if self.sealed_at is None or self.latest_sealed_at is None:
            return None
        return max(0, (self.latest_sealed_at - self.sealed_at).days)

    def to_dict(self) -> dict[str, Any]:
        # Not asdict(): it deep-copies the SDK's datetimes, whose tzinfo cannot be copied.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["sealed_at"] = self.sealed_at.isoformat() if self.sealed_at else None
        data["latest_sealed_at"] = (
            self.latest_sealed_at.isoformat() if self.latest_sealed_at else None
        )
        data["behind"], data["days_behind"] = self.behind, self.days_behind
        return data


def drift(config: Config, engine: Engine) -> list[Drift]:
    """Two engine calls: the catalog, and our VMs (by the configured VM name pattern)."""
    templates = engine.list_templates()
    by_id = {t.id: t for t in templates}
    latest = latest_versions(templates)
    search = "name=" + config.naming.vm_name.replace("{order_id}", "*")
    rows = []
    for vm in engine.list_vms(search=search):
        order_id = marks.order_of(vm)
        if order_id is None:
            continue  # named like ours, not provisioned here
        source = by_id.get(vm.template_id or "")
        newest = latest.get(source.name) if source else None
        rows.append(
            Drift(
                vm.name,
                order_id,
                vm.status,
                source.name if source else vm.template_name,
                source.version_number if source else None,
                newest.version_number if newest else None,
                source.created_at if source else None,
                newest.created_at if newest else None,
            )
        )
    return sorted(rows, key=lambda d: (-(d.behind or 0), d.vm))
