"""The end of a run: the credentials panel (shown once here, never logged), or why the job
failed with its hint, or that it was cancelled. Job errors quote the engine and billing,
so everything is plain Text, never markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.store.models import Job
from console.tui.formatting import theme_style


class CredentialsPanel(Static):
    def clear(self) -> None:
        self.update("")

    def show_done(self, job: Job, user: str, password: str | None) -> None:
        ips = ", ".join(job.ips or []) or "-"
        text = Text()
        text.append(
            "VM up and handed over to billing\n", style=theme_style(self.app, "success", bold=True)
        )
        text.append(f"  vm        {job.vm_name}\n  ip        {ips}\n  user      {user}\n")
        text.append(f"  password  {password or '(not shown again)'}\n", style="bold")
        text.append(
            "y copies ip/user/password (OSC 52); they are shown only here and "
            "never logged. esc: back to the queue",
            style=theme_style(self.app, "text-muted"),
        )
        self.update(text)

    def show_failed(self, step: str | None, message: str, hint: str | None) -> None:
        text = Text()
        text.append(
            f"FAILED at {step or '?'}: {message}\n", style=theme_style(self.app, "error", bold=True)
        )
        if hint:
            text.append(f"hint: {hint}\n")
        text.append(
            "r retries from that step, c cancels (removes only a VM this job "
            "created), esc goes back",
            style=theme_style(self.app, "text-muted"),
        )
        self.update(text)

    def show_cancelled(self) -> None:
        text = Text()
        text.append("cancelled", style=theme_style(self.app, "text-muted"))
        text.append("; esc goes back to the queue")
        self.update(text)
