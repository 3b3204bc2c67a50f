"""Engine API calls per provisioning, and the console's own time versus the engine's.

Provisions Linux + cPanel and Windows + Plesk orders end to end against the embedded
engine simulator through the real SDK, and prints per order: engine API calls by kind
(from the simulator's call log), wall time, time inside engine HTTP calls, time the runner
slept between polls, the console's own time (the rest: planning, store writes, events),
and the simulated engine time (wall / time_scale: what a real engine would have taken).

Run: .venv/bin/python bench/flow_calls.py [--orders 3] [--time-scale 0.01]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from console.config import CatalogConfig, Config, EngineConfig, ProductMapping, StoreConfig
from console.flow import runner as runner_module
from console.flow.plan import Overrides, draft_plan
from console.flow.services import Services
from console.flow.timing import Timing
from console.ovirt import engine as engine_module
from console.secrets import MemorySecretStore
from console.sim.engine import EngineSimulator
from console.store.db import open_store
from console.store.models import Order

WINDOWS_KEY = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
PLESK_CODE = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"
PRODUCTS = (
    ProductMapping(
        billing_product="VPS Linux cPanel",
        template="alma9-cpanel",
        cpus=2,
        memory_mib=4096,
        disk_gib=80,
        license_kinds=("cpanel",),
    ),
    ProductMapping(
        billing_product="VPS Windows Plesk",
        template="win2022-plesk",
        cpus=2,
        memory_mib=4096,
        disk_gib=80,
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3, help="orders per product")
    parser.add_argument("--time-scale", type=float, default=0.01)
    args = parser.parse_args()

    spent = {"engine": 0.0, "sleep": 0.0}
    original_call = engine_module.Engine._call

    def timed_call(self, *a, **kw):
        start = time.perf_counter()
        try:
            return original_call(self, *a, **kw)
        finally:
            spent["engine"] += time.perf_counter() - start

    original_sleep = runner_module.time.sleep

    class _Time:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            start = time.perf_counter()
            original_sleep(seconds)
            spent["sleep"] += time.perf_counter() - start

    engine_module.Engine._call = timed_call
    runner_module.time = _Time()

    sim = EngineSimulator(time_scale=args.time_scale, vms=200, seed=1).start()
    tmp = Path(tempfile.mkdtemp())
    os.environ["VPS_CONSOLE_ENGINE_PASSWORD"] = sim.password
    config = Config(
        engines=(EngineConfig(name="sim", url=sim.url, username=sim.username, cluster="prod-a"),),
        catalog=CatalogConfig(products=PRODUCTS),
        store=StoreConfig(url=f"sqlite:///{tmp / 'console.db'}"),
    )
    store = open_store(config.store.url)
    services = Services(config, store, MemorySecretStore())
    timing = Timing().scaled(args.time_scale)
    runner = runner_module.Runner(services, timing=timing)
    print(f"time_scale {args.time_scale}; runner poll every {timing.poll_seconds:.3f}s")
    print(
        f"{'order':<6} {'product':<18} {'calls':>5} {'GET':>4} {'POST':>4} {'PUT':>4} "
        f"{'wall s':>7} {'engine s':>8} {'sleep s':>7} {'console s':>9} {'sim engine s':>12}"
    )
    number = 3001
    for product in PRODUCTS:
        for _ in range(args.orders):
            order_id = str(number)
            number += 1
            with store.session() as session:
                session.add(
                    Order(id=order_id, source="manual", product_name=product.billing_product)
                )
            with store.session() as session:
                order = session.get(Order, order_id)
            spent.update(engine=0.0, sleep=0.0)
            sim.reset_calls()
            start = time.perf_counter()
            draft = draft_plan(
                order,
                product,
                services.engine().list_templates(),
                config,
                Overrides(hostname=f"v{order_id}.example.net"),
            )
            licenses = (
                {"windows": WINDOWS_KEY, "plesk": PLESK_CODE}
                if "Windows" in product.billing_product
                else {}
            )
            job = runner.launch(order_id, draft.plan, licenses, confirm_warnings=True)
            job = runner.run(job.id)
            wall = time.perf_counter() - start
            assert job.state == "done", job.error_message
            methods = Counter(method for method, _path, _query in sim.calls)
            own = wall - spent["engine"] - spent["sleep"]
            print(
                f"{order_id:<6} {product.billing_product:<18} {len(sim.calls):>5} "
                f"{methods['GET']:>4} {methods['POST']:>4} {methods['PUT']:>4} {wall:>7.2f} "
                f"{spent['engine']:>8.2f} {spent['sleep']:>7.2f} {own:>9.2f} "
                f"{wall / args.time_scale:>12.0f}"
            )
    services.close()
    sim.stop()


if __name__ == "__main__":
    main()
