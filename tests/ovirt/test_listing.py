"""A listing whose parse overlaps the next page's fetch (console/ovirt/listing.py) against
the engine simulator: the same pages in the same order as fetched and parsed one after the
other, the same calls, and the same errors; with the parse helper, with a helper that dies
mid-listing, and with a page that does not parse."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from console.ovirt import Engine, EngineError, slim
from tests.plugins.flow import sim_config

SEARCH = "name=vps-*"
# 20 VMs: a first screenful of 5, then pages of 8 from the start (8, 8, 4).
FIRST, PER_PAGE = 5, 8
SIZES = [(1, FIRST), (1, PER_PAGE), (2, PER_PAGE), (3, PER_PAGE)]


@pytest.fixture
def engine(engine_sim, tmp_path):
    config = sim_config(engine_sim, f"sqlite:///{tmp_path / 'c.db'}")
    engine = Engine(config.engine(), engine_sim.password)
    engine._parser = slim.Parser(elsewhere_bytes=0)  # every page goes to the helper
    engine.clusters()
    yield engine
    engine.close()


def listings(engine_sim) -> list[tuple[str, str]]:
    return [
        (query["search"], query["max"]) for _, path, query in engine_sim.calls if path == "/vms"
    ]


def one_by_one(engine) -> list[list]:
    return [engine.vm_rows(SEARCH, page=page, per_page=size) for page, size in SIZES]


def test_pages_come_in_order_and_complete_with_the_same_calls(engine, engine_sim):
    expected = one_by_one(engine)
    serial_calls = listings(engine_sim)
    engine_sim.reset_calls()
    got, calls_when_handed = [], []
    for rows in engine.vm_row_pages(SEARCH, per_page=PER_PAGE, first=FIRST):
        got.append(rows)
        calls_when_handed.append(len(listings(engine_sim)))
    assert got == expected
    assert [len(rows) for rows in got] == [5, 8, 8, 4]
    assert len({row.id for rows in got for row in rows}) == 20
    # The same calls in the same order: the short last page is not followed by one more.
    assert listings(engine_sim) == serial_calls
    # The first screenful was handed over at once, each full page after it once the next
    # one had been fetched.
    assert calls_when_handed == [1, 3, 4, 4]
    assert engine._parser._helper is not None and not engine._parser._broken


def test_a_first_screenful_that_is_all_of_them_is_the_only_page(engine, engine_sim):
    engine_sim.reset_calls()
    got = list(engine.vm_row_pages(SEARCH, per_page=500, first=100))
    assert [len(rows) for rows in got] == [20]
    assert len(listings(engine_sim)) == 1


# A parse helper that answers the first body and ends while reading the second, as one
# killed mid-listing.
DIES_ON_THE_SECOND = """
import sys
from console.ovirt import slim
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
body, clusters, templates = slim._receive_request(stdin)
slim._send(stdout, slim.vm_rows(body, cluster_names=clusters, template_names=templates))
slim._receive_request(stdin)
sys.exit(1)
"""


def test_a_helper_that_dies_mid_listing_leaves_the_parse_to_the_console(
    engine, engine_sim, monkeypatch
):
    expected = one_by_one(engine)
    engine._parser.close()
    started: list[subprocess.Popen[bytes]] = []

    def dying_helper() -> subprocess.Popen[bytes]:
        root = str(Path(slim.__file__).resolve().parents[2])
        helper = subprocess.Popen(
            [sys.executable, "-c", DIES_ON_THE_SECOND],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": root},
        )
        started.append(helper)
        return helper

    monkeypatch.setattr(slim, "_start_helper", dying_helper)
    got = list(engine.vm_row_pages(SEARCH, per_page=PER_PAGE, first=FIRST))
    assert got == expected
    assert len(started) == 1 and started[0].wait(timeout=10) == 1
    assert engine._parser._broken and engine._parser._helper is None


def test_a_page_that_does_not_parse_raises_the_parse_error_in_its_turn(engine, engine_sim):
    # A character XML 1.0 forbids, in a VM's name: the writer sends it raw, no parser reads it.
    world = engine_sim.world
    ninth = sorted(world.vms.values(), key=lambda vm: vm.name)[9]  # on the second page of 8
    world.vm_ids_by_name.pop(ninth.name)
    ninth.name = ninth.name + "\x01"
    world.vm_ids_by_name[ninth.name] = ninth.id
    engine_sim.reset_calls()
    got = []
    with pytest.raises(ET.ParseError):
        for rows in engine.vm_row_pages(SEARCH, per_page=PER_PAGE, first=FIRST):
            got.append(rows)
    assert [len(rows) for rows in got] == [5, 8]
    # The page after it had been fetched ahead; nothing after that.
    assert [search for search, _ in listings(engine_sim)][-1].endswith("page 3")
    assert not engine._parser._broken  # the helper said it could not; it is still in use


def test_a_fetch_that_fails_does_so_after_the_pages_before_it(engine, engine_sim):
    engine_sim.reset_calls()
    engine_sim.faults.add("GET", r"^/vms$", nth=3, status=500, detail="[boom]")
    got = []
    with pytest.raises(EngineError):
        for rows in engine.vm_row_pages(SEARCH, per_page=PER_PAGE, first=FIRST):
            got.append(rows)
    # Page 2 failed while page 1 was parsed: page 1 is still handed over first.
    assert [len(rows) for rows in got] == [5, 8]


def test_leaving_a_listing_early_leaves_no_parse_running(engine, engine_sim):
    import threading

    listing = engine.vm_row_pages(SEARCH, per_page=PER_PAGE, first=FIRST)
    assert len(next(listing)) == FIRST
    listing.close()
    assert not any(t.name.startswith("listing-parse") for t in threading.enumerate())
