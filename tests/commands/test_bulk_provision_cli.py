"""`vps-console provision ID ID …` and `--all-ready` as real subprocesses: the orders whose
plan is complete are launched together and end done; an order that needs a key is left
out with the reason; options that belong to one order are refused for many."""

from __future__ import annotations

from console.store import jobs as repo
from console.store.states import JobState
from tests.commands.test_provision_cli import (
    add_order,
    assert_bad_input,
    cli_env,  # noqa: F401 - the fixture
    vps_console,
)
from tests.plugins.flow import marked_vms


def test_provision_several_orders_at_once(cli_env, engine_sim):  # noqa: F811
    for order_id in ("61", "62", "63"):
        add_order(cli_env, order_id, "VPS Linux", hostname=f"b{order_id}.example.net")
    result = vps_console("provision", "61", "62", "63", "--yes", "--concurrency", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    for order_id in ("61", "62", "63"):
        (job,) = repo.list_jobs(cli_env, order_id=order_id)
        assert job.state == JobState.DONE, job.error_message
        assert len(marked_vms(engine_sim, order_id)) == 1
        assert f"(order {order_id}): done" in result.stdout


def test_all_ready_launches_complete_plans_and_leaves_out_the_one_needing_keys(
    cli_env,  # noqa: F811
    engine_sim,
):
    add_order(cli_env, "71", "VPS Linux", hostname="r71.example.net")
    add_order(cli_env, "72", "VPS Windows Plesk", hostname="r72.example.net")
    result = vps_console("provision", "--all-ready", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "order 72: left out, needs an engineer" in result.stderr
    assert "Windows" in result.stderr
    assert [job.state for job in repo.list_jobs(cli_env, order_id="71")] == [JobState.DONE]
    assert repo.list_jobs(cli_env, order_id="72") == []


def test_options_of_one_order_are_refused_for_several(cli_env):  # noqa: F811
    add_order(cli_env, "81", "VPS Linux")
    add_order(cli_env, "82", "VPS Linux")
    assert_bad_input(vps_console("provision", "81", "82", "--cpus", "4"), "--cpus", "bulk launch")
    assert repo.list_jobs(cli_env) == []
