"""A console config file for the `vps-console` subprocesses a test starts, pointing at the
simulators, and the environment those processes read their secrets from."""

from __future__ import annotations

import sys
from pathlib import Path

from console.flow.timing import ENV_TIME_SCALE
from console.store.db import Store, open_store

CLI = str(Path(sys.executable).with_name("vps-console"))


def write_cli_config(
    path: Path, engine_sim, store_url: str, products: str = "", *, whmcs_sim=None
) -> Path:
    """Engine `sim` (cluster prod-a), the store, WHMCS when given, and `products` (TOML
    [[catalog.products]] tables) as they stand."""
    billing = (
        f'\n[billing]\nkind = "whmcs"\nurl = "{whmcs_sim.url}"\n'
        f'identifier = "{whmcs_sim.identifier}"\n'
        if whmcs_sim is not None
        else ""
    )
    path.write_text(
        f"""
[[engines]]
name = "sim"
url = "{engine_sim.url}"
username = "{engine_sim.username}"
cluster = "prod-a"
{billing}
[store]
url = "{store_url}"
{products}""",
        encoding="utf-8",
    )
    return path


def point_cli_at(
    monkeypatch, config: Path, engine_sim, *, whmcs_sim=None, time_scale: str = "0.01"
) -> None:
    """What a `vps-console` child process needs: the config, the secrets, a fast runner."""
    monkeypatch.setenv("VPS_CONSOLE_CONFIG", str(config))
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    if whmcs_sim is not None:
        monkeypatch.setenv("VPS_CONSOLE_BILLING_SECRET", whmcs_sim.secret)
    monkeypatch.setenv(ENV_TIME_SCALE, time_scale)


def cli_setup(
    tmp_path: Path, engine_sim, monkeypatch, products: str = "", *, whmcs_sim=None
) -> tuple[Path, Store]:
    """Everything a test needs before it starts `vps-console` children: the config (with a
    store in tmp_path), their environment, and that store opened for the test to read and
    seed (the caller closes it)."""
    store_url = f"sqlite:///{tmp_path / 'console.db'}"
    config = write_cli_config(
        tmp_path / "config.toml", engine_sim, store_url, products, whmcs_sim=whmcs_sim
    )
    point_cli_at(monkeypatch, config, engine_sim, whmcs_sim=whmcs_sim)
    return config, open_store(store_url)
