"""The bridge from the flow runner's progress callback (called on worker threads) to the
screens: every ProgressEvent becomes a JobProgress message delivered on the UI thread to
the screens that asked for it."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class JobProgress(Message):
    """A step of a job started, finished or failed (console.flow ProgressEvent inside)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class ProgressHub:
    """Owns the app's one Runner and fans its events out to listening screens."""

    def __init__(self, app) -> None:
        self.app = app
        self.listeners: set = set()
        self._runner = None

    @property
    def runner(self):
        if self._runner is None:
            self._runner = self.app.context.services.runner(on_event=self._on_event)
        return self._runner

    def _on_event(self, event: Any) -> None:
        # Runs on a worker thread: only post_message is safe here.
        for listener in list(self.listeners):
            listener.post_message(JobProgress(event))

    def listen(self, screen) -> None:
        self.listeners.add(screen)

    def forget(self, screen) -> None:
        self.listeners.discard(screen)
