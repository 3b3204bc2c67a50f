"""Embedded oVirt 4.5 engine simulator, driven by the unmodified ovirtsdk4 over real HTTP(S).

Modules: ``simulator`` (public entry point), ``server`` (HTTP/TLS transport),
``sso`` (tokens), ``api`` (REST routes and list parameters), ``xmlout``
(serialisation with the SDK's own writers), ``world`` (behaviour, lifecycles,
events, jobs), ``search`` (query language), ``seed`` (inventory), ``clock``
(time scale and scheduler), ``faults`` (engine faults and fault injection;
the fault file format is documented there), ``tls`` (CA and certificate).
"""

from .faults import EngineFault, FaultInjector, FaultRule
from .simulator import EngineSimulator

__all__ = ["EngineFault", "EngineSimulator", "FaultInjector", "FaultRule"]
