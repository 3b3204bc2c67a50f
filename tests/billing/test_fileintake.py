"""File and manual intake: bad rows named by line and field, good rows kept."""

from __future__ import annotations

import json

import pytest

from console.billing.errors import ImportFileError
from console.billing.fileintake import add_manual_order, import_orders
from console.errors import BadInput
from console.store.orders import get_order, list_orders

CSV = """id,client_name,client_email,product,cpus,memory,disk,os,hostname
F-1,Anna Novak,anna@example.net,VPS Linux Plesk,2,4GiB,80GiB,,web1.example.net
F-2,,ben@example,1,two,lots,80,,bad host!
F-3,"Chloe
Rossi",chloe@example.net,VPS Linux Bare,1,2048 MB,40 GB,Ubuntu 22.04,
F-4,Dario,,Dedicated Game Server,,,,,
F-1,Dup,,1,,,,,
"""


def test_malformed_csv_reports_every_bad_row_and_keeps_the_good(store, catalog, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    report = import_orders(store, path, catalog)
    errors = {(e.line, e.field) for e in report.errors}
    assert errors == {
        (3, "client_name"),
        (3, "client_email"),
        (3, "cpus"),
        (3, "memory"),
        (3, "disk"),
        (3, "hostname"),
        (7, "id"),
    }
    assert report.imported == ["F-1", "F-3", "F-4"]
    assert get_order(store, "F-1").memory_mib == 4096 and get_order(store, "F-1").status == "new"
    chloe = get_order(store, "F-3")  # a quoted cell spanning two lines keeps the numbering right
    assert (chloe.template_name, chloe.memory_mib, chloe.disk_gib) == ("ubuntu2204", 2048, 40)
    game = get_order(store, "F-4")
    assert game.status == "needs_mapping" and "billing_product" in game.problem
    again = import_orders(store, path, catalog)
    assert again.imported == [] and again.skipped_existing == ["F-1", "F-3", "F-4"]
    assert len(list_orders(store, statuses=None)) == 3


def test_malformed_json_names_lines(store, catalog, tmp_path):
    rows = [
        {"id": "J-1", "client_name": "Ok", "product": "1", "memory": "8 GB"},
        {"id": "J-2", "client_name": "Bad", "product": "1", "disk": "80.5 GB", "colour": "red"},
        "not an object",
    ]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(rows, indent=2))
    report = import_orders(store, path, catalog)
    lines = {e.line for e in report.errors}
    text = path.read_text().splitlines()
    assert {(e.field) for e in report.errors} == {"disk", "colour", "(row)"}
    assert all(text[line - 1].strip() in ("{", '"not an object"') for line in lines)
    assert report.imported == ["J-1"] and get_order(store, "J-1").memory_mib == 8192


def test_unreadable_files_fail_as_a_whole(store, catalog, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "x",\n "client_name": }]')
    with pytest.raises(ImportFileError, match="line 2"):
        import_orders(store, broken, catalog)
    header = tmp_path / "header.csv"
    header.write_text("id,name,product\n1,a,b\n")
    with pytest.raises(
        ImportFileError, match="unknown column.*'name'.*missing column.*client_name"
    ):
        import_orders(store, header, catalog)


def test_manual_order(store, catalog):
    row = add_manual_order(
        store,
        catalog,
        product="VPS Windows Plesk",
        client_name="Eve",
        cpus=4,
        memory="8GiB",
        hostname="win1.example.net",
    )
    assert row.id == "M-1" and row.source == "manual"
    assert (row.template_name, row.cpus, row.memory_mib, row.disk_gib) == (
        "win2022-plesk",
        4,
        8192,
        100,
    )
    assert add_manual_order(store, catalog, product="1", client_name="Fay").id == "M-2"
    with pytest.raises(BadInput, match="memory"):
        add_manual_order(store, catalog, product="1", client_name="Gus", memory="much")
