"""The console as an engineer runs it: the installed command in a real terminal (tmux).

`vps-console demo` with no set-up: an order found with the filter is provisioned and handed
over with `p` and `ctrl+l`, and `ctrl+q` ends it with exit code 0. Plain `vps-console` on a
config written by `vps-console sim --write-config`, the secrets in the environment as the
README says: connected to the engine and billing, the order queue filled from WHMCS."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (.ci/run installs it)"),
]

VPS_CONSOLE = Path(sys.executable).with_name("vps-console")


class Terminal:
    def __init__(self, socket: str, env: dict[str, str]):
        self.socket, self.env = socket, env

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

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


def user_env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HOME": str(home),
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    env.pop("VPS_CONSOLE_CONFIG", None)
    return env


def open_terminal(env: dict[str, str], command: str, done: Path):
    socket = f"vpsc-{uuid.uuid4().hex[:8]}"
    term = Terminal(socket, env)
    term.tmux(
        "new-session",
        "-d",
        "-s",
        "demo",
        "-x",
        "120",
        "-y",
        "36",
        f"{command}; echo $? > {done}; sleep 30",
    )
    return term


def close_terminal(term: Terminal) -> None:
    subprocess.run(["tmux", "-L", term.socket, "kill-server"], env=term.env, capture_output=True)


@pytest.fixture
def terminal(tmp_path):
    done = tmp_path / "exit-code"
    term = open_terminal(
        user_env(tmp_path), f"{VPS_CONSOLE} demo --time-scale 0.05 --orders 12 --no-mouse", done
    )
    try:
        yield term, done
    finally:
        close_terminal(term)


def wait_for_exit(term: Terminal, done: Path) -> str:
    deadline = time.monotonic() + 20
    while not done.exists():
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.2)
    return done.read_text().strip()


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
    assert wait_for_exit(term, done) == "0"


def test_vps_console_opens_on_a_config_written_by_sim_with_secrets_from_the_environment(tmp_path):
    env = user_env(tmp_path)
    config = tmp_path / "console.toml"
    sim = subprocess.Popen(
        [
            str(VPS_CONSOLE),
            "sim",
            "--port",
            "0",
            "--json",
            "--orders",
            "6",
            "--vms",
            "20",
            "--write-config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    term = None
    try:
        facts = json.loads(sim.stdout.readline())
        env = {
            **env,
            "VPS_CONSOLE_ENGINE_PASSWORD": facts["password"],
            "VPS_CONSOLE_BILLING_SECRET": facts["secret"],
            "VPS_CONSOLE_KEYRING_PASSPHRASE": "terminal test passphrase",
        }
        done = tmp_path / "exit-code"
        term = open_terminal(env, f"{VPS_CONSOLE} --config {config}", done)
        term.wait_for("connected")
        term.wait_for("billing ok")
        # The queue then holds the simulated WHMCS's paid orders (on its next read of the
        # store): a status word in a row, not a word of the empty queue's hint.
        term.wait_for("  new")
        term.keys("2")
        assert "alma9-cpanel" in term.wait_for("alma9-cpanel")
        term.keys("C-q")
        assert wait_for_exit(term, done) == "0"
        assert facts["password"] not in config.read_text()
    finally:
        if term is not None:
            close_terminal(term)
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)
