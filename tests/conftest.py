"""Root test configuration.

Every module in tests/plugins/ is a pytest plugin (fixtures for the simulators, the store,
…), so each layer's fixtures live beside the others without one file to fight over.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

pytest_plugins = [
    f"tests.plugins.{info.name}"
    for info in pkgutil.iter_modules([str(Path(__file__).with_name("plugins"))])
]


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user's config, data, logs and keyring."""
    home = tmp_path_factory.mktemp("home")
    for variable, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(variable, str(home / sub) if sub else str(home))
    for variable in (
        "VPS_CONSOLE_CONFIG",
        "VPS_CONSOLE_ENGINE_PASSWORD",
        "VPS_CONSOLE_BILLING_SECRET",
        "DBUS_SESSION_BUS_ADDRESS",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("VPS_CONSOLE_ACTOR", "tester@ci")
    return home
