"""The VMs view and the queue at scale: what filling and keeping current costs.

For each scale (M VMs on the engine, N orders in the store) a fresh process opens the real
console (ConsoleApp, Services; Textual headless at 80x24) against the engine simulator in
another process, and measures:

1. queue: first row on screen, and all N orders in the table (from the app's start);
2. VMs view: first screenful, and every managed VM listed (from pressing `3`);
3. per refresh, idle and with 1 % of the VMs changing per minute (a start or stop every
   refresh_seconds * M / 6000 VMs, done on the engine between refreshes): engine calls
   and bytes of XML the engine sent (counted by the simulator, per request);
4. the event loop's lateness (10 ms ticker) max and p99 while the view fills and while it
   refreshes;
5. peak RSS of the console process after the refreshes.

For comparison, the bytes one refresh of the view cost before it followed events (one list
of every managed VM with disks, NICs, tags and statistics) are measured last, once.

Run: .venv/bin/python bench/vms_view.py [--scales 1000x1000,5000x10000] [--refreshes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFRESH_SECONDS = 5.0
GOALS = {
    "queue_first_row_s": ("<", 0.5),
    "vms_first_screen_s": ("<", 1.0),
    "vms_listed_s": ("<", 3.0),
    "idle_refresh_calls": ("<=", 1),
    "idle_refresh_kb": ("<=", 10),
    "fill_lateness_max_ms": ("<", 50),
    "refresh_lateness_max_ms": ("<", 50),
    "peak_rss_mib": ("<", 150),
}

# The engine in its own process, with a line protocol on stdin: `log` answers the calls
# (and response bytes) since the last `log`; `change K` starts or stops K managed VMs.
SIM_SCRIPT = """
import json, random, sys
import ovirtsdk4.types as types
from console.sim.engine import EngineSimulator
sim = EngineSimulator(vms=int(sys.argv[1]), time_scale=0.01, seed=1).start()
log = []
real = sim.api.handle
def handle(request):
    response = real(request)
    log.append((request.method, request.path, len(response.body or b"")))
    return response
sim.api.handle = handle
rng = random.Random(7)
print(json.dumps({"url": sim.url, "password": sim.password}), flush=True)
for line in sys.stdin:
    words = line.split()
    if words[0] == "log":
        calls, log[:] = list(log), []
        print(json.dumps(calls), flush=True)
    elif words[0] == "change":
        vms = [v for v in sim.world.vms.values() if v.status in ("up", "down")]
        for vm in rng.sample(vms, int(words[1])):
            try:
                if vm.status == "up":
                    sim.world.stop(vm.id, None)
                else:
                    sim.world.start(vm.id, types.Action(), None)
            except Exception:  # a start the engine refuses (hosts full): stop another
                up = [v for v in sim.world.vms.values() if v.status == "up"]
                sim.world.stop(rng.choice(up).id, None)
        print("[]", flush=True)
"""


class Engine:
    def __init__(self, vms: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SIM_SCRIPT, str(vms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.access = json.loads(self.process.stdout.readline())

    def ask(self, command: str) -> list:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def seed_orders(store, count: int) -> None:
    from console.store.models import Order, utcnow

    now = utcnow()
    with store.session() as session:
        session.add_all(
            Order(
                id=str(100_000 + n),
                source="whmcs",
                service_id=str(500_000 + n),
                product_name="VPS Linux cPanel",
                client_name=f"Client {n}",
                client_email=f"c{n}@example.net",
                cpus=2,
                memory_mib=4096,
                disk_gib=80,
                status="new",
                created_at=now - timedelta(minutes=count - n),
                paid_at=now - timedelta(minutes=count - n),
                updated_at=now,
            )
            for n in range(count)
        )
        session.commit()


def open_console(access: dict, folder: str, orders: int):
    from console.commands.demo import DEMO_ENGINE, DEMO_PRODUCTS, demo_secrets
    from console.config import Config
    from console.store.db import open_store
    from console.tui.app import ConsoleApp
    from console.tui.launch import build_context

    config = Config.model_validate(
        {
            "engines": [
                {
                    "name": DEMO_ENGINE,
                    "url": access["url"],
                    "cluster": "prod-a",
                    "storage_domain": "data-ssd",
                }
            ],
            "catalog": {"products": list(DEMO_PRODUCTS)},
            "store": {"url": f"sqlite:///{folder}/console.db"},
            "ui": {"refresh_seconds": REFRESH_SECONDS},
        }
    )
    store = open_store(config.store.url)
    seed_orders(store, orders)
    context = build_context(config, store, demo_secrets(access["password"], "unused"))
    context.live = False  # the bench triggers each refresh itself, to count what it costs
    return ConsoleApp(context), context, store


class Lateness:
    """The event loop's lateness, sampled by a 10 ms ticker, per named phase."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.task: asyncio.Task | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + 0.01
            await asyncio.sleep(0.01)
            self.samples.append(loop.time() - expected)

    def start(self) -> None:
        self.samples = []
        self.task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self, prefix: str) -> dict:
        assert self.task is not None
        self.task.cancel()
        samples = self.samples or [0.0]
        p99 = statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]
        return {
            f"{prefix}_lateness_max_ms": max(samples) * 1000,
            f"{prefix}_lateness_p99_ms": p99 * 1000,
            # How busy the machine itself was (other processes on the same 2 cores).
            f"{prefix}_lateness_median_ms": statistics.median(samples) * 1000,
        }


