"""`vps-console jobs list|show|resume|retry|cancel|accept-hostname|fail-hostname`: look
after provisioning jobs."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from console.commands.provision import (
    ProgressPrinter,
    concurrency_option,
    finish,
    services_for,
)
from console.errors import BadInput
from console.flow import batch, clone_slots, eta, parking
from console.store import jobs as repo
from console.store.models import Job
from console.store.states import (
    PARKED_JOB_STATES,
    UNFINISHED_JOB_STATES,
    JobState,
    job_state_text,
)


def job_to_dict(job: Job, *, events=None) -> dict:
    data: dict[str, Any] = {
        "id": job.id,
        "order_id": job.order_id,
        "engine": job.engine,
        "state": job.state,
        "failed_step": job.failed_step,
        "vm_id": job.vm_id,
        "vm_name": job.vm_name,
        "vm_created_by_job": job.vm_created_by_job,
        "ips": list(job.ips or []),
        "attempts": job.attempts,
        "owner": job.owner,
        "owner_pid": job.owner_pid,
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
        "error": (
            {"code": job.error_code, "message": job.error_message, "hint": job.error_hint}
            if job.error_message
            else None
        ),
        "correlation_id": job.correlation_id,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "plan": job.plan,
        "ready_reason": parking.ready_reason(job),
        "waiting_for": (job.data or {}).get(clone_slots.WAITING),
    }
    if events is not None:
        data["events"] = [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "step": e.step,
                "actor": e.actor,
                "message": e.message,
            }
            for e in events
        ]
    return data


def _state(job: Job) -> str:
    return job_state_text(job.state, job.failed_step)


def _find(ctx, job_id: str) -> Job:
    job = repo.find_job(ctx.store, job_id)
    if job is None:
        raise BadInput(f"no job {job_id}", "list them with vps-console jobs list")
    return job


@click.group("jobs")
def command() -> None:
    """Provisioning jobs: list, show, resume, retry, cancel."""


@command.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include done and cancelled jobs.")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def list_command(ctx, show_all: bool, as_json: bool) -> None:
    """Jobs, newest first (unfinished and failed ones unless --all)."""
    states = None if show_all else (*UNFINISHED_JOB_STATES, *PARKED_JOB_STATES, JobState.FAILED)
    jobs = repo.list_jobs(ctx.store, states=states)
    if as_json:
        click.echo(json.dumps([job_to_dict(j) for j in jobs], indent=2))
        return
    if not jobs:
        click.echo("no jobs" + ("" if show_all else " to look after (--all shows finished ones)"))
        return
    click.echo(f"{'JOB':<13} {'ORDER':<8} {'STATE':<22} {'VM':<12} {'OWNER':<18} IPS")
    for job in jobs:
        click.echo(
            f"{job.id:<13} {job.order_id:<8} {_state(job):<22} {job.vm_name or '':<12} "
            f"{job.owner or '':<18} {', '.join(job.ips or [])}"
        )
        note = _note(job)
        if note:
            click.echo(f"{'':13} {note}")


def _note(job: Job) -> str | None:
    """What a job waits for: the engineer (and why), or a clone slot."""
    if job.state == JobState.READY_FOR_ENGINEER:
        reason = parking.ready_reason(job)
        return "pre-cloned, waiting for the engineer" + (f": {reason}" if reason else "")
    return (job.data or {}).get(clone_slots.WAITING)


@command.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@click.pass_obj
def show_command(ctx, job_id: str, as_json: bool) -> None:
    """One job with its plan and its events."""
    job = _find(ctx, job_id)
    events = repo.job_events(ctx.store, job.id)
    if as_json:
        click.echo(json.dumps(job_to_dict(job, events=events), indent=2))
        return
    click.echo(f"job {job.id}  order {job.order_id}  {_state(job)}  attempts {job.attempts}")
    if job.state in UNFINISHED_JOB_STATES:
        for line in eta.job_eta(ctx.store, job).lines():
            click.echo(f"  {line}")
    click.echo(
        f"  VM {job.vm_name} ({job.vm_id or 'not created yet'})"
        + (", created by this job" if job.vm_created_by_job else "")
    )
    if job.ips:
        click.echo(f"  IPs {', '.join(job.ips)}")
    if job.owner:
        click.echo(f"  run by {job.owner} (pid {job.owner_pid}), heartbeat {job.heartbeat_at}")
    if job.error_message:
        click.echo(f"  error: {job.error_message}")
        if job.error_hint:
            click.echo(f"  hint: {job.error_hint}")
    plan = job.plan
    click.echo(
        f"  plan: {plan.get('template_name')} v{plan.get('template_version')} on "
        f"{plan.get('cluster')}, {plan.get('cpus')} vCPU, {plan.get('memory_mib')} MiB, "
        f"{plan.get('disk_gib')} GiB, {plan.get('hostname')}, licenses "
        f"{plan.get('license_masks') or 'none'}"
    )
    for event in events:
        if event.kind == "engine":
            continue
        click.echo(f"  {event.at:%H:%M:%S} {event.kind:<14} {event.step or '':<13} {event.message}")


@command.command("resume")
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@concurrency_option
@click.pass_obj
def resume_command(ctx, job_ids: tuple[str, ...], concurrency: int) -> None:
    """Finish every unfinished job (after a crash or a closed console), or just JOB_IDs,
    several at once."""
    runner = services_for(ctx).runner(on_event=ProgressPrinter())
    if len(job_ids) == 1:
        ran = [runner.run(_find(ctx, job_ids[0]).id).id]
    else:
        ids = [_find(ctx, job_id).id for job_id in job_ids]
        result = (
            batch.run_jobs(runner, ids, concurrency=concurrency)
            if ids
            else batch.resume_all(runner, concurrency=concurrency)
        )
        for job_id, why in result.skipped:
            click.echo(f"job {job_id}: not resumed: {why}")
        ran = [job.id for job in result.finished]
    if not ran:
        click.echo("no unfinished jobs to resume")
        return
    failed = []
    for job_id in ran:
        job = repo.get_job(ctx.store, job_id)
        if job is None:  # gone from the store since it ran: nothing to report
            continue
        click.echo(f"job {job.id} (order {job.order_id}): {_state(job)}")
        if job.state == JobState.FAILED:
            failed.append(job)
    sys.exit(1 if failed else 0)


@command.command("retry")
@click.argument("job_id")
@click.pass_obj
def retry_command(ctx, job_id: str) -> None:
    """Run a failed job again from the step that failed."""
    job = _find(ctx, job_id)
    runner = services_for(ctx).runner(on_event=ProgressPrinter())
    finish(runner.retry(job.id))


@command.command("cancel")
@click.argument("job_id")
@click.pass_obj
def cancel_command(ctx, job_id: str) -> None:
    """Cancel a job: removes only a VM this job created; the order goes back to the queue."""
    job = _find(ctx, job_id)
    runner = services_for(ctx).runner(on_event=ProgressPrinter())
    job = runner.cancel(job.id)
    if job.state == JobState.CANCELLED:
        click.echo(f"job {job.id} cancelled; order {job.order_id} is back in the queue")
        return
    click.echo(
        f"job {job.id}: cancel requested; {job.owner or 'its runner'} rolls it back at "
        "its next step"
    )


def _decide_hostname(ctx, job_id: str, decision: str) -> None:
    from console.flow.hostname_wait import HostnameDecision, request_decision
    from console.identity import current_actor

    job = request_decision(
        ctx.store, _find(ctx, job_id).id, HostnameDecision(decision), current_actor()
    )
    click.echo(
        f"job {job.id}: {decision} asked; its runner ({job.owner or 'the next resume'}) "
        "carries it out at its next poll"
    )


@command.command("accept-hostname")
@click.argument("job_id")
@click.pass_obj
def accept_hostname_command(ctx, job_id: str) -> None:
    """Hand a job over under the hostname its guest reports (it waits at ip_wait)."""
    _decide_hostname(ctx, job_id, "accept")


@command.command("fail-hostname")
@click.argument("job_id")
@click.pass_obj
def fail_hostname_command(ctx, job_id: str) -> None:
    """Fail a job waiting on its guest's hostname now, instead of at the end of the grace."""
    _decide_hostname(ctx, job_id, "fail")
