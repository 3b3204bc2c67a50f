"""oVirt: the only package that imports ovirtsdk4. Use `Engine` and our own dataclasses.

The names below load on first use (PEP 562), not with the package: the listing's parse
helper (`python -m console.ovirt.slim`) imports this package and must not load the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.ovirt.engine import Engine
    from console.ovirt.errors import (
        EngineAuthFailed,
        EngineError,
        EngineLocked,
        EngineNotFound,
        EngineRejected,
        EngineTLSError,
        EngineUnavailable,
    )
    from console.ovirt.models import (
        Cluster,
        Disk,
        EngineInfo,
        Initialization,
        StorageDomain,
        Template,
        Vm,
    )

__all__ = [
    "Cluster",
    "Disk",
    "Engine",
    "EngineAuthFailed",
    "EngineError",
    "EngineInfo",
    "EngineLocked",
    "EngineNotFound",
    "EngineRejected",
    "EngineTLSError",
    "EngineUnavailable",
    "Initialization",
    "StorageDomain",
    "Template",
    "Vm",
]
# Looked up in this order: the first two load without the SDK.
_HOMES = ("models", "errors", "engine")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for home in _HOMES:
            module = importlib.import_module(f"{__name__}.{home}")
            if hasattr(module, name):
                value = getattr(module, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
