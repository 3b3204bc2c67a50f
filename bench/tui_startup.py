"""Console startup and responsiveness at scale.

Measures, for the real console (ConsoleApp, Services, Runner) against the engine simulator
running in a separate process (so the memory figure is the console's own):

1. time to first paint (the shell on screen) and until the queue shows all N orders;
2. time until the VMs screen shows all M managed VMs (one list call, full follow), and
   input lateness while that screen keeps re-reading them;
3. peak RSS of the console process;
4. the longest input stall while J provisioning jobs run in the console's own runner:
   the event loop's worst lateness (a 10 ms ticker) and the slowest key press handled
   (Pilot presses `down`/`up` every 50 ms on the queue of N orders, which stays live).

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
    process = subprocess.Popen(
        [sys.executable, "-c", SIM_SCRIPT, str(vms), str(time_scale)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, json.loads(process.stdout.readline())


def seed_orders(store, count: int, now) -> None:
    from console.store.models import Order

    products = (
        ("VPS Linux cPanel", 2, 4096, 80),
        ("VPS Linux Plesk", 2, 4096, 80),
        ("VPS Windows Plesk", 4, 8192, 100),
        ("VPS Linux Bare", 1, 2048, 40),
    )
    with store.session() as session:
        for number in range(count):
            product, cpus, memory, disk = products[number % len(products)]
            session.add(
                Order(
                    id=str(100_000 + number),
                    source="whmcs",
                    product_name=product,
                    client_name=f"Client {number}",
                    client_email="c@example.net",
                    cpus=cpus,
                    memory_mib=memory,
                    disk_gib=disk,
                    status="new",
                    created_at=now - timedelta(minutes=count - number),
                )
            )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_console(access: dict, folder: str, orders: int):
    from console.commands.demo import DEMO_PRODUCTS, demo_secrets
    from console.config import Config
    from console.store.db import open_store
    from console.store.models import utcnow
    from console.tui.app import ConsoleApp
    from console.tui.launch import build_context

    config = Config.model_validate(
        {
            "engines": [
                {
                    "name": "demo",
                    "url": access["url"],
                    "cluster": "prod-a",
                    "storage_domain": "data-ssd",
                }
            ],
            "catalog": {"products": list(DEMO_PRODUCTS)},
            "store": {"url": f"sqlite:///{folder}/console.db"},
            "ui": {"refresh_seconds": 2},
        }
    )
    store = open_store(config.store.url)
    seed_orders(store, orders, utcnow())
    context = build_context(config, store, demo_secrets(access["password"], "unused"))
    return ConsoleApp(context), context, store


async def measure_load(args) -> dict:
    """First paint, queue and VMs screen filled, memory: N orders, M VMs."""
    from console.tui.screens.vms import VmsScreen

    figures: dict = {}
    sim, access = start_simulator(args.vms, args.time_scale)
    folder = tempfile.mkdtemp(prefix="tui-bench-")
    try:
        app, context, store = open_console(access, folder, args.orders)
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
            # While the 5,000-VM list is re-read in the background, how late is input?
            figures.update(
                await input_stall(pilot, lambda: False, seconds=args.watch, prefix="vms_screen_")
            )
        figures["peak_rss_mib"] = peak_rss_mib()
        context.services.close()
        store.close()
    finally:
        sim.terminate()
        sim.wait()
    return figures


async def input_stall(pilot, busy, *, seconds: float, prefix: str = "") -> dict:
    """Worst event-loop lateness (10 ms ticker) and slowest handled key press, while
    `busy()` is true (or for `seconds`)."""
    lateness: list[float] = []
    presses: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            expected = loop.time() + 0.01
            await asyncio.sleep(0.01)
            lateness.append(loop.time() - expected)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    key = "down"
    while busy() or time.perf_counter() - started < seconds:
        before = time.perf_counter()
        await pilot.press(key)
        presses.append(time.perf_counter() - before)
        key = "up" if key == "down" else "down"
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > 600:
            break
    stop.set()
    await tick
    return {
        f"{prefix}watched_s": time.perf_counter() - started,
        f"{prefix}loop_lateness_max_ms": max(lateness) * 1000,
        f"{prefix}loop_lateness_p99_ms": statistics.quantiles(lateness, n=100)[98] * 1000,
        f"{prefix}key_press_max_ms": max(presses) * 1000,
        f"{prefix}key_press_median_ms": statistics.median(presses) * 1000,
    }


async def measure_jobs(args) -> dict:
    """J jobs running in the console's own runner (their events reach the screens) while
    the queue of N orders stays live and keys are pressed."""
    from console.flow.plan import draft_plan
    from console.store.models import Order

    figures: dict = {}
    # The simulator seeds its hosts full at 5,000 VMs (no memory for new ones), so the
    # jobs run on a smaller engine; the queue keeps its N orders.
    sim, access = start_simulator(args.job_engine_vms, args.time_scale)
    folder = tempfile.mkdtemp(prefix="tui-bench-")
    try:
        app, context, store = open_console(access, folder, args.orders)
        config = context.config
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one("#orders")
            while table.row_count < args.orders:
                await asyncio.sleep(0.01)
            engine = context.services.engine()
            templates, clusters = engine.list_templates(), engine.clusters()
            mapping = config.catalog.product_for("VPS Linux Bare")
            job_orders = [str(200_000 + n) for n in range(args.jobs)]
            with store.session() as session:
                for order_id in job_orders:
                    session.add(
                        Order(
                            id=order_id,
                            source="manual",
                            product_name="VPS Linux Bare",
                            client_name="Bench",
                            cpus=1,
                            memory_mib=2048,
                            disk_gib=40,
                            status="new",
                        )
                    )
            runner = app.progress.runner
            outcomes: list[str] = []

            def provision(order_id: str) -> None:
                try:
                    plan = draft_plan(
                        store_get(store, order_id), mapping, templates, config, clusters=clusters
                    ).plan
                    job = runner.launch(order_id, plan, {}, confirm_warnings=True)
                    outcomes.append(runner.run(job.id).state)
                except Exception as error:  # noqa: BLE001 - a bench reports, it does not stop
                    outcomes.append(f"error: {error}")

            threads = [
                threading.Thread(target=provision, args=(order_id,), daemon=True)
                for order_id in job_orders
            ]
            for thread in threads:
                thread.start()
            figures.update(
                await input_stall(
                    pilot, lambda: any(thread.is_alive() for thread in threads), seconds=0
                )
            )
            figures["jobs_outcomes"] = {state: outcomes.count(state) for state in set(outcomes)}
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
    parser.add_argument("--job-engine-vms", type=int, default=300)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument(
        "--watch", type=float, default=20.0, help="seconds of key presses on the live VMs screen"
    )
    parser.add_argument("--only", choices=("load", "jobs"))
    args = parser.parse_args()
    os.environ.setdefault("VPS_CONSOLE_FLOW_TIME_SCALE", str(args.time_scale))
    result = {"orders": args.orders, "vms": args.vms, "jobs": args.jobs}
    if args.only != "jobs":
        result["load"] = asyncio.run(measure_load(args))
    if args.only != "load":
        result["while_jobs_run"] = asyncio.run(measure_jobs(args))
    print(json.dumps(rounded(result), indent=2))


def rounded(value):
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
