"""A simulated WHMCS billing system, reached only over HTTP.

Imports nothing from the rest of ``console``: it is a separate world, like a
real WHMCS install. See :class:`WhmcsSimulator`.
"""

from .catalog import PRODUCTS
from .faults import KINDS as FAULT_KINDS
from .server import API_PATH, Call, WhmcsSimulator

__all__ = ["API_PATH", "Call", "FAULT_KINDS", "PRODUCTS", "WhmcsSimulator"]
