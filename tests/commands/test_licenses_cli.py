"""`vps-console licenses …` as real subprocesses, on the encrypted secrets file a headless
host uses (VPS_CONSOLE_KEYRING_PASSPHRASE): a malformed file imported (every bad line
named, the good keys kept, no key in clear in the database, logs or output), list, show,
release and retire with their rules, `doctor` warning on low stock, JSON for scripts."""

from __future__ import annotations

import json
import subprocess

import pytest

from console.flow import vault
from console.logs import log_dir
from console.secrets import open_secret_store
from console.store.db import open_store
from tests.plugins.cli import CLI
from tests.plugins.vault import plesk_code, product_key

# Each run opens the encrypted secrets file (Argon2): seconds per command.
pytestmark = pytest.mark.slow

WINDOWS, MSSQL, PLESK = product_key(11), product_key(12), plesk_code(13)


def forms(key: str) -> set[str]:
    """The key, and its body without the (shown) last group, as they could leak."""
    return {key, key.rsplit("-", 1)[0], key.replace("-", "")}


@pytest.fixture
def cli(tmp_path, keyring_passphrase, monkeypatch):
    """Run `vps-console` with a config whose store is in tmp_path; returns (run, store URL)."""
    store_url = f"sqlite:///{tmp_path / 'console.db'}"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[engines]]
name = "prod"
url = "https://engine.example.net/ovirt-engine/api"

[store]
url = "{store_url}"

[licenses]
low_stock = 2
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("VPS_CONSOLE_CONFIG", str(config))

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, "-v", *args], capture_output=True, text=True, input=stdin, timeout=120
        )

    return run, store_url


