"""A launch's secrets, kept before the job that needs them exists.

The job row must be created first among launches of one order (the one-open-job index
picks the winner, and a refused launch must never replace the password a winning job
gives the VM), yet a job row must never exist without its secrets (a crash in between
would leave a job no `resume` can finish). Both hold with names keyed by the job's id,
which is chosen before its row is written:

1. `stage`: the keys and password go under `job:<job id>:…` and are read back from the
   store; a store that did not keep them stops the launch here, with no job;
2. the job row is committed (or refused: `discard` removes what was staged, and nothing
   of the winner's was touched, as its names carry another id);
3. `promote`: the staged values move to the order's names (`license:ORDER:KIND`,
   `admin-password:ORDER`, which `credentials` and the handover know), in one write.

A crash between 2 and 3 leaves them staged: the runner promotes them before it reads
them, so `jobs resume` finishes the job. A crash between 1 and 2 leaves staged values of
a job that never was: never read, and shown by `credentials list` (delete them there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from console.flow import marks
from console.secrets import (
    SecretStore,
    SecretStoreError,
    admin_password_secret,
    generate_password,
    license_secret,
)

if TYPE_CHECKING:
    from console.flow.plan import Plan
    from console.ovirt import Engine, Vm

PREFIX = "job:"


def staged_password(job_id: str) -> str:
    return f"{PREFIX}{job_id}:admin-password"


def staged_license(job_id: str, kind: str) -> str:
    return f"{PREFIX}{job_id}:license:{kind}"


def _names(job_id: str, order_id: str, kinds: Iterable[str]) -> dict[str, str]:
    """Staged name -> the order's name, for one job."""
    names = {staged_license(job_id, kind): license_secret(order_id, kind) for kind in kinds}
    names[staged_password(job_id)] = admin_password_secret(order_id)
    return names


def admin_password_for(
    engine: Engine,
    store: SecretStore,
    plan: Plan,
    offered: str | None,
    *,
    looked_up: bool = False,
    found: Vm | None = None,
) -> tuple[str, tuple[str, bool] | None]:
    """The admin password the job will use, and a note (text, warning) for the job. A VM of
    this order already on the engine (after a lost store) keeps the one it was given: a new
    one would not open it. `looked_up`: the caller has just looked the name up and `found`
    is what it found, so it is not looked up again."""
    vm = found if looked_up else engine.find_vm(plan.vm_name)
    if vm is None or marks.order_of(vm) != plan.order_id:
        return offered or generate_password(), None
    kept = store.get(admin_password_secret(plan.order_id))
    if kept:
        return kept, (
            f"{vm.name} is already on the engine for this order: it is adopted and "
            "keeps the admin password it was given",
            False,
        )
    return offered or generate_password(), (
        f"{vm.name} is already on the engine for this order, and its admin password is not "
        "in the secret store: if it has booted, the password handed over will not open it; "
        f"reset it in the guest, then vps-console credentials set admin-password "
        f"{plan.order_id}",
        True,
    )


def stage(store: SecretStore, job_id: str, licenses: dict[str, str], password: str) -> None:
    """Keep the job's secrets under its own names and prove the store has them."""
    values = {staged_license(job_id, kind): value for kind, value in licenses.items()}
    values[staged_password(job_id)] = password
    store.update(values)
    lost = [name for name, value in values.items() if store.read_back(name) != value]
    if lost:
        discard(store, job_id, licenses)
        raise SecretStoreError(
            f"the secret store ({store.describe().name}) did not keep "
            f"{', '.join(lost)}: nothing was launched",
            "run `vps-console doctor` to see what is wrong with it",
        )


def discard(store: SecretStore, job_id: str, kinds: Iterable[str]) -> None:
    store.update({}, tuple(_names(job_id, "-", kinds)))


def promote(store: SecretStore, job_id: str, order_id: str, kinds: Iterable[str]) -> bool:
    """Move the job's staged secrets to the order's names; True when there were any.
    Idempotent: run by the launcher and, after a crash, by whichever runner comes next."""
    names = _names(job_id, order_id, kinds)
    values = {}
    for staged, final in names.items():
        value = store.get(staged)
        if value is not None:
            values[final] = value
    if not values:
        return False  # nothing staged: promoted already, or launched before staging
    store.update(values, tuple(names))
    return True
