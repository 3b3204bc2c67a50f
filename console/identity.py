"""Who is acting: `user@host`, recorded on claims, jobs and every audited action."""

from __future__ import annotations

import getpass
import os
import socket


def current_actor() -> str:
    override = os.environ.get("VPS_CONSOLE_ACTOR")
    if override:
        return override
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"
