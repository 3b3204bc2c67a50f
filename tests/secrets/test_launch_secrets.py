"""A launch stores its secrets, and reads them back, before the job row that needs them is
committed; a refused launch never touches the winner's; a launch killed between the row and
the move to the order's names is finished by the next runner."""

from __future__ import annotations

import pytest

from console.flow import job_secrets
from console.flow.plan import Overrides, draft_plan
from console.flow.runner import JobBusy, Runner
from console.flow.services import Services
from console.secrets import (
    BackendInfo,
    MemorySecretStore,
    SecretsNotKept,
    SecretStoreError,
    admin_password_secret,
    license_secret,
    open_secret_store,
)
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.flow import FAST, PLESK_CODE


class Killed(BaseException):
    """Stands for a SIGKILL at that instant: nothing after it runs in this process."""


@pytest.fixture
def file_services(flow_config, store, engine_sim, monkeypatch):
    """As on a headless host: the default store, the encrypted file with its key file."""
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    services = Services(flow_config, store, open_secret_store())
    assert services.secrets.describe().name == "encrypted file"
    yield services
    services.close()


def plesk_plan(services, add_order, order_id: str):
    add_order(order_id, "VPS Windows Plesk")
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(order.product_name),
        services.engine().list_templates(),
        services.config,
        Overrides(),
    )
    assert draft.problems == [], draft.problems
    return draft.plan


def test_secrets_are_stored_and_read_back_before_the_job_row(file_services, add_order, monkeypatch):
    plan = plesk_plan(file_services, add_order, "3101")
    seen = {}
    real_create = repo.create_job

    def create_job(store, **fields):
        # Another process (a fresh store) must already find every secret of this job.
        fresh = open_secret_store()
        seen.update(
            {
                kind: fresh.get(job_secrets.staged_license(fields["job_id"], kind))
                for kind in plan.key_kinds
            }
        )
        seen["password"] = fresh.get(job_secrets.staged_password(fields["job_id"]))
        return real_create(store, **fields)

    monkeypatch.setattr(repo, "create_job", create_job)
    keys = {"windows": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "plesk": PLESK_CODE}
    job = Runner(file_services, timing=FAST).launch(
        "3101", plan, keys, admin_password="Chosen-Passw0rd-1", confirm_warnings=True
    )
    assert seen == {
        **{kind: keys[kind] for kind in plan.key_kinds},
        "password": "Chosen-Passw0rd-1",
    }
    # Promoted to the order's names, nothing left staged.
    store = open_secret_store()
    assert store.get(admin_password_secret("3101")) == "Chosen-Passw0rd-1"
    assert store.get(license_secret("3101", "plesk")) == PLESK_CODE
    assert [n for n in store.names() if n.startswith("job:")] == []
    assert repo.get_job(file_services.store, job.id).state == "planned"


def test_killed_between_the_job_row_and_the_move_the_next_runner_finishes(
    file_services, add_order, monkeypatch
):
    plan = plesk_plan(file_services, add_order, "3102")
    keys = {"windows": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "plesk": PLESK_CODE}

    def killed(*args, **kwargs):
        raise Killed()

    with monkeypatch.context() as patched:
        patched.setattr(job_secrets, "promote", killed)
        with pytest.raises(Killed):
            Runner(file_services, timing=FAST).launch(
                "3102", plan, keys, admin_password="Kept-Passw0rd-22", confirm_warnings=True
            )
    [job] = repo.list_jobs(file_services.store)
    assert job.state == "planned"
    assert open_secret_store().get(admin_password_secret("3102")) is None  # still staged

    # Another process: a new store and runner, as `jobs resume` would have.
    resumed = Services(file_services.config, file_services.store, open_secret_store())
    done = Runner(resumed, timing=FAST).run(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert resumed.secrets.get(admin_password_secret("3102")) == "Kept-Passw0rd-22"
    assert [n for n in resumed.secrets.names() if n.startswith("job:")] == []


def test_a_refused_second_launch_never_replaces_the_winners_password(
    file_services, add_order, monkeypatch
):
    """Both launches passed the claim and the open-job check (two terminals of one
    engineer, at the same instant): the job row's index decides, and the loser's password
    never reaches the order's name."""
    plan = plesk_plan(file_services, add_order, "3103")
    keys = {"windows": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "plesk": PLESK_CODE}
    runner = Runner(file_services, timing=FAST)
    winner = runner.launch(
        "3103", plan, keys, admin_password="Winner-Passw0rd-1", confirm_warnings=True
    )
    real_check = repo.open_job_for_order
    calls = []

    def open_job_for_order(store, order_id):
        calls.append(order_id)  # the loser's own check ran before the winner's row existed
        return None if len(calls) == 1 else real_check(store, order_id)

    monkeypatch.setattr(repo, "open_job_for_order", open_job_for_order)
    with pytest.raises(JobBusy) as refused:
        runner.launch(
            "3103",
            plan,
            {
                "windows": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
                "plesk": "A00Q00-28H603-ABCDEF-GH1234-LOSER0",
            },
            admin_password="Loser-Passw0rd-2",
            confirm_warnings=True,
        )
    assert winner.id in refused.value.message
    store = open_secret_store()
    assert store.get(admin_password_secret("3103")) == "Winner-Passw0rd-1"
    assert store.get(license_secret("3103", "plesk")) == PLESK_CODE
    assert [n for n in store.names() if n.startswith("job:")] == []
    assert [j.id for j in repo.list_jobs(file_services.store)] == [winner.id]


def test_a_store_that_keeps_nothing_launches_nothing(flow_services, add_order):
    plan = plesk_plan(flow_services, add_order, "3104")
    keys = {"windows": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "plesk": PLESK_CODE}

    class Forgetful(MemorySecretStore):
        def _write(self, name, value):
            pass  # says yes, keeps nothing

    flow_services.secrets = Forgetful(BackendInfo("forgetful", True, "test"))
    with pytest.raises(SecretStoreError) as refused:
        Runner(flow_services, timing=FAST).launch("3104", plan, keys, confirm_warnings=True)
    assert "nothing was launched" in refused.value.message
    assert repo.list_jobs(flow_services.store) == []

    flow_services.secrets = MemorySecretStore(
        BackendInfo(
            "memory", False, "cannot write the data dir", explicit=False, fix="make it writable"
        )
    )
    with pytest.raises(SecretsNotKept) as not_kept:
        Runner(flow_services, timing=FAST).launch("3104", plan, keys, confirm_warnings=True)
    assert not_kept.value.hint == "make it writable"
    assert repo.list_jobs(flow_services.store) == []
