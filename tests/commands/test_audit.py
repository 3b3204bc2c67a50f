"""`vps-console audit`: filters, JSON, and masking of anything secret-shaped on output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from console.cli import main
from console.commands.audit import parse_since
from console.store import audit
from console.store.db import open_store
from console.store.models import Job, Order


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f"""
[[engines]]
name = "e1"
url = "http://127.0.0.1:9/ovirt-engine/api"

[store]
url = "sqlite:///{tmp_path / "console.db"}"
""")
    store = open_store(f"sqlite:///{tmp_path / 'console.db'}")
    now = datetime.now(UTC)
    with store.session() as session:
        session.add(Order(id="1002", source="manual"))
        session.flush()
        session.add(Job(id="job-7", order_id="1002"))
    with store.session() as session:
        old = audit.record(
            session, "claim", actor="ann@jump1", order_id="1001", message="claimed order 1001"
        )
        old.at = now - timedelta(days=3)
        audit.record(
            session,
            "license_applied",
            actor="bob@jump2",
            order_id="1002",
            job_id="job-7",
            message="windows key …-7XK2Q applied",
            kind="windows",
        )
        # A careless caller: the full key must still not be printed.
        audit.record(
            session,
            "note",
            actor="bob@jump2",
            order_id="1002",
            message="key VK7JG-NPHTM-C97JM-9MPGT-3V66T",
            key="VK7JG-NPHTM-C97JM-9MPGT-3V66T",
        )
    store.close()
    return path


def run(config, *args):
    return CliRunner().invoke(main, ["--config", str(config), "audit", *args])


def test_lists_newest_first_with_actor_and_order(config):
    result = run(config)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert "note" in lines[0] and "claim" in lines[2]
    assert "bob@jump2" in lines[1] and "order 1002 job job-7" in lines[1]
    assert "VK7JG-NPHTM-C97JM-9MPGT-3V66T" not in result.output


def test_filters_by_order_and_since(config):
    assert [e["action"] for e in json.loads(run(config, "--order", "1001", "--json").output)] == [
        "claim"
    ]
    recent = json.loads(run(config, "--since", "2h", "--json").output)
    assert {e["action"] for e in recent} == {"license_applied", "note"}
    assert run(config, "--order", "nope").output.strip() == "no audit entries for that filter"


def test_json_is_complete_and_masked(config):
    entries = json.loads(run(config, "--json", "--limit", "2").output)
    assert len(entries) == 2
    applied = entries[1]
    assert applied["action"] == "license_applied" and applied["job_id"] == "job-7"
    assert applied["data"] == {"kind": "windows"}
    assert datetime.fromisoformat(applied["at"]).tzinfo is not None
    assert "VK7JG" not in json.dumps(entries)


def test_since_accepts_durations_and_local_dates_and_refuses_the_rest(config):
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now=now) == now - timedelta(hours=2)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("2026-11-01").tzinfo == UTC
    result = run(config, "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since 2h" in result.output and "Traceback" not in result.output
