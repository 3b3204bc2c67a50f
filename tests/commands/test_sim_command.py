"""`vps-console sim` serves both simulators; the real SDK and our WHMCS client reach them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import ovirtsdk4

from console.billing.whmcs import WhmcsClient
from console.commands.sim import SIM_CATALOG
from console.config import load_config

ROOT = Path(__file__).parents[2]


def test_sim_prints_json_serves_and_stops_on_interrupt(tmp_path):
    config_path = tmp_path / "sim.toml"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("vps-console")),
            "sim",
            "--port",
            "0",
            "--json",
            "--vms",
            "10",
            "--orders",
            "5",
            "--write-config",
            str(config_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        facts = json.loads(process.stdout.readline())
        # The JSON line announces a config that is already there, whole and owner-only.
        written = config_path.read_text()
        assert config_path.stat().st_mode & 0o777 == 0o600
        assert load_config(config_path).engine().url == facts["engine_url"]
        assert {
            "engine_url",
            "username",
            "password",
            "ca_file",
            "billing_url",
            "identifier",
            "secret",
        } <= facts.keys()
        connection = ovirtsdk4.Connection(
            url=facts["engine_url"], username=facts["username"], password=facts["password"]
        )
        try:
            assert connection.test(raise_exception=True)
            names = {t.name for t in connection.system_service().templates_service().list()}
            assert {"alma9-cpanel", "win2022-plesk"} <= names
        finally:
            connection.close()
        with WhmcsClient(facts["billing_url"], facts["identifier"], facts["secret"]) as client:
            assert len(client.get_orders(status="Pending")) >= 1
        assert facts["password"] not in written and facts["secret"] not in written
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_example_config_maps_the_simulators_products_like_sim_does():
    example = tomllib.loads((ROOT / "config.example.toml").read_text())["catalog"]
    assert example == tomllib.loads(SIM_CATALOG)["catalog"]


def test_sim_over_tls_with_a_fault_file(tmp_path):
    faults = tmp_path / "faults.json"
    faults.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "method": "GET",
                        "path": "^/clusters$",
                        "nth": 1,
                        "status": 503,
                        "reason": "Service Unavailable",
                    }
                ]
            }
        )
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("vps-console")),
            "sim",
            "--port",
            "0",
            "--json",
            "--tls",
            "--faults",
            str(faults),
            "--time-scale",
            "0.01",
            "--vms",
            "5",
            "--orders",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        facts = json.loads(process.stdout.readline())
        assert facts["engine_url"].startswith("https://") and Path(facts["ca_file"]).is_file()
        connection = ovirtsdk4.Connection(
            url=facts["engine_url"],
            username=facts["username"],
            password=facts["password"],
            ca_file=facts["ca_file"],
        )
        try:
            clusters = connection.system_service().clusters_service()
            try:
                clusters.list()
                raise AssertionError("the fault file's first /clusters answer should be a 503")
            except ovirtsdk4.Error as error:
                assert "503" in str(error)
            assert {c.name for c in clusters.list()} == {"prod-a", "prod-b"}  # only the 1st
        finally:
            connection.close()
        refused = ovirtsdk4.Connection(
            url=facts["engine_url"], username=facts["username"], password=facts["password"]
        )  # no ca_file
        try:
            try:
                refused.test(raise_exception=True)
                raise AssertionError("an unknown CA must be refused")
            except ovirtsdk4.Error as error:
                assert "certificate" in str(error).lower() or "ssl" in str(error).lower()
        finally:
            refused.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
