"""The secret store: names, masking, the explicit backend choice, and headless fallbacks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest

from console import secrets
from console.errors import BadInput
from console.secrets import (
    SecretsNotKept,
    SecretStoreError,
    billing_secret,
    engine_env_variable,
    engine_password,
    generate_password,
    mask,
    open_secret_store,
    require_kept,
)

EXE = str(Path(sys.executable).with_name("vps-console"))


def test_memory_store_keeps_an_index_and_validates_names(memory_secrets):
    memory_secrets.set("engine:prod", "engine-pw-1")
    memory_secrets.set("license:1042:windows", "ABCDE-FGHIJ-KLMNO-PQRST-7XK2Q")
    assert memory_secrets.names() == ["engine:prod", "license:1042:windows"]
    assert memory_secrets.get("engine:prod") == "engine-pw-1"
    memory_secrets.delete("engine:prod")
    assert memory_secrets.get("engine:prod") is None
    assert memory_secrets.names() == ["license:1042:windows"]
    with pytest.raises(BadInput):
        memory_secrets.set("license:1042:oracle", "x" * 10)
    with pytest.raises(BadInput):
        memory_secrets.set("billing:secret", "")
    assert not memory_secrets.describe().persistent


@pytest.mark.parametrize(
    "value, shown",
    [
        ("ABCDE-FGHIJ-KLMNO-PQRST-7XK2Q", "…-7XK2Q"),
        ("A00C00-K3BD01-R5G842-FJR317-PA4B07", "…-PA4B07"),
        ("hunter2", "••••"),
        ("medium-pass1", "…s1"),
        ("a-long-generated-password", "…word"),
        ("", ""),
    ],
)
def test_mask_shows_at_most_a_tail(value, shown):
    assert mask(value) == shown


def test_generated_passwords_meet_windows_and_linux_complexity():
    for _ in range(200):
        password = generate_password()
        assert len(password) == 20
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(c in secrets.PASSWORD_SYMBOLS for c in password)
        assert not set(password) & set("\"'\\$`<>&! 0O1lI")
    with pytest.raises(ValueError):
        generate_password(8)


def test_engine_password_prefers_keyring_then_named_then_generic_env(memory_secrets, monkeypatch):
    assert engine_env_variable("dc-2.east") == "VPS_CONSOLE_ENGINE_DC_2_EAST_PASSWORD"
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", "generic-pw")
    assert engine_password(memory_secrets, "prod", 1) == "generic-pw"
    # With several engines a single generic password would be sent to every one of them.
    assert engine_password(memory_secrets, "prod", 2) is None
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PROD_PASSWORD", "named-pw")
    assert engine_password(memory_secrets, "prod", 2) == "named-pw"
    memory_secrets.set("engine:prod", "keyring-pw")
    assert engine_password(memory_secrets, "prod", 2) == "keyring-pw"
    assert billing_secret(memory_secrets) is None
    monkeypatch.setenv("VPS_CONSOLE_BILLING_SECRET", "env-billing")
    assert billing_secret(memory_secrets) == "env-billing"


def test_headless_without_passphrase_keeps_secrets_in_the_file_and_says_why(monkeypatch):
    store = open_secret_store()  # the fail backend is forced for every test, no passphrase
    info = store.describe()
    assert (info.name, info.persistent, info.protection) == ("encrypted file", True, "key file")
    assert info.path == str(secrets.vault_file_path())
    assert info.key_path == str(secrets.key_file_path())
    assert "owner-only key file" in info.reason and "created now" in info.reason
    assert any("turns it off" in r for r in info.rejected)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")  # left to choose: no D-Bus over SSH
    info = open_secret_store().describe()
    assert info.name == "encrypted file" and any("no D-Bus session" in r for r in info.rejected)
    assert "created now" not in info.reason


def test_no_prompt_for_a_plain_key_file_and_memory_only_when_asked():
    def prompt():
        raise AssertionError("nobody is there to answer")

    assert open_secret_store(passphrase_prompt=prompt).describe().persistent
    memory = open_secret_store("memory").describe()
    assert (memory.name, memory.persistent, memory.explicit) == ("memory", False, True)
    assert "--secrets memory" in memory.reason


def test_a_data_dir_that_cannot_be_written_is_said_and_refuses_launches(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data dir should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    store = open_secret_store()
    info = store.describe()
    assert (info.name, info.persistent, info.explicit) == ("memory", False, False)
    assert str(blocker) in info.reason and str(blocker) in info.fix
    with pytest.raises(SecretsNotKept) as refused:
        require_kept(store)
    assert refused.value.exit_code == 2 and str(blocker) in refused.value.hint
    # Chosen on purpose, memory may run a job in this process, never leave one to resume.
    require_kept(open_secret_store("memory"))
    with pytest.raises(SecretsNotKept) as refused:
        require_kept(open_secret_store("memory"), resumed_elsewhere=True)
    assert "drop `--secrets memory`" in refused.value.hint
    with pytest.raises(SecretStoreError) as asked_for_file:  # asked for by name: no fallback
        open_secret_store("file")
    assert str(blocker) in asked_for_file.value.hint


def test_unknown_backend_in_env_is_refused_clearly(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "nosuch.module.Keyring")
    with pytest.raises(SecretStoreError) as caught:
        open_secret_store()
    assert "PYTHON_KEYRING_BACKEND=nosuch.module.Keyring cannot be used" in caught.value.message
    assert "unset PYTHON_KEYRING_BACKEND" in caught.value.hint


def test_locked_desktop_keyring_is_passed_over_never_unlocked(monkeypatch):
    """D-Bus present, collection locked (an SSH login into a desktop user): never unlock."""
    import keyring.backends.SecretService as ss_backend
    import secretstorage

    class LockedCollection:
        def is_locked(self):
            return True

        def unlock(self):
            raise AssertionError("the console must never try to unlock over SSH")

    bus = types.SimpleNamespace(close=lambda: None)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    monkeypatch.setattr(secretstorage, "dbus_init", lambda: bus)
    monkeypatch.setattr(secretstorage, "check_service_availability", lambda connection: True)
    monkeypatch.setattr(
        secretstorage, "get_default_collection", lambda connection: LockedCollection()
    )
    assert ss_backend.Keyring.priority == 5  # the real backend believes it is usable
    store = open_secret_store()
    assert store.describe().name == "encrypted file"
    assert any("locked" in reason for reason in store.describe().rejected)


def test_fail_backend_passes_over_an_unlocked_desktop_keyring(monkeypatch, keyring_passphrase):
    """PYTHON_KEYRING_BACKEND=fail means "no system keyring here": even an unlocked Secret
    Service is not asked, and the encrypted file is chosen."""
    import secretstorage

    def no_bus():
        raise AssertionError("the Secret Service must not be asked")

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    monkeypatch.setattr(secretstorage, "dbus_init", no_bus)
    store = open_secret_store()
    info = store.describe()
    assert info.name == "encrypted file" and info.persistent
    assert info.protection == "passphrase"
    assert "no usable system keyring" in info.reason
    assert any("turns it off" in reason for reason in info.rejected)


def _cli(*args: str, stdin: str | None = None, env_extra: dict | None = None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [EXE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_fail_backend_forced_credentials_persist_across_processes(keyring_passphrase):
    """As on a headless jump host: keyring has nothing, the encrypted file keeps secrets."""
    value = "Engine-Passw0rd-for-persistence"
    saved = _cli("credentials", "set", "engine", "prod", "--stdin", stdin=value + "\n")
    assert saved.returncode == 0, saved.stderr
    assert "encrypted file" in saved.stdout and value not in saved.stdout

    path = secrets.vault_file_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert value not in path.read_text()

    shown = _cli("credentials", "show", "engine", "prod", "--reveal")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == value

    # A wrong passphrase: a clear refusal, its own exit code, no traceback.
    refused = _cli(
        "credentials", "list", env_extra={"VPS_CONSOLE_KEYRING_PASSPHRASE": "not the passphrase"}
    )
    assert refused.returncode == 1
    assert "passphrase does not open the encrypted secrets file" in refused.stderr
    assert "hint: check VPS_CONSOLE_KEYRING_PASSPHRASE" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
