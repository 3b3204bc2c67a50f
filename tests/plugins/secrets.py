"""Secret-store fixtures; by default every test runs as on a headless SSH host.

The autouse fixture forces keyring's fail backend and removes the passphrase and any
`VPS_CONSOLE_SECRETS`, so no test reaches the developer's desktop keyring: the store is the
encrypted file with its key file, in the test's own user data dir (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from console.secrets import ENV_KEYRING_BACKEND, ENV_PASSPHRASE, ENV_SECRETS, MemorySecretStore

FAIL_BACKEND = "keyring.backends.fail.Keyring"


@pytest.fixture(autouse=True)
def headless_keyring(monkeypatch):
    monkeypatch.setenv(ENV_KEYRING_BACKEND, FAIL_BACKEND)
    monkeypatch.delenv(ENV_PASSPHRASE, raising=False)
    monkeypatch.delenv(ENV_SECRETS, raising=False)


@pytest.fixture
def memory_secrets() -> MemorySecretStore:
    return MemorySecretStore()


@pytest.fixture
def keyring_passphrase(monkeypatch) -> str:
    """The encrypted file's key file is locked with this passphrase (as in automation)."""
    passphrase = "test passphrase, not a real one"
    monkeypatch.setenv(ENV_PASSPHRASE, passphrase)
    return passphrase
