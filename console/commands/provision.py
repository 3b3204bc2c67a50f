"""`vps-console provision ORDER_ID`: plan, preflight, launch and (by default) run to the end.

Exit codes: 0 done (or launched with --no-wait), 1 failed, 2 bad input, blocked preflight
or a secret store that would not keep the job's secrets.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click

from console.billing.mapping import mapping_for_order
from console.commands._secret_store import cli_secret_store
from console.errors import BadInput, ConsoleError
from console.flow import batch, intake, parking, vault
from console.flow.events import ProgressEvent
from console.flow.licenses import KIND_LABELS
from console.flow.plan import Overrides, draft_plan, resource_changes
from console.flow.preflight import CHECK_MARKS, Check
from console.flow.runner import PreflightBlocked
from console.flow.services import Services
from console.flow.upkeep.refresh import RefreshEvent
from console.secrets import require_kept
from console.store.orders import get_order
from console.store.states import JobState
from console.units import SIZE_HINT, SizeError, parse_gib, parse_memory


class ProgressPrinter:
    """Renders the runner's events: one live line per step on a TTY, plain lines otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.open_line = False

    def __call__(self, event: ProgressEvent | RefreshEvent) -> None:
        line = event.line()
        if self.live and event.kind == "started":
            self.stream.write("\r\033[K" + line)
            self.open_line = True
        else:
            self.stream.write(("\r\033[K" if self.live and self.open_line else "") + line + "\n")
            self.open_line = False
        self.stream.flush()


def services_for(ctx) -> Services:
    services = getattr(ctx, "_flow_services", None)
    if services is None:
        services = Services(ctx.config, ctx.store, cli_secret_store(ctx))
        ctx._flow_services = services
    return services


def finish(job) -> None:
    """Print the outcome of a run and exit with its code."""
    if job.state == JobState.DONE:
        click.echo(f"job {job.id}: done — {job.vm_name} at {', '.join(job.ips)}")
        sys.exit(0)
    if job.state == JobState.FAILED:
        click.echo(f"job {job.id}: failed({job.failed_step}): {job.error_message}", err=True)
        if job.error_hint:
            click.echo(f"hint: {job.error_hint}", err=True)
        click.echo(f"then: vps-console jobs retry {job.id}   (or jobs cancel {job.id})", err=True)
        sys.exit(1)
    if job.state == JobState.CANCELLED:
        # Nothing was provisioned: a script must not take this for a server handed over.
        click.echo(f"job {job.id}: cancelled; order {job.order_id} is back in the queue", err=True)
        sys.exit(1)
    click.echo(f"job {job.id}: {job.state}")
    sys.exit(1)


def _template_option(value: str | None) -> tuple[str | None, int | None]:
    if not value:
        return None, None
    name, _, version = value.partition(":")
    if version and not version.isdigit():
        raise BadInput(
            f"--template {value}: the version must be a number",
            "write NAME or NAME:VERSION, e.g. alma9-cpanel:3",
        )
    return name, int(version) if version else None


def read_licenses(values: tuple[str, ...]) -> dict[str, str]:
    licenses: dict[str, str] = {}
    stdin_used = False
    for item in values:
        kind, sep, source = item.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in KIND_LABELS or not source:
            raise BadInput(
                f"--license {item}: expected KIND=@FILE or KIND=- with KIND one of "
                + ", ".join(KIND_LABELS),
                "e.g. --license windows=@key.txt",
            )
        if source == "-":
            if stdin_used:
                raise BadInput(
                    "only one --license can read stdin (KIND=-)",
                    "put the other keys in files: KIND=@FILE",
                )
            stdin_used = True
            value = sys.stdin.readline()
        elif source.startswith("@"):
            try:
                value = Path(source[1:]).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise BadInput(
                    f"--license {kind}: cannot read {source[1:]}: {exc.strerror}",
                    "give a readable file holding only the key",
                ) from None
        else:
            # A key on the command line ends up in shell history and `ps`: refuse it.
            raise BadInput(
                f"--license {kind}: pass the key from a file (@FILE) or stdin (-), "
                "never on the command line",
                f"e.g. --license {kind}=@key.txt",
            )
        licenses[kind] = value.strip()
    return licenses


def _size(option: str, value: str | None, parse):
    if value is None:
        return None
    try:
        return parse(value)
    except SizeError as exc:
        raise BadInput(f"{option}: {exc}", f"e.g. {option} 4GiB ({SIZE_HINT})") from None


def print_checks(checks) -> None:
    for check in checks:
        click.echo(f"  [{CHECK_MARKS[check.level]}] {check.name:<16} {check.message}")
        if check.level != "ok" and check.fix:
            click.echo(f"  {'':23}fix: {check.fix}")


