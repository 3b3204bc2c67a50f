"""The simulator writes a VM's XML from its record (console/sim/engine/vm_writer.py): the
very bytes the SDK's writers give for the SDK objects Converter.vm builds, whatever the
record holds. Compared through the REST layer as a client gets them: a listing (and so
the per-VM cache), and one VM, with and without follows, all_content and next_run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import ovirtsdk4.types as types
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from console.sim.engine import EngineSimulator
from console.sim.engine.rest import ApiRequest
from console.sim.engine.xmlout import parse_follow, render_many, render_one

# Markup, quotes, the characters the writer turns into references in text or attributes,
# other control characters (sent raw), and text past ASCII. Never NUL nor a lone surrogate:
# no XML document can carry those, so no client can have given them to the engine.
HOSTILE = [
    "",
    " ",
    "<b>bold</b> & co",
    "a&amp;b",
    "\"double\" 'single'",
    "]]> <![CDATA[x]]>",
    "line\nbreak\r\nand\ttab",
    "\x01\x07\x1b[31m\x7f\x85",
    "ünïcødé 名前 \u202eevil \U0001f600 \ufffe",
    "&#10; &lt; literally",
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
)
OPTIONAL_TEXT = st.none() | TEXT
INTS = st.one_of(st.sampled_from([0, 1, 1024**3, 3 * 1024**4]), st.integers(0, 2**63 - 1))
TIMES = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)
STATUSES = st.sampled_from([status.value for status in types.VmStatus])
# What the console follows (its listing follows nothing; statistics move with the clock, so
# they are left out of a comparison of two renderings), and the cached disk follows.
FOLLOWS = [
    None,
    "disk_attachments",
    "disk_attachments.disk",
    "nics.reported_devices,reported_devices,tags",
    "cluster,template,host",
]


@st.composite
def changes(draw):
    """New values for one VM's record."""
    config = {
        "memory": draw(INTS),
        "memory_guaranteed": draw(INTS),
        "memory_max": draw(INTS),
        "sockets": draw(st.integers(1, 16)),
        "cores": draw(st.integers(1, 64)),
        "threads": draw(st.integers(1, 4)),
    }
    return {
        "name": draw(TEXT),
        "description": draw(TEXT),
        "comment": draw(TEXT),
        "fqdn": draw(OPTIONAL_TEXT),
        "os_type": draw(TEXT),
        "status": draw(STATUSES),
        "start_time": draw(TIMES),
        "stop_time": draw(TIMES),
        "creation_time": draw(TIMES.filter(lambda t: t is not None)),
        "use_latest_template_version": draw(st.booleans()),
        "has_host": draw(st.booleans()),
        "next_run": draw(
            st.sampled_from([{}, {"memory": 2 * 1024**3}, {"sockets": 3, "cores": 5}])
        ),
        "run_once": draw(st.booleans()),
        # What only the SDK's writers write: the VM must go the general way, alike.
        "initialization": draw(
            st.none() | st.builds(types.Initialization, host_name=TEXT, root_password=TEXT)
        ),
        "extra": draw(
            st.sampled_from([{}, {"serial_number": types.SerialNumber(value="s/n <1>")}])
        ),
        **config,
    }


@pytest.fixture(scope="module")
def sim():
    return EngineSimulator(time_scale=0.01, vms=12, seed=5)


def apply(sim, vm, change: dict) -> None:
    world = sim.world
    world.vm_ids_by_name.pop(vm.name, None)
    change = dict(change)
    host = next(iter(world.hosts))
    vm.host_id = host if change.pop("has_host") else None
    vm.run_once_initialization = types.Initialization() if change.pop("run_once") else None
    for key, value in change.items():
        setattr(vm, key, value)
    world.vm_ids_by_name[vm.name] = vm.id


def served(sim, path: str, query: dict[str, str]) -> bytes:
    response = sim.api.handle(ApiRequest("GET", path, query, {}, b""))
    assert response.status == 200, response.body
    return response.body


def query_of(follow: str | None, all_content: bool, **more: str) -> dict[str, str]:
    query = dict(more)
    if follow:
        query["follow"] = follow
    if all_content:
        query["all_content"] = "true"
    return query


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    many=st.lists(changes(), min_size=1, max_size=4),
    follow=st.sampled_from(FOLLOWS),
    all_content=st.booleans(),
    next_run=st.booleans(),
)
def test_a_vm_written_from_its_record_is_what_the_sdk_writes(
    sim, many, follow, all_content, next_run
):
    world, conv = sim.world, sim.api.conv
    vms = sorted(world.vms.values(), key=lambda vm: vm.id)
    with world.lock:
        for vm, change in zip(vms, many, strict=False):
            apply(sim, vm, change)
    tree = parse_follow(follow)
    # The listing (twice: written, then from the simulator's cache).
    query = query_of(follow, all_content, search="sortby name asc")
    for _ in range(2):
        body = served(sim, "/vms", query)
        with world.lock:
            ordered = sorted(world.vms.values(), key=lambda vm: vm.name)
            expected = render_many(
                [conv.vm(vm, tree, all_content=all_content) for vm in ordered], "vms"
            )
        assert body == expected
    # One VM.
    for vm in vms[: len(many)]:
        flags = {"next_run": "true"} if next_run else {}
        body = served(sim, f"/vms/{vm.id}", query_of(follow, all_content, **flags))
        with world.lock:
            expected = render_one(conv.vm(vm, tree, next_run=next_run, all_content=all_content))
        assert body == expected


def test_the_record_writer_is_the_one_a_listing_uses(sim, monkeypatch):
    """The comparison above is between two paths: the listing of plain VMs does not build
    SDK objects (a Converter.vm that fails is never called)."""
    with sim.world.lock:
        for vm in sim.world.vms.values():
            vm.initialization, vm.extra = None, {}
        sim.api.vm_xml._entries.clear()

    def no_sdk_objects(*args, **kwargs):
        raise AssertionError("built SDK objects for a VM the record writer writes")

    monkeypatch.setattr(sim.api.conv, "vm", no_sdk_objects)
    body = served(sim, "/vms", {})
    assert body.count(b"<vm ") == len(sim.world.vms)
    vm = next(iter(sim.world.vms.values()))
    assert served(sim, f"/vms/{vm.id}", {"all_content": "true"}).startswith(b"<?xml")
    with pytest.raises(AssertionError, match="built SDK objects"):
        served(sim, "/vms", {"follow": "tags"})


def sdk_xml(write) -> str | None:
    """What the SDK's XmlWriter makes of `write(cursor)`, None when it cannot write it."""
    from ovirtsdk4 import xml

    cursor = xml.XmlWriter(None, False)
    try:
        write(cursor)
        text: str = cursor.string()
        return text
    except UnicodeDecodeError:  # libxml2 drops what XML cannot hold (U+FFFE) mid-character
        return None
    finally:
        cursor.close()


@settings(max_examples=300, deadline=None)
@given(value=TEXT)
def test_text_and_attributes_are_escaped_as_the_sdks_xml_writer_does(value):
    """Ids and hrefs are the simulator's own (plain ASCII); the attribute escaping is held
    to the SDK's XmlWriter here, for any text it can write, as the element text is."""
    from console.sim.engine import vm_writer

    assert sdk_xml(lambda c: c.write_element("t", value)) == vm_writer._element("t", value)

    def attribute(cursor) -> None:
        cursor.write_start("e")
        cursor.write_attribute("a", value)
        cursor.write_end()

    expected = sdk_xml(attribute)
    assume(expected is not None)
    assert f'<e a="{vm_writer._attribute(value)}"/>' == expected
