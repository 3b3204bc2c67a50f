"""Regenerate screenshots/*.svg: every screen and every step of the flow, at 80x24 and
160x48, from the current code and the fixed showcase world.

    python -m tests.showcase.screenshots [--out screenshots]

The snapshot tests (tests/tui/test_snapshots.py) replay the same scenes, so what the
README shows is what the tests check.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
SHOWCASE_PASSWORD = "Showcase-Pass-42"  # a fixed stand-in: real ones are generated


async def settle(pilot: Pilot, rounds: int = 3) -> None:
    """Let workers finish and their results be rendered (results arrive as messages).

    A worker that failed (a lost engine, say) has finished too: the screens show its error
    from on_worker_state_changed, so its exception is not raised here.
    """
    for _ in range(rounds):
        workers = list(pilot.app.workers)
        if workers:
            await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        await pilot.pause()


async def queue(pilot: Pilot) -> None:
    await settle(pilot)


async def queue_filtered(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("slash", *"windows", "enter")


async def templates(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def vms(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)


async def vm_remove_confirmation(pilot: Pilot) -> None:
    await vms(pilot)
    await pilot.press("ctrl+d")
    await pilot.pause()


async def jobs(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)


async def tls_not_verified(pilot: Pilot) -> None:
    """The queue of a console whose engine is reached with `insecure = true`."""
    from console.tui.launch import screen_banner
    from tests.showcase.world import make_config

    await settle(pilot)
    pilot.app.banner_text = (
        screen_banner(
            make_config(
                engines=[
                    {
                        "name": "lab",
                        "url": "https://lab.example.net/ovirt-engine/api",
                        "insecure": True,
                        "insecure_acknowledged": True,
                    }
                ]
            )
        )
        or ""
    )
    await pilot.pause()


async def jobs_activity(pilot: Pilot) -> None:
    await jobs(pilot)
    await pilot.press("a")
    await pilot.pause()


async def help_screen(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def form_quiet(pilot: Pilot) -> None:
    """Wait (by state, not by the clock) until the form's preflight has answered."""
    from console.tui.screens.provision import ProvisionScreen

    for _ in range(200):
        await settle(pilot)
        screen = pilot.app.screen
        if (
            isinstance(screen, ProvisionScreen)
            and screen.phase == "editing"
            and screen._preflight_timer is None
            and not any(worker.is_running for worker in pilot.app.workers)
        ):
            return
        await pilot.pause(0.05)
    raise TimeoutError("the provision form did not settle")


