"""The run of a launched job: its steps with their times, the outcome, and the log.

From the moment ctrl+l is pressed the step in progress is marked and its elapsed time
ticks (the launch itself, which asks the engine, claims the order and stores the secrets,
is the `planned` step), so a slow engine never looks like a console that ignored the key.
Times of finished steps come from the runner's events; the ticking clock is the app's.
Log lines quote the engine and billing: the Log widget writes them as plain text.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Log, Static

from console.flow.eta import JobEta
from console.flow.plan import Plan
from console.store.states import JobState, Step
from console.tui.formatting import format_elapsed, theme_style
from console.tui.widgets.credentials import CredentialsPanel

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp

STEP_WORDS = {
    Step.PLANNED: "checks, claim, secrets",
    Step.CLONING: "clone from template",
    Step.CLONE_WAIT: "wait for disks",
    Step.RESIZING: "set CPU / RAM / disk",
    Step.INITIALIZING: "licenses + init",
    Step.STARTING: "start VM",
    Step.IP_WAIT: "wait for IP",
    Step.HANDOVER: "hand over to billing",
}
TICK_SECONDS = 1.0
TERMINAL = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class RunProgress(Vertical):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.order_id = ""
        self.plan: Plan | None = None
        self.state: str = JobState.PLANNED
        self.step_times: dict[str, float] = {}
        self.step_started: dict[str, float] = {}  # runner's elapsed at each step's start
        self.began_at: dict[str, datetime] = {}  # app clock at each step's start
        self.current_step: str | None = None
        self.eta: JobEta | None = None  # the running step's ETA, from the step history
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="steps")
        yield Static(id="notice")  # what the run waits on that a person can end now
        yield CredentialsPanel(id="outcome")
        yield Log(id="log", highlight=False, auto_scroll=True)

    @property
    def outcome(self) -> CredentialsPanel:
        return self.query_one(CredentialsPanel)

    def show_notice(self, text: str | None) -> None:
        notice = self.query_one("#notice", Static)
        notice.display = bool(text)
        notice.update(Text(text or "", style=theme_style(self.app, "warning", bold=True)))

    def write(self, line: str) -> None:
        self.query_one(Log).write_line(line)

    # ---- the clock ----------------------------------------------------------------------

    def begin(self, order_id: str, plan: Plan | None) -> None:
        """ctrl+l was pressed: the launch (the planned step) is under way from now."""
        self.order_id, self.plan = order_id, plan
        self.reset()
        self.current_step = Step.PLANNED
        self.began_at[Step.PLANNED] = self.app.context.now()
        self.state = JobState.PLANNED
        self._start_ticking()
        self.show()

    def reset(self) -> None:
        self.step_times.clear()
        self.step_started.clear()
        self.began_at.clear()
        self.eta = None
        self.outcome.clear()

    def resume(self) -> None:
        """A retry: the job goes on from its failed step, clock ticking again."""
        self.reset()
        self._start_ticking()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _start_ticking(self) -> None:
        self.stop()
        self._ticker = self.set_interval(TICK_SECONDS, self.show)

    def on_unmount(self) -> None:
        self.stop()

    # ---- the runner's events ------------------------------------------------------------

    def add_event(self, event: Any) -> None:
        # The runner reports time since the run began; a step's time is finish - start.
        now = self.app.context.now()
        if event.step and event.kind == "started":
            self.step_started[event.step] = event.elapsed_seconds
            self.began_at[event.step] = now
            self.current_step = event.step
            self.eta = self.read_eta(event.job_id)
        elif event.step and event.kind == "finished":
            if event.step in self.step_started:
                self.step_times[event.step] = event.elapsed_seconds - self.step_started[event.step]
            elif event.step in self.began_at:  # the launch: no runner clock yet
                self.step_times[event.step] = (now - self.began_at[event.step]).total_seconds()
        elif event.kind == "failed":
            self.current_step = event.step
        at = event.at.strftime("%H:%M:%S") if event.at else ""
        self.write(f"{at} {event.step or '':<12} {event.message}")
        self.show(event.state)

    def read_eta(self, job_id: str | None) -> JobEta | None:
        """The ETA as the step starts (one store read); the tick only moves its clock."""
        from console.flow.eta import job_eta
        from console.store.jobs import find_job

        store = self.app.context.store
        job = find_job(store, job_id) if job_id else None
        return job_eta(store, job, now=self.app.context.now()) if job is not None else None

    def show(self, state: str | None = None) -> None:
        if state is not None:
            self.state = state
        steps = tuple(Step)
        # The runner writes a failure as "failed(step)".
        current = (self.state or JobState.PLANNED).split("(")[0]
        if current == JobState.FAILED and "(" in self.state:
            self.current_step = self.state.split("(", 1)[1].rstrip(")")
        if current in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            self.stop()
        reached = (
            steps.index(Step(current))
            if current in steps
            else (len(steps) if current == JobState.DONE else -1)
        )
        plan = self.plan
        text = Text()
        text.append(
            f"Order #{self.order_id} -> {plan.vm_name if plan else ''} from "
            f"{plan.template_name if plan else ''}\n",
            style="bold",
        )
        now = self.app.context.now()
        for index, step in enumerate(steps):
            elapsed = self.step_times.get(step)
            if current == JobState.FAILED and step == self.current_step:
                mark, style = "[!]", theme_style(self.app, "error", bold=True)
            elif current == JobState.DONE or index < reached or step in self.step_times:
                mark, style = "[x]", theme_style(self.app, "success")
            elif index == reached:
                mark, style = "[>]", theme_style(self.app, "warning", bold=True)
                if step in self.began_at:  # in progress: its time ticks
                    elapsed = (now - self.began_at[step]).total_seconds()
            else:
                mark, style = "[ ]", theme_style(self.app, "text-muted")
            text.append(
                f"{mark} {step:<12} {STEP_WORDS[step]:<22} {format_elapsed(elapsed)}\n", style=style
            )
        running = self.current_step if current not in TERMINAL else None
        guess = self.eta.current if self.eta is not None else None
        if (
            self.eta is not None
            and guess is not None
            and guess.step == running
            and running in self.began_at
        ):
            in_step = (now - self.began_at[running]).total_seconds()
            for line in self.eta.at(in_step).lines():
                text.append(f"    {line}\n", style=theme_style(self.app, "text-muted"))
        self.query_one("#steps", Static).update(text)
