"""Two runners on one order, from separate processes: one provisions, the other refuses
and names who holds it. Real `vps-console` subprocesses against the engine simulator
(running in this process), sharing only the config file, the store and the secret file.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from console.config import load_config
from console.flow.plan import Overrides, draft_plan
from console.flow.services import Services
from console.secrets import admin_password_secret, open_secret_store
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.cli import CLI, cli_setup

HOLD_SECONDS = 3.0  # the engine takes this long to answer the clone: the winner is mid-run


PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
cpus = 2
memory = "2GiB"
disk = "30GiB"
"""


@pytest.fixture
def shared(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch, PRODUCTS)
    services = Services(load_config(config), store, open_secret_store())
    yield services
    services.close()
    store.close()


def add_order(services, order_id: str) -> None:
    with services.store.session() as session:
        session.add(
            Order(id=order_id, source="manual", product_name="VPS Linux", client_name="Test Client")
        )


def launch(services, order_id: str) -> str:
    add_order(services, order_id)
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for("VPS Linux"),
        services.engine().list_templates(),
        services.config,
        Overrides(),
    )
    assert draft.problems == []
    return services.runner().launch(order_id, draft.plan, {}, confirm_warnings=True).id


def start(actor: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, VPS_CONSOLE_ACTOR=actor)
    return subprocess.Popen(
        [CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=90)
    return process.returncode, out, err


def vms_of(engine_sim, order_id: str) -> list[str]:
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm.id for vm in vms if f"order={order_id} " in (vm.comment or "")]


def creates(engine_sim) -> int:
    return sum(1 for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms")


def test_two_resumers_of_one_job_one_provisions_the_other_names_the_holder(shared, engine_sim):
    job_id = launch(shared, "4101")
    engine_sim.faults.add("POST", r"^/vms$", delay=HOLD_SECONDS)
    alice = start("alice@ws1", "jobs", "resume", job_id)
    bob = start("bob@ws2", "jobs", "resume", job_id)
    results = {"alice@ws1": (alice, finish(alice)), "bob@ws2": (bob, finish(bob))}

    winners = [who for who, (_, (code, _, _)) in results.items() if code == 0]
    losers = [who for who, (_, (code, _, _)) in results.items() if code != 0]
    assert len(winners) == 1 and len(losers) == 1, {w: r[1] for w, r in results.items()}
    winner_process, (_, winner_out, _) = results[winners[0]]
    _, (loser_code, loser_out, loser_err) = results[losers[0]]
    # The refusal names who holds the job: user@host and pid, with no traceback.
    assert f"{winners[0]} (pid {winner_process.pid})" in loser_err, loser_err
    assert "is being run by" in loser_err and job_id in loser_err
    assert "Traceback" not in loser_err + loser_out
    assert "hint:" in loser_err
    assert f"job {job_id} (order 4101): done" in winner_out, winner_out

    job = repo.get_job(shared.store, job_id)
    assert job.state == "done" and job.attempts == 1
    assert job.owner is None  # the lease was released
    assert len(vms_of(engine_sim, "4101")) == 1 and creates(engine_sim) == 1
    assert engine_sim.vm("vps-4101")["status"] == "up"
    # Only the winner ever acted on the job (the launcher only planned it).
    events = repo.job_events(shared.store, job_id)
    launched = [e for e in events if e.kind == "audit" and e.step == "launch"]
    assert [e.actor for e in launched] == [shared.actor]
    actors = {
        e.actor
        for e in events
        if (e.kind, e.step) not in (("step_finished", "planned"), ("audit", "launch"))
    }
    assert actors == {winners[0]}, actors


def test_two_engineers_provisioning_one_order_at_once_one_wins_the_other_is_told_who(
    shared, engine_sim
):
    add_order(shared, "4102")
    engine_sim.faults.add("POST", r"^/vms$", delay=HOLD_SECONDS)
    args = ("provision", "4102", "--yes")
    alice, bob = start("alice@ws1", *args), start("bob@ws2", *args)
    results = {"alice@ws1": finish(alice), "bob@ws2": finish(bob)}

    winners = [who for who, (code, _, _) in results.items() if code == 0]
    losers = [who for who, (code, _, _) in results.items() if code != 0]
    assert len(winners) == 1 and len(losers) == 1, results
    loser_code, loser_out, loser_err = results[losers[0]]
    assert loser_code == 1, (loser_code, loser_err)
    assert winners[0] in loser_err and "4102" in loser_err, loser_err
    assert "Traceback" not in loser_err + loser_out
    assert "done" in results[winners[0]][1]

    jobs = repo.list_jobs(shared.store, order_id="4102")
    assert len(jobs) == 1 and jobs[0].state == "done" and jobs[0].created_by == winners[0]
    assert len(vms_of(engine_sim, "4102")) == 1 and creates(engine_sim) == 1
    with shared.store.session() as session:
        order = session.get(Order, "4102")
    assert order.status == "done" and order.claimed_by == winners[0]


def test_one_engineer_in_two_terminals_gets_one_job_and_one_consistent_password(shared, engine_sim):
    """Same user@host twice (two tmux panes): the claim is theirs in both, so the job itself
    must decide; the refused launch must not replace the password the VM was given."""
    add_order(shared, "4103")
    engine_sim.faults.add("POST", r"^/vms$", delay=HOLD_SECONDS)
    args = ("provision", "4103", "--yes")
    first, second = start("carol@ws3", *args), start("carol@ws3", *args)
    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser_err = next(err for code, _, err in results if code != 0)
    assert "4103" in loser_err and "already has" in loser_err, loser_err
    assert "Traceback" not in loser_err

    jobs = repo.list_jobs(shared.store, order_id="4103")
    assert len(jobs) == 1 and jobs[0].state == "done"
    assert len(vms_of(engine_sim, "4103")) == 1 and creates(engine_sim) == 1
    # The password in the secret store is the one the VM was initialised with.
    stored = open_secret_store().get(admin_password_secret("4103"))
    init = engine_sim.vm("vps-4103")["initialization"]
    assert stored and init["root_password"] == stored
