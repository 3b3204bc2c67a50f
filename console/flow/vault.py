"""The license vault: keys bought in batches, kept in stock, set aside for an order, bound
to its VM, given back or burnt. The CLI, the runner's steps and the provision form call it.

A key's life: `available` → `reserved` (to an order) → `bound` (to the order's VM, at
handover) → retired (burnt: never handed out again), or released back to `available`.
The rule that decides between released and retired is the first boot: once a VM has been
started with the key (sysprep / first-boot applies it), the key may be activated on that
VM, so a cancel after that retires it; before that, a cancel puts it back in stock. An
engineer may still release a bound or retired key by hand, with a reason (audited).

The keys themselves are only in the secret store (one entry per key, named by its
reference); the database holds the reference, kind, product, masked tail, a fingerprint
to refuse duplicates, the state and, in the audit trail, every change with who made it.
Putting keys in stock is console.flow.vault_import.

Hooks for the provisioning flow (each idempotent, each safe to call again after a crash):
  keys_for_plan   when a plan is drafted or launched: the order's keys, reserved now or
                  already (a crash between reserve and bind keeps them with the order);
  on_launch       with the keys the launch will use: a pasted key overrides the vault's;
  on_draft_abandoned  the form closed without a launch: the draft's keys go back;
  on_boot         just before the VM is first started with the keys;
  on_handover     when the job hands over: the keys are bound to the VM;
  on_cancel       on cancel or rollback: back to stock before first boot, retired after.
"""

from __future__ import annotations

import hashlib
import secrets as _random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from console.errors import BadInput, ConsoleError
from console.flow.licenses import KEY_KINDS, KIND_LABELS, normalise_license
from console.secrets import SecretStore
from console.store import audit
from console.store import jobs as jobs_repo
from console.store import licenses as repo
from console.store.db import Store
from console.store.licenses import ACTIVE_STATES, LicenseKey, LicenseState
from console.store.models import JobEvent, utcnow

__all__ = [
    "ACTIVE_STATES",
    "LicenseAction",
    "LicenseKey",
    "LicenseState",
    "LowStock",
    "NoStock",
    "StockLine",
    "VaultError",
    "available_by_kind",
    "available_of",
    "describe",
    "find_key",
    "form_label",
    "history",
    "keys_for_launch",
    "keys_for_plan",
    "list_keys",
    "low_stock",
    "on_boot",
    "on_cancel",
    "on_draft_abandoned",
    "on_handover",
    "on_launch",
    "out_of_stock",
    "release",
    "reserve",
    "reserve_for_form",
    "reserved_for",
    "retire",
    "stock",
]


class LicenseAction(StrEnum):
    """What happened to a key: the `action` of its lines in the audit trail."""

    IMPORTED = "vault_imported"
    RESERVED = "vault_reserved"
    BOOTED = "vault_booted"  # its VM was started with it: burnt from here on
    BOUND = "vault_bound"
    RELEASED = "vault_released"  # back in stock
    RETIRED = "vault_retired"


class VaultError(BadInput):
    """A vault operation that cannot be done as asked; the hint says what to do."""


class NoStock(ConsoleError):
    """No key of that kind (and product) is left in stock."""

    def __init__(self, kind: str, product: str | None = None):
        what = KIND_LABELS.get(kind, kind) + (f" for {product!r}" if product else "")
        super().__init__(
            f"no stock: no {what} left in the vault",
            f"import more with `vps-console licenses import FILE --kind {kind}`"
            + (f" --product {product!r}" if product else "")
            + ", or paste a key for this order",
        )
        self.kind = kind
        self.product = product


# ----------------------------------------------------------------- references
def new_reference() -> str:
    return "lk-" + _random.token_hex(6)


def secret_name(reference: str, kind: str) -> str:
    """The key's entry in the secret store. It is a license entry under a pseudo-order
    `vault.<reference>` because those are the names the secret store accepts; no billing
    order id has a dot and a `lk-` in it."""
    return f"license:vault.{reference}:{kind}"


def fingerprint(key: str) -> str:
    """What recognises a key again without keeping it: SHA-256 of its canonical form.
    Product keys and activation codes carry over 100 bits, beyond guessing from a hash."""
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()


