"""SDK exceptions → our engine errors, with the engine's own reason kept."""

from __future__ import annotations

import re

import ovirtsdk4 as sdk

from console.ovirt.errors import (
    CA_HINT,
    EngineAuthFailed,
    EngineError,
    EngineLocked,
    EngineNotFound,
    EngineRejected,
    EngineTLSError,
    EngineUnavailable,
)

# A 409 means "busy, try later" only for these; "name in use", "VM is running" or "low disk
# space" are 409s too, and retrying those would never help.
_LOCKED = re.compile(r"locked|try again in a few minutes|Image Locked", re.IGNORECASE)
_TLS = re.compile(r"SSL|certificate|TLS|\(60,|\(35,|\(51,|\(77,", re.IGNORECASE)
_UNREACHABLE_HINT = (
    "check the engine URL in the config and that the engine (ovirt-engine "
    "service and its Apache) is up and reachable from here"
)


def _fault_text(error: sdk.Error) -> tuple[str | None, str | None]:
    fault = getattr(error, "fault", None)
    if fault is None:
        return None, None
    return fault.reason, fault.detail


def _clean_detail(detail: str | None) -> str | None:
    # The engine sends backend messages as a Java list: "[msg1, msg2]".
    if detail and detail.startswith("[") and detail.endswith("]"):
        return detail[1:-1]
    return detail


def translate(error: Exception, what: str, url: str) -> EngineError:
    """Explain `error`, raised while doing `what` against the engine at `url`."""
    if isinstance(error, EngineError):
        return error
    status = getattr(error, "code", None)
    reason, detail = _fault_text(error) if isinstance(error, sdk.Error) else (None, None)
    detail = _clean_detail(detail)
    said = detail or reason or str(error)
    if isinstance(error, sdk.AuthError):
        if status == 403:
            return EngineAuthFailed(
                f"the engine refused to {what}: no permission ({said})",
                "give the configured user a role that allows it (e.g. "
                "UserVmManager plus TemplateUser on the templates)",
                status=status,
                reason=reason,
                detail=detail,
            )
        return EngineAuthFailed(
            f"cannot log in to the engine at {url}: {said}",
            "check username in the [[engines]] entry and the password "
            "(vps-console credentials set engine NAME, or "
            "VPS_CONSOLE_ENGINE_PASSWORD)",
            status=status,
            reason=reason,
            detail=detail,
        )
    if isinstance(error, sdk.NotFoundError) or status == 404:
        return EngineNotFound(
            f"cannot {what}: not found on the engine" + (f" ({said})" if detail or reason else ""),
            "it may have been removed meanwhile; refresh and check the name",
            status=status,
            reason=reason,
            detail=detail,
        )
    if isinstance(error, (sdk.ConnectionError, sdk.TimeoutError)) or (
        isinstance(error, sdk.Error) and status is None
    ):
        text = str(error)
        if _TLS.search(text):
            return EngineTLSError(
                f"cannot verify the engine's TLS certificate at {url}: {text}", CA_HINT
            )
        kind = "timed out" if isinstance(error, sdk.TimeoutError) else "failed"
        return EngineUnavailable(f"{what} {kind}: {text}", _UNREACHABLE_HINT)
    if status is not None and status >= 500:
        return EngineUnavailable(
            f"the engine failed to {what} (HTTP {status}): {said}",
            "the engine had an internal error; it is retried, and if it "
            "persists see engine.log on the engine host",
            status=status,
            reason=reason,
            detail=detail,
        )
    if status == 409 and _LOCKED.search(said):
        return EngineLocked(
            f"cannot {what} yet: {said}",
            "the engine is busy with this object; it is retried automatically",
            status=status,
            reason=reason,
            detail=detail,
        )
    if isinstance(error, sdk.Error):
        return EngineRejected(
            f"the engine refused to {what}: {said}",
            _rejection_hint(said),
            status=status,
            reason=reason,
            detail=detail,
        )
    return EngineUnavailable(f"{what} failed: {error}", _UNREACHABLE_HINT)


def _rejection_hint(said: str) -> str:
    lowered = said.lower()
    if "low disk space" in lowered:
        return "free space on that storage domain or clone to another one"
    if "name is already in use" in lowered:
        return "a VM with this name exists; check it belongs to this order, or rename"
    if "memory" in lowered:
        return "adjust memory / guaranteed memory in the plan"
    return "change the plan so the engine accepts it, then retry"
