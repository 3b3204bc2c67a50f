"""HTTP front of the simulated WHMCS: ``POST /includes/api.php``.

Speaks the classic WHMCS API: form-encoded POST, ``action``, credentials as
``identifier``/``secret`` (or ``username``/``password``), ``responsetype=json``.
Every call is recorded in :attr:`WhmcsSimulator.calls` with its parameters,
passwords included, so tests can assert what a handover sent. The API
credentials themselves are not recorded.
"""

from __future__ import annotations

import json
import logging
import secrets as _secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from .faults import Fault, Faults
from .world import ApiError, EnvelopeError, Order, World

_log = logging.getLogger(__name__)

API_PATH = "/includes/api.php"
MAX_RECORDED_CALLS = 50_000
_AUTH_KEYS = ("identifier", "secret", "username", "password", "accesskey", "responsetype", "action")

MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Down for Maintenance</title></head>"
    "<body><h1>Down for Maintenance</h1><p>We are currently performing maintenance. "
    "Please check back soon.</p></body></html>"
)


@dataclass
class Call:
    """One API call as the simulator received it."""

    action: str
    params: dict[str, str]
    at: datetime
    status: int = 200
    result: str = ""
    message: str = ""
    fault: str | None = None


@dataclass
class _Reply:
    status: int
    body: str
    content_type: str = "application/json"
    drop: bool = False


class WhmcsSimulator:
    """A WHMCS API on a real socket, seeded and fault-injectable.

    ``with WhmcsSimulator(orders=300) as sim: ...`` or ``start()``/``stop()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        orders: int = 40,
        arrival_per_minute: float = 0.0,
        time_scale: float = 1.0,
        identifier: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.world = World(
            seed=seed, orders=orders, arrival_per_minute=arrival_per_minute, time_scale=time_scale
        )
        self.identifier = identifier or "sim-" + _secrets.token_hex(8)
        self.secret = secret or _secrets.token_urlsafe(24)
        self.faults = Faults()
        self.calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> WhmcsSimulator:
        if self._server is not None:
            return self
        handler = _make_handler(self)
        self._server = _Server((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="whmcs-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        # keep-alive connections would otherwise go on being served: a stopped
        # WHMCS must look down to every client
        self._server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> WhmcsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL of the WHMCS install; the API is at ``url + "/includes/api.php"``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    # ----------------------------------------------------------- test helpers
    def add_order(self, **kwargs: object) -> Order:
        """Add a pending order (see :meth:`World.add_order` for the arguments)."""
        return self.world.add_order(**kwargs)  # type: ignore[arg-type]

    def cancel_order(self, order_id: int, *, refund: bool = False) -> None:
        self.world.cancel_order(order_id, refund=refund)

    def calls_for(self, action: str) -> list[Call]:
        with self._calls_lock:
            return [c for c in self.calls if c.action.lower() == action.lower()]

    def order_status(self, order_id: int) -> str:
        with self.world.lock:
            return self.world.orders[order_id].status

    def service(self, service_id: int):
        with self.world.lock:
            return self.world.services[service_id]

    # ---------------------------------------------------------------- requests
    def handle(self, params: dict[str, str], client_ip: str) -> _Reply:
        action = params.get("action", "")
        recorded = {k: v for k, v in params.items() if k not in _AUTH_KEYS}
        call = Call(action=action, params=recorded, at=datetime.now())
        reply = self._answer(action, params, call)
        call.status = reply.status
        with self._calls_lock:
            self.calls.append(call)
            if len(self.calls) > MAX_RECORDED_CALLS:  # a demo running for days stays small
                del self.calls[: len(self.calls) - MAX_RECORDED_CALLS]
        return reply

    def _answer(self, action: str, params: dict[str, str], call: Call) -> _Reply:
        fault = self.faults.pick(action)
        if fault is not None:
            call.fault = fault.kind
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            else:
                return self._fault_reply(fault, action, call)
        if not self._authenticated(params):
            return self._error(call, "Authentication Failed", status=403)
        if not action:
            return self._error(call, "Command Not Found")
        try:
            data = self.world.dispatch(action, params)
        except EnvelopeError as exc:
            call.result, call.message = "error", str(exc)
            return _Reply(200, json.dumps(exc.envelope))
        except ApiError as exc:
            return self._error(call, str(exc))
        call.result = "success"
        return _Reply(200, json.dumps({"result": "success", **data}))

    def _authenticated(self, params: dict[str, str]) -> bool:
        ident = params.get("identifier", params.get("username", ""))
        secret = params.get("secret", params.get("password", ""))
        return _secrets.compare_digest(ident, self.identifier) and _secrets.compare_digest(
            secret, self.secret
        )

    @staticmethod
    def _error(call: Call, message: str, status: int = 200) -> _Reply:
        call.result, call.message = "error", message
        return _Reply(status, json.dumps({"result": "error", "message": message}))

    def _fault_reply(self, fault: Fault, action: str, call: Call) -> _Reply:
        if fault.kind == "auth":
            return self._error(call, "Authentication Failed", status=403)
        if fault.kind == "ip":
            return self._error(call, f"Invalid IP {fault.ip}", status=403)
        if fault.kind == "permission":
            return self._error(
                call,
                f'Invalid Permissions: API action "{action.lower()}" is not allowed',
                status=403,
            )
        if fault.kind == "error":
            return self._error(call, fault.message)
        if fault.kind in ("http500", "http503"):
            code = 500 if fault.kind == "http500" else 503
            return _Reply(
                code, f"<html><body><h1>{code} Server Error</h1></body></html>", "text/html"
            )
        if fault.kind == "maintenance":
            return _Reply(200, MAINTENANCE_PAGE, "text/html")
        return _Reply(0, "", drop=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args, **kwargs) -> None:
        self._open: set = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up, or a stop() that closes its keep-alive connection under a
        # reading handler, is ordinary; the stdlib would print a traceback to whatever
        # sys.stderr is at that moment (a CLI's output, a screen).
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, ValueError)):
            return
        _log.error("WHMCS simulator: request from %s failed", client_address[0], exc_info=True)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            try:
                sock.shutdown(2)
            except OSError:
                pass


def _make_handler(sim: WhmcsSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # one buffered write per response and no Nagle: otherwise headers and
        # body go out in two packets and delayed ACKs add ~40 ms to every call
        wbufsize = 1 << 16
        disable_nagle_algorithm = True
        server_version = "Apache"  # what a WHMCS host typically reports

        def log_message(self, format: str, *args: object) -> None:
            pass  # silence: tests read sim.calls instead

        def do_GET(self) -> None:
            if self.path.split("?")[0] == API_PATH:
                # WHMCS rejects a bare GET without credentials the same way
                self._send(
                    _Reply(403, json.dumps({"result": "error", "message": "Authentication Failed"}))
                )
            else:
                self._send(_Reply(404, "<html><body>Not Found</body></html>", "text/html"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            if self.path.split("?")[0] != API_PATH:
                self._send(_Reply(404, "<html><body>Not Found</body></html>", "text/html"))
                return
            params = dict(parse_qsl(body, keep_blank_values=True))
            reply = sim.handle(params, self.client_address[0])
            if reply.drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            self._send(reply)

        def _send(self, reply: _Reply) -> None:
            payload = reply.body.encode("utf-8")
            self.send_response(reply.status)
            self.send_header("Content-Type", f"{reply.content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
