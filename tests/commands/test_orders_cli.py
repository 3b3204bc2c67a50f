"""`vps-console orders …` against the WHMCS simulator over HTTP."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from console.cli import main
from console.commands.sim import sim_config_toml


@pytest.fixture
def cli(tmp_path, whmcs_sim, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        sim_config_toml(
            engine_url="http://127.0.0.1:9/ovirt-engine/api",
            username="admin@internal",
            ca_file=None,
            billing_url=whmcs_sim.url,
            identifier=whmcs_sim.identifier,
            store_url=f"sqlite:///{tmp_path / 'console.db'}",
        )
    )
    monkeypatch.setenv("VPS_CONSOLE_BILLING_SECRET", whmcs_sim.secret)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--config", str(config), *args])

    return run


def test_list_on_an_empty_store_says_to_sync(cli):
    listed = cli("orders", "list")
    assert listed.exit_code == 0, listed.output
    assert "the queue is empty: run `vps-console orders sync`" in listed.output


def test_sync_then_list_as_json_shows_each_order_once(cli, whmcs_sim):
    first = cli("orders", "sync")
    assert first.exit_code == 0, first.output
    assert cli("orders", "sync").exit_code == 0
    listed = cli("orders", "list", "--json")
    orders = json.loads(listed.output)
    ids = [order["id"] for order in orders]
    assert len(ids) == len(set(ids)) > 10
    for order in orders:
        assert {"id", "status", "product", "template", "problem"} <= order.keys()
        assert order["template"] or order["problem"], order
    assert any(
        order["status"] == "needs_mapping" and "[[catalog.products]]" in order["problem"]
        for order in orders
    )


def test_show_claim_release(cli):
    cli("orders", "sync")
    order_id = json.loads(cli("orders", "list", "--json").output)[0]["id"]
    shown = json.loads(cli("orders", "show", order_id, "--json").output)
    assert shown["id"] == order_id and "service_id" in shown
    claimed = cli("orders", "claim", order_id)
    assert claimed.exit_code == 0 and "tester@ci" in claimed.output
    assert json.loads(cli("orders", "show", order_id, "--json").output)["claimed_by"] == "tester@ci"
    assert cli("orders", "release", order_id).exit_code == 0
    assert json.loads(cli("orders", "show", order_id, "--json").output)["claimed_by"] is None


def test_unknown_order_is_bad_input(cli):
    result = cli("orders", "show", "nope")
    assert result.exit_code == 2
    assert "no order 'nope'" in result.output and "orders sync" in result.output


def test_billing_down_keeps_the_queue_and_says_so(cli, whmcs_sim):
    assert cli("orders", "sync").exit_code == 0
    before = cli("orders", "list", "--json").output
    whmcs_sim.stop()
    failed = cli("orders", "sync")
    assert failed.exit_code == 1
    assert "error:" in failed.output and "hint:" in failed.output
    assert "Traceback" not in failed.output
    after = cli("orders", "list", "--json").output
    assert json.loads(after) == json.loads(before)
    assert "billing unreachable since" in cli("orders", "list").output


def test_import_reports_bad_rows_and_keeps_good_ones(cli, tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,client_name,product,memory\n"
        "F-1,Ana,VPS Linux cPanel,4GiB\n"
        "F-2,,VPS Linux cPanel,4GiB\n"
        "F-3,Ben,VPS Linux cPanel,lots\n"
    )
    result = cli("orders", "import", str(orders))
    assert result.exit_code == 2
    assert "imported 1 order" in result.output
    assert "line 3" in result.output and "client_name" in result.output
    assert "line 4" in result.output and "memory" in result.output
    assert [o["id"] for o in json.loads(cli("orders", "list", "--json").output)] == ["F-1"]


def test_add_a_manual_order(cli):
    result = cli(
        "orders", "add", "--product", "VPS Windows Plesk", "--client", "Ana", "--memory", "8GiB"
    )
    assert result.exit_code == 0, result.output
    assert "win2022-plesk" in result.output
    bad = cli("orders", "add", "--product", "VPS Windows Plesk", "--client", "Ana", "--memory", "x")
    assert bad.exit_code == 2 and "memory" in bad.output


def test_the_order_commands_load_neither_the_sdk_nor_httpx():
    """`orders list` and the like read the store: the SDK (~18 MiB with pycurl) and httpx
    load only with the commands that talk to an engine or to WHMCS (`orders sync`)."""
    import subprocess
    import sys

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json, console.commands.orders; "
            "print(json.dumps([m for m in ('ovirtsdk4', 'pycurl', 'httpx') if m in sys.modules]))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == []
