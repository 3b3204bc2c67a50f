"""Zero-wait provisioning: the engineer's wait and paid → handed over, per intake policy.

Against the embedded engine simulator (plain HTTP, real SDK) at demo timings: the
simulator and the runner's waits scaled by one time factor (`vps-console demo`'s 0.3 by
default). The template alma9-cpanel is grown to an 80 GiB disk first (the simulator seeds
it at 40 GiB). N orders of that product arrive at a steady rate (one every --gap engine
seconds), straight into the store as billing sync would put them.

Engineer model: each order is picked up a fixed --pickup engine seconds after it was paid
and confirmed at once (its plan as ordered, no key to paste: cPanel is licensed by IP);
the engineer's wait runs from that confirmation to the handover. With `preclone`, an order
whose copy is still running when picked up is waited for (that wait counts). With
`provision` nobody confirms: paid → handed over only. The intake runs as `vps-console
worker` does (IntakeWorker, a tick every --tick engine seconds, jobs in threads); the
limit of 2 clones per storage domain applies to every policy.

With --pool N (policy `provision`, or any other), a warm pool of N VMs of the template
(`[[pool]]`) is filled before the first order and refilled by the worker's ticks: an
order takes a pool VM instead of cloning when one is ready.

Goals (issue 14), at demo timings (wall seconds at the demo factor; the engine-second
figure is printed beside): the engineer's wait p50 < 60 s with preclone or the pool;
paid -> handed over p50 < 60 s for `provision` with the pool. Each is printed met/MISSED.

Figures are printed in engine seconds (wall / time factor: what a real engine at the
simulator's pace would take) and in wall seconds at the demo factor.

Run: .venv/bin/python bench/zero_wait.py [--orders 20] [--time-scale 0.3] [--gap 15]
     [--pickup 120] [--policies queue,preclone,provision] [--pool 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from console.config import (
    CatalogConfig,
    Config,
    EngineConfig,
    IntakePolicy,
    PoolEntry,
    ProductMapping,
    StoreConfig,
)
from console.flow import parking
from console.flow.errors import JobBusy
from console.flow.plan import Overrides, draft_plan
from console.flow.pool import PoolKeeper, took_from_pool
from console.flow.runner import Runner
from console.flow.services import Services
from console.flow.timing import Timing
from console.flow.worker import IntakeWorker
from console.secrets import MemorySecretStore
from console.sim.engine import EngineSimulator
from console.store import jobs as repo
from console.store.db import open_store
from console.store.models import Order, utcnow
from console.store.orders import get_order

GiB = 1024**3
TEMPLATE = "alma9-cpanel"
TEMPLATE_GIB = 80
PRODUCT = "VPS Linux cPanel"
# Keystrokes per order from the open console (asserted in tests/tui: `p`, `ctrl+l` for an
# order with no key to paste; none when nobody has to confirm).
KEYS = {IntakePolicy.QUEUE: 2, IntakePolicy.PRECLONE: 2, IntakePolicy.PROVISION: 0}


@dataclass
class Times:
    order_id: str
    paid: datetime
    confirmed: datetime | None = None
    handed_over: datetime | None = None
    state: str = ""
    pooled: bool = False  # its VM was a warm-pool VM, not a clone


def grow_template(sim: EngineSimulator, gib: int) -> None:
    """The bench's template at `gib` GiB, its image a third full (as the seed fills them)."""
    with sim.world.lock:
        for template in sim.world.templates.values():
            if template.name == TEMPLATE:
                for disk_id in template.disk_ids:
                    disk = sim.world.disks[disk_id]
                    disk.provisioned_size, disk.actual_size = gib * GiB, gib * GiB // 3


def config_for(sim: EngineSimulator, store_url: str, policy: IntakePolicy, pool: int) -> Config:
    product = ProductMapping(
        billing_product=PRODUCT,
        template=TEMPLATE,
        cpus=2,
        memory_mib=4096,
        disk_gib=TEMPLATE_GIB,
        license_kinds=("cpanel",),
        on_paid=policy,
    )
    return Config(
        engines=(
            EngineConfig(
                name="sim",
                url=sim.url,
                username=sim.username,
                cluster="prod-a",
                storage_domain="data-ssd",
            ),
        ),
        catalog=CatalogConfig(products=(product,)),
        store=StoreConfig(url=store_url),
        pool=(
            (PoolEntry(template=TEMPLATE, cluster="prod-a", size=pool, storage_domain="data-ssd"),)
            if pool
            else ()
        ),
    )


def fill_pool(services: Services, size: int, timeout: float) -> None:
    """Refill until `size` pool VMs are ready, as a console kept open before the orders."""
    from console.store import pool as pool_repo
    from console.store.pool import PoolVmState

    keeper = PoolKeeper(services)
    deadline = time.monotonic() + timeout
    while True:
        keeper.refill()
        ready = [r for r in pool_repo.rows(services.store) if r.state == PoolVmState.READY]
        if len(ready) >= size:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the pool did not fill: {len(ready)} of {size} ready")
        time.sleep(0.5)


def engineer(runner: Runner, times: Times, scale: float) -> None:
    """Confirm the order as ordered and wait for its handover."""
    store = runner.store
    times.confirmed = utcnow()
    copying = repo.open_job_for_order(store, times.order_id)
    if copying is not None and parking.busy_preclone(copying) is not None:
        parking.wait_until_parked(runner, times.order_id, 3600 * scale)
    order = get_order(store, times.order_id)
    assert order is not None
    engine = runner.services.engine()
    draft = draft_plan(
        order,
        runner.services.config.catalog.products[0],
        engine.list_templates(),
        runner.services.config,
        Overrides(),
    )
    assert draft.plan is not None, draft.problems
    job = runner.launch(times.order_id, draft.plan, {}, confirm_warnings=True)
    try:
        runner.run(job.id)
    except JobBusy:
        pass  # a worker took the launched job on: it finishes it, we wait for it


