"""Bench: list 5,000 VMs with follow through the real SDK, and 50 concurrent clients; then
the VMs view's listing (pages of 500 by name) against the simulator in another process,
split into serialisation + transfer and parse, with the SDK's readers and with the slim parse.

Run: .venv/bin/python bench/engine_list.py [--vms 5000] [--clients 50] [--rounds 5] [--view-only]
Prints the figures; bench/README.md ("## Engine simulator") records a run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time

import ovirtsdk4
from ovirtsdk4 import reader

from console.config import EngineConfig
from console.ovirt import Engine, rows, slim
from console.ovirt.engine import _get_raw
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


# The engine in its own process, as a real one is: its serialisation does not share this
# process's GIL with the parse measured here.
SIM_SCRIPT = """
import json, sys
from console.sim.engine import EngineSimulator
sim = EngineSimulator(vms=int(sys.argv[1]), time_scale=0.01, seed=1).start()
print(json.dumps({"url": sim.url, "password": sim.password, "user": sim.username}), flush=True)
for line in sys.stdin:  # "forget": drop the per-VM XML kept, so the next listing is a first
    with sim.world.lock:
        sim.api.vm_xml._entries.clear()
    print("ok", flush=True)
"""
PAGE = 500


def view_listing(vms: int) -> None:
    """The VMs view's listing, page by page: the time to get each body (the engine's
    serialisation and the transfer), then to parse it with the SDK's readers + rows.vm_row
    and with the slim parse; with and without the disks followed; the engine's first
    listing (cold) and the next (its per-VM XML kept)."""
    process = subprocess.Popen(
        [sys.executable, "-c", SIM_SCRIPT, str(vms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    access = json.loads(process.stdout.readline())
    engine = Engine(
        EngineConfig(name="bench", url=access["url"], username=access["user"]), access["password"]
    )
    try:
        engine.clusters()
        for follow in ("disk_attachments.disk", None):
            for run in ("first", "again"):
                fetch = by_slim = by_sdk = 0.0
                size = calls = 0
                while True:
                    calls += 1
                    query = {
                        "search": f"name=vps-* sortby name asc page {calls}",
                        "follow": follow,
                        "max": PAGE,
                    }
                    started = time.perf_counter()
                    body = engine._call(
                        "list", lambda s, q, query=query: _get_raw(s.vms_service(), query, q)
                    )
                    fetch += time.perf_counter() - started
                    size += len(body)
                    started = time.perf_counter()
                    found = slim.vm_rows(body, cluster_names={}, template_names={})
                    by_slim += time.perf_counter() - started
                    started = time.perf_counter()
                    for vm in reader.Reader.read(body):
                        rows.vm_row(vm, cluster_names={}, template_names={})
                    by_sdk += time.perf_counter() - started
                    if len(found) < PAGE:
                        break
                print(
                    f"view listing, follow={follow or '-'}, {run}: {calls} calls, {size / 1e6:.1f} MB; "
                    f"serialise + transfer {fetch:.2f} s; parse: SDK {by_sdk:.2f} s, slim {by_slim:.2f} s"
                )
        overlapped(engine, process)
    finally:
        engine.close()
        assert process.stdin is not None
        process.stdin.close()
        process.wait()


def overlapped(engine: Engine, process: subprocess.Popen[str]) -> None:
    """The whole listing as the console reads it (follow nothing, the slim parse, pages of
    1 MB and more in the parse helper): each page fetched, then parsed, one after the other
    (as before console/ovirt/listing.py), and each page parsed while the next is fetched."""
    assert process.stdin is not None and process.stdout is not None

    def one_after_the_other() -> int:
        count = page = 0
        while True:
            page += 1
            found = engine.vm_rows("name=vps-*", page=page, per_page=PAGE)
            count += len(found)
            if len(found) < PAGE:
                return count

    def overlapping() -> int:
        return sum(len(rows) for rows in engine.vm_row_pages("name=vps-*", per_page=PAGE))

    for name, listing in (
        ("one after the other", one_after_the_other),
        ("overlapped", overlapping),
    ):
        for run in ("first", "again"):
            if run == "first":
                process.stdin.write("forget\n")
                process.stdin.flush()
                process.stdout.readline()
            started = time.perf_counter()
            count = listing()
            print(
                f"whole listing, fetch and parse {name}, {run}: {count} VMs in "
                f"{time.perf_counter() - started:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--view-only", action="store_true", help="only the VMs view's listing (the last part)"
    )
    args = parser.parse_args()
    if args.view_only:
        view_listing(args.vms)
        return

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
    view_listing(args.vms)


if __name__ == "__main__":
    main()