async def until(condition, limit: float = 300.0, why=lambda: "") -> None:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"the console did not get there: {why()}")
        await asyncio.sleep(0.005)


def cost(calls: list) -> tuple[int, float]:
    api = [c for c in calls if c[1] != ""]  # the app's engine probe is not the view's
    return len(api), sum(c[2] for c in api) / 1024


async def one_scale(vms: int, orders: int, refreshes: int) -> dict:
    from console.tui.screens.vms import VmsScreen

    figures: dict = {"vms": vms, "orders": orders}
    engine = Engine(vms)
    folder = tempfile.mkdtemp(prefix="vms-bench-")
    lateness = Lateness()
    try:
        app, context, store = open_console(engine.access, folder, orders)
        started = time.perf_counter()
        async with app.run_test(size=(80, 24)) as pilot:
            figures["first_paint_s"] = time.perf_counter() - started
            table = app.screen.query_one("#orders")
            await until(lambda: table.row_count > 0)
            figures["queue_first_row_s"] = time.perf_counter() - started
            await until(lambda: table.row_count >= orders)
            figures["queue_filled_s"] = time.perf_counter() - started
            await asyncio.sleep(0.5)
            await asyncio.to_thread(engine.ask, "log")
            lateness.start()
            pressed = time.perf_counter()
            await pilot.press("3")
            await until(lambda: isinstance(app.screen, VmsScreen))
            screen = app.screen
            vms_table = screen.query_one("#vms")
            await until(lambda: vms_table.row_count > 0, why=lambda: screen.error)
            figures["vms_first_screen_s"] = time.perf_counter() - pressed
            await until(lambda: screen.listed and not screen.loop.running)
            figures["vms_listed_s"] = time.perf_counter() - pressed
            await until(lambda: not screen.loop.running and bool(screen.stats))
            figures.update(await lateness.stop("fill"))
            figures["fill_calls"], figures["fill_kb"] = cost(
                await asyncio.to_thread(engine.ask, "log")
            )
            figures["vms_in_view"] = len(screen.vms)

            async def refresh() -> tuple[int, float]:
                screen.loop.request()
                await asyncio.sleep(0)
                await until(lambda: not screen.loop.running)
                await pilot.pause()
                return cost(await asyncio.to_thread(engine.ask, "log"))

            lateness.start()
            idle = [await refresh() for _ in range(refreshes)]
            per_refresh = max(1, round(vms * 0.01 * REFRESH_SECONDS / 60))
            churn = []
            for _ in range(refreshes):
                await asyncio.to_thread(engine.ask, f"change {per_refresh}")
                await asyncio.to_thread(engine.ask, "log")  # the change itself is not the console's
                await asyncio.sleep(0.2)  # the engine logs the start or stop
                churn.append(await refresh())
            figures.update(await lateness.stop("refresh"))
            figures["idle_refresh_calls"] = max(c for c, _ in idle)
            figures["idle_refresh_kb"] = max(k for _, k in idle)
            figures["churn_vms_per_refresh"] = per_refresh
            figures["churn_refresh_calls"] = statistics.mean(c for c, _ in churn)
            figures["churn_refresh_kb"] = statistics.mean(k for _, k in churn)
            figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            # Before: every refresh listed every managed VM with all it shows (one call).
            from console.flow.naming import managed_search

            context.services.engine().list_vms(search=managed_search(context.config))
            figures["before_refresh_kb"] = cost(await asyncio.to_thread(engine.ask, "log"))[1]
        context.services.close()
        store.close()
    finally:
        engine.close()
    return figures


def verdicts(figures: dict) -> dict:
    result = {}
    for name, (op, goal) in GOALS.items():
        if name in figures:
            value = figures[name]
            met = value < goal if op == "<" else value <= goal
            result[name] = f"{'met' if met else 'MISSED'} ({op} {goal})"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1000x1000,5000x10000", help="VMSxORDERS,...")
    parser.add_argument("--refreshes", type=int, default=10)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one scale in this process (peak RSS is per process)
        vms, orders = (int(n) for n in args.one.split("x"))
        print(json.dumps(asyncio.run(one_scale(vms, orders, args.refreshes))))
        return
    for scale in args.scales.split(","):
        run = subprocess.run(
            [sys.executable, __file__, "--one", scale, "--refreshes", str(args.refreshes)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if run.returncode:
            print(json.dumps({"scale": scale, "error": run.stderr[-2000:]}))
            continue
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        figures = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
        figures["goals"] = verdicts(figures)
        print(json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