async def provision_form(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.screen.query_one("#orders").select_key("1001")
    await pilot.press("p")
    await form_quiet(pilot)


async def provision_ready(pilot: Pilot) -> None:
    """Keys pasted and RAM raised: the plan diff shows the change; ctrl+l would launch."""
    await provision_form(pilot)
    screen = pilot.app.screen
    screen.query_one("#license-windows").value = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
    screen.query_one("#license-plesk").value = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"
    screen.query_one("#memory").value = "8G"
    await pilot.pause()
    await form_quiet(pilot)


async def provision_errors(pilot: Pilot) -> None:
    await provision_form(pilot)
    screen = pilot.app.screen
    screen.query_one("#memory").value = "lots"
    screen.query_one("#disk").value = "20G"
    screen.query_one("#license-windows").value = "not-a-key"
    await pilot.pause()
    await form_quiet(pilot)


def _event(screen, state: str, step: str | None, kind: str, message: str, elapsed: float):
    from console.flow.events import ProgressEvent
    from console.tui.progress import JobProgress

    at = screen.app.context.now() + timedelta(seconds=elapsed)
    return JobProgress(
        ProgressEvent(
            job_id="job-showcase",
            order_id=screen.order_id,
            state=state,
            step=step,
            kind=kind,
            message=message,
            at=at,
            elapsed_seconds=elapsed,
        )
    )


async def templates_pool(pilot: Pilot) -> None:
    """The warm pool's lines under the catalog: one pool still cloning, one below its size."""
    from console.store import pool as pool_repo
    from console.store.pool import PoolVm
    from tests.showcase.world import FROZEN_NOW, make_config

    context = pilot.app.context
    context.config = make_config(
        pool=[
            {
                "template": "alma9-cpanel",
                "cluster": "Default",
                "size": 4,
                "storage_domain": "data-ssd",
            },
            {"template": "win2022-plesk", "cluster": "Default", "size": 2},
        ]
    )
    vms = [  # (name, template, id, version, state, hours old)
        ("pool-alma9-cpanel-1a2b3c4d", "alma9-cpanel", "t-alma-3", 3, "ready", 20),
        ("pool-alma9-cpanel-5e6f7a8b", "alma9-cpanel", "t-alma-3", 3, "ready", 6),
        ("pool-alma9-cpanel-9c0d1e2f", "alma9-cpanel", "t-alma-3", 3, "ready", 2),
        ("pool-alma9-cpanel-3a4b5c6d", "alma9-cpanel", "t-alma-3", 3, "cloning", 0),
        ("pool-win2022-plesk-7e8f9a0b", "win2022-plesk", "t-win-2", 2, "ready", 30),
    ]
    for name, template, template_id, version, state, hours in vms:
        created = FROZEN_NOW - timedelta(hours=hours, minutes=12)
        pool_repo.add(
            context.store,
            PoolVm(
                name=name,
                vm_id=f"vm-{name[-8:]}",
                engine="lab",
                pool_key=pool_repo.pool_key("lab", template, "Default"),
                template_name=template,
                template_id=template_id,
                template_version=version,
                cluster="Default",
                state=state,
                created_at=created,
                ready_at=created,
            ),
        )
    await templates(pilot)


RUN_SCRIPT = (  # (state, step, kind, message, elapsed)
    ("planned", "planned", "finished", "job planned: vps-1001 from win2022-plesk v2", 0.0),
    ("cloning", "cloning", "started", "clone vps-1001 from win2022-plesk v2", 0.4),
    ("clone_wait", "cloning", "finished", "clone requested", 1.1),
    ("clone_wait", "clone_wait", "started", "waiting for the disks to unlock", 1.2),
    ("resizing", "clone_wait", "finished", "disks ready", 38.0),
    ("resizing", "resizing", "started", "4 vCPU, 8GiB RAM, disk 100GiB", 38.2),
    ("initializing", "resizing", "finished", "resized", 44.0),
    ("initializing", "initializing", "started", "sysprep with Windows key ...-VMK7H", 44.1),
    ("starting", "initializing", "finished", "first-boot script ready (plesk)", 44.6),
    ("starting", "starting", "started", "starting vps-1001", 44.8),
)
DONE_SCRIPT = (
    ("ip_wait", "starting", "finished", "vps-1001 is up", 71.0),
    ("ip_wait", "ip_wait", "started", "waiting for the guest agent to report an IP", 71.1),
    ("handover", "ip_wait", "finished", "IP 10.20.0.77", 95.0),
    ("handover", "handover", "started", "accepting order 1001 in WHMCS", 95.1),
    ("done", "handover", "finished", "order 1001 accepted, service active", 96.3),
)


async def provision_running(pilot: Pilot) -> None:
    await provision_ready(pilot)
    screen = pilot.app.screen
    screen.show_run_pane()
    screen.job_id = "job-showcase"
    for step in RUN_SCRIPT:
        screen.post_message(_event(screen, *step))
    await pilot.pause()


async def provision_done(pilot: Pilot) -> None:
    from console.store.models import Job

    await provision_running(pilot)
    screen = pilot.app.screen
    for step in DONE_SCRIPT:
        screen.post_message(_event(screen, *step))
    await pilot.pause()
    screen.admin_password = SHOWCASE_PASSWORD
    screen._finished(
        Job(
            id="job-showcase", order_id="1001", state="done", vm_name="vps-1001", ips=["10.20.0.77"]
        )
    )
    await pilot.pause()


async def provision_failed(pilot: Pilot) -> None:
    from console.store.models import Job

    await provision_running(pilot)
    screen = pilot.app.screen
    screen.post_message(
        _event(
            screen,
            "failed(starting)",
            "starting",
            "failed",
            "Cannot run VM. There is no host that satisfies current scheduling constraints.",
            46.0,
        )
    )
    await pilot.pause()
    screen._finished(
        Job(
            id="job-showcase",
            order_id="1001",
            state="failed",
            failed_step="starting",
            vm_name="vps-1001",
            error_message="Cannot run VM. There is no host that satisfies "
            "current scheduling constraints.",
            error_hint="free memory on cluster Default, or pick the Edge cluster and retry",
        )
    )
    await pilot.pause()


async def templates_refresh(pilot: Pilot) -> None:
    """A template refresh in progress: the build VM runs its update script."""
    from console.store.refresh_jobs import TemplateRefresh
    from console.tui.widgets.refresh_status import RefreshStatus

    await templates(pilot)
    row = TemplateRefresh(
        id="5e1f0a2c",
        engine="lab",
        template_name="alma9-cpanel",
        state="script_wait",
        source_version=3,
        new_version_name="2026-03-02",
        build_vm_name="tpl-build-alma9-cpanel-5e1f0a2c",
    )
    pilot.app.screen.query_one(RefreshStatus).show_refresh(
        row, "started tpl-build-alma9-cpanel-5e1f0a2c with the update script (cloud-init)"
    )
    await pilot.pause()


async def templates_drift(pilot: Pilot) -> None:
    """Which template version each provisioned VM came from, and how far behind it is."""
    from console.flow.upkeep.drift import Drift
    from console.tui.screens.drift import DriftScreen
    from tests.showcase.world import FIXED_TEMPLATES

    await templates(pilot)
    sealed = {(t.name, t.version_number): t.created_at for t in FIXED_TEMPLATES}
    rows = [
        Drift(
            f"vps-{n}",
            str(n),
            status,
            name,
            version,
            latest,
            sealed[(name, version)],
            sealed[(name, latest)],
        )
        for n, status, name, version, latest in (
            (901, "up", "win2022-plesk", 1, 2),
            (902, "up", "alma9-cpanel", 2, 3),
            (903, "down", "alma9-cpanel", 2, 3),
            (904, "up", "alma9-cpanel", 3, 3),
            (905, "up", "ubuntu2204-plesk", 1, 1),
        )
    ]
    await pilot.app.push_screen(DriftScreen(rows))
    await pilot.pause()


async def provision_hostname_mismatch(pilot: Pilot) -> None:
    from console.flow.hostname_wait import waiting_text

    await provision_running(pilot)
    screen = pilot.app.screen
    seen = {
        "reported": "WIN-8F2K1Q",
        "expected": "1001.vps.example.net",
        "init_kind": "sysprep",
        "grace_seconds": 300,
    }
    for step in (
        *DONE_SCRIPT[:2],
        ("ip_wait", "ip_wait", "info", waiting_text(seen), 80.0),
    ):
        screen.post_message(_event(screen, *step))
    await settle(pilot)  # the screen reads the job (none in the showcase) first
    screen.show_hostname_wait(seen)
    await pilot.pause()


# Seconds each step took in earlier runs of the showcase's templates: the history the ETA
# reads (console.flow.eta). Clone steps are per GiB of the template's 40/60 GiB disk.
_HISTORY = {
    "planned": 1.0,
    "cloning": 2.0,
    "clone_wait": 150.0,
    "resizing": 9.0,
    "initializing": 2.0,
    "starting": 25.0,
    "ip_wait": 48.0,
    "handover": 3.0,
}


async def queue_bulk(pilot: Pilot) -> None:
    """Three orders marked with space for one launch; the detail line gives the selected
    order's expected time to live from the step history."""
    from console.store import step_history
    from console.store.step_history import StepRun

    store = pilot.app.context.store
    for run in range(6):
        for template, disk in (("alma9-cpanel", 40), ("win2022-plesk", 60)):
            for step, seconds in _HISTORY.items():
                step_history.add(
                    store,
                    StepRun(
                        job_id=f"history-{template}-{run}",
                        step=step,
                        template_name=template,
                        disk_gib=disk if step in ("cloning", "clone_wait") else 40,
                        storage_domain="data",
                        seconds=seconds * (1.0 + run / 20),
                    ),
                )
    await settle(pilot)
    await pilot.press("space", "space", "space", "up")
    await settle(pilot)


async def queue_bulk_confirm(pilot: Pilot) -> None:
    """`L` on the marked orders: one confirmation for all of them."""
    await queue_bulk(pilot)
    await pilot.press("L")
    await settle(pilot)


SCENES: dict[str, Callable[[Pilot], Awaitable[None]]] = {
    "queue": queue,
    "queue-filtered": queue_filtered,
    "queue-bulk": queue_bulk,
    "queue-bulk-confirm": queue_bulk_confirm,
    "templates": templates,
    "vms": vms,
    "vm-remove-confirmation": vm_remove_confirmation,
    "jobs": jobs,
    "jobs-activity": jobs_activity,
    "tls-not-verified": tls_not_verified,
    "help": help_screen,
    "provision-form": provision_form,
    "provision-errors": provision_errors,
    "provision-ready": provision_ready,
    "provision-running": provision_running,
    "provision-done": provision_done,
    "provision-failed": provision_failed,
    "provision-hostname-mismatch": provision_hostname_mismatch,
    "templates-refresh": templates_refresh,
    "templates-drift": templates_drift,
    "templates-pool": templates_pool,
}


def showcase_app(store):
    from console.tui.app import ConsoleApp
    from tests.showcase.world import showcase_context

    return ConsoleApp(showcase_context(store))


async def _shoot(name: str, size: tuple[int, int], out: Path) -> Path:
    from console.store.db import open_store

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/showcase.db")
        try:
            app = showcase_app(store)
            async with app.run_test(size=size) as pilot:
                await SCENES[name](pilot)
                await pilot.pause()
                svg = app.export_screenshot(title=f"vps-console: {name}")
        finally:
            store.close()
    path = out / f"{name}-{size[0]}x{size[1]}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("--only", action="append", choices=sorted(SCENES))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or SCENES:
        for size in SIZES.values():
            print(asyncio.run(_shoot(name, size, args.out)))


if __name__ == "__main__":
    main()