def test_import_of_a_malformed_file_names_every_bad_line_and_leaks_no_key(cli, tmp_path):
    run, store_url = cli
    keys = tmp_path / "keys.txt"
    keys.write_text(
        "\n".join(
            [
                WINDOWS,  # 1 good
                "NOT-A-KEY",  # 2
                WINDOWS.lower(),  # 3 duplicate of line 1
                "# invoice 2026-118",  # 4 comment
                f"{PLESK},plesk,Web Pro,invoice 118",  # 5 good (CSV)
                f"{MSSQL},mssql,2022 Standard,",  # 6 good (CSV)
                f"{PLESK[:-1]},plesk",  # 7 one character short
                f"{MSSQL},sql,,",  # 8 unknown kind
            ]
        ),
        encoding="utf-8",
    )
    result = run("licenses", "import", str(keys), "--kind", "windows")
    assert result.returncode == 2, result.stderr
    assert "3 key(s) imported, 4 line(s) refused" in result.stdout
    refused = [line for line in result.stderr.splitlines() if line.startswith(f"{keys}: line")]
    assert [line.split(": ")[1] for line in refused] == ["line 2", "line 3", "line 7", "line 8"]
    assert "the same key as line 1" in refused[1]
    assert "expected five groups of six" in refused[2]
    assert "'sql' is not one the vault keeps" in refused[3]
    assert "still holds the keys in clear" in result.stderr

    listed = run("licenses", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert {(k["kind"], k["product"], k["masked"], k["state"]) for k in data["keys"]} == {
        ("windows", "", "…-" + WINDOWS[-5:], "available"),
        ("mssql", "2022 Standard", "…-" + MSSQL[-5:], "available"),
        ("plesk", "Web Pro", "…-" + PLESK[-6:], "available"),
    }
    assert {(s["kind"], s["available"]) for s in data["stock"]} == {
        ("windows", 1),
        ("mssql", 1),
        ("plesk", 1),
    }

    # The keys are in the secret store the CLI used, under each key's reference.
    secrets = open_secret_store()
    by_kind = {k["kind"]: k["reference"] for k in data["keys"]}
    for kind, key in (("windows", WINDOWS), ("mssql", MSSQL), ("plesk", PLESK)):
        assert secrets.get(vault.secret_name(by_kind[kind], kind)) == key

    # Nowhere else: not in the database (with its WAL), the logs, or anything printed.
    places = {
        path.name: path.read_bytes().decode("utf-8", "replace")
        for path in tmp_path.glob("console.db*")
    }
    places.update(
        {
            f"log {path.name}": path.read_text(errors="replace")
            for path in log_dir().rglob("*")
            if path.is_file()
        }
    )
    places["output"] = result.stdout + result.stderr + listed.stdout + listed.stderr
    assert any(name.startswith("log ") for name in places)
    leaks = [
        (name, key)
        for name, text in places.items()
        for key in (WINDOWS, MSSQL, PLESK)
        for form in forms(key)
        if form in text
    ]
    assert leaks == []


def test_list_show_release_retire(cli, tmp_path):
    run, store_url = cli
    imported = run(
        "licenses",
        "import",
        "-",
        "--kind",
        "plesk",
        "--product",
        "Web Pro",
        "--note",
        "invoice 9",
        stdin=f"{PLESK}\n{plesk_code(14)}\n",
    )
    assert imported.returncode == 0, imported.stderr
    store = open_store(store_url)
    try:
        key = vault.reserve(store, "1234", "plesk", actor="runner@host")
        vault.on_handover(store, "1234", "vps-1234", actor="runner@host")
    finally:
        store.close()

    table = run("licenses", "list")
    assert table.returncode == 0, table.stderr
    assert "plesk    Web Pro                      1        0     1       0" in table.stdout
    assert f"{key.id}  plesk    {key.masked}" in table.stdout
    assert "bound to vps-1234 (order 1234)" in table.stdout
    assert "low stock: Plesk activation codes: 1 left in stock (fewer than 2)" in table.stderr

    shown = run("licenses", "show", key.masked[2:], "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert (detail["reference"], detail["state"], detail["vm"], detail["note"]) == (
        key.id,
        "bound",
        "vps-1234",
        "invoice 9",
    )
    assert [h["action"] for h in detail["history"]] == [
        "vault_imported",
        "vault_reserved",
        "vault_bound",
    ]

    refused = run("licenses", "release", key.id)
    assert refused.returncode == 2
    assert "a VM was started with it" in refused.stderr and "--reason" in refused.stderr
    released = run("licenses", "release", key.id, "--reason", "VM deleted, code reset")
    assert released.returncode == 0, released.stderr
    assert f"{key.id} (plesk {key.masked}) is now in stock" in released.stdout

    retired = run("licenses", "retire", key.id, "--reason", "refunded", "--json")
    assert retired.returncode == 0, retired.stderr
    assert json.loads(retired.stdout)["state"] == "retired"
    again = run("licenses", "release", key.id)
    assert again.returncode == 2 and "--reason" in again.stderr

    trail = run("audit", "--json")
    actions = [
        (e["action"], e["data"].get("reason"))
        for e in json.loads(trail.stdout)
        if e["data"].get("license") == key.id
    ]
    assert actions[:2] == [
        ("vault_retired", "refunded"),
        ("vault_released", "VM deleted, code reset"),
    ]
    unknown = run("licenses", "show", "lk-000000000000")
    assert unknown.returncode == 2 and "no key 'lk-000000000000' in the vault" in unknown.stderr


def test_import_refuses_a_secret_store_that_forgets(cli, monkeypatch, tmp_path):
    run, _ = cli
    # Headless, the default store persists (an encrypted file and its key file): only a
    # store asked to live in memory forgets.
    monkeypatch.setenv("VPS_CONSOLE_SECRETS", "memory")
    keys = tmp_path / "keys.txt"
    keys.write_text(WINDOWS + "\n", encoding="utf-8")
    result = run("licenses", "import", str(keys), "--kind", "windows")
    assert result.returncode == 2
    assert "imported keys would be lost" in result.stderr
    listed = run("licenses", "list")
    assert "the vault is empty" in listed.stdout


def test_doctor_warns_on_low_stock(cli):
    run, _ = cli
    run("licenses", "import", "-", "--kind", "windows", stdin=WINDOWS + "\n")
    doctor = run("doctor")
    assert (
        "! licenses windows: Windows product keys: 1 left in stock (fewer than 2) — fix: "
        "vps-console licenses import FILE --kind windows"
    ) in doctor.stdout
