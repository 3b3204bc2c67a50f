"""The encrypted file and its key file: owner-only under umask 022, unlocked once per
process, upgraded by a passphrase, safe with several writers, read fresh across processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console import secrets
from console.secrets import SecretStoreLocked, open_secret_store
from console.secrets import vault as vault_module
from console.secrets.vault import Vault

EXE = str(Path(sys.executable).with_name("vps-console"))
ENGINE_PW = "Vault-Engine-Passw0rd-42"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_key_file_and_store_are_owner_only_under_umask_022(umask_022):
    store = open_secret_store()
    store.set("engine:prod", ENGINE_PW)
    folder = secrets.data_dir()
    assert mode(folder) == 0o700
    for name in ("secrets.key", "secrets.enc", "secrets.lock"):
        assert mode(folder / name) == 0o600, name
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
    assert ENGINE_PW not in (folder / "secrets.enc").read_text()
    # A folder someone left open is closed again when the store opens.
    os.chmod(folder, 0o755)
    open_secret_store()
    assert mode(folder) == 0o700


def test_headless_child_processes_keep_secrets_without_passphrase_or_terminal():
    """As cron or CI runs it: fail keyring forced, no passphrase, stdin not a terminal."""
    env = dict(os.environ)
    env.pop("VPS_CONSOLE_KEYRING_PASSPHRASE", None)
    saved = subprocess.run(
        [EXE, "credentials", "set", "billing", "--stdin"],
        input="whmcs-api-secret-77\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert saved.returncode == 0, saved.stderr
    assert "encrypted file" in saved.stdout
    shown = subprocess.run(
        [EXE, "credentials", "show", "billing", "--reveal"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "whmcs-api-secret-77"


def test_the_key_is_derived_once_per_process_never_per_read(monkeypatch, keyring_passphrase):
    derivations = []
    real = vault_module.derive
    monkeypatch.setattr(
        vault_module, "derive", lambda *args, **kw: derivations.append(1) or real(*args, **kw)
    )
    open_secret_store().update(
        {f"license:{n}:windows": f"AAAAA-BBBBB-CCCCC-DDDDD-{n:05d}" for n in range(10)}
    )
    assert len(derivations) == 1  # locking the new key file
    derivations.clear()
    store = open_secret_store()
    for _ in range(3):
        for n in range(10):
            assert store.get(f"license:{n}:windows").endswith(f"{n:05d}")
        store.set("engine:prod", ENGINE_PW)
    assert len(derivations) == 1  # opening it; reads and writes derive nothing


def test_a_passphrase_upgrades_the_key_file_and_is_then_needed(monkeypatch):
    open_secret_store().set("engine:prod", ENGINE_PW)
    key_file = secrets.key_file_path()
    plain = json.loads(key_file.read_text())
    assert plain["protection"] == "key file" and "key" in plain

    monkeypatch.setenv("VPS_CONSOLE_KEYRING_PASSPHRASE", "a passphrase for the jump host")
    upgraded = open_secret_store()
    assert upgraded.describe().protection == "passphrase"
    assert "upgraded" in upgraded.describe().reason
    assert upgraded.get("engine:prod") == ENGINE_PW
    locked = json.loads(key_file.read_text())
    assert "key" not in locked and plain["key"] not in key_file.read_text()
    assert locked["kdf"] == {
        "name": "argon2id",
        "salt": locked["kdf"]["salt"],
        "iterations": 3,
        "memory_kib": 65536,
        "lanes": 4,
    }

    monkeypatch.delenv("VPS_CONSOLE_KEYRING_PASSPHRASE")
    with pytest.raises(SecretStoreLocked) as refused:
        open_secret_store()
    assert "VPS_CONSOLE_KEYRING_PASSPHRASE" in refused.value.hint
    assert (
        open_secret_store(passphrase_prompt=lambda: "a passphrase for the jump host").get(
            "engine:prod"
        )
        == ENGINE_PW
    )


def test_a_replaced_key_file_is_refused_not_taken_for_an_empty_store():
    open_secret_store().set("engine:prod", ENGINE_PW)
    secrets.key_file_path().unlink()
    with pytest.raises(SecretStoreLocked) as refused:
        open_secret_store().get("engine:prod")
    assert "cannot be opened with the key" in refused.value.message


def test_writers_at_once_lose_nothing():
    """Each writer its own Vault (its own file descriptors), as separate processes have."""
    folder = secrets.data_dir()
    Vault(folder)

    def write(worker: int) -> None:
        vault = Vault(folder)
        for n in range(15):
            vault.change({f"license:{worker}-{n}:plesk": f"value-{worker}-{n}"})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(Vault(folder).names()) == 60


def test_a_write_by_another_process_is_seen_by_an_open_store():
    store = open_secret_store()
    assert store.get("engine:prod") is None
    saved = subprocess.run(
        [EXE, "credentials", "set", "engine", "prod", "--stdin"],
        input=ENGINE_PW + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert saved.returncode == 0, saved.stderr
    assert store.get("engine:prod") == ENGINE_PW
