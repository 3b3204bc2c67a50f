"""The engine's failures, as the console explains them.

Every SDK exception is turned into one of these at the facade's edge, so nothing above
console.ovirt knows ovirtsdk4 exists. `retryable` tells the runner whether waiting and
trying again can help (a lock, an overloaded or unreachable engine) or whether the engine
refused the input and only a change of plan will.
"""

from __future__ import annotations

from console.errors import ConsoleError

CA_HINT = (
    "set ca_file in the [[engines]] entry to the engine's CA certificate, e.g. fetched "
    "from https://ENGINE/ovirt-engine/services/pki-resource?resource=ca-certificate"
    "&format=X509-PEM-CA"
)


class EngineError(ConsoleError):
    """Base of the engine errors; `status` is the HTTP status when there was one."""

    retryable = False
    code = "engine"

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        reason: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(message, hint)
        self.status = status
        self.reason = reason
        self.detail = detail


class EngineLocked(EngineError):
    """The object is busy (image locked, another task running): normal during a clone."""

    retryable = True
    code = "engine_locked"


class EngineNotFound(EngineError):
    code = "engine_not_found"


class EngineRejected(EngineError):
    """The engine refused the request; the message carries its reason and detail."""

    code = "engine_rejected"


class EngineUnavailable(EngineError):
    """Connection refused or dropped, timeout, or a 5xx: the engine may be fine later."""

    retryable = True
    code = "engine_unavailable"


class EngineAuthFailed(EngineError):
    code = "engine_auth"


class EngineTLSError(EngineError):
    code = "engine_tls"
