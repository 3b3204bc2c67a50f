"""What the console process holds at idle in a tiny world, and who holds it.

One fresh process: the interpreter's own RSS, then the RSS each package adds as the
console's imports are made in dependency order (so each line is what that package adds to
those above it), then the real console (ConsoleApp, Services; Textual headless at 160x48)
against `vps-console sim` (engine and WHMCS) in another process, its queue filled by the
console's own sync, the VMs view opened and refreshed, back to the queue. At idle:

- RSS (/proc/self/statm) and peak (ru_maxrss) of this process, its threads;
- what Python allocated since the imports (tracemalloc), by the package whose code
  allocated it (the innermost frame outside the standard library);
- live objects by kind (gc), with their shallow size;
- the part of RSS neither the imports nor tracemalloc account for (allocator slack, C
  libraries: libcurl, libxml2, SQLite's page cache, thread stacks).

Run: .venv/bin/python bench/footprint.py [--vms 20] [--orders 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")
GOAL_IDLE_MIB = 150.0  # issue 17's budget for the whole console at 10k orders + 5k VMs

# In the order the console's start imports them; each adds what the ones above lack.
IMPORTS = (
    "textual.app",
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "ovirtsdk4",
    "keyring",
    "console.config",
    # httpx as the console loads it: with the WHMCS client, without httpx's own CLI.
    "console.billing.whmcs",
    "console.store.db",
    "console.store.models",
    "console.ovirt",
    "console.flow.services",
    "console.billing.sync",
    "console.tui.app",
    "console.tui.launch",
)
STDLIB = sysconfig.get_paths()["stdlib"]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def owner(filename: str) -> str | None:
    """The package a source file belongs to; None for the standard library."""
    if filename.startswith("<") or filename.startswith(STDLIB + os.sep + "asyncio"):
        return None
    if "site-packages" in filename:
        return filename.split("site-packages" + os.sep, 1)[1].split(os.sep)[0].split(".")[0]
    if filename.startswith(str(ROOT / "console")):
        parts = Path(filename).relative_to(ROOT).parts
        return ".".join(parts[:2]).removesuffix(".py")
    if filename.startswith(STDLIB):
        return None
    return "other"


def allocated_by_package(snapshot: tracemalloc.Snapshot) -> Counter:
    sizes: Counter = Counter()
    for trace in snapshot.traces:
        package = "stdlib"
        for frame in trace.traceback:  # innermost first
            found = owner(frame.filename)
            if found is not None:
                package = found
                break
        sizes[package] += trace.size
    return sizes


def objects_by_kind() -> list[tuple[str, int, float]]:
    gc.collect()
    counts: Counter = Counter()
    sizes: Counter = Counter()
    for obj in gc.get_objects():
        kind = type(obj).__name__
        counts[kind] += 1
        sizes[kind] += sys.getsizeof(obj)
    return [
        (kind, counts[kind], round(sizes[kind] / 2**20, 2)) for kind, _ in sizes.most_common(15)
    ]


def console_config(folder: Path):
    from console.config import Config

    return Config.model_validate(json.loads((folder / "config.json").read_text()))


async def idle_console(folder: Path) -> dict:
    """The console on the prepared store (at head: opening it migrates nothing), its own
    billing sync at start; the VMs view opened, refreshed twice, back to the queue."""
    from console.secrets import MemorySecretStore
    from console.store.db import open_store
    from console.tui.app import ConsoleApp
    from console.tui.launch import build_context
    from console.tui.screens.vms import VmsScreen

    config = console_config(folder)
    store = open_store(config.store.url)
    secrets = MemorySecretStore(initial=json.loads((folder / "secrets.json").read_text()))
    context = build_context(config, store, secrets)
    app = ConsoleApp(context)
    figures: dict = {"alembic_imported_by_open": "alembic" in sys.modules}
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#orders")
        while table.row_count == 0:
            await asyncio.sleep(0.01)
        await pilot.press("3")
        while not (isinstance(app.screen, VmsScreen) and app.screen.listed):
            await asyncio.sleep(0.02)
        for _ in range(2):
            app.screen.loop.request()
            await asyncio.sleep(0.05)
            while app.screen.loop.running:
                await asyncio.sleep(0.02)
        await pilot.press("1")
        await asyncio.sleep(2.5)  # the queue's own refresh (2 s) runs once more
        await pilot.pause()
        figures["rss_idle_mib"] = rss_mib()
        figures["peak_rss_mib"] = peak_mib()
        figures["threads"] = threading.active_count()
        if tracemalloc.is_tracing():
            figures["tracemalloc_snapshot"] = tracemalloc.take_snapshot()
        figures["objects"] = objects_by_kind()
        figures["gc_objects"] = len(gc.get_objects())
        figures["packages"] = sorted(
            {name.split(".")[0] for name in sys.modules if not name.startswith("_")}
            - set(sys.stdlib_module_names)
        )
    context.services.close()
    store.close()
    return figures


def measure(folder: Path, trace: bool) -> dict:
    """In a fresh process: the imports one by one, then the console at idle."""
    report: dict = {"interpreter_mib": rss_mib(), "imports_mib": {}}
    before = report["interpreter_mib"]
    started = time.perf_counter()
    for name in IMPORTS:
        importlib.import_module(name)
        now = rss_mib()
        report["imports_mib"][name] = now - before
        before = now
    report["imports_s"] = time.perf_counter() - started
    report["after_imports_mib"] = before
    if trace:
        tracemalloc.start(12)
    report.update(asyncio.run(idle_console(folder)))
    if not trace:
        # What neither the imports nor the console's running objects (the traced run)
        # account for is computed by the caller.
        return report
    snapshot = report.pop("tracemalloc_snapshot")
    tracemalloc.stop()
    allocated = allocated_by_package(snapshot)
    return {
        "python_allocations_since_imports_mib": sum(allocated.values()) / 2**20,
        "by_package_mib": {k: v / 2**20 for k, v in allocated.most_common(12)},
    }


def prepare(folder: Path, vms: int, orders: int):
    """The simulators in their own process, a config, and a store at head (created and
    migrated here, so the measured process opens it as an upgraded console does)."""
    from tui_startup import console_settings, start_simulator

    from console.secrets import BILLING_SECRET, engine_secret
    from console.store.db import open_store

    sim, access = start_simulator(vms, 0.01, orders)
    config = console_settings(access, str(folder))
    (folder / "config.json").write_text(json.dumps(config))
    secrets = {engine_secret("demo"): access["password"], BILLING_SECRET: access["secret"]}
    (folder / "secrets.json").write_text(json.dumps(secrets))
    os.chmod(folder / "secrets.json", 0o600)
    open_store(config["store"]["url"]).close()
    return sim


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("VPS_CONSOLE_FLOW_TIME_SCALE", "0.01")
    if args.measure:
        from tui_startup import rounded

        print(json.dumps(rounded(measure(Path(args.measure), args.trace))))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="footprint-"))
    sim = prepare(folder, args.vms, args.orders)
    try:
        runs = []
        for trace in (False, True):  # tracing costs memory: RSS from the run without it
            run = subprocess.run(
                [sys.executable, __file__, "--measure", str(folder)]
                + (["--trace"] if trace else []),
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode:
                print(run.stderr[-3000:])
                return 2
            runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(folder, ignore_errors=True)
    report, traced = runs
    report.update(traced)
    report["rest_mib"] = round(
        report["rss_idle_mib"]
        - report["after_imports_mib"]
        - report["python_allocations_since_imports_mib"],
        1,
    )
    print(json.dumps(report, indent=1))
    ok = report["peak_rss_mib"] < GOAL_IDLE_MIB
    print(
        f"peak RSS at idle, tiny world: {report['peak_rss_mib']:.1f} MiB (the whole budget at "
        f"10k orders + 5k VMs is < {GOAL_IDLE_MIB:g} MiB): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    sys.exit(main())
