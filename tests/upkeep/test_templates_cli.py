"""`vps-console templates ...` as real subprocesses against the engine simulator."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.plugins.cli import CLI, cli_setup
from tests.plugins.upkeep import build_vms

pytestmark = pytest.mark.slow

CATALOG = """
[[catalog.products]]
billing_product = "VPS Linux cPanel"
template = "alma9-cpanel"

[[catalog.products]]
billing_product = "VPS Legacy CentOS cPanel"
template = "centos7-cpanel"

[[catalog.templates]]
name = "alma9-cpanel"
keep_versions = 2
max_age_days = 30
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "templates", *args], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


@pytest.fixture
def cli_env(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    _, store = cli_setup(tmp_path, engine_sim, monkeypatch, CATALOG)
    yield store
    store.close()


def test_list_refresh_prune_retire_and_drift_from_the_command_line(cli_env, engine_sim):
    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["template"]: r for r in json.loads(listed.stdout)}
    assert rows["alma9-cpanel"]["latest_version"] == 3 and rows["alma9-cpanel"]["stale"] is False
    assert rows["centos7-cpanel"]["stale"] is True  # sealed 400 days ago, max 30 by default
    assert rows["centos7-cpanel"]["products"] == ["VPS Legacy CentOS cPanel"]

    refreshed = cli("refresh", "alma9-cpanel")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert "done: alma9-cpanel v4" in refreshed.stdout
    # Retention is shown after the refresh; without --yes nothing is removed.
    assert "remove alma9-cpanel v2" in refreshed.stdout
    assert "nothing removed: add --yes" in refreshed.stdout
    assert "keep   alma9-cpanel v1: the base version" in refreshed.stdout
    assert build_vms(engine_sim) == []

    shown = cli("show", "alma9-cpanel", "--json")
    detail = json.loads(shown.stdout)
    assert [v["version"] for v in detail["versions"]] == [4, 3, 2, 1]
    assert detail["refreshes"][0]["state"] == "done" and detail["refreshes"][0]["new_version"] == 4

    pruned = cli("prune", "alma9-cpanel", "--yes")
    assert pruned.returncode == 0 and "removed alma9-cpanel v2" in pruned.stdout, pruned.stdout

    refused = cli("retire", "alma9-cpanel:1", "--yes")
    assert refused.returncode == 2
    assert "error: alma9-cpanel v1 is kept: the base version" in refused.stderr

    bad = cli("refresh")
    assert bad.returncode == 2 and "say what to refresh" in bad.stderr

    doctor = subprocess.run(
        [CLI, "doctor"], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )
    stale = [line for line in doctor.stdout.splitlines() if "template centos7-cpanel stale" in line]
    assert stale == [
        "· engine sim template centos7-cpanel stale: centos7-cpanel v1 sealed 400 days "
        "ago (max 30); serves VPS Legacy CentOS cPanel — fix: vps-console templates "
        "refresh centos7-cpanel (or templates refresh --stale from cron)"
    ], doctor.stdout
    assert not any("template alma9-cpanel stale" in line for line in doctor.stdout.splitlines())

    drifted = cli("drift", "--json")
    assert drifted.returncode == 0 and json.loads(drifted.stdout) == []  # nothing provisioned here


def test_refresh_stale_refreshes_only_templates_past_their_max_age(
    engine_sim, tmp_path, keyring_passphrase, monkeypatch
):
    from click.testing import CliRunner

    from console.cli import main

    young = "".join(
        f'\n[[catalog.templates]]\nname = "{name}"\nmax_age_days = 1000\n'
        for name in (
            "alma9-cpanel",
            "ubuntu2204-plesk",
            "win2022-plesk",
            "win2022-mssql",
            "alma9",
            "ubuntu2204",
            "win2022",
        )
    )
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch, young)
    store.close()
    result = CliRunner().invoke(main, ["templates", "refresh", "--stale"])
    assert result.exit_code == 0, result.output
    assert "stale: centos7-cpanel\n" in result.output
    assert "refresh " in result.output and "done: centos7-cpanel v2" in result.output
    assert [v["version_number"] for v in engine_sim.template_versions("centos7-cpanel")] == [1, 2]
    assert len(engine_sim.template_versions("win2022-mssql")) == 1
    again = CliRunner().invoke(main, ["templates", "refresh", "--stale"])
    assert again.exit_code == 0 and "no stale templates" in again.output
