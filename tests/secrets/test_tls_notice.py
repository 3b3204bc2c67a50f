"""An unverified engine is never silent: a warning per CLI run, a banner in the console."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from console.config import parse_config
from console.tls_notice import insecure_banner, warn_if_insecure

VERIFIED = """
[[engines]]
name = "a"
url = "https://a.example.net/ovirt-engine/api"
"""
UNVERIFIED = (
    VERIFIED
    + """
[[engines]]
name = "b"
url = "https://b.example.net/ovirt-engine/api"
insecure = true
insecure_acknowledged = true
"""
)


def test_banner_names_the_unverified_engines_only():
    assert insecure_banner(parse_config(VERIFIED, Path("c.toml"))) is None
    banner = insecure_banner(parse_config(UNVERIFIED, Path("c.toml")))
    assert banner.startswith("!! TLS NOT VERIFIED for engine b:")
    assert "ca_file" in banner


def test_cli_warning_goes_to_stderr_with_the_fix():
    config = parse_config(UNVERIFIED, Path("c.toml"))
    runner = CliRunner()

    import click

    @click.command()
    def probe():
        warn_if_insecure(config)
        click.echo("data")

    result = runner.invoke(probe)
    assert result.stdout == "data\n"
    assert (
        "warning: engine b (https://b.example.net/ovirt-engine/api): TLS certificate NOT "
        "verified" in result.stderr
    )
    assert "set ca_file" in result.stderr and "engine a" not in result.stderr
