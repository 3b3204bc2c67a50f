"""oVirt: the only package that imports ovirtsdk4. Use `Engine` and our own dataclasses."""

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
