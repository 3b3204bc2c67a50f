"""Path matching as JAX-RS does it for the engine's resources.

A path no resource answers gives 404; a path a resource answers, but not for
this method, gives 405 with an ``Allow`` header and no entity (JAX-RS 2.0
section 3.7.2: the engine registers no mapper for NotAllowedException or
NotFoundException, so RESTEasy's bare responses go out).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., Any]
_ID = r"(?P<{}>[^/]+)"


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{(\w+)\}", lambda m: _ID.format(m.group(1)), template))


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    is_action: bool = False


@dataclass
class Miss:
    status: int  # 404 or 405
    allow: list[str]


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, is_action: bool = False) -> None:
        self.routes.append(Route(method, template, _pattern(template), handler, is_action))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | Miss:
        found: list[tuple[Route, dict[str, str]]] = []
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m:
                found.append((route, m.groupdict()))
        if not found:
            return Miss(404, [])
        for route, groups in found:
            if route.method == method:
                return route, groups
        if method == "HEAD":
            for route, groups in found:
                if route.method == "GET":
                    return route, groups
        return Miss(405, sorted({r.method for r, _ in found}))

    def templates(self, method: str = "GET") -> list[str]:
        return [r.template for r in self.routes if r.method == method]
