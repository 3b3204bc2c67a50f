"""`vps-console provision ORDER_ID` end to end, as a real subprocess against the engine
simulator: keys from a file and from stdin, changed memory, exit codes 0 / 1 / 2, and bad
input refused with the field and the fix, never a traceback."""

from __future__ import annotations

import os
import subprocess

import pytest

from console.secrets import license_secret, open_secret_store
from console.store import jobs as repo
from console.store.db import open_store
from console.store.models import Order
from tests.plugins.cli import CLI, cli_setup, point_cli_at
from tests.plugins.flow import PLESK_CODE, WINDOWS_KEY


@pytest.fixture
def cli_env(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    config, store = cli_setup(
        tmp_path,
        engine_sim,
        monkeypatch,
        """
[[catalog.products]]
billing_product = "VPS Windows Plesk"
template = "win2022-plesk"
cpus = 2
memory = "4GiB"
max_memory = "16GiB"
disk = "80GiB"
license_kinds = ["windows", "plesk"]

[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
cpus = 2
memory = "2GiB"
disk = "30GiB"
""",
    )
    yield store
    store.close()


def add_order(store, order_id: str, product: str, **resources) -> None:
    with store.session() as session:
        session.add(
            Order(
                id=order_id,
                source="manual",
                product_name=product,
                client_name="Test Client",
                **resources,
            )
        )


def vps_console(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], input=stdin, capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def assert_bad_input(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_provision_a_windows_plesk_order_with_keys_from_a_file_and_stdin(
    cli_env, engine_sim, tmp_path
):
    add_order(cli_env, "5101", "VPS Windows Plesk", memory_mib=4096)
    key_file = tmp_path / "windows.key"
    key_file.write_text(WINDOWS_KEY.lower() + "\n", encoding="utf-8")
    result = vps_console(
        "provision",
        "5101",
        "--memory",
        "8GiB",
        "--yes",
        "--license",
        f"windows=@{key_file}",
        "--license",
        "plesk=-",
        stdin=PLESK_CODE + "\n",
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "done" in result.stdout and "vps-5101" in result.stdout
    # The plan said what it would do, with the changed memory; keys are never printed.
    assert "memory          8GiB (guaranteed 8GiB)" in result.stdout, result.stdout
    assert "changed         RAM 4GiB -> 8GiB (from the order)" in result.stdout
    # ...and what the preflight found, though nothing stood in the way.
    preflight = result.stdout.split("preflight:\n", 1)[1].split("job ", 1)[0]
    assert "[ok  ] storage" in preflight and "[ok  ] name" in preflight, result.stdout
    assert "[ok  ] license.windows" in preflight
    assert "8192 MiB" in result.stdout  # the resize step reports what it set
    for secret in (WINDOWS_KEY, WINDOWS_KEY.lower(), PLESK_CODE):
        assert secret not in result.stdout + result.stderr

    vm = engine_sim.vm("vps-5101")
    assert vm["status"] == "up"
    assert vm["memory"] == 8 * 1024**3
    assert vm["run_initialization_type"] == "sysprep"
    assert vm["initialization"]["windows_license_key"] == WINDOWS_KEY
    assert PLESK_CODE in vm["initialization"]["custom_script"]
    jobs = repo.list_jobs(cli_env, order_id="5101")
    assert len(jobs) == 1 and jobs[0].state == "done" and jobs[0].ips
    assert jobs[0].plan["memory_mib"] == 8192
    assert jobs[0].plan["license_masks"] == {"windows": "…-VMK7H", "plesk": "…-JKLMN0"}
    secrets = open_secret_store()
    assert secrets.get(license_secret("5101", "windows")) == WINDOWS_KEY
    assert secrets.get(license_secret("5101", "plesk")) == PLESK_CODE

    # The same order again: refused, nothing created, and no holder to go and ask.
    again = vps_console(
        "provision",
        "5101",
        "--yes",
        "--license",
        f"windows=@{key_file}",
        "--license",
        "plesk=-",
        stdin=PLESK_CODE + "\n",
    )
    assert again.returncode == 1, (again.stdout, again.stderr)
    assert "order 5101 is done" in again.stderr and "orders show 5101" in again.stderr
    assert "ask the holder" not in again.stderr and "Traceback" not in again.stderr
    assert len(repo.list_jobs(cli_env, order_id="5101")) == 1
    assert sum(1 for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms") == 1


def test_memory_that_is_not_a_size_is_refused_naming_the_option_and_the_fix(cli_env, engine_sim):
    add_order(cli_env, "5102", "VPS Linux")
    result = vps_console("provision", "5102", "--memory", "lots", "--yes")
    assert_bad_input(result, "--memory", "'lots' is not a size", "4GiB")
    assert repo.list_jobs(cli_env, order_id="5102") == []


def test_a_malformed_windows_key_is_refused_naming_the_field_and_the_fix(
    cli_env, engine_sim, tmp_path
):
    add_order(cli_env, "5103", "VPS Windows Plesk")
    key_file = tmp_path / "windows.key"
    key_file.write_text("VDYBN-27WPP-V4HQT-9VMD4\n", encoding="utf-8")  # a group short
    result = vps_console(
        "provision",
        "5103",
        "--yes",
        "--license",
        f"windows=@{key_file}",
        "--license",
        "plesk=-",
        stdin=PLESK_CODE + "\n",
    )
    assert_bad_input(result, "license.windows", "not a Windows", "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
    assert repo.list_jobs(cli_env, order_id="5103") == []
    assert not any(vm["name"] == "vps-5103" for vm in _engine_vms(engine_sim))


def test_an_unknown_order_is_refused_with_how_to_get_it(cli_env, engine_sim):
    result = vps_console("provision", "9999", "--yes")
    assert_bad_input(result, "no order 9999", "orders sync", "orders add")


def test_a_key_typed_on_the_command_line_is_refused(cli_env, engine_sim):
    add_order(cli_env, "5104", "VPS Windows Plesk")
    result = vps_console(
        "provision",
        "5104",
        "--yes",
        "--license",
        f"windows={WINDOWS_KEY}",
        "--license",
        "plesk=-",
        stdin=PLESK_CODE + "\n",
    )
    assert_bad_input(result, "--license windows", "never on the command line", "@")
    # The refusal does not echo the key it refused.
    assert WINDOWS_KEY not in result.stdout + result.stderr
    assert repo.list_jobs(cli_env, order_id="5104") == []
    assert open_secret_store().get(license_secret("5104", "windows")) is None


def test_a_missing_key_is_refused_before_anything_is_created(cli_env, engine_sim):
    add_order(cli_env, "5105", "VPS Windows Plesk")
    before = len(engine_sim.calls)
    result = vps_console(
        "provision", "5105", "--yes", "--license", "plesk=-", stdin=PLESK_CODE + "\n"
    )
    assert_bad_input(result, "license.windows", "--license windows=@FILE")
    assert not any(m in ("POST", "PUT", "DELETE") for m, _, _ in engine_sim.calls[before:])


def test_a_failed_provisioning_exits_1_with_the_step_the_hint_and_what_next(cli_env, engine_sim):
    add_order(cli_env, "5106", "VPS Linux")
    engine_sim.set_guest_behaviour("vps-5106", fail_boot=True)
    result = vps_console("provision", "5106", "--yes")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "failed(starting)" in result.stderr and "hint:" in result.stderr
    job = repo.list_jobs(cli_env, order_id="5106")[0]
    assert f"vps-console jobs retry {job.id}" in result.stderr
    assert "Traceback" not in result.stderr


def _engine_vms(engine_sim):
    with engine_sim.world.lock:
        return [{"name": vm.name} for vm in engine_sim.world.vms.values()]


def test_every_plan_option_reaches_the_job_and_no_wait_leaves_it_to_resume(cli_env, engine_sim):
    add_order(cli_env, "5107", "VPS Linux")
    result = vps_console(
        "provision",
        "5107",
        "--template",
        "alma9:1",
        "--cluster",
        "prod-b",
        "--cpus",
        "4",
        "--memory",
        "6GiB",
        "--guaranteed-memory",
        "3GiB",
        "--disk",
        "50GiB",
        "--hostname",
        "five.example.net",
        "--ssh-key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPT opt@ws",
        "--yes",
        "--no-wait",
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "run it with: vps-console jobs resume" in result.stdout
    (job,) = repo.list_jobs(cli_env, order_id="5107")
    assert job.state == "planned"  # --no-wait: launched, not run
    plan = job.plan
    assert (plan["template_name"], plan["template_version"], plan["cluster"]) == (
        "alma9",
        1,
        "prod-b",
    )
    assert (plan["cpus"], plan["memory_mib"], plan["guaranteed_mib"], plan["disk_gib"]) == (
        4,
        6144,
        3072,
        50,
    )
    assert plan["hostname"] == "five.example.net"
    assert plan["ssh_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPT opt@ws"]
    assert not [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"]

    resumed = vps_console("jobs", "resume", job.id)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    vm = engine_sim.vm("vps-5107")
    assert vm["status"] == "up" and vm["memory"] == 6 * 1024**3
    assert vm["memory_guaranteed"] == 3 * 1024**3
    assert vm["disks"][0]["provisioned_size"] == 50 * 1024**3
    assert vm["initialization"]["host_name"] == "five.example.net"


def test_an_unknown_template_version_is_refused_with_the_versions_there_are(cli_env, engine_sim):
    add_order(cli_env, "5108", "VPS Linux")
    result = vps_console("provision", "5108", "--template", "alma9-cpanel:9", "--yes")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "alma9-cpanel has no version 9" in result.stderr and "Traceback" not in result.stderr
    assert "fix:" in result.stderr
    assert repo.list_jobs(cli_env, order_id="5108") == []


def test_an_order_mapped_by_its_os_choice_or_pid_is_provisioned_like_the_queue_shows_it(
    engine_sim, tmp_path, keyring_passphrase, monkeypatch
):
    """config.example maps "VPS Linux Bare / AlmaLinux 9" and products by pid: provision
    finds the same catalog entry the intake did, not only exact product names."""
    config, store = cli_setup(
        tmp_path,
        engine_sim,
        monkeypatch,
        """
[[catalog.products]]
billing_product = "VPS Linux Bare / AlmaLinux 9"
template = "alma9"
max_cpus = 2

[[catalog.products]]
billing_product = "7"
template = "ubuntu2204"
""",
    )
    try:
        with store.session() as session:
            session.add(
                Order(
                    id="5201",
                    source="whmcs",
                    product_name="VPS Linux Bare",
                    os_choice="AlmaLinux 9",
                    client_name="OS Choice",
                )
            )
            session.add(
                Order(
                    id="5202",
                    source="whmcs",
                    product_id="7",
                    product_name="Renamed in WHMCS",
                    client_name="By Pid",
                )
            )
        by_os = vps_console("provision", "5201", "--yes", "--no-wait")
        assert by_os.returncode == 0, (by_os.stdout, by_os.stderr)
        (job,) = repo.list_jobs(store, order_id="5201")
        assert job.plan["template_name"] == "alma9"
        by_pid = vps_console("provision", "5202", "--yes", "--no-wait")
        assert by_pid.returncode == 0, (by_pid.stdout, by_pid.stderr)
        (job,) = repo.list_jobs(store, order_id="5202")
        assert job.plan["template_name"] == "ubuntu2204"
        # The entry's limits come with it: 4 vCPU is more than max_cpus = 2.
        with store.session() as session:
            session.add(
                Order(
                    id="5203",
                    source="whmcs",
                    product_name="VPS Linux Bare",
                    os_choice="AlmaLinux 9",
                    client_name="Too Big",
                )
            )
        too_big = vps_console("provision", "5203", "--cpus", "4", "--yes")
        assert too_big.returncode == 2, (too_big.stdout, too_big.stderr)
        assert "cpus" in too_big.stderr and "fix:" in too_big.stderr
        assert repo.list_jobs(store, order_id="5203") == []
    finally:
        store.close()


def test_a_provisioning_cancelled_from_elsewhere_exits_1_not_0(cli_env, engine_sim):
    """Another engineer cancels the job while `provision` runs it: the script is told that
    nothing was provisioned."""
    import time

    from console.config import load_config
    from console.flow.runner import Runner
    from console.flow.services import Services

    add_order(cli_env, "5110", "VPS Linux")
    engine_sim.faults.add("POST", r"^/vms$", delay=2.0)
    process = subprocess.Popen(
        [CLI, "provision", "5110", "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while not repo.list_jobs(cli_env, order_id="5110"):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    (job,) = repo.list_jobs(cli_env, order_id="5110")
    services = Services(load_config(os.environ["VPS_CONSOLE_CONFIG"]), cli_env, open_secret_store())
    try:
        Runner(services).cancel(job.id)  # the CLI's runner holds it and rolls back itself
    finally:
        services.close()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, (out, err)
    assert f"job {job.id}: cancelled; order 5110 is back in the queue" in err
    assert repo.get_job(cli_env, job.id).state == "cancelled"


def test_engine_option_picks_another_engines_entry(
    engine_sim, tmp_path, keyring_passphrase, monkeypatch
):
    store_url = f"sqlite:///{tmp_path / 'console.db'}"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[engines]]
name = "offline"
url = "http://127.0.0.1:9/ovirt-engine/api"

[[engines]]
name = "sim"
url = "{engine_sim.url}"
username = "{engine_sim.username}"
cluster = "prod-a"

[store]
url = "{store_url}"

[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
""",
        encoding="utf-8",
    )
    point_cli_at(monkeypatch, config, engine_sim)
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_SIM_PASSWORD", engine_sim.password)
    store = open_store(store_url)
    try:
        with store.session() as session:
            session.add(
                Order(
                    id="5301",
                    source="manual",
                    product_name="VPS Linux",
                    client_name="Second Engine",
                )
            )
        launched = vps_console("--engine", "sim", "provision", "5301", "--yes", "--no-wait")
        assert launched.returncode == 0, (launched.stdout, launched.stderr)
        (job,) = repo.list_jobs(store, order_id="5301")
        assert job.engine == "sim" and job.plan["engine"] == "sim"
        # The job remembers its engine: resuming it needs no --engine.
        resumed = vps_console("jobs", "resume", job.id)
        assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
        assert engine_sim.vm("vps-5301")["status"] == "up"
        unknown = vps_console("--engine", "nope", "provision", "5301")
        assert unknown.returncode == 2 and "no engine named 'nope'" in unknown.stderr
        assert "offline, sim" in unknown.stderr and "Traceback" not in unknown.stderr
    finally:
        store.close()


def test_a_windows_order_takes_its_keys_from_the_vault_with_no_license_given(cli_env, engine_sim):
    from console.flow import vault
    from console.flow.vault_import import import_keys

    secrets = open_secret_store()
    for kind, key in (("windows", WINDOWS_KEY), ("plesk", PLESK_CODE)):
        assert import_keys(cli_env, secrets, key, actor="stock@desk", kind=kind).imported
    add_order(cli_env, "5120", "VPS Windows Plesk")
    result = vps_console("provision", "5120", "--yes")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Windows product key: from the vault (…-VMK7H)" in result.stdout, result.stdout
    assert WINDOWS_KEY not in result.stdout + result.stderr
    init = engine_sim.vm("vps-5120")["initialization"]
    assert init["windows_license_key"] == WINDOWS_KEY
    assert f"--install {PLESK_CODE}" in init["custom_script"]
    assert {(k.kind, k.state, k.vm_name) for k in vault.list_keys(cli_env)} == {
        ("windows", "bound", "vps-5120"),
        ("plesk", "bound", "vps-5120"),
    }


def test_a_refused_launch_gives_the_vaults_keys_back(cli_env, engine_sim):
    from console.flow import vault
    from console.flow.vault_import import import_keys

    assert import_keys(
        cli_env, open_secret_store(), WINDOWS_KEY, actor="stock@desk", kind="windows"
    ).imported
    add_order(cli_env, "5121", "VPS Windows Plesk")
    result = vps_console("provision", "5121", "--yes")  # no Plesk code anywhere
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "license.plesk" in result.stderr
    assert [k.state for k in vault.list_keys(cli_env)] == ["available"]
