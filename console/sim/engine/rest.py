"""The request and response of the REST layer, and body parsing with the SDK's own readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ovirtsdk4 import reader

from .faults import EngineFault

XML = "application/xml;charset=UTF-8"


@dataclass
class ApiRequest:
    method: str
    path: str  # relative to the API root: "" or "/vms/ID/start"
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def correlation_id(self) -> str | None:
        return self.query.get("correlation_id") or self.headers.get("correlation-id")

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        if value is None and name == "all_content":
            value = self.headers.get("all-content")
        return (value or "").lower() == "true"


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str | None = XML
    headers: dict[str, str] = field(default_factory=dict)
    objects: list[Any] | None = (
        None  # what a sub-collection listed, for the GET of one of its items
    )


def parse_body(body: bytes, expected: type) -> Any:
    try:
        obj = reader.Reader.read(body) if body.strip() else None
    except Exception:  # noqa: BLE001 - any unreadable body is a bad request
        obj = None
    if not isinstance(obj, expected):
        raise EngineFault(
            400, "Operation Failed", f"Failed to parse the request body as {expected.__name__}"
        )
    return obj
