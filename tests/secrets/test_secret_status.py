"""Where secrets are kept is said in the header, `doctor` and `credentials`; memory only when
asked, loudly; a store that would not keep a job's secrets stops `provision` with exit 2."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace

from click.testing import CliRunner

from console.cli import main
from console.secrets import open_secret_store
from console.store import jobs as repo
from tests.plugins.cli import CLI, cli_setup


def vps(*args: str) -> subprocess.CompletedProcess:
    """A child as a script or cron starts it: no terminal on stdin."""
    return subprocess.run(
        [CLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


async def test_the_header_names_the_file_and_how_its_key_is_kept(frozen_context):
    from console.tui.app import ConsoleApp

    app = ConsoleApp(replace(frozen_context, secrets=open_secret_store()))
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        line = str(app.screen.query_one("StatusHeader").render()).splitlines()[0]
        assert "secrets: encrypted file (key file)" in line and "not saved" not in line


def test_credentials_and_doctor_name_the_backend_and_the_key_file():
    listed = CliRunner().invoke(main, ["credentials", "list"])
    assert listed.exit_code == 0, listed.output
    first = listed.output.splitlines()[0]
    assert first.startswith("Secrets: encrypted file ") and "secrets.key (key file)" in first

    memory = CliRunner().invoke(main, ["--secrets", "memory", "credentials", "list"])
    assert memory.exit_code == 0
    assert "warning: secrets are kept in memory only, NOT saved" in memory.output
    assert "NOT SAVED: lost when this process ends" in memory.output

    doctor = CliRunner().invoke(main, ["--secrets", "memory", "doctor"])
    secrets_line = [line for line in doctor.output.splitlines() if line[2:].startswith("secrets:")]
    assert secrets_line and secrets_line[0].startswith("!"), doctor.output
    assert "NOT kept" in secrets_line[0] and "drop `--secrets memory`" in secrets_line[0]


def test_a_data_dir_that_cannot_be_written_is_a_doctor_failure(monkeypatch, tmp_path):
    blocker = tmp_path / "data-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    doctor = CliRunner().invoke(main, ["doctor"])
    secrets_line = [line for line in doctor.output.splitlines() if line[2:].startswith("secrets:")]
    assert secrets_line[0].startswith("✘") and f"make {blocker / 'vps-console'}" in secrets_line[0]
    assert doctor.exit_code == 1


def test_provision_refuses_with_exit_2_when_the_secrets_would_not_be_kept(
    engine_sim, tmp_path, monkeypatch
):
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch)
    try:
        no_wait = vps("--secrets", "memory", "provision", "1001", "--yes", "--no-wait")
        assert no_wait.returncode == 2, no_wait.stdout + no_wait.stderr
        assert "refusing to launch" in no_wait.stderr and "`jobs resume`" in no_wait.stderr
        assert "hint: drop `--secrets memory`" in no_wait.stderr

        blocker = tmp_path / "data-is-a-file"
        blocker.write_text("")
        monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
        for args in (("--no-wait",), ()):
            refused = vps("provision", "1001", "--yes", *args)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert f"hint: make {blocker / 'vps-console'} a folder you can write" in refused.stderr
        assert repo.list_jobs(store) == []
    finally:
        store.close()


def test_secrets_staged_by_a_launch_that_died_are_listed_and_can_be_deleted():
    """A launch killed before its job row was committed leaves `job:ID:…` names: listed
    (masked) by `credentials list`, removed with `credentials delete`."""
    open_secret_store().set("job:0a1b2c3d4e5f:admin-password", "Staged-Passw0rd-77")
    listed = CliRunner().invoke(main, ["credentials", "list"])
    assert "job:0a1b2c3d4e5f:admin-password" in listed.output
    assert "Staged-Passw0rd-77" not in listed.output
    deleted = CliRunner().invoke(main, ["credentials", "delete", "job:0a1b2c3d4e5f:admin-password"])
    assert deleted.exit_code == 0, deleted.output
    assert open_secret_store().names() == []
