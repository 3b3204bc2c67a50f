"""Console startup and responsiveness at scale.

Measures, for the real console (ConsoleApp, Services, Runner) against the engine simulator
running in a separate process (so the memory figure is the console's own):

1. time to first paint (the shell on screen) and until the queue shows all N orders;
2. time until the VMs screen shows all M managed VMs (one list call, full follow);
3. peak RSS of the console process;
4. the longest input stall while J provisioning jobs run in the console's own runner:
   the event loop's worst lateness (a 10 ms ticker) and the slowest key press handled
   (Pilot presses `down`/`up` every 50 ms on the queue, which keeps polling).

Run: .venv/bin/python bench/tui_startup.py [--orders 10000] [--vms 5000] [--jobs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

SIM_SCRIPT = """
import json, sys, time
from console.sim.engine import EngineSimulator
sim = EngineSimulator(vms=int(sys.argv[1]), time_scale=float(sys.argv[2]), seed=1).start()
print(json.dumps({"url": sim.url, "password": sim.password}), flush=True)
time.sleep(10**6)
"""


def start_simulator(vms: int, time_scale: float) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([sys.executable, "-c", SIM_SCRIPT, str(vms), str(time_scale)],
                               stdout=subprocess.PIPE, text=True)
    return process, json.loads(process.stdout.readline())


def seed_orders(store, count: int, now) -> None:
    from console.store.models import Order

    products = (("VPS Linux cPanel", 2, 4096, 80), ("VPS Linux Plesk", 2, 4096, 80),
                ("VPS Windows Plesk", 4, 8192, 100), ("VPS Linux Bare", 1, 2048, 40))
    with store.session() as session:
        for number in range(count):
            product, cpus, memory, disk = products[number % len(products)]
            session.add(Order(id=str(100_000 + number), source="whmcs", product_name=product,
                              client_name=f"Client {number}", client_email="c@example.net",
                              cpus=cpus, memory_mib=memory, disk_gib=disk, status="new",
                              created_at=now - timedelta(minutes=count - number)))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(args) -> dict:
    from console.commands.demo import DEMO_PRODUCTS, demo_secrets
    from console.config import Config
    from console.flow.plan import draft_plan
    from console.store.db import open_store
    from console.store.models import Order, utcnow
    from console.tui.app import ConsoleApp
    from console.tui.launch import build_context
    from console.tui.screens.vms import VmsScreen

    figures: dict = {}
    os.environ.setdefault("VPS_CONSOLE_FLOW_TIME_SCALE", str(args.time_scale))
    sim, access = start_simulator(args.vms, args.time_scale)
    folder = tempfile.mkdtemp(prefix="tui-bench-")
    try:
        config = Config.model_validate({
            "engines": [{"name": "demo", "url": access["url"], "cluster": "prod-a",
                         "storage_domain": "data-ssd"}],
            "catalog": {"products": list(DEMO_PRODUCTS)},
            "store": {"url": f"sqlite:///{folder}/console.db"},
            "ui": {"refresh_seconds": 2}})
        store = open_store(config.store.url)
        seed_orders(store, args.orders, utcnow())
        context = build_context(config, store, demo_secrets(access["password"], "unused"))
        app = ConsoleApp(context)
        started = time.perf_counter()
        async with app.run_test(size=(160, 48)) as pilot:
            figures["first_paint_s"] = time.perf_counter() - started
            table = app.screen.query_one("#orders")
            while table.row_count < args.orders:
                await asyncio.sleep(0.01)
            await pilot.pause()
            figures["queue_filled_s"] = time.perf_counter() - started

            await pilot.press("3")
            shown = time.perf_counter()
            while not (isinstance(app.screen, VmsScreen) and len(app.screen.vms) >= args.vms):
                await asyncio.sleep(0.02)
            await pilot.pause()
            figures["vms_screen_filled_s"] = time.perf_counter() - shown
            managed_vms = list(app.screen.vms.values())
            await pilot.press("1")
            figures["rss_after_load_mib"] = peak_rss_mib()

            # A seeded engine this full has no memory left for new VMs: stop a few
            # customers' VMs so the jobs' preflight passes (setup, not measured).
            engine = context.services.engine()
            running = [vm for vm in managed_vms if vm.status == "up"
                       and vm.cluster == "prod-a"][: args.jobs * 2]
            for vm in running:
                engine.stop_vm(vm.id)
            figures["vms_stopped_for_room"] = len(running)
            # J jobs in the console's own runner, so their events reach the screens.
            templates = engine.list_templates()
            clusters = engine.clusters()
            mapping = config.catalog.product_for("VPS Linux Bare")
            job_orders = [str(200_000 + n) for n in range(args.jobs)]
            with store.session() as session:
                for order_id in job_orders:
                    session.add(Order(id=order_id, source="manual", product_name="VPS Linux Bare",
                                      client_name="Bench", cpus=1, memory_mib=2048, disk_gib=40,
                                      status="new"))
            runner = app.progress.runner
            outcomes: list[str] = []

            def provision(order_id: str) -> None:
                try:
                    order = store_get(store, order_id)
                    plan = draft_plan(order, mapping, templates, config,
                                      clusters=clusters).plan
                    job = runner.launch(order_id, plan, {}, confirm_warnings=True)
                    outcomes.append(runner.run(job.id).state)
                except Exception as error:  # noqa: BLE001 - a bench reports, it does not stop
                    outcomes.append(f"error: {error}")

            lateness: list[float] = []
            presses: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    expected = loop.time() + 0.01
                    await asyncio.sleep(0.01)
                    lateness.append(loop.time() - expected)

            threads = [threading.Thread(target=provision, args=(order_id,), daemon=True)
                       for order_id in job_orders]
            tick = asyncio.create_task(ticker())
            jobs_started = time.perf_counter()
            for thread in threads:
                thread.start()
            key = "down"
            while any(thread.is_alive() for thread in threads):
                before = time.perf_counter()
                await pilot.press(key)
                presses.append(time.perf_counter() - before)
                key = "up" if key == "down" else "down"
                await asyncio.sleep(0.05)
                if time.perf_counter() - jobs_started > args.timeout:
                    break
            stop.set()
            await tick
            figures["jobs_wall_s"] = time.perf_counter() - jobs_started
            figures["jobs_outcomes"] = {state: outcomes.count(state) for state in set(outcomes)}
            figures["loop_lateness_max_ms"] = max(lateness) * 1000
            figures["loop_lateness_p99_ms"] = statistics.quantiles(lateness, n=100)[98] * 1000
            figures["key_press_max_ms"] = max(presses) * 1000
            figures["key_press_median_ms"] = statistics.median(presses) * 1000
            figures["key_presses"] = len(presses)
        figures["peak_rss_mib"] = peak_rss_mib()
        context.services.close()
        store.close()
    finally:
        sim.terminate()
        sim.wait()
    return figures


def store_get(store, order_id: str):
    from console.store.orders import get_order

    return get_order(store, order_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--vms", type=int, default=5_000)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    figures = asyncio.run(measure(args))
    print(json.dumps({"orders": args.orders, "vms": args.vms, "jobs": args.jobs,
                      **{k: round(v, 2) if isinstance(v, float) else v
                         for k, v in figures.items()}}, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
