"""`vps-console demo` as an engineer runs it: the installed command in a real terminal
(tmux), with no set-up; an order found with the filter is provisioned and handed over with
`p` and `ctrl+l`, and `ctrl+q` ends it with exit code 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None,
                                 reason="needs tmux (.ci/run installs it)")]

VPS_CONSOLE = Path(sys.executable).with_name("vps-console")


class Terminal:
    def __init__(self, socket: str, env: dict[str, str]):
        self.socket, self.env = socket, env

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def wait_for(self, text: str, seconds: float = 60.0) -> str:
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            assert time.monotonic() < deadline, f"{text!r} never appeared; the screen:\n{screen}"
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "demo", *keys)
        time.sleep(0.3)  # a person's pace: focus moves between one key and the next


@pytest.fixture
def terminal(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm-256color",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("VPS_CONSOLE_CONFIG", None)
    socket = f"vpsc-{uuid.uuid4().hex[:8]}"
    term = Terminal(socket, env)
    done = tmp_path / "exit-code"
    term.tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "36",
              f"{VPS_CONSOLE} demo --time-scale 0.05 --orders 12 --no-mouse; "
              f"echo $? > {done}; sleep 30")
    try:
        yield term, done
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], env=env, capture_output=True)


def test_demo_provisions_a_filtered_order_with_two_keys_and_quits_cleanly(terminal):
    term, done = terminal
    screen = term.wait_for("connected")  # the embedded engine answered
    assert "billing ok" in term.wait_for("billing ok")
    assert "Order" in screen and "Provision" in screen
    term.keys("/")
    term.keys("-l", "Bare")  # bare Linux needs no key
    term.keys("Enter")
    term.keys("p")
    term.wait_for("ctrl+l launches")
    term.keys("C-l")
    screen = term.wait_for("handed over to billing", seconds=90)
    assert "password" in screen and "ip " in screen
    term.keys("Escape")
    term.wait_for("Provision")
    term.keys("C-q")
    deadline = time.monotonic() + 20
    while not done.exists():
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.2)
    assert done.read_text().strip() == "0"
