"""An older encrypted file (keyrings.cryptfile, passphrase) keeps working, and
`credentials migrate` moves secrets between backends without losing one."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from console import secrets
from console.cli import main
from console.secrets import MemorySecretStore, SecretStoreError, open_secret_store
from console.secrets.transfer import move_secrets

ENGINE_PW = "Legacy-Engine-Passw0rd-1"
WINDOWS_KEY = "VK7JG-NPHTM-C97JM-9MPGT-3V66T"


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def cheap_cryptfile(monkeypatch):
    """keyrings.cryptfile derives an Argon2 key (t=15, 64 MiB) for every entry it reads or
    writes: seconds each on the test machine. Same format, cheaper parameters."""
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 2**10)


def test_an_older_cryptfile_keeps_working_then_migrates_to_the_file(
    keyring_passphrase, cheap_cryptfile, monkeypatch
):
    legacy = open_secret_store("cryptfile")
    legacy.update({"engine:prod": ENGINE_PW, "license:7:windows": WINDOWS_KEY})
    assert secrets.keyring_file_path().stat().st_size > 0

    found = open_secret_store()  # auto: the older file is there, the new one is not
    assert found.describe().name == "encrypted file (keyrings.cryptfile)"
    assert found.get("engine:prod") == ENGINE_PW
    # Without its passphrase (cron), the new file is used, and the older one is pointed at.
    monkeypatch.delenv("VPS_CONSOLE_KEYRING_PASSPHRASE")
    headless = open_secret_store().describe()
    assert headless.name == "encrypted file" and any(
        "older encrypted file" in note and "credentials migrate" in note
        for note in headless.rejected
    )
    monkeypatch.setenv("VPS_CONSOLE_KEYRING_PASSPHRASE", keyring_passphrase)

    listed = cli("credentials", "list")
    assert listed.exit_code == 0 and "keyrings.cryptfile" in listed.output
    assert "license:7:windows" in listed.output and WINDOWS_KEY not in listed.output

    moved = cli("credentials", "migrate", "--to", "file")
    assert moved.exit_code == 0, moved.output
    assert (
        "moved 2 secret(s) from encrypted file (keyrings.cryptfile) (passphrase) to "
        "encrypted file (passphrase)" in moved.output
    )

    assert f"removed {secrets.keyring_file_path()}, now empty" in moved.output
    assert not secrets.keyring_file_path().exists()
    now = open_secret_store()
    assert now.describe().name == "encrypted file"
    assert not any("older encrypted file" in note for note in now.describe().rejected)
    assert now.get("engine:prod") == ENGINE_PW and now.get("license:7:windows") == WINDOWS_KEY
    assert WINDOWS_KEY not in secrets.vault_file_path().read_text()


def test_migrate_copies_with_keep_and_refuses_a_target_that_keeps_nothing():
    result = CliRunner().invoke(
        main, ["credentials", "set", "engine", "prod", "--stdin"], input=ENGINE_PW + "\n"
    )
    assert result.exit_code == 0, result.output
    refused = cli("credentials", "migrate", "--to", "keyring")  # fail backend: none here
    assert refused.exit_code == 1 and "no usable system keyring" in refused.output
    assert open_secret_store().get("engine:prod") == ENGINE_PW  # nothing lost on refusal
    memory = cli("--secrets", "memory", "credentials", "set", "billing", "--stdin")
    assert memory.exit_code == 1 and "would be lost" in memory.output


def test_move_secrets_reads_back_before_it_deletes():
    source = MemorySecretStore(initial={"engine:prod": ENGINE_PW})

    class Forgetful(MemorySecretStore):
        def _write(self, name, value):
            pass  # says yes, keeps nothing

    with pytest.raises(SecretStoreError) as refused:
        move_secrets(source, Forgetful(secrets.BackendInfo("forgetful", True, "test")))
    assert "nothing was removed" in refused.value.message
    assert source.get("engine:prod") == ENGINE_PW
    target = MemorySecretStore(secrets.BackendInfo("other", True, "test"))
    assert move_secrets(source, target, keep_source=True) == ["engine:prod"]
    assert source.get("engine:prod") == target.get("engine:prod") == ENGINE_PW
