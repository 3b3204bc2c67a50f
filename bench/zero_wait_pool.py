"""Zero-wait provisioning with a warm pool: how long the engineer and the customer wait.

20 orders for Linux + cPanel (alma9-cpanel, planned at 80 GiB) are paid at a steady rate
against the embedded engine simulator at demo timings (time scale 0.3, as `vps-console
demo`), the runner's waits scaled alike. Engineer model: each order is picked up and
confirmed (`p`, `ctrl+l`: plan and launch) a fixed delay after it is paid; its job then
runs in its own thread (several at once, as with several engineers or `jobs resume`).

Two runs: `clone` (no pool: every order clones) and `pool` (a `[[pool]]` of 4, refilled
in the background every few seconds, as the console's worker does). Printed per run: p50
and p95 of the engineer's wait (confirm → handed over) and of paid → handed over, in
seconds of wall time at demo timings, and how many orders took a pool VM.

Run: .venv/bin/python bench/zero_wait_pool.py [--orders 20] [--every 8] [--pickup 20]
     [--time-scale 0.3] [--pool 4] [--modes clone,pool]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from console.config import (
    CatalogConfig,
    Config,
    EngineConfig,
    PoolEntry,
    ProductMapping,
    StoreConfig,
)
from console.flow import pool
from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.flow.services import Services
from console.flow.timing import Timing
from console.secrets import MemorySecretStore, engine_secret
from console.sim.engine import EngineSimulator
from console.store import pool as pool_repo
from console.store.db import open_store
from console.store.models import Order

TEMPLATE = "alma9-cpanel"
PRODUCT = ProductMapping(
    billing_product="VPS Linux cPanel",
    template=TEMPLATE,
    cpus=2,
    memory_mib=4096,
    disk_gib=80,
    license_kinds=("cpanel",),
)


@dataclass
class Outcome:
    order_id: str
    paid: float
    confirmed: float = 0.0
    handed_over: float = 0.0
    state: str = ""
    from_pool: bool = False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run(mode: str, args: argparse.Namespace) -> list[Outcome]:
    sim = EngineSimulator(time_scale=args.time_scale, vms=40, seed=1).start()
    folder = Path(tempfile.mkdtemp(prefix="zero-wait-"))
    pools = (
        (PoolEntry(template=TEMPLATE, cluster="prod-a", size=args.pool),) if mode == "pool" else ()
    )
    config = Config(
        engines=(EngineConfig(name="sim", url=sim.url, username=sim.username, cluster="prod-a"),),
        catalog=CatalogConfig(products=(PRODUCT,)),
        store=StoreConfig(url=f"sqlite:///{folder / 'console.db'}"),
        pool=pools,
    )
    store = open_store(config.store.url)
    secrets = MemorySecretStore(initial={engine_secret("sim"): sim.password})
    timing = Timing().scaled(args.time_scale)
    stop = threading.Event()

    def services() -> Services:
        return Services(config, store, secrets)

    if pools:
        keeper_services = services()
        keeper = pool.PoolKeeper(keeper_services)
        while sum(r.state == "ready" for r in pool_repo.rows(store)) < args.pool:
            keeper.refill()
            time.sleep(1.0)

        def refill_loop() -> None:
            while not stop.wait(args.refill_every):
                try:
                    keeper.refill()
                except Exception as error:  # noqa: BLE001 - a bench reports, never stops
                    print(f"refill failed: {error}")

        threading.Thread(target=refill_loop, daemon=True).start()

    outcomes: list[Outcome] = []
    threads = []
    planner = services()
    templates = planner.engine().list_templates()
    start = time.monotonic()
    for n in range(args.orders):
        order_id = str(7000 + n)
        paid_at = start + n * args.every
        time.sleep(max(0.0, paid_at - time.monotonic()))
        with store.session() as session:
            session.add(Order(id=order_id, source="manual", product_name=PRODUCT.billing_product))
        outcome = Outcome(order_id, paid=time.monotonic())
        outcomes.append(outcome)

        def engineer(outcome: Outcome = outcome) -> None:
            time.sleep(max(0.0, outcome.paid + args.pickup - time.monotonic()))
            mine = services()
            outcome.confirmed = time.monotonic()
            with store.session() as session:
                order = session.get(Order, outcome.order_id)
            draft = draft_plan(order, PRODUCT, templates, config, Overrides())
            runner = Runner(mine, timing=timing)
            job = runner.launch(outcome.order_id, draft.plan, {}, confirm_warnings=True)
            done = runner.run(job.id)
            outcome.handed_over = time.monotonic()
            outcome.state = str(done.state)
            outcome.from_pool = pool.took_from_pool(done.data)
            mine.close()

        thread = threading.Thread(target=engineer)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    stop.set()
    planner.close()
    store.close()
    sim.stop()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--every", type=float, default=8.0, help="seconds between payments")
    parser.add_argument("--pickup", type=float, default=20.0, help="paid → confirmed, seconds")
    parser.add_argument("--time-scale", type=float, default=0.3, help="demo timings: 0.3")
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--refill-every", type=float, default=3.0)
    parser.add_argument("--modes", default="clone,pool")
    args = parser.parse_args()
    print(
        f"{args.orders} orders of {TEMPLATE} at 80 GiB, one every {args.every:g} s, picked up "
        f"{args.pickup:g} s after payment; time scale {args.time_scale:g}"
    )
    print(
        "| run | done | from pool | engineer's wait p50 / p95 s | paid → handed over p50 / p95 s |"
    )
    print("|---|---|---|---|---|")
    for mode in args.modes.split(","):
        outcomes = run(mode, args)
        waits = [o.handed_over - o.confirmed for o in outcomes]
        whole = [o.handed_over - o.paid for o in outcomes]
        done = sum(o.state == "done" for o in outcomes)
        pooled = sum(o.from_pool for o in outcomes)
        print(
            f"| {mode}{f' of {args.pool}' if mode == 'pool' else ''} | {done}/{len(outcomes)} "
            f"| {pooled} | {statistics.median(waits):.1f} / {percentile(waits, 0.95):.1f} "
            f"| {statistics.median(whole):.1f} / {percentile(whole, 0.95):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
