"""`vps-console doctor` against the simulators: all ✔, then each failure named with its fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.cli import main
from console.sim.engine import EngineSimulator
from console.sim.engine.tls import generate
from console.sim.whmcs import WhmcsSimulator
from console.store.db import open_store


@pytest.fixture
def tls_engine():
    with EngineSimulator(tls=True, time_scale=0.01, vms=5, seed=1) as sim:
        yield sim


@pytest.fixture
def whmcs():
    with WhmcsSimulator(seed=1, orders=3) as sim:
        yield sim


def write_config(
    path: Path, engine: EngineSimulator, whmcs: WhmcsSimulator, *, ca_file: str | None, store: Path
) -> Path:
    ca_line = f'ca_file = "{ca_file}"' if ca_file else ""
    path.write_text(f"""
[[engines]]
name = "sim"
url = "{engine.url}"
username = "{engine.username}"
{ca_line}
cluster = "prod-a"

[billing]
kind = "whmcs"
url = "{whmcs.url}"
identifier = "{whmcs.identifier}"
timeout_seconds = 3

[[catalog.products]]
billing_product = "VPS Linux Plesk"
template = "ubuntu2204-plesk"

[store]
url = "sqlite:///{store}"
""")
    path.chmod(0o600)
    return path


@pytest.fixture
def setup(tmp_path, monkeypatch, tls_engine, whmcs):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", tls_engine.password)
    monkeypatch.setenv("VPS_CONSOLE_BILLING_SECRET", whmcs.secret)
    config = write_config(
        tmp_path / "config.toml",
        tls_engine,
        whmcs,
        ca_file=tls_engine.ca_file,
        store=tmp_path / "console.db",
    )
    return config


def doctor(config: Path):
    result = CliRunner().invoke(main, ["--config", str(config), "doctor"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def line(output: str, subject: str) -> str:
    found = [text for text in output.splitlines() if text[2:].startswith(subject + ":")]
    assert found, f"no line for {subject!r} in:\n{output}"
    return found[0]


def test_all_checks_pass_against_the_simulators(setup, keyring_passphrase, tmp_path):
    open_store(f"sqlite:///{tmp_path / 'console.db'}").close()
    code, output = doctor(setup)
    assert code == 0, output
    problems = [text for text in output.splitlines() if text.startswith(("✘", "!"))]
    assert problems == []
    assert "certificate chain verified with CA file" in line(output, "engine sim TLS")
    assert line(output, "engine sim API version").startswith("✔")
    assert "prod-a" in line(output, "engine sim clusters")
    assert line(output, "engine sim templates").startswith("✔")
    assert line(output, "billing access (IP allow-list, API role)").startswith("✔")
    assert line(output, "store migrations").startswith("✔")
    assert line(output, "store writable").startswith("✔")
    assert "encrypted file" in line(output, "secrets")
    assert output.rstrip().endswith("all checks passed")


def test_wrong_engine_password_names_the_login_and_the_fix(setup, monkeypatch):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", "not-the-password")
    code, output = doctor(setup)
    assert code == 1
    login = line(output, "engine sim login")
    assert login.startswith("✘")
    assert "vps-console credentials set engine NAME" in login
    assert "not-the-password" not in output


def test_wrong_ca_is_a_tls_failure_with_the_ca_fix(setup, tmp_path, tls_engine, whmcs):
    other = generate("127.0.0.1")  # a CA that did not sign the engine's certificate
    try:
        config = write_config(
            tmp_path / "wrong-ca.toml",
            tls_engine,
            whmcs,
            ca_file=other.ca_file,
            store=tmp_path / "console.db",
        )
        code, output = doctor(config)
    finally:
        shutil.rmtree(other.directory, ignore_errors=True)
    assert code == 1
    tls = line(output, "engine sim TLS")
    assert tls.startswith("✘") and "certificate" in tls
    assert "fix: set ca_file" in tls


def test_no_ca_file_for_a_private_ca_is_refused_with_the_ca_fix(setup, tmp_path, tls_engine, whmcs):
    config = write_config(
        tmp_path / "no-ca.toml", tls_engine, whmcs, ca_file=None, store=tmp_path / "console.db"
    )
    code, output = doctor(config)
    assert code == 1
    tls = line(output, "engine sim TLS")
    assert tls.startswith("✘") and "certificate" in tls
    assert "fix: set ca_file" in tls


def test_wrong_billing_secret_names_the_credential_and_the_fix(setup, monkeypatch, whmcs):
    monkeypatch.setenv("VPS_CONSOLE_BILLING_SECRET", "not-the-secret")
    code, output = doctor(setup)
    assert code == 1
    failed = [text for text in output.splitlines() if text.startswith("✘")]
    assert any("billing" in text and "credentials" in text.lower() for text in failed), output
    assert any("vps-console credentials set billing" in text for text in failed), output
    assert "not-the-secret" not in output
    assert line(output, "engine sim login").startswith("✔")


def test_billing_down_is_named_with_the_fix(setup, whmcs):
    whmcs.stop()
    code, output = doctor(setup)
    assert code == 1
    billing = line(output, "billing reachable")
    assert billing.startswith("✘") and "cannot reach WHMCS" in billing
    assert "— fix:" in billing
    assert line(output, "engine sim login").startswith("✔")  # only billing is blamed
    assert line(output, "store").startswith("✔")  # a new store is created on first use


def test_billing_refusing_our_ip_says_where_to_allow_it(setup, whmcs):
    whmcs.faults.inject("ip")
    code, output = doctor(setup)
    assert code == 1
    access = line(output, "billing access (IP allow-list, API role)")
    assert access.startswith("✘") and "API IP Access Restriction" in access


def test_unwritable_store_is_named_with_the_fix(setup, tmp_path, tls_engine, whmcs):
    if os.geteuid() == 0:
        # root writes through file modes: make the store's folder impossible instead.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        store = blocker / "console.db"
    else:
        folder = tmp_path / "readonly"
        folder.mkdir()
        CliRunner().invoke(main, ["--config", str(setup), "audit"])  # creates a migrated store
        store = folder / "console.db"
        shutil.copy(tmp_path / "console.db", store)
        store.chmod(0o400)
        folder.chmod(0o500)
    config = write_config(
        tmp_path / "ro.toml", tls_engine, whmcs, ca_file=tls_engine.ca_file, store=store
    )
    code, output = doctor(config)
    assert code == 1
    problem = [text for text in output.splitlines() if text[2:].startswith("store")][0]
    assert problem.startswith("✘") and str(store) in problem
    assert "writable" in problem.split("— fix:")[1]


def test_group_writable_config_and_missing_secrets_are_flagged(setup, monkeypatch):
    setup.chmod(0o664)
    monkeypatch.delenv("VPS_CONSOLE_ENGINE_PASSWORD")
    code, output = doctor(setup)
    assert code == 1
    assert f"chmod 600 {setup}" in line(output, "config permissions")
    assert "credentials set engine sim" in line(output, "engine sim password")
    # no passphrase, no terminal: the encrypted file with its owner-only key file
    assert line(output, "secrets").startswith("✔") and "(key file)" in line(output, "secrets")
