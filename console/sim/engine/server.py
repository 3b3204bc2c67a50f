"""HTTP(S) transport: a threaded HTTP/1.1 server routing SSO, logout and the API.

pycurl keeps connections alive and sends the logout on a second connection, so
the server must be threaded. Every non-empty answer carries a Content-Type.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .api import ApiRequest, ApiResponse
from .xmlout import API, render_fault

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .simulator import EngineSimulator

SSO_TOKEN_PATH = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT_PATH = "/ovirt-engine/services/sso-logout"
PKI_PATH = "/ovirt-engine/services/pki-resource"
HEALTH_PATH = "/ovirt-engine/services/health"
# PKIResourceServlet: the resources and formats it knows, and each format's content type (PKIResources.Format).
PKI_FORMATS = {"X509-PEM-CA": "application/x-x509-ca-cert", "X509-PEM": "application/x-x509-cert"}
# What the servlet container (sendError 401) answers when the engine's auth filter refuses a request.
UNAUTHORIZED_BODY = b"<html><head><title>Error</title></head><body>Unauthorized</body></html>"


class EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        simulator: EngineSimulator,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.simulator = simulator
        self.tls_context = tls_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EngineRequestHandler)
        if tls_context is not None:
            # Handshake later, in the connection's own thread, so one bad client cannot stall accept().
            self.socket = tls_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            if self.tls_context is not None:
                request.settimeout(30)
                request.do_handshake()
                request.settimeout(None)
            self.finish_request(request, client_address)
        except (OSError, ValueError):
            # Clients that hang up or refuse our certificate, and keep-alive connections
            # closed under a reading handler by stop(), are not our problem.
            pass
        except Exception:  # pragma: no cover  # noqa: BLE001 - keep serving, but record the bug
            # Not handle_error: it prints to whatever sys.stderr is then (a CLI's output).
            _log.error("engine simulator: request from %s failed", client_address[0], exc_info=True)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            self.shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EngineRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EngineHTTPServer
    # A real engine answers a small call in about a millisecond. Unbuffered, the status line,
    # each header and the body leave as separate small packets, and Nagle plus the client's
    # delayed ACK hold the last one ~40 ms: every call would look 40x slower than it is.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    # -------------------------------------------------------------- helpers
    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_pki(self, query: dict[str, str]) -> None:
        """PKIResourceServlet: the engine CA's certificate; a bad parameter is a 400 (sendError)."""
        resource, fmt = query.get("resource"), query.get("format", "X509-PEM-CA")
        ca_file = self.server.simulator.ca_file
        if resource is None:
            error = "Missing resource name"
        elif resource != "ca-certificate" or ca_file is None:
            # Without TLS the simulator has no CA; the engine has one only because it has PKI.
            error = f"Resource '{resource}' is invalid"
        elif fmt not in PKI_FORMATS:
            error = f"Format '{fmt}' is invalid"
        else:
            with open(ca_file, "rb") as f:
                self._send(200, f.read(), PKI_FORMATS[fmt])
            return
        self._send(
            400,
            f"<html><head><title>Error</title></head><body>{error}</body></html>".encode(),
            "text/html;charset=UTF-8",
        )

    def _send_json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------- dispatch
    def _dispatch(self) -> None:
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        is_api = path == API or path.startswith(API + "/")
        relative = path[len(API) :] if is_api else path
        if is_api:
            sim._record_call(self.command, relative, query)

        rule = sim.faults.match(self.command, relative)
        if rule is not None:
            if rule.delay:
                time.sleep(rule.delay * (sim.time_scale if rule.scaled else 1.0))
            if rule.drop:
                self._drop()
                return
            fault = rule.to_fault()
            if fault is not None:
                if path.startswith("/ovirt-engine/sso") or path == SSO_LOGOUT_PATH:
                    self._send_json(
                        fault.status,
                        {"error_code": "server_error", "error": fault.detail or fault.reason},
                    )
                else:
                    self._send(
                        fault.status,
                        render_fault(fault.reason, fault.detail),
                        "application/xml;charset=UTF-8",
                    )
                return

        if path == SSO_TOKEN_PATH and self.command == "POST":
            self._send_json(*sim.sso.grant(body))
            return
        if path == SSO_LOGOUT_PATH and self.command == "POST":
            self._send_json(*sim.sso.revoke(body))
            return
        if path == HEALTH_PATH and self.command == "GET":
            # HealthStatus servlet: runs a DB query, prints its verdict, then the greeting.
            self._send(200, b"DB Up!Welcome to Health Status!", "text/html;charset=ISO-8859-1")
            return
        if path == PKI_PATH and self.command == "GET":
            self._send_pki(query)
            return
        if not is_api:
            self._send(
                404,
                b"<html><head><title>Error</title></head><body>Not Found</body></html>",
                "text/html;charset=UTF-8",
            )
            return
        if sim.sso.authenticate(self.headers.get("Authorization"), self.client_address[0]) is None:
            self._send(
                401, UNAUTHORIZED_BODY, "text/html;charset=UTF-8", {"WWW-Authenticate": "Bearer"}
            )
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        response: ApiResponse = sim.api.handle(
            ApiRequest(self.command, relative, query, headers, body)
        )
        extra = dict(response.headers)
        if "Location" in extra:
            host = self.headers.get("Host") or f"{sim.host}:{sim.port}"
            extra["Location"] = f"{sim.scheme}://{host}{extra['Location']}"
        correlation = query.get("correlation_id") or headers.get("correlation-id")
        if correlation:
            extra["Correlation-Id"] = correlation
        self._send(response.status, response.body, response.content_type, extra)
