"""`vps-console credentials`: set from stdin, masked by default, audited, refusals explained."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from console.cli import main
from console.secrets import vault_file_path

WINDOWS_KEY = "VK7JG-NPHTM-C97JM-9MPGT-3V66T"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f"""
[[engines]]
name = "prod"
url = "http://127.0.0.1:9/ovirt-engine/api"

[store]
url = "sqlite:///{tmp_path / "console.db"}"
""")
    return path


def run(config, *args, stdin=None):
    result = CliRunner().invoke(main, ["--config", str(config), "credentials", *args], input=stdin)
    assert "Traceback" not in result.output
    return result


def test_set_list_show_reveal_delete_round_trip(config, keyring_passphrase):
    assert (
        run(
            config, "set", "license", "1042", "windows", "--stdin", stdin=WINDOWS_KEY + "\n"
        ).exit_code
        == 0
    )
    listed = run(config, "list")
    assert "Secrets: encrypted file" in listed.output
    assert "license:1042:windows" in listed.output and "…-3V66T" in listed.output
    assert WINDOWS_KEY not in listed.output + vault_file_path().read_text()

    assert (
        run(config, "show", "license", "1042", "windows").output.strip()
        == "license:1042:windows: …-3V66T"
    )
    assert (
        run(config, "show", "license", "1042", "windows", "--reveal").output.strip() == WINDOWS_KEY
    )

    assert run(config, "delete", "license", "1042", "windows").exit_code == 0
    missing = run(config, "show", "license", "1042", "windows")
    assert missing.exit_code == 1 and "is not stored" in missing.output

    trail = json.loads(
        CliRunner().invoke(main, ["--config", str(config), "audit", "--json"]).output
    )
    assert [e["action"] for e in trail] == [
        "credential_deleted",
        "credential_revealed",
        "credential_set",
    ]
    assert all(e["order_id"] == "1042" and e["actor"] == "tester@ci" for e in trail)


def test_set_refuses_when_secrets_would_not_be_kept(config):
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "--secrets",
            "memory",
            "credentials",
            "set",
            "billing",
            "--stdin",
        ],
        input="whmcs-secret-value\n",
    )
    assert result.exit_code == 1
    assert "would be lost when this command ends" in result.output
    assert "drop `--secrets memory`" in result.output


def test_show_says_when_the_value_comes_from_the_environment(config, monkeypatch):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PROD_PASSWORD", "from-the-environment")
    result = run(config, "show", "engine", "prod")
    assert result.output.strip() == "engine:prod: …ment (from VPS_CONSOLE_ENGINE_PROD_PASSWORD)"


@pytest.mark.parametrize("target", [("license", "1042", "oracle"), ("engine",), ("nonsense",)])
def test_bad_targets_are_usage_errors_with_the_forms(config, target):
    result = run(config, "show", *target)
    assert result.exit_code == 2
    assert "hint:" in result.output


def test_show_names_the_environment_variable_an_engine_password_comes_from(
    config, keyring_passphrase, monkeypatch
):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", "Generic-Env-Pw-77")
    shown = run(config, "show", "engine", "prod")
    assert shown.exit_code == 0, shown.output
    assert "(from VPS_CONSOLE_ENGINE_PASSWORD)" in shown.output
    assert "Generic-Env-Pw-77" not in shown.output
    other = run(config, "show", "engine", "other")  # not the configured engine
    assert other.exit_code != 0 and "is not stored" in other.output
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PROD_PASSWORD", "Named-Env-Pw-78")
    assert "(from VPS_CONSOLE_ENGINE_PROD_PASSWORD)" in run(config, "show", "engine", "prod").output


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("Short-Pw1", "at least 12"),
        ("alllowercaseletters", "three of"),
        (" Leading-Space-Passw0rd", "starts or ends with a space"),
        ("Esc\x1b]52;c;aGk=\x07-Passw0rd", "control or invisible"),
        ("Bidi\u202eOverride-Pw1", "control or invisible"),
        ("A1-" + "x" * 130, "at most 127"),
    ],
)
def test_an_admin_password_is_checked_before_it_is_kept(config, keyring_passphrase, value, said):
    refused = run(config, "set", "admin-password", "1042", "--stdin", stdin=value + "\n")
    assert refused.exit_code == 2, refused.output
    assert "admin password:" in refused.output and said in refused.output
    assert "hint: use `vps-console credentials set admin-password ORDER`" in refused.output
    missing = run(config, "show", "admin-password", "1042")
    assert missing.exit_code == 1 and "is not stored" in missing.output


def test_a_good_admin_password_is_kept_masked(config, keyring_passphrase):
    saved = run(config, "set", "admin-password", "1042", "--stdin", stdin="Kept-Passw0rd-22\n")
    assert saved.exit_code == 0, saved.output
    assert "Kept-Passw0rd-22" not in saved.output
    shown = run(config, "show", "admin-password", "1042", "--reveal")
    assert shown.output.strip() == "Kept-Passw0rd-22"