def _launch(runner, order_id: str, plan, keys: dict[str, str], yes: bool):
    """Launch, asking on a terminal whether to go on despite preflight warnings."""
    try:
        job = runner.launch(order_id, plan, keys, confirm_warnings=yes)
    except PreflightBlocked as blocked:
        click.echo("preflight:")
        print_checks(blocked.checks)
        only_warnings = all(c.level != "fail" for c in blocked.checks)
        if not (
            only_warnings
            and sys.stdin.isatty()
            and click.confirm("launch despite these warnings?", default=False)
        ):
            raise
        return runner.launch(order_id, plan, keys, confirm_warnings=True)
    # What the preflight found, also when nothing stood in the way.
    click.echo("preflight:")
    print_checks([Check(**check) for check in job.preflight_checks])
    return job


# Jobs run at once by `provision ID ID …`, `jobs resume` and `worker`.
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=batch.DEFAULT_CONCURRENCY,
    show_default=True,
    help="Jobs run at once (clones still wait for their storage domain's slots).",
)


@click.command("provision")
@click.argument("order_ids", nargs=-1, metavar="ORDER_ID...")
@click.option(
    "--all-ready",
    is_flag=True,
    help="Every order whose plan needs no input: pre-cloned ones and new ones.",
)
@concurrency_option
@click.option("--template", "template", metavar="NAME[:VERSION]", help="Template (and version).")
@click.option("--cluster", metavar="NAME", help="Cluster to create the VM in.")
@click.option("--cpus", type=click.IntRange(1, 256), help="vCPUs.")
@click.option(
    "--memory", metavar="SIZE", help="Memory, e.g. 4GiB or 4096MiB; a bare number is GiB."
)
@click.option(
    "--guaranteed-memory",
    metavar="SIZE",
    help="Guaranteed memory (default: all); a bare number is GiB.",
)
@click.option(
    "--disk", metavar="SIZE", help="Disk size, e.g. 80GiB (only grows); a bare number is GiB."
)
@click.option("--hostname", metavar="FQDN", help="Guest host name.")
@click.option("--ssh-key", "ssh_keys", multiple=True, metavar="KEY", help="SSH public key.")
@click.option(
    "--license",
    "licenses",
    multiple=True,
    metavar="KIND=@FILE|KIND=-",
    help="License key from a file or stdin (windows, mssql, plesk).",
)
@click.option("--yes", is_flag=True, help="Confirm preflight warnings.")
@click.option("--no-wait", is_flag=True, help="Launch and return; run it with `jobs resume`.")
@click.pass_obj
def command(
    ctx,
    order_ids,
    all_ready,
    concurrency,
    template,
    cluster,
    cpus,
    memory,
    guaranteed_memory,
    disk,
    hostname,
    ssh_keys,
    licenses,
    yes,
    no_wait,
) -> None:
    """Provision ORDER_ID: plan, preflight, clone, resize, boot, IP, handover.

    Several ORDER_IDs (or --all-ready) are launched together from their orders' own
    plans (no overrides, keys from the vault) and run at once."""
    services = services_for(ctx)
    # Before anything else: a job whose secrets die with this process cannot be resumed.
    require_kept(services.secrets, resumed_elsewhere=no_wait)
    overridden = [
        name
        for name, value in (
            ("--template", template),
            ("--cluster", cluster),
            ("--cpus", cpus),
            ("--memory", memory),
            ("--guaranteed-memory", guaranteed_memory),
            ("--disk", disk),
            ("--hostname", hostname),
            ("--ssh-key", ssh_keys),
            ("--license", licenses),
        )
        if value
    ]
    if all_ready or len(order_ids) != 1:
        if not order_ids and not all_ready:
            raise BadInput("no order given", "vps-console provision ORDER_ID… or --all-ready")
        if overridden:
            raise BadInput(
                f"{', '.join(overridden)} apply to one order, not to a bulk launch",
                "provision that order on its own with them, the others in bulk",
            )
        bulk_provision(services, list(order_ids), all_ready, yes, no_wait, concurrency)
        return
    order_id = order_ids[0]
    order = get_order(services.store, order_id)
    if order is None:
        raise BadInput(
            f"no order {order_id} in the store",
            "sync billing (vps-console orders sync) or add it (vps-console orders add)",
        )
    name, version = _template_option(template)
    overrides = Overrides(
        template=name,
        version=version,
        cluster=cluster,
        cpus=cpus,
        memory_mib=_size("--memory", memory, parse_memory),
        guaranteed_mib=_size("--guaranteed-memory", guaranteed_memory, parse_memory),
        disk_gib=_size("--disk", disk, parse_gib),
        hostname=hostname,
        ssh_keys=tuple(ssh_keys),
    )
    pasted = read_licenses(licenses)
    engine = services.engine()
    if not engine.tls_verified and engine.config.url.startswith("https"):
        click.echo("warning: TLS verification of the engine is OFF (insecure = true)", err=True)
    product = mapping_for_order(ctx.config.catalog, order)
    draft = draft_plan(
        order, product, engine.list_templates(), ctx.config, overrides, clusters=engine.clusters()
    )
    if draft.problems or draft.plan is None:
        click.echo(f"order {order_id} cannot be planned:", err=True)
        for problem in draft.problems:
            click.echo(f"  {problem.field}: {problem.message}\n    fix: {problem.fix}", err=True)
        if draft.recommended_templates:
            click.echo(
                "  templates: " + ", ".join(t.label for t in draft.recommended_templates[:6]),
                err=True,
            )
        sys.exit(2)
    plan = draft.plan
    # Kinds without --license come from the license vault (reserved to this order).
    keys = vault.keys_for_launch(
        services.store, services.secrets, order_id, plan.key_kinds, pasted, actor=services.actor
    )
    from_vault = vault.reserved_for(services.store, order_id)
    click.echo(f"plan for order {order_id}:")
    for label, value in plan.summary():
        if label != "licenses":
            click.echo(f"  {label:<15} {value}")
    for kind in plan.license_kinds:
        held = from_vault.get(kind)
        given = (
            f"from the vault ({held.masked})"
            if held is not None and kind not in pasted
            else "given"
            if keys.get(kind)
            else "licensed by IP, no key"
            if kind == "cpanel"
            else "MISSING"
        )
        click.echo(f"  {'license':<15} {KIND_LABELS[kind]}: {given}")
    for change in resource_changes(order, plan):
        click.echo(f"  {'changed':<15} {change} (from the order)")
    runner = services.runner(on_event=ProgressPrinter())
    parking.wait_if_copying(
        runner,
        order_id,
        plan.disk_gib,
        partial(
            click.echo, f"order {order_id} is being pre-cloned: waiting for its copy to finish"
        ),
    )
    try:
        job = _launch(runner, order_id, plan, keys, yes)
    except BaseException:
        # Not launched: the keys the vault set aside for this order go back to stock.
        vault.on_draft_abandoned(services.store, order_id, actor=services.actor)
        raise
    click.echo(f"job {job.id} launched for order {order_id}")
    if no_wait:
        click.echo(f"run it with: vps-console jobs resume   (show: vps-console jobs show {job.id})")
        return
    finish(runner.run(job.id))


