"""The license vault's domain API and the hooks the provisioning flow calls, against a real
store on SQLite and on PostgreSQL: import, reserve (idempotent), launch with a pasted key,
boot, handover, cancel before and after boot, release and retire by hand, stock."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.flow import vault
from console.flow.vault import LicenseState, NoStock, VaultError
from console.flow.vault_import import import_keys
from console.secrets import MemorySecretStore
from console.store.db import open_store
from tests.plugins.vault import plesk_code, product_key

ACTOR = "eng@desk"


def stock_up(store, secrets, kind: str, seeds, product: str = "") -> list[str]:
    keys = [product_key(s) if kind != "plesk" else plesk_code(s) for s in seeds]
    report = import_keys(store, secrets, "\n".join(keys), actor=ACTOR, kind=kind, product=product)
    assert not report.bad and len(report.imported) == len(keys)
    return keys


def state_of(store, reference: str) -> vault.LicenseKey:
    return vault.find_key(store, reference)


def test_import_keeps_good_lines_names_bad_ones_and_stores_no_key(vault_store):
    secrets = MemorySecretStore()
    good_windows, good_plesk, good_mssql = product_key(1), plesk_code(1), product_key(2)
    text_in = "\n".join(
        [
            good_windows,  # 1
            "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",  # 2 vowels: not a product key
            "",  # 3 blank
            "# batch of 2026-12",  # 4 comment
            good_windows.replace("-", " ").lower(),  # 5 the same key, spelled otherwise
            "key,kind,product,note",  # 6 header
            f"{good_plesk},plesk,Web Pro,invoice 77",  # 7
            f"{product_key(3)},cpanel,,",  # 8 a kind the vault does not keep
            f"{good_mssql},mssql,2022 Standard,,extra",  # 9 too many columns
            f"{good_mssql},mssql,2022 Standard",  # 10
            "B2C3D-F4G6H",  # 11 too short
        ]
    )
    report = import_keys(vault_store, secrets, text_in, actor=ACTOR, kind="windows")
    assert [(key.kind, key.product) for key in report.imported] == [
        ("windows", ""),
        ("plesk", "Web Pro"),
        ("mssql", "2022 Standard"),
    ]
    reasons = {bad.number: bad.reason for bad in report.bad}
    assert sorted(reasons) == [2, 5, 8, 9, 11]
    assert "characters no product key uses" in reasons[2]
    assert reasons[5] == "the same key as line 1"
    assert "'cpanel' is not one the vault keeps" in reasons[8]
    assert "5 columns" in reasons[9]
    assert "five groups of five" in reasons[11]
    # Each key in the secret store under its reference, masked in the database.
    for key, value in zip(report.imported, (good_windows, good_plesk, good_mssql), strict=True):
        assert secrets.get(key.secret_name) == value
        assert key.masked == "…-" + value.rsplit("-", 1)[1]
    with vault_store.engine.connect() as connection:
        dump = repr(
            [
                tuple(row)
                for table in ("license_keys", "job_events")
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            ]
        )
    for value in (good_windows, good_plesk, good_mssql):
        assert value not in dump and value.rsplit("-", 1)[0] not in dump
    assert "…-" + good_plesk.rsplit("-", 1)[1] in dump


def test_duplicates_are_refused_in_stock_in_use_and_retired(vault_store):
    secrets = MemorySecretStore()
    keys = stock_up(vault_store, secrets, "windows", range(3))
    vault.reserve(vault_store, "500", "windows", actor=ACTOR)  # keys[0] in use
    vault.retire(vault_store, vault.find_key(vault_store, keys[2][-5:]).id, actor=ACTOR)
    report = import_keys(vault_store, secrets, "\n".join(keys), actor=ACTOR, kind="mssql")
    assert report.imported == []
    assert [(bad.number, bad.reason.split(" (")[1]) for bad in report.bad] == [
        (1, "reserved to order 500)"),
        (2, "in stock)"),
        (3, "retired)"),
    ]
    assert all("already in the vault as lk-" in bad.reason for bad in report.bad)


def test_reserve_takes_the_oldest_once_per_order_and_kind(vault_store):
    secrets = MemorySecretStore()
    keys = stock_up(vault_store, secrets, "windows", range(2))
    first = vault.reserve(vault_store, "1001", "windows", actor=ACTOR)
    assert first.masked.endswith(keys[0][-5:]) and first.state == LicenseState.RESERVED
    again = vault.reserve(vault_store, "1001", "windows", actor=ACTOR)
    assert again.id == first.id
    second = vault.reserve(vault_store, "1002", "windows", actor=ACTOR)
    assert second.id != first.id
    with pytest.raises(NoStock) as no_stock:
        vault.reserve(vault_store, "1003", "windows", actor=ACTOR)
    assert "no stock" in no_stock.value.message and "licenses import" in no_stock.value.hint


def test_reserve_by_product_takes_only_that_product(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", [1], product="2019 Standard")
    wanted = stock_up(vault_store, secrets, "windows", [2], product="2022 Datacenter")
    key = vault.reserve(vault_store, "77", "windows", actor=ACTOR, product="2022 Datacenter")
    assert key.product == "2022 Datacenter" and key.masked.endswith(wanted[0][-5:])
    with pytest.raises(NoStock):
        vault.reserve(vault_store, "78", "windows", actor=ACTOR, product="2022 Datacenter")


def test_keys_for_plan_reserves_and_a_resume_gets_the_same_keys(vault_store, store_url):
    secrets = MemorySecretStore()
    windows = stock_up(vault_store, secrets, "windows", range(3))
    plesk = stock_up(vault_store, secrets, "plesk", range(2))
    keys = vault.keys_for_plan(
        vault_store, secrets, "2001", ("windows", "plesk", "cpanel"), actor=ACTOR
    )
    assert keys == {"windows": windows[0], "plesk": plesk[0]}
    # A crash between reserve and bind: a new process, a new store, the same keys.
    reopened = open_store(store_url)
    try:
        assert (
            vault.keys_for_plan(reopened, secrets, "2001", ("windows", "plesk"), actor=ACTOR)
            == keys
        )
    finally:
        reopened.close()
    held = vault.reserved_for(vault_store, "2001")
    assert {kind: key.state for kind, key in held.items()} == {
        "windows": "reserved",
        "plesk": "reserved",
    }
    assert [line.available for line in vault.stock(vault_store)] == [1, 2]  # plesk, windows


def test_keys_for_plan_leaves_out_kinds_without_stock(vault_store):
    secrets = MemorySecretStore()
    windows = stock_up(vault_store, secrets, "windows", [5])
    assert vault.keys_for_plan(vault_store, secrets, "9", ("windows", "mssql"), actor=ACTOR) == {
        "windows": windows[0]
    }


def test_a_key_missing_from_the_secret_store_is_named_not_handed_out(vault_store):
    stock_up(vault_store, MemorySecretStore(), "windows", [1])
    with pytest.raises(VaultError) as missing:
        vault.keys_for_plan(vault_store, MemorySecretStore(), "9", ("windows",), actor=ACTOR)
    assert "not in the secret store" in missing.value.message
    assert "licenses retire" in missing.value.hint


def test_a_pasted_key_overrides_the_vault_and_the_reserved_one_goes_back(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", range(2))
    offered = vault.reserve(vault_store, "3001", "windows", actor=ACTOR)
    vault.on_launch(vault_store, secrets, "3001", {"windows": product_key(99)}, actor=ACTOR)
    assert state_of(vault_store, offered.id).state == LicenseState.AVAILABLE
    assert vault.reserved_for(vault_store, "3001") == {}
    assert [e.step for e in vault.history(vault_store, offered.id)][-1] == "vault_released"


def test_the_vaults_own_key_stays_reserved_at_launch(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "plesk", [1])
    keys = vault.keys_for_plan(vault_store, secrets, "3002", ("plesk",), actor=ACTOR)
    vault.on_launch(vault_store, secrets, "3002", keys, actor=ACTOR)
    assert vault.reserved_for(vault_store, "3002")["plesk"].state == LicenseState.RESERVED


def test_a_pasted_key_from_stock_is_reserved_and_one_of_another_order_refused(vault_store):
    secrets = MemorySecretStore()
    keys = stock_up(vault_store, secrets, "windows", range(3))
    vault.reserve(vault_store, "4001", "windows", actor=ACTOR)  # keys[0]
    # Pasting keys[2] (in stock) for order 4002: that very key is reserved to it.
    vault.on_launch(vault_store, secrets, "4002", {"windows": keys[2].lower()}, actor=ACTOR)
    assert vault.reserved_for(vault_store, "4002")["windows"].masked.endswith(keys[2][-5:])
    # Pasting keys[0] for order 4003: it is 4001's; one key on two servers is refused.
    with pytest.raises(VaultError) as refused:
        vault.on_launch(vault_store, secrets, "4003", {"windows": keys[0]}, actor=ACTOR)
    assert "reserved to order 4001" in refused.value.message


def test_boot_then_handover_binds_the_keys_to_the_vm(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", [1])
    stock_up(vault_store, secrets, "mssql", [2])
    vault.keys_for_plan(vault_store, secrets, "5001", ("windows", "mssql"), actor=ACTOR)
    assert len(vault.on_boot(vault_store, "5001", "vps-5001", actor=ACTOR)) == 2
    assert vault.on_boot(vault_store, "5001", "vps-5001", actor=ACTOR) == []  # once
    bound = vault.on_handover(vault_store, "5001", "vps-5001", actor=ACTOR)
    assert {(k.kind, k.state, k.vm_name) for k in bound} == {
        ("windows", "bound", "vps-5001"),
        ("mssql", "bound", "vps-5001"),
    }
    assert vault.on_handover(vault_store, "5001", "vps-5001", actor=ACTOR) == []
    key = vault.reserved_for(vault_store, "5001")["windows"]
    assert vault.describe(key) == "bound to vps-5001 (order 5001)"
    trail = vault.history(vault_store, key.id)
    assert [e.step for e in trail] == [
        "vault_imported",
        "vault_reserved",
        "vault_booted",
        "vault_bound",
    ]
    bind = trail[-1]
    assert (bind.actor, bind.order_id, bind.data["vm"], bind.data["masked"]) == (
        ACTOR,
        "5001",
        "vps-5001",
        key.masked,
    )


def test_cancel_before_first_boot_returns_the_keys_to_stock(vault_store):
    secrets = MemorySecretStore()
    keys = stock_up(vault_store, secrets, "windows", [1])
    vault.keys_for_plan(vault_store, secrets, "6001", ("windows",), actor=ACTOR)
    [released] = vault.on_cancel(vault_store, "6001", actor=ACTOR)
    assert released.state == LicenseState.AVAILABLE
    assert vault.keys_for_plan(vault_store, secrets, "6002", ("windows",), actor=ACTOR) == {
        "windows": keys[0]
    }


def test_cancel_after_boot_retires_and_no_order_gets_a_retired_key(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", [1])
    vault.keys_for_plan(vault_store, secrets, "7001", ("windows",), actor=ACTOR)
    vault.on_boot(vault_store, "7001", "vps-7001", actor=ACTOR)
    [retired] = vault.on_cancel(vault_store, "7001", actor=ACTOR)
    assert retired.state == LicenseState.RETIRED
    assert vault.keys_for_plan(vault_store, secrets, "7002", ("windows",), actor=ACTOR) == {}
    # The order itself, back in the queue, does not get its burnt key again either.
    assert vault.keys_for_plan(vault_store, secrets, "7001", ("windows",), actor=ACTOR) == {}
    assert (
        "retired: order 7001 cancelled after vps-7001"
        in vault.history(vault_store, retired.id)[-1].message
    )


def test_release_of_a_burnt_key_needs_a_reason_that_is_audited(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "plesk", [1, 2])
    keys = vault.keys_for_plan(vault_store, secrets, "8001", ("plesk",), actor=ACTOR)
    vault.on_handover(vault_store, "8001", "vps-8001", actor=ACTOR)
    key = vault.reserved_for(vault_store, "8001")["plesk"]
    with pytest.raises(VaultError) as needs_reason:
        vault.release(vault_store, key.id, actor=ACTOR)
    assert "--reason" in needs_reason.value.hint
    released = vault.release(
        vault_store, key.masked, actor="lead@desk", reason="VM deleted, code reset at Plesk"
    )
    assert released.state == LicenseState.AVAILABLE and released.order_id is None
    last = vault.history(vault_store, key.id)[-1]
    assert (last.step, last.actor, last.data["reason"], last.data["was"]) == (
        "vault_released",
        "lead@desk",
        "VM deleted, code reset at Plesk",
        "bound",
    )
    assert vault.keys_for_plan(vault_store, secrets, "8002", ("plesk",), actor=ACTOR) == keys
    with pytest.raises(VaultError, match="already in stock"):
        vault.release(vault_store, plesk_code(2)[-6:], actor=ACTOR)


def test_release_of_a_key_reserved_before_boot_needs_no_reason(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", [1])
    key = vault.reserve(vault_store, "8101", "windows", actor=ACTOR)
    assert vault.release(vault_store, key.id, actor=ACTOR).state == LicenseState.AVAILABLE


def test_retire_by_hand_and_twice_is_refused(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", [1])
    key = vault.reserve(vault_store, "8201", "windows", actor=ACTOR)
    retired = vault.retire(vault_store, key.id, actor=ACTOR, reason="blocked by Microsoft")
    assert retired.state == LicenseState.RETIRED
    assert vault.history(vault_store, key.id)[-1].data["reason"] == "blocked by Microsoft"
    with pytest.raises(VaultError, match="already retired"):
        vault.retire(vault_store, key.id, actor=ACTOR)
    with pytest.raises(NoStock):
        vault.reserve(vault_store, "8202", "windows", actor=ACTOR)


def test_stock_per_kind_and_product_and_low_stock(vault_store):
    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", range(6), product="2022 Standard")
    stock_up(vault_store, secrets, "plesk", range(2), product="Web Pro")
    stock_up(vault_store, secrets, "plesk", range(2, 4), product="Web Host")
    vault.reserve(vault_store, "9001", "windows", actor=ACTOR)
    vault.reserve(vault_store, "9001", "plesk", actor=ACTOR, product="Web Pro")
    lines = {
        (line.kind, line.product): (line.available, line.reserved)
        for line in vault.stock(vault_store)
    }
    assert lines == {
        ("windows", "2022 Standard"): (5, 1),
        ("plesk", "Web Pro"): (1, 1),
        ("plesk", "Web Host"): (2, 0),
    }
    low = vault.low_stock(vault_store, 5)
    assert [(item.kind, item.available) for item in low] == [("plesk", 3)]
    assert low[0].message() == "Plesk activation codes: 3 left in stock (fewer than 5)"
    assert vault.low_stock(vault_store, 0) == []
    assert [item.kind for item in vault.low_stock(vault_store, 6)] == ["plesk", "windows"]


def test_a_draft_closed_without_launch_gives_its_keys_back_but_a_launched_one_keeps_them(
    vault_store,
):
    from console.store import jobs as jobs_repo
    from console.store.models import Order

    secrets = MemorySecretStore()
    stock_up(vault_store, secrets, "windows", range(3))
    vault.keys_for_plan(vault_store, secrets, "9101", ("windows",), actor=ACTOR)
    assert (
        vault.form_label(vault_store, "9101", "windows")
        == f"vault: …-{product_key(0)[-5:]}, 2 left"
    )
    [back] = vault.on_draft_abandoned(vault_store, "9101", actor=ACTOR)
    assert (
        back.state == LicenseState.AVAILABLE
        and vault.form_label(vault_store, "9101", "windows") is None
    )

    with vault_store.session() as session:
        session.add(Order(id="9102", source="manual"))
    vault.keys_for_plan(vault_store, secrets, "9102", ("windows",), actor=ACTOR)
    jobs_repo.create_job(vault_store, order_id="9102", plan={}, engine="sim", created_by=ACTOR)
    assert vault.on_draft_abandoned(vault_store, "9102", actor=ACTOR) == []
    assert vault.reserved_for(vault_store, "9102")["windows"].state == LicenseState.RESERVED
