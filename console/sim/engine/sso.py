"""The engine's SSO: password grant, bearer-token checks, logout.

Shapes follow enginesso's OAuthTokenServlet and SsoLogoutServlet: JSON bodies;
a failed grant answers 400 with ``error_code``/``error``.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

SCOPE = "ovirt-app-api"


@dataclass
class Token:
    value: str
    user: str
    expires_at: float | None  # time.monotonic() deadline; None = until logout
    revoked: bool = False
    # The engine session the REST API opens on the token's first use (CreateUserSessionCommand).
    session_id: str | None = None
    source_ip: str | None = None


class SsoService:
    def __init__(
        self,
        username: str,
        password: str,
        token_lifetime: float | None = None,
        on_session: Callable[[bool, str, str], None] | None = None,
    ) -> None:
        # on_session(logged_in, session_id, source_ip): the engine logs USER_VDC_LOGIN/LOGOUT.
        self.on_session = on_session
        self.username = username
        self.password = password
        self.token_lifetime = token_lifetime
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self.grants = 0  # how many tokens were handed out (tests count re-authentication)

    # ------------------------------------------------------------------ grant
    def grant(self, body: bytes) -> tuple[int, dict]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type")
        if grant_type != "password":
            return 400, {
                "error_code": "unsupported_grant_type",
                "error": f"The authorization grant type {grant_type} is not supported.",
            }
        username = form.get("username", "")
        scope = form.get("scope", "")
        if form.get("password") is None or "username" not in form:
            return 400, {
                "error_code": "invalid_request",
                "error": "The request is missing a required parameter.",
            }
        if username != self.username or form.get("password") != self.password:
            return 400, {
                "error_code": "access_denied",
                "error": f"Cannot authenticate user '{username}': The username or password is incorrect..",
            }
        token = self._issue(username)
        exp_ms = int((time.time() + (self.token_lifetime or 36000)) * 1000)
        return 200, {
            "access_token": token.value,
            "scope": scope or SCOPE,
            "exp": str(exp_ms),
            "token_type": "bearer",
        }

    def _issue(self, user: str) -> Token:
        with self._lock:
            lifetime = self.token_lifetime
            token = Token(
                secrets.token_urlsafe(32), user, time.monotonic() + lifetime if lifetime else None
            )
            self._tokens[token.value] = token
            self.grants += 1
            return token

    # ----------------------------------------------------------------- checks
    def authenticate(self, authorization: str | None, source_ip: str = "") -> str | None:
        """The user behind an Authorization header, or None (engine then answers 401)."""
        if not authorization:
            return None
        if authorization.startswith("Bearer "):
            with self._lock:
                token = self._tokens.get(authorization[len("Bearer ") :].strip())
                if token is None or token.revoked:
                    return None
                if token.expires_at is not None and time.monotonic() >= token.expires_at:
                    return None
                opened = token.session_id is None
                if opened:
                    token.session_id, token.source_ip = secrets.token_urlsafe(48), source_ip
            if opened and self.on_session is not None:
                self.on_session(True, token.session_id, source_ip)
            return token.user
        if authorization.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                return None
            return user if (user, password) == (self.username, self.password) else None
        return None

    def revoke(self, body: bytes) -> tuple[int, dict]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self._lock:
            token = self._tokens.pop(form.get("token", ""), None)
            if token:
                token.revoked = True
        if token is not None and token.session_id is not None and self.on_session is not None:
            self.on_session(False, token.session_id, token.source_ip or "")
        return 200, {}

    def expire_all(self) -> None:
        """Make every issued token invalid, as if they had all timed out."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def live_tokens(self) -> int:
        now = time.monotonic()
        with self._lock:
            return sum(
                1
                for t in self._tokens.values()
                if not t.revoked and (t.expires_at is None or t.expires_at > now)
            )