def bulk_provision(
    services: Services,
    order_ids: list[str],
    all_ready: bool,
    yes: bool,
    no_wait: bool,
    concurrency: int,
) -> None:
    """Launch several orders from their own plans, then run the jobs together."""
    runner = services.runner(on_event=ProgressPrinter())
    if all_ready:
        ready, left = intake.all_ready(runner)
        ready = [r for r in ready if not order_ids or r.order.id in order_ids]
    else:
        orders = []
        for order_id in order_ids:
            order = get_order(services.store, order_id)
            if order is None:
                raise BadInput(f"no order {order_id} in the store", "see vps-console orders list")
            orders.append(order)
        ready, left = [], []
        for order, draft in intake.drafts(runner, orders):
            outcome = intake.complete_plan(runner, order, draft)
            if isinstance(outcome, intake.Ready):
                ready.append(outcome)
            else:
                left.append((order.id, outcome))
    for order_id, why in left:
        click.echo(f"order {order_id}: left out, needs an engineer: {why}", err=True)
    jobs = []
    for item in ready:
        order_id = item.order.id
        try:
            parking.wait_if_copying(
                runner,
                order_id,
                item.plan.disk_gib,
                partial(click.echo, f"order {order_id} is being pre-cloned: waiting for its copy"),
            )
            job = runner.launch(order_id, item.plan, item.keys, confirm_warnings=yes)
        except ConsoleError as error:
            vault.on_draft_abandoned(services.store, order_id, actor=services.actor)
            click.echo(f"order {order_id}: not launched: {error.message}", err=True)
            if error.hint:
                click.echo(f"  hint: {error.hint}", err=True)
            left.append((order_id, error.message))
            continue
        click.echo(f"job {job.id} launched for order {order_id} ({job.state})")
        jobs.append(job.id)
    # --all-ready leaves out what needs an engineer on purpose; named orders left out fail.
    refused = bool(left) and not all_ready
    if not jobs:
        click.echo("nothing launched", err=True)
        sys.exit(2 if refused else 0)
    if no_wait:
        click.echo("run them with: vps-console jobs resume")
        sys.exit(2 if refused else 0)
    result = batch.run_jobs(runner, jobs, concurrency=concurrency)
    for job in result.finished:
        click.echo(f"job {job.id} (order {job.order_id}): {job.state}")
    for job_id, why in result.skipped:
        click.echo(f"job {job_id}: not run here: {why}", err=True)
    sys.exit(1 if not result.all_done else 2 if refused else 0)