def record(
    session: Session,
    action: LicenseAction,
    key: LicenseKey,
    *,
    actor: str,
    message: str = "",
    **data: Any,
) -> None:
    """The key's line in the audit trail (masked key, order, VM, who), in `session`'s
    transaction so that a change never stands without its record."""
    audit.record(
        session,
        action.value,
        actor=actor,
        order_id=key.order_id,
        message=message or f"{key.kind} key {key.masked}",
        license=key.id,
        kind=key.kind,
        product=key.product,
        masked=key.masked,
        vm=key.vm_name,
        **data,
    )


def describe(key: LicenseKey) -> str:
    """`reserved to order 1234`, `bound to vps-1234 (order 1234)`, `in stock`, `retired`."""
    if key.state == LicenseState.AVAILABLE:
        return "in stock"
    if key.state == LicenseState.RESERVED:
        booted = f", started on {key.vm_name}" if key.booted_at else ""
        return f"reserved to order {key.order_id}{booted}"
    if key.state == LicenseState.BOUND:
        return f"bound to {key.vm_name} (order {key.order_id})"
    last = f" (last on {key.vm_name}, order {key.order_id})" if key.order_id else ""
    return f"retired{last}"


# ---------------------------------------------------------------- reservations
def reserve(
    store: Store, order_id: str, kind: str, *, actor: str, product: str | None = None
) -> LicenseKey:
    """The key of `kind` set aside for `order_id`: the one it already holds, else the
    oldest in stock, taken atomically. Raises NoStock when there is none."""
    order_id = str(order_id)
    if kind not in KEY_KINDS:
        raise VaultError(
            f"{kind!r} is not a kind the vault keeps", "use one of: " + ", ".join(KEY_KINDS)
        )
    with store.session() as session:
        held = repo.active_key(session, order_id, kind)
    if held is not None:
        return held

    def audited(session: Session, key: LicenseKey) -> None:
        record(
            session,
            LicenseAction.RESERVED,
            key,
            actor=actor,
            message=f"{key.kind} key {key.masked} reserved to order {order_id}",
        )

    taken = repo.take_one(store, kind=kind, order_id=order_id, product=product, on_taken=audited)
    if taken is not None:
        return taken
    with store.session() as session:
        held = repo.active_key(session, order_id, kind)  # a rival call for this order won
    if held is not None:
        return held
    raise NoStock(kind, product)


def _secret_of(secrets: SecretStore, key: LicenseKey) -> str:
    value = secrets.get(key.secret_name)
    if not value:
        raise VaultError(
            f"the {key.kind} key {key.id} ({key.masked}) is in the vault but not in "
            "the secret store in use",
            "open the console with the secret store the "
            f"keys were imported into, or retire it: vps-console licenses retire "
            f"{key.id} --reason 'lost from the secret store'",
        )
    return value


def keys_for_plan(
    store: Store,
    secrets: SecretStore,
    order_id: str,
    kinds: Iterable[str],
    *,
    actor: str,
    products: dict[str, str] | None = None,
) -> dict[str, str]:
    """{kind: key} for the key kinds an order's plan needs, reserved now or already (so a
    resume gets the same keys). Kinds with no stock are left out: the engineer pastes those."""
    found: dict[str, str] = {}
    for kind in kinds:
        if kind not in KEY_KINDS:
            continue  # cPanel and the like carry no key
        try:
            key = reserve(store, order_id, kind, actor=actor, product=(products or {}).get(kind))
        except NoStock:
            continue
        found[kind] = _secret_of(secrets, key)
    return found


def keys_for_launch(
    store: Store,
    secrets: SecretStore,
    order_id: str,
    kinds: Iterable[str],
    pasted: dict[str, str],
    *,
    actor: str,
) -> dict[str, str]:
    """The keys a launch (and its preflight) uses, by kind: a key pasted for the order as
    given, the vault's for every other kind. The form and `provision` both assemble here,
    so a kind left empty is the vault's in both, and a pasted one always wins."""
    given = {kind: value for kind, value in pasted.items() if value and value.strip()}
    wanted = [kind for kind in kinds if kind not in given]
    return {**keys_for_plan(store, secrets, order_id, wanted, actor=actor), **given}


