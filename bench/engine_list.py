"""Bench: list 5,000 VMs with follow through the real SDK, and 50 concurrent clients.

Run: .venv/bin/python bench/engine_list.py [--vms 5000] [--clients 50] [--rounds 5]
Prints the figures; bench/README.md ("## Engine simulator") records a run.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import ovirtsdk4

from console.sim.engine import EngineSimulator

FOLLOW = "disk_attachments.disk,nics.reported_devices,statistics,tags"


def connect(sim: EngineSimulator) -> ovirtsdk4.Connection:
    return ovirtsdk4.Connection(
        url=sim.url, username=sim.username, password=sim.password, timeout=600
    )


def full_list(sim: EngineSimulator, follow: str | None) -> tuple[float, int]:
    connection = connect(sim)
    try:
        connection.system_service().get()  # log in outside the timing
        started = time.perf_counter()
        vms = connection.system_service().vms_service().list(follow=follow)
        return time.perf_counter() - started, len(vms)
    finally:
        connection.close()


def concurrent_clients(
    sim: EngineSimulator, clients: int, rounds: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        connection = connect(sim)
        try:
            vms = connection.system_service().vms_service()
            vms.list(max=1)
            barrier.wait()
            for r in range(rounds):
                started = time.perf_counter()
                vms.list(
                    search=f"name=vps-1{(index * rounds + r) % 1000:03d}*",
                    follow="nics.reported_devices",
                )
                with lock:
                    latencies.append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return wall, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    with EngineSimulator(vms=args.vms, time_scale=1.0) as sim:
        print(f"seed + start, {args.vms} VMs: {time.perf_counter() - started:.2f} s")
        seconds, count = full_list(sim, None)
        print(f"list {count} VMs, no follow: {seconds:.2f} s")
        seconds, count = full_list(sim, FOLLOW)
        print(f"list {count} VMs, follow={FOLLOW}: {seconds:.2f} s")
        wall, latencies = concurrent_clients(sim, args.clients, args.rounds)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"{args.clients} clients x {args.rounds} searches (name=vps-1NNN*, follow=nics.reported_devices): "
            f"{len(latencies)} calls in {wall:.2f} s = {len(latencies) / wall:.0f} calls/s; "
            f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
