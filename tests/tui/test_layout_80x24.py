"""The console at 80x24 (and 160x48 where the layout differs), as the engineer sees it: what
matters stays in view, errors are never cut, no key leads nowhere. Every assertion reads the
rendered screen, not a widget's attributes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.secrets import MemorySecretStore
from console.tui.app import ConsoleApp
from tests.tui.helpers import screen_text, settle

LOST_REASON = ("cannot reach the engine at https://engine.example.net/ovirt-engine/api: "
               "connection refused; check the URL and that the engine is up")


def lines(app) -> list[str]:
    return screen_text(app).splitlines()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_header_keeps_engine_billing_secrets_and_user_at_any_width(frozen_context,
                                                                             size):
    app = ConsoleApp(replace(frozen_context, secrets=MemorySecretStore()))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        reason = LOST_REASON if size[0] == 80 else "connection refused"
        app.report_engine(False, reason)
        app.report_billing(False, "WHMCS did not answer")
        await pilot.pause()
        header = lines(app)[0]
        assert "lab" in header and f"LOST: {reason[:20]}" in header, header
        assert "STALE" in header, header
        assert "memory" in header and ("UNSAVED" in header or "(not saved)" in header), header
        assert "tester@ci" in header, header
        if size[0] == 80:
            assert len(header.rstrip()) <= 80 and "~" in header  # the reason, cut to fit
        else:
            # Room enough: the long forms, the whole reason.
            assert "LOST: connection refused" in header and "billing STALE" in header
            assert "secrets: memory (not saved)" in header and "14:30 UTC" in header