def reserved_for(store: Store, order_id: str) -> dict[str, LicenseKey]:
    """The keys an order holds, by kind (for the form: `vault: …-3V66T`)."""
    with store.session() as session:
        return {key.kind: key for key in repo.keys_of_order(session, str(order_id))}


def _release_in(
    session: Session, key: LicenseKey, *, actor: str, message: str, **data: Any
) -> None:
    repo.set_state(
        session,
        key,
        LicenseState.AVAILABLE,
        expect=tuple(LicenseState),
        order_id=None,
        vm_name=None,
        reserved_at=None,
        booted_at=None,
    )
    record(session, LicenseAction.RELEASED, key, actor=actor, message=message, **data)


def on_launch(
    store: Store, secrets: SecretStore, order_id: str, licenses: dict[str, str], *, actor: str
) -> None:
    """The launch's keys against the vault. A key taken from the vault stays reserved; a
    pasted one overrides it and the reserved key goes back to stock; a pasted key that is
    itself in the vault is reserved to this order if in stock, and refused if it belongs to
    another order or is retired (that would be one key on two servers)."""
    order_id = str(order_id)
    held = reserved_for(store, order_id)
    for kind, value in licenses.items():
        if kind not in KEY_KINDS or not value:
            continue
        value = normalise_license(kind, value)
        with store.session() as session:
            same = repo.by_fingerprint(session, [fingerprint(value)]).get(fingerprint(value))
            mine = held.get(kind)
            if same is not None and mine is not None and same.id == mine.id:
                continue  # the vault's own key
            if same is not None and same.state != LicenseState.AVAILABLE:
                raise VaultError(
                    f"the pasted {KIND_LABELS[kind]} is the vault's {same.id} "
                    f"({same.masked}), {describe(same)}",
                    "paste another key, or leave the field to the vault",
                )
            if mine is not None:
                if mine.booted_at is not None:
                    raise VaultError(
                        f"order {order_id}'s VM was already started with the "
                        f"vault's {kind} key {mine.masked}; it cannot be swapped",
                        "leave the vault's key, or release it by hand first "
                        f"(vps-console licenses release {mine.id} --reason …)",
                    )
                _release_in(
                    session,
                    mine,
                    actor=actor,
                    message=f"{kind} key {mine.masked} given back: a key was pasted "
                    f"for order {order_id}",
                )
            if same is not None:
                session.flush()
                if not repo.set_state(
                    session,
                    same,
                    LicenseState.RESERVED,
                    expect=(LicenseState.AVAILABLE,),
                    order_id=order_id,
                    reserved_at=utcnow(),
                ):
                    raise VaultError(
                        f"the pasted {KIND_LABELS[kind]} ({same.masked}) was just "
                        "taken from the vault by another order",
                        "paste another key, or leave the field to the vault",
                    )
                same.order_id = order_id
                record(
                    session,
                    LicenseAction.RESERVED,
                    same,
                    actor=actor,
                    message=f"{kind} key {same.masked} (pasted) reserved to order {order_id}",
                )


def on_draft_abandoned(store: Store, order_id: str, *, actor: str) -> list[LicenseKey]:
    """The form was closed without a launch: keys reserved when the plan was drafted go
    back to stock, unless a job of the order holds them (launched, running, failed) or a VM
    was started with them."""
    order_id = str(order_id)
    if jobs_repo.open_job_for_order(store, order_id) is not None:
        return []
    changed = []
    with store.session() as session:
        for key in repo.keys_of_order(session, order_id):
            if key.state == LicenseState.RESERVED and key.booted_at is None:
                _release_in(
                    session,
                    key,
                    actor=actor,
                    message=f"{key.kind} key {key.masked} back in stock: order "
                    f"{order_id} was not launched",
                )
                key.state = LicenseState.AVAILABLE.value
                changed.append(key)
    return changed


def form_label(store: Store, order_id: str, kind: str) -> str | None:
    """What the form shows in a key's field: `vault: …-3V66T, 14 left`; None without one."""
    key = reserved_for(store, order_id).get(kind)
    if key is None:
        return None
    return f"vault: {key.masked}, {available_of(store, kind)} left"


