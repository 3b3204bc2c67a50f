"""`vps-console audit`: who did what, when, to which order or job.

Reads the audit trail (console.store.audit.entries), newest first. Values in it are masked
by whoever recorded them; output is passed through the redactor once more anyway, since
this is the one place that prints the trail wholesale.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from console.errors import BadInput
from console.redaction import redact
from console.store import audit
from console.store.models import ensure_aware

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`2h`, `30m`, `7d`, `1w` (ago), or a local date/time such as `2026-11-01` or
    `2026-11-01 14:30`; returned in UTC."""
    now = now or datetime.now(UTC)
    text = text.strip()
    relative = _RELATIVE.match(text.lower())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"--since {text!r} is neither a duration nor a date",
            "use e.g. --since 2h, --since 3d or --since 2026-11-01",
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time typed by the engineer is in their local zone
    return moment.astimezone(UTC)


def entry_dict(event) -> dict:
    return {
        "at": ensure_aware(event.at).isoformat(),
        "action": event.step,
        "actor": event.actor,
        "order_id": event.order_id,
        "job_id": event.job_id,
        "message": redact(event.message or ""),
        "data": json.loads(redact(json.dumps(event.data or {}, default=str))),
    }


def _line(entry: dict) -> str:
    local = datetime.fromisoformat(entry["at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    where = (
        " ".join(
            part
            for part in (
                f"order {entry['order_id']}" if entry["order_id"] else "",
                f"job {entry['job_id']}" if entry["job_id"] else "",
            )
            if part
        )
        or "-"
    )
    return f"{local}  {entry['actor']:<20} {entry['action']:<22} {where:<24} {entry['message']}"


@click.command("audit")
@click.option("--since", metavar="WHEN", help="Only newer entries: 2h, 30m, 7d, or 2026-11-01.")
@click.option("--order", "order_id", metavar="ID", help="Only this order.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@click.pass_obj
def command(ctx, since: str | None, order_id: str | None, limit: int | None, as_json: bool) -> None:
    """Show the audit trail: claims, launches, changes, licenses (masked), handovers, …"""
    since_at = parse_since(since) if since else None
    with ctx.store.session() as session:
        found = [
            entry_dict(event)
            for event in audit.entries(session, since=since_at, order_id=order_id, limit=limit)
        ]
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no audit entries" + (" for that filter" if since or order_id else ""))
        return
    for entry in found:
        click.echo(_line(entry))
