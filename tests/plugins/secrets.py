"""Secret-store fixtures; by default every test runs as on a headless SSH host.

The autouse fixture forces keyring's fail backend and removes the passphrase, so no test
can reach the developer's desktop keyring or an encrypted file it did not ask for.
"""

from __future__ import annotations

import pytest

from console.secrets import ENV_KEYRING_BACKEND, ENV_PASSPHRASE, MemorySecretStore

FAIL_BACKEND = "keyring.backends.fail.Keyring"


@pytest.fixture(autouse=True)
def headless_keyring(monkeypatch):
    monkeypatch.setenv(ENV_KEYRING_BACKEND, FAIL_BACKEND)
    monkeypatch.delenv(ENV_PASSPHRASE, raising=False)


@pytest.fixture
def memory_secrets() -> MemorySecretStore:
    return MemorySecretStore()


@pytest.fixture
def keyring_passphrase(monkeypatch) -> str:
    """Secrets go to the encrypted file, opened with this passphrase (as in automation)."""
    passphrase = "test passphrase, not a real one"
    monkeypatch.setenv(ENV_PASSPHRASE, passphrase)
    return passphrase
