"""Progress events: what the runner tells the TUI and the CLI, one stream for both."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

KINDS = ("started", "finished", "failed", "info")


@dataclass(frozen=True)
class ProgressEvent:
    job_id: str
    order_id: str
    state: str  # the job's state when the event happened, e.g. "failed(cloning)"
    step: str | None
    kind: str  # started | finished | failed | info
    message: str
    at: datetime
    elapsed_seconds: float  # since this run of the job began

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data

    def line(self) -> str:
        """The plain-text form the CLI prints."""
        mark = {"started": "…", "finished": "✓", "failed": "✗", "info": "·"}[self.kind]
        step = f"{self.step:<12}" if self.step else " " * 12
        return f"[{self.elapsed_seconds:7.1f}s] {mark} {step} {self.message}"
