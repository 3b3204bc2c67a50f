"""`vps-console pool refill --once` and `pool status` as real subprocesses against the engine
simulator: a pass clones the missing VMs, status shows them with their version and age,
and the JSON carries the same."""

from __future__ import annotations

import json
import os
import subprocess
import time

from console.store import pool as pool_repo
from tests.plugins.cli import CLI, cli_setup

POOL = """
[[pool]]
template = "alma9"
cluster = "prod-a"
storage_domain = "data-hdd"
size = 2
max_age_hours = 24
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def test_refill_once_then_status_shows_sizes_versions_and_ages(engine_sim, tmp_path, monkeypatch):
    _, store = cli_setup(tmp_path, engine_sim, monkeypatch, POOL)
    try:
        first = cli("pool", "refill", "--once")
        assert first.returncode == 0, first.stderr
        assert first.stdout.count("cloning pool-alma9-") == 2, first.stdout
        with engine_sim.world.lock:
            pooled = [v for v in engine_sim.world.vms.values() if v.name.startswith("pool-")]
            domains = {
                engine_sim.world.storage_domains[engine_sim.world.disks[d].storage_domain_id].name
                for v in pooled
                for d in v.disk_ids
            }
        assert len(pooled) == 2 and domains == {"data-hdd"}
        deadline = time.monotonic() + 20
        while True:  # the copies finish; the next pass marks them ready
            again = cli("pool", "refill", "--once")
            assert again.returncode == 0, again.stderr
            rows = pool_repo.rows(store)
            if all(r.state == "ready" for r in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        status = cli("pool", "status")
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert lines[0].startswith("pool alma9 on prod-a: 2/2 ready (v1), oldest "), lines
        assert "on data-hdd, max age 24 h" in lines[1]
        assert any(line.strip().startswith("last refill") for line in lines), lines
        assert sum("ready" in line and "pool-alma9-" in line for line in lines) == 2
        data = json.loads(cli("pool", "status", "--json").stdout)
        assert data[0]["ready"] == 2 and data[0]["versions"] == [1]
        assert {vm["state"] for vm in data[0]["vms"]} == {"ready"}
    finally:
        store.close()


def test_status_without_a_pool_says_how_to_configure_one(engine_sim, tmp_path, monkeypatch):
    _, store = cli_setup(tmp_path, engine_sim, monkeypatch)
    store.close()
    result = cli("pool", "status")
    assert result.returncode == 0
    assert "no [[pool]] configured" in result.stdout
