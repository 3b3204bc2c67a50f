"""Engine calls and wall time per provisioning: the console against a plain SDK script.

One run, one engine: `vps-console sim` (engine + WHMCS simulators) in a separate process.
Each order is placed at the WHMCS simulator's shop front (AddClient, AddOrder with the
product's options and OS field, AddInvoicePayment), synced into the console's store by the
console's own sync, planned, launched and run by the console's Runner to `done` (handover
included). Paired with each, bench/sdk_baseline.py makes the same VM (template, sizes,
hostname) with the plain SDK at the console's poll cadence; the pairs alternate which side
goes first, so that load on the machine hits both alike. Calls are counted where both
send them (ovirtsdk4's Connection.send: every API request, login aside), by method.

Per order it prints the calls (GET/POST/PUT), the wall time, and how far it is above the
engine floor: what the simulator itself takes to copy, grow, boot and report the
address of this VM (its own durations × time scale), the least any client can wait.

Goals (bench/README.md), printed as met or MISSED (exit code 1 when one is missed):
- every console order after the first two (which learn the engine's pace) within 15 calls;
- the console's median wall time within 1.1x of the script's (both after the learning
  orders, in this one run); the 90 % interval of that ratio (bootstrap over the pairs) is
  printed beside it, to say how much the figure can be trusted.

--profile adds where the console's wall time goes (bench/flow_profile.py).

Run: .venv/bin/python bench/flow_calls.py [--orders 12] [--time-scale 0.05] [--profile]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import ovirtsdk4 as sdk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flow_profile import Profile, summary
from sdk_baseline import Wanted, provision
from tui_startup import start_simulator

from console.billing.mapping import mapping_for_order
from console.billing.phpserialize import dumps_base64
from console.billing.sync import sync_orders
from console.config import load_config
from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.flow.services import Services
from console.flow.timing import Timing
from console.secrets import BILLING_SECRET, MemorySecretStore
from console.sim.engine import clock
from console.store.db import open_store
from console.store.orders import get_order

CALL_GOAL = 15
WALL_GOAL = 1.1
LEARNING_ORDERS = 2
# "VPS Linux Bare" at the WHMCS simulator: option and choice ids (catalog.choice_id).
PRODUCT_PID = 5
OPTIONS = {51: 5102, 52: 5202, 53: 5302}  # 2 vCPU, 2048 MiB, 40 GiB
FIELDS = {501: "AlmaLinux 9"}
TEMPLATE, CPUS, MEMORY_MIB, DISK_GIB = "alma9", 2, 2048, 40


class CallLog:
    """Every API request any SDK connection in this process sends, by method."""

    def __init__(self) -> None:
        self.methods: Counter[str] = Counter()
        original = sdk.Connection.send

        def send(connection, request):
            self.methods[request.method] += 1
            return original(connection, request)

        sdk.Connection.send = send

    def reset(self) -> None:
        self.methods.clear()


def shop_order(facts: dict, number: int) -> int:
    """A customer signs up, orders "VPS Linux Bare" (2 vCPU, 2 GiB, 40 GiB, AlmaLinux 9)
    and pays, as at a WHMCS shop front."""
    auth = {"identifier": facts["identifier"], "secret": facts["secret"], "responsetype": "json"}

    def call(action: str, **params) -> dict:
        body = httpx.post(
            facts["billing_url"] + "/includes/api.php",
            data={**auth, "action": action, **params},
            timeout=10,
        ).json()
        assert body.get("result") == "success", body
        return body

    client = call(
        "AddClient",
        firstname="Bench",
        lastname=f"Client{number}",
        email=f"bench{number}@example.net",
        address1="1 Main St",
        city="Oslo",
        state="Oslo",
        postcode="0150",
        country="NO",
        phonenumber="+47.22000000",
    )
    order = call(
        "AddOrder",
        clientid=client["clientid"],
        paymentmethod="stripe",
        **{
            "pid[0]": str(PRODUCT_PID),
            "hostname[0]": f"bench{number}.example.net",
            "billingcycle[0]": "monthly",
            "configoptions[0]": dumps_base64(OPTIONS),
            "customfields[0]": dumps_base64(FIELDS),
        },
    )
    call("AddInvoicePayment", invoiceid=order["invoiceid"], transid=f"tx{number}", gateway="stripe")
    return int(order["orderid"])


def engine_durations(template_disk_gib: int, time_scale: float) -> tuple[float, float, float]:
    """The simulator's own durations for this VM (its clock's constants × time scale): copy
    the template's disk; grow the disk to the plan's size; launch, power up and report the
    address. No client can be done sooner than their sum."""
    return (
        time_scale * clock.CLONE_SECONDS_PER_GIB * template_disk_gib,
        # disk_ops: the extend's fixed part and its per-GiB part
        time_scale * (clock.EXTEND_SECONDS + 0.02 * (DISK_GIB - template_disk_gib)),
        time_scale * (clock.LAUNCH_SECONDS + clock.POWERING_UP_SECONDS + clock.IP_REPORT_SECONDS),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=12, help="orders for each side")
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--profile", action="store_true", help="where the console's time goes")
    args = parser.parse_args()
    if args.orders <= LEARNING_ORDERS:
        parser.error(f"--orders must be more than the {LEARNING_ORDERS} learning orders")

    folder = Path(tempfile.mkdtemp(prefix="flow-bench-"))
    config_path = folder / "sim.toml"
    process, facts = start_simulator(200, args.time_scale, 0, "--write-config", str(config_path))
    log = CallLog()
    profile = Profile()
    if args.profile:
        profile.install()
    try:
        os.environ["VPS_CONSOLE_ENGINE_PASSWORD"] = facts["password"]
        config = load_config(config_path).model_copy(
            update={
                "store": load_config(config_path).store.model_copy(
                    update={"url": f"sqlite:///{folder / 'console.db'}"}
                )
            }
        )
        store = open_store(config.store.url)
        services = Services(
            config, store, MemorySecretStore(initial={BILLING_SECRET: facts["secret"]})
        )
        timing = Timing().scaled(args.time_scale)
        runner = Runner(services, timing=timing)
        templates = services.engine().list_templates()
        template_disk = next(t for t in templates if t.name == TEMPLATE).disk_gib
        durations = engine_durations(template_disk, args.time_scale)
        floor = sum(durations)
        connection = sdk.Connection(
            url=facts["engine_url"], username=facts["username"], password=facts["password"]
        )
        print(
            f"time_scale {args.time_scale}; poll cadence {timing.poll_seconds:.2f}s; "
            f"engine floor per VM {floor:.2f}s (clone {durations[0]:.2f}, extend "
            f"{durations[1]:.2f}, boot to address {durations[2]:.2f}); {args.orders} orders "
            f"each side, the first {LEARNING_ORDERS} learning"
        )
        print(
            f"{'who':<8} {'order':<6} {'calls':>5} {'GET':>4} {'POST':>4} {'PUT':>4} "
            f"{'wall s':>7} {'over floor s':>12}"
        )
        rows: dict[str, list[tuple[int, float]]] = {"console": [], "script": []}

        def console(number: int) -> None:
            order_id = str(shop_order(facts, number))
            sync_orders(store, services.billing(), config.catalog)
            row = get_order(store, order_id)
            assert row is not None and row.status == "new", row
            draft = draft_plan(
                row, mapping_for_order(config.catalog, row), templates, config, Overrides()
            )
            assert draft.problems == [], draft.problems
            assert (draft.plan.cpus, draft.plan.memory_mib, draft.plan.disk_gib) == (
                CPUS,
                MEMORY_MIB,
                DISK_GIB,
            ), draft.plan
            log.reset()
            profile.reset()
            started = time.perf_counter()
            job = runner.run(runner.launch(order_id, draft.plan, {}, confirm_warnings=True).id)
            wall = time.perf_counter() - started
            assert job.state == "done", (job.failed_step, job.error_message)
            if args.profile and number >= LEARNING_ORDERS:
                profile.order_done(wall, *durations, floor)
            report("console", order_id, log, wall, floor, rows)

        def script(number: int) -> None:
            log.reset()
            name = f"sdk-{number}"
            result = provision(
                connection,
                Wanted(
                    name,
                    TEMPLATE,
                    "prod-a",
                    CPUS,
                    MEMORY_MIB,
                    DISK_GIB,
                    f"{name}.example.net",
                    "Bench-Only-Pass-1",
                ),
                timing.poll_seconds,
            )
            report("script", name, log, result["wall_s"], floor, rows)

        for number in range(args.orders):
            # Alternate who goes first: what load there is falls on both sides alike.
            for side in (console, script) if number % 2 == 0 else (script, console):
                side(number)
        connection.close()
        services.close()
    finally:
        process.terminate()
        process.wait()
    for line in summary(profile.orders):
        print(line)
    return verdict(rows, args.time_scale)


def report(who, label, log, wall, floor, rows) -> None:
    calls = sum(log.methods.values())
    rows[who].append((calls, wall))
    print(
        f"{who:<8} {label:<6} {calls:>5} {log.methods['GET']:>4} {log.methods['POST']:>4} "
        f"{log.methods['PUT']:>4} {wall:>7.2f} {wall - floor:>12.2f}"
    )


def ratio_interval(console: list[float], script: list[float], rounds: int = 2000) -> tuple:
    """90 % bootstrap interval of median(console) / median(script), resampling the pairs
    (an order of each side, run back to back) with a fixed seed."""
    pick = random.Random(17)
    pairs = list(zip(console, script, strict=True))
    ratios = sorted(
        statistics.median(c for c, _ in sample) / statistics.median(s for _, s in sample)
        for sample in ([pick.choice(pairs) for _ in pairs] for _ in range(rounds))
    )
    return ratios[int(0.05 * rounds)], ratios[int(0.95 * rounds) - 1]


def verdict(rows, time_scale: float) -> int:
    learned = [calls for calls, _ in rows["console"][LEARNING_ORDERS:]]
    console_walls = [wall for _, wall in rows["console"][LEARNING_ORDERS:]]
    script_walls = [wall for _, wall in rows["script"][LEARNING_ORDERS:]]
    console_wall = statistics.median(console_walls)
    script_wall = statistics.median(script_walls)
    ratio = console_wall / script_wall
    low, high = ratio_interval(console_walls, script_walls)
    goals = [
        (
            f"console calls after {LEARNING_ORDERS} learning orders: max "
            f"{max(learned) if learned else '-'} (goal <= {CALL_GOAL})",
            bool(learned) and max(learned) <= CALL_GOAL,
        ),
        (
            f"time_scale {time_scale}, median wall of {len(console_walls)} orders after the "
            f"learning ones: console {console_wall:.2f}s / script {script_wall:.2f}s = "
            f"{ratio:.2f}x, 90% interval {low:.2f}-{high:.2f}x (goal <= {WALL_GOAL}x)",
            ratio <= WALL_GOAL,
        ),
    ]
    for text, ok in goals:
        print(f"{text}: {'met' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