def reserve_for_form(
    store: Store, secrets: SecretStore, order_id: str, kinds: Iterable[str], *, actor: str
) -> dict[str, str]:
    """As the provision form opens: the order's keys set aside, and what each field the
    vault fills shows in its place ({kind: form_label})."""
    given = keys_for_plan(store, secrets, order_id, kinds, actor=actor)
    return {
        kind: label for kind in given if (label := form_label(store, order_id, kind)) is not None
    }


# --------------------------------------------------------------- the flow's hooks
def on_boot(store: Store, order_id: str, vm_name: str, *, actor: str) -> list[LicenseKey]:
    """The VM is about to be started with the order's keys: from now on they may be
    activated on it, so a cancel retires them instead of putting them back."""
    changed = []
    with store.session() as session:
        for key in repo.keys_of_order(session, str(order_id)):
            if key.booted_at is not None:
                continue
            key.booted_at, key.vm_name, key.updated_at = utcnow(), vm_name, utcnow()
            session.add(key)
            record(
                session,
                LicenseAction.BOOTED,
                key,
                actor=actor,
                message=f"{key.kind} key {key.masked} applied at first boot of {vm_name}",
            )
            changed.append(key)
    return changed


def on_handover(store: Store, order_id: str, vm_name: str, *, actor: str) -> list[LicenseKey]:
    """The job handed the VM over: its keys are bound to it."""
    changed = []
    with store.session() as session:
        for key in repo.keys_of_order(session, str(order_id)):
            if key.state == LicenseState.BOUND and key.vm_name == vm_name:
                continue
            booted = key.booted_at or utcnow()  # a VM handed over has booted
            if repo.set_state(
                session,
                key,
                LicenseState.BOUND,
                expect=ACTIVE_STATES,
                vm_name=vm_name,
                booted_at=booted,
            ):
                key.state, key.vm_name, key.booted_at = LicenseState.BOUND.value, vm_name, booted
                record(
                    session,
                    LicenseAction.BOUND,
                    key,
                    actor=actor,
                    message=f"{key.kind} key {key.masked} bound to {vm_name}",
                )
                changed.append(key)
    return changed


def on_cancel(
    store: Store, order_id: str, *, actor: str, why: str = "cancelled"
) -> list[LicenseKey]:
    """The order's job was cancelled or rolled back: keys never started on a VM go back to
    stock; keys a VM was started with are retired (they may be activated on it)."""
    changed = []
    with store.session() as session:
        for key in repo.keys_of_order(session, str(order_id)):
            if key.booted_at is None:
                _release_in(
                    session,
                    key,
                    actor=actor,
                    message=f"{key.kind} key {key.masked} back in stock: order "
                    f"{order_id} {why} before first boot",
                )
                key.state = LicenseState.AVAILABLE.value
            else:
                repo.set_state(session, key, LicenseState.RETIRED, expect=ACTIVE_STATES)
                key.state = LicenseState.RETIRED.value
                record(
                    session,
                    LicenseAction.RETIRED,
                    key,
                    actor=actor,
                    message=f"{key.kind} key {key.masked} retired: order {order_id} {why} "
                    f"after {key.vm_name or 'its VM'} was started with it",
                )
            changed.append(key)
    return changed