def run_policy(policy: IntakePolicy, args: argparse.Namespace) -> list[Times]:
    scale = args.time_scale
    workdir = Path(tempfile.mkdtemp(prefix="vpsc-zero-wait-"))
    sim = EngineSimulator(time_scale=scale, vms=20, seed=1).start()
    grow_template(sim, TEMPLATE_GIB)
    store_url = f"sqlite:///{workdir / 'console.db'}"
    store = open_store(store_url)
    os.environ["VPS_CONSOLE_ENGINE_PASSWORD"] = sim.password
    services = Services(config_for(sim, store_url, policy, args.pool), store, MemorySecretStore())
    runner = Runner(services, timing=Timing().scaled(scale))
    if args.pool:
        fill_pool(services, args.pool, 3600 * scale)
    worker = IntakeWorker(runner, concurrency=args.orders)
    stop = threading.Event()
    orders: list[Times] = []
    threads: list[threading.Thread] = []

    def intake_loop() -> None:
        while not stop.is_set():
            worker.tick(sync=False)
            stop.wait(args.tick * scale)

    looper = threading.Thread(target=intake_loop, daemon=True)
    if policy != IntakePolicy.QUEUE or args.pool:
        looper.start()  # the worker's ticks: intake, and the pool's refill
    try:
        for n in range(args.orders):
            order_id = str(5000 + n)
            times = Times(order_id, utcnow())
            with store.session() as session:
                session.add(
                    Order(
                        id=order_id,
                        source="manual",
                        product_name=PRODUCT,
                        client_name="Bench Client",
                        cpus=2,
                        memory_mib=4096,
                        disk_gib=TEMPLATE_GIB,
                        hostname=f"o{order_id}.example.net",
                        paid_at=times.paid,
                    )
                )
            orders.append(times)
            if policy != IntakePolicy.PROVISION:
                timer = threading.Timer(args.pickup * scale, engineer, args=(runner, times, scale))
                timer.start()
                threads.append(timer)
            time.sleep(args.gap * scale)
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 3600 * scale
        while time.monotonic() < deadline:
            states = [
                (get_order(store, t.order_id).handed_over_at, t)
                for t in orders  # type: ignore[union-attr]
            ]
            if all(at is not None for at, _ in states):
                break
            time.sleep(0.2)
        for times in orders:
            row = get_order(store, times.order_id)
            assert row is not None
            times.handed_over = row.handed_over_at
            times.state = str(row.status)
            times.pooled = any(
                took_from_pool(job.data) for job in repo.list_jobs(store, order_id=times.order_id)
            )
    finally:
        stop.set()
        worker.wait()
        services.close()
        store.close()
        sim.stop()
    return orders


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.3)
    parser.add_argument("--gap", type=float, default=15.0, help="engine seconds between orders")
    parser.add_argument("--pickup", type=float, default=120.0, help="engine s paid → picked up")
    parser.add_argument("--tick", type=float, default=10.0, help="engine s between intakes")
    parser.add_argument("--policies", default="queue,preclone,provision")
    parser.add_argument("--pool", type=int, default=0, help="warm pool size (0: none)")
    args = parser.parse_args()
    scale = args.time_scale
    print(
        f"{args.orders} orders of {TEMPLATE} at {TEMPLATE_GIB} GiB, one every {args.gap:g} "
        f"engine s, picked up {args.pickup:g} s after payment, time factor {scale:g}"
        + (f", warm pool of {args.pool}" if args.pool else "")
    )
    header = (
        "| policy | engineer's wait p50 / p95 | paid → handed over p50 / p95 | keys per order |"
    )
    print(header + "\n|---|---|---|---|")
    for name in args.policies.split(","):
        policy = IntakePolicy(name)
        started = time.monotonic()
        orders = run_policy(policy, args)
        missing = [t.order_id for t in orders if t.handed_over is None]
        if missing:
            print(f"| {policy} | not all handed over: {missing} | | |")
            continue
        paid = [(t.handed_over - t.paid).total_seconds() / scale for t in orders]  # type: ignore[operator]
        waited = [
            (t.handed_over - t.confirmed).total_seconds() / scale  # type: ignore[operator]
            for t in orders
            if t.confirmed is not None
        ]
        wait_text = (
            f"{pct(waited, 50):.0f} / {pct(waited, 95):.0f} s "
            f"({pct(waited, 50) * scale:.1f} / {pct(waited, 95) * scale:.1f} s wall)"
            if waited
            else "no engineer"
        )
        print(
            f"| {policy} | {wait_text} | {pct(paid, 50):.0f} / {pct(paid, 95):.0f} s "
            f"({pct(paid, 50) * scale:.1f} / {pct(paid, 95) * scale:.1f} s wall) "
            f"| {KEYS[policy]} |",
            flush=True,
        )
        pooled = sum(t.pooled for t in orders)
        print(
            f"  ({policy}: {time.monotonic() - started:.0f} s wall for the run; "
            f"{pooled} of {len(orders)} took a pool VM)",
            flush=True,
        )
        if waited and (policy == IntakePolicy.PRECLONE or args.pool):
            verdict = "met" if pct(waited, 50) * scale < 60 else "MISSED"
            print(f"  goal engineer's wait p50 < 60 s at demo timings: {verdict}", flush=True)
        if policy == IntakePolicy.PROVISION and args.pool:
            verdict = "met" if pct(paid, 50) * scale < 60 else "MISSED"
            print(f"  goal paid -> handed over p50 < 60 s at demo timings: {verdict}", flush=True)


if __name__ == "__main__":
    main()
