"""The header says where the secrets are kept, and an unverified engine keeps a red line in
view on every screen (a toast would be gone before anyone read it)."""

from __future__ import annotations

from dataclasses import replace

from console.secrets import BackendInfo, MemorySecretStore
from console.tui.app import ConsoleApp
from console.tui.launch import screen_banner
from tests.showcase.world import make_config
from tests.tui.helpers import settle


def header_lines(app) -> list[str]:
    return str(app.screen.query_one("StatusHeader").render()).splitlines()


async def test_an_unverified_engine_keeps_a_red_line_on_every_screen(frozen_context):
    config = make_config(
        engines=[
            {
                "name": "lab",
                "url": "https://lab.example.net/ovirt-engine/api",
                "insecure": True,
                "insecure_acknowledged": True,
            }
        ]
    )
    banner = screen_banner(config)
    assert banner and "TLS NOT VERIFIED" in banner and "ca_file" in banner
    app = ConsoleApp(replace(frozen_context, banner=banner))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for key in ("1", "2", "3", "4"):
            await pilot.press(key)
            await settle(pilot)
            lines = header_lines(app)
            assert len(lines) == 2 and "TLS NOT VERIFIED for engine lab" in lines[1], lines
            assert app.screen.query_one("StatusHeader").size.height == 2


async def test_a_verified_engine_has_a_one_line_header(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert len(header_lines(app)) == 1
        assert app.screen.query_one("StatusHeader").size.height == 1


async def test_the_header_names_the_secrets_backend_and_warns_when_nothing_is_saved(frozen_context):
    saved = MemorySecretStore(
        BackendInfo(name="encrypted file", persistent=True, reason="no desktop keyring over SSH")
    )
    app = ConsoleApp(replace(frozen_context, secrets=saved))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        line = header_lines(app)[0]
        assert "secrets: encrypted file" in line and "not saved" not in line

    app = ConsoleApp(replace(frozen_context, secrets=MemorySecretStore()))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        assert "secrets: memory (not saved)" in header_lines(app)[0]


async def test_help_says_why_the_secrets_backend_was_chosen(frozen_context):
    saved = MemorySecretStore(
        BackendInfo(name="encrypted file", persistent=True, reason="no desktop keyring over SSH")
    )
    app = ConsoleApp(replace(frozen_context, secrets=saved))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text").render())
        assert "Secrets: encrypted file (no desktop keyring over SSH)" in text