# ------------------------------------------------------------ engineer's actions
def find_key(store: Store, reference: str) -> LicenseKey:
    """A key by reference (`lk-…`) or by its masked tail (`3V66T`, `…-3V66T`) when unique."""
    wanted = reference.strip()
    with store.session() as session:
        key = repo.find(session, wanted)
        if key is not None:
            return key
        tail = wanted.lstrip("…").lstrip("-").upper()
        matches = [k for k in repo.list_keys(session) if tail and k.masked.endswith("-" + tail)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise VaultError(
            f"{len(matches)} keys end in {tail}: " + ", ".join(k.id for k in matches),
            "name the one you mean by reference",
        )
    raise VaultError(
        f"no key {reference!r} in the vault", "see the references with vps-console licenses list"
    )


def release(store: Store, reference: str, *, actor: str, reason: str | None = None) -> LicenseKey:
    """Put a key back in stock. A key a VM was started with (bound, retired, or reserved
    after first boot) may be activated somewhere: that takes a reason, kept in the trail."""
    key = find_key(store, reference)
    if key.state == LicenseState.AVAILABLE:
        raise VaultError(f"{key.id} ({key.masked}) is already in stock", None)
    burnt = key.state in (LicenseState.BOUND, LicenseState.RETIRED) or key.booted_at is not None
    reason = (reason or "").strip()
    if burnt and not reason:
        raise VaultError(
            f"{key.id} ({key.masked}) is {describe(key)}: a VM was started with "
            "it, so it may be activated there",
            "give --reason (e.g. 'VM deleted, key deactivated at the vendor'); it "
            "is kept in the audit trail",
        )
    message = f"{key.kind} key {key.masked} released by hand from {describe(key)}" + (
        f": {reason}" if reason else ""
    )
    with store.session() as session:
        _release_in(session, key, actor=actor, message=message, reason=reason, was=key.state)
    return find_key(store, key.id)


def retire(store: Store, reference: str, *, actor: str, reason: str | None = None) -> LicenseKey:
    """Take a key out of use for good (blocked, refunded, found on two servers…)."""
    key = find_key(store, reference)
    if key.state == LicenseState.RETIRED:
        raise VaultError(f"{key.id} ({key.masked}) is already retired", None)
    reason = (reason or "").strip()
    with store.session() as session:
        repo.set_state(session, key, LicenseState.RETIRED, expect=(LicenseState(key.state),))
        record(
            session,
            LicenseAction.RETIRED,
            key,
            actor=actor,
            reason=reason,
            was=key.state,
            message=f"{key.kind} key {key.masked} retired by hand from "
            f"{describe(key)}" + (f": {reason}" if reason else ""),
        )
    return find_key(store, key.id)


def list_keys(
    store: Store, *, kind: str | None = None, state: str | None = None, order_id: str | None = None
) -> list[LicenseKey]:
    with store.session() as session:
        return repo.list_keys(session, kind=kind, state=state, order_id=order_id)


def history(store: Store, reference: str) -> list[JobEvent]:
    with store.session() as session:
        return repo.history(session, reference)


# ------------------------------------------------------------------------- stock
@dataclass(frozen=True)
class StockLine:
    kind: str
    product: str
    available: int
    reserved: int
    bound: int
    retired: int


def stock(store: Store) -> list[StockLine]:
    """Counts per kind and product, in kind then product order."""
    with store.session() as session:
        counts = repo.stock_counts(session)
    groups = sorted({(kind, product) for kind, product, _ in counts})
    return [
        StockLine(
            kind, product, *(counts.get((kind, product, state.value), 0) for state in LicenseState)
        )
        for kind, product in groups
    ]


def available_by_kind(store: Store) -> dict[str, int]:
    """Keys in stock per kind, for the kinds the vault has ever held: a kind never imported
    is absent (its keys are pasted), one held but used up is 0."""
    per_kind: dict[str, int] = {}
    for line in stock(store):
        per_kind[line.kind] = per_kind.get(line.kind, 0) + line.available
    return {kind: per_kind[kind] for kind in KEY_KINDS if kind in per_kind}


def available_of(store: Store, kind: str) -> int:
    return available_by_kind(store).get(kind, 0)


def out_of_stock(kinds: Iterable[str], available: dict[str, int]) -> tuple[str, ...]:
    """Of the kinds an order needs, those the vault keeps and has none of left: someone
    must import keys or paste one (for the queue, before anyone opens the order)."""
    return tuple(kind for kind in kinds if available.get(kind) == 0)


@dataclass(frozen=True)
class LowStock:
    kind: str
    available: int
    threshold: int

    def message(self) -> str:
        return (
            f"{KIND_LABELS[self.kind]}s: {self.available} left in stock (fewer than "
            f"{self.threshold})"
        )


def low_stock(store: Store, threshold: int) -> list[LowStock]:
    """Kinds the vault has ever held with fewer than `threshold` keys left (0: never)."""
    if threshold <= 0:
        return []
    return [
        LowStock(kind, left, threshold)
        for kind, left in sorted(available_by_kind(store).items())
        if left < threshold
    ]
