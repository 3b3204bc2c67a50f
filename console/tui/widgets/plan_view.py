"""The plan as a diff against the order, and the preflight's checks, under the form.

The diff and the check marks are the flow's (console.flow.plan.plan_diff,
console.flow.preflight.CHECK_MARKS), so the console and the CLI say the same thing. All
text is built as rich Text: order values and engine messages are never read as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from console.flow.plan import Draft, plan_diff
from console.flow.preflight import CHECK_MARKS
from console.store.models import Order
from console.tui.formatting import theme_style


class PlanView(Static):
    def show(
        self,
        draft: Draft | None,
        order: Order | None,
        checks: list[Any],
        preflight_error: str | None,
        *,
        retry_from: str | None = None,
    ) -> None:
        if draft is None:
            self.update("")
            return
        plan = draft.plan
        error = theme_style(self.app, "error")
        warn = theme_style(self.app, "warning")
        good = theme_style(self.app, "success")
        text = Text()
        text.append("Plan\n", style="bold")
        if plan is not None:
            text.append(
                f"+ clone {plan.template_name} v{plan.template_version} -> "
                f"{plan.vm_name} on {plan.engine}/{plan.cluster}\n",
                style=good,
            )
            if order is not None:
                diff = plan_diff(order, plan)
                for change in diff.changed:
                    text.append(f"~ {change} (changed from the order)\n", style=warn)
                if diff.as_ordered:
                    text.append(f"  {', '.join(diff.as_ordered)} as ordered\n")
            text.append(f"  {plan.hostname}, {plan.init_kind} as {plan.admin_user}\n")
            if plan.license_kinds:
                text.append(f"+ licenses: {', '.join(plan.license_kinds)}\n", style=good)
        if draft.problems:
            text.append(
                f"{len(draft.problems)} problem(s) above must be fixed before launch\n", style=error
            )
        elif retry_from:
            text.append(f"retry: the job goes on from {retry_from} with its VM\n", style=good)
        elif preflight_error:
            text.append(f"preflight could not reach the engine: {preflight_error}\n", style=error)
        elif not checks:
            text.append(
                "preflight: checking with the engine...\n",
                style=theme_style(self.app, "text-muted"),
            )
        else:
            for check in checks:
                style = {"ok": good, "warn": warn, "fail": error}.get(check.level)
                text.append(
                    f"{CHECK_MARKS.get(check.level, check.level)} {check.name}: {check.message}",
                    style=style,
                )
                if check.fix and check.level != "ok":
                    text.append(f"  fix: {check.fix}")
                text.append("\n")
        text.append("ctrl+l retries" if retry_from else "ctrl+l launches", style="bold")
        self.update(text)
