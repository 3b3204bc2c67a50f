"""Both simulators answer like a fast server: no Nagle, one write per response, and the
WHMCS simulator answers lookups from indexes, so a sync's cost grows with the orders it reads."""

from __future__ import annotations

import socket

import httpx
import ovirtsdk4
import pytest

from console.billing.sync import sync_orders
from console.sim.engine import EngineSimulator
from console.sim.whmcs import WhmcsSimulator
from console.store.db import open_store
from tests.plugins.whmcs import client_for


class ServerWrites:
    """Every send/sendall a server socket (local port = the server's) makes, and whether
    TCP_NODELAY was set on it at the time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
        self.port = port
        self.writes: list[tuple[int, bool]] = []  # (fileno, nodelay)
        for name in ("send", "sendall"):
            original = getattr(socket.socket, name)
            monkeypatch.setattr(socket.socket, name, self._wrap(original))

    def _wrap(self, original):
        def counted(sock, *args, **kwargs):
            try:
                local_port = sock.getsockname()[1]
            except OSError:
                local_port = None
            if local_port == self.port:
                nodelay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                self.writes.append((sock.fileno(), nodelay))
            return original(sock, *args, **kwargs)

        return counted


def test_engine_simulator_answers_each_call_in_one_write_without_nagle(monkeypatch):
    with EngineSimulator(vms=3) as sim:
        writes = ServerWrites(monkeypatch, sim.port)
        connection = ovirtsdk4.Connection(url=sim.url, username=sim.username, password=sim.password)
        try:
            system = connection.system_service()
            system.clusters_service().list()
            sim.reset_calls()
            writes.writes.clear()
            for _ in range(3):
                system.templates_service().list()
                system.vms_service().list(search="name=nothing-like-this")
            answered = list(writes.writes)  # before close(): its logout is one more answer
        finally:
            connection.close()
        assert len(sim.calls) == 6
        assert len(answered) == 6, "one write per response: status, headers and body"
        assert all(nodelay for _, nodelay in answered)


def test_whmcs_simulator_answers_each_call_in_one_write_without_nagle(monkeypatch):
    with WhmcsSimulator(orders=3) as sim:
        writes = ServerWrites(monkeypatch, sim.port)
        data = {"identifier": sim.identifier, "secret": sim.secret, "responsetype": "json"}
        with httpx.Client() as http:
            for _ in range(4):
                assert http.post(sim.api_url, data={**data, "action": "GetOrders"}).is_success
        assert len(writes.writes) == 4 and all(nodelay for _, nodelay in writes.writes)


def records_examined_by_a_sync(store_factory, catalog, orders: int) -> tuple[int, int]:
    with WhmcsSimulator(seed=5, orders=orders) as sim, client_for(sim) as client:
        sim.world.examined = 0
        report = sync_orders(store_factory(), client, catalog)
        return sim.world.examined, len(report.created)


def test_a_sync_examines_a_bounded_number_of_records_per_order(tmp_path, catalog):
    made = iter(range(10))

    def new_store():
        return open_store(f"sqlite:///{tmp_path}/s{next(made)}.db")

    small, small_created = records_examined_by_a_sync(new_store, catalog, 150)
    large, large_created = records_examined_by_a_sync(new_store, catalog, 600)
    assert small_created > 100 and large_created > 400
    # Linear: the pending list is walked once, each order's invoice and service looked up
    # by key. A scan per GetInvoice would examine ~600 x 600 / 2 records here.
    assert large <= 4 * 600 + 50
    assert large / small < 4 * 1.25
