"""How the console reaches WHMCS and the engines: TLS verified against `[billing] ca_file`
like the engines', and plain http:// to another host refused unless acknowledged, then
said in red on every run and on every screen."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from console.billing.errors import BillingUnreachable
from console.billing.whmcs import open_billing_client
from console.cli import main
from console.config import BillingConfig, ConfigError, parse_config
from console.sim.engine.tls import generate
from console.sim.whmcs import WhmcsSimulator
from console.tls_notice import insecure_banner


@pytest.fixture
def tls_whmcs(tmp_path):
    material = generate("127.0.0.1")
    with WhmcsSimulator(seed=1, orders=3) as sim:
        server = sim._server
        server.socket = material.server_context().wrap_socket(server.socket, server_side=True)
        yield sim, material


def test_billing_over_tls_is_verified_against_ca_file(tls_whmcs):
    sim, material = tls_whmcs
    url = f"https://127.0.0.1:{sim.port}"
    trusted = BillingConfig(
        kind="whmcs", url=url, identifier=sim.identifier, ca_file=material.ca_file
    )
    with open_billing_client(trusted, sim.secret) as client:
        assert len(client.get_orders("Pending")) >= 1
    unknown_ca = BillingConfig(kind="whmcs", url=url, identifier=sim.identifier)
    with open_billing_client(unknown_ca, sim.secret) as client:
        client.retries = 0
        with pytest.raises(BillingUnreachable) as refused:
            client.get_orders("Pending")
    assert (
        "CERTIFICATE_VERIFY_FAILED" in refused.value.message
        or "certificate" in refused.value.message.lower()
    )


def test_a_ca_file_that_is_not_there_is_named(tmp_path):
    with pytest.raises(ValueError, match="ca_file"):
        BillingConfig(
            kind="whmcs",
            url="https://billing.example.net",
            identifier="x",
            ca_file=tmp_path / "missing.pem",
        )


@pytest.mark.parametrize(
    "table, key",
    [
        ('[[engines]]\nname = "prod"\nurl = "http://engine.example.net/ovirt-engine/api"\n', "url"),
        (
            '[[engines]]\nname = "prod"\nurl = "https://engine.example.net/ovirt-engine/api"\n\n'
            '[billing]\nkind = "whmcs"\nurl = "http://billing.example.net"\nidentifier = "abc"\n',
            "url",
        ),
    ],
)
def test_plain_http_to_another_host_is_refused_unless_acknowledged(tmp_path, table, key):
    with pytest.raises(ConfigError) as refused:
        parse_config(table, tmp_path / "c.toml")
    assert (
        "plain http" in refused.value.message and "insecure_acknowledged" in refused.value.message
    )
    acknowledged = table.replace('url = "http://', 'insecure_acknowledged = true\nurl = "http://')
    config = parse_config(acknowledged, tmp_path / "c.toml")
    banner = insecure_banner(config)
    assert banner is not None and "PLAIN HTTP" in banner


def test_loopback_http_stays_quiet_and_acknowledged_http_warns_on_every_run(tmp_path):
    loopback = parse_config(
        '[[engines]]\nname = "lab"\nurl = "http://127.0.0.1:8080/api"\n', tmp_path / "c.toml"
    )
    assert insecure_banner(loopback) is None
    path = tmp_path / "config.toml"
    path.write_text(
        '[[engines]]\nname = "prod"\ninsecure_acknowledged = true\n'
        'url = "http://engine.example.net/ovirt-engine/api"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(path), "check-config"])
    assert "engine prod is reached over plain http" in result.output
