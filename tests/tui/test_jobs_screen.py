"""The Jobs / Activity screen: failed jobs first, and the audit trail behind `a`."""

from __future__ import annotations

from console.tui.app import ConsoleApp
from console.tui.screens.jobs import JobsScreen
from tests.tui.helpers import settle, table_keys


def detail(app) -> str:
    return str(app.screen.query_one("#job-detail").render())


async def test_activity_shows_who_did_what_and_follows_the_filter(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert table_keys(app, "#jobs")[0] == "job-0006-bbbb"  # failed first
        assert "no host that satisfies" in detail(app)

        await pilot.press("a")
        trail = detail(app)
        assert "vm_stop" in trail and "ann@jump2" in trail and "#0977" in trail
        assert trail.index("launch") < trail.index("license_given")  # newest first
        assert "activity 8" in str(app.screen.query_one("#job-detail-box").border_title)

        await pilot.press("slash", *"jump2", "enter")
        narrowed = detail(app)
        assert "vm_stop" in narrowed and "ops@jump1" not in narrowed

        await pilot.press("a")
        assert "no job matches 'jump2'" in detail(app)
        await pilot.press("slash", "escape")
        assert "job job-0006-bbbb" in detail(app)
        assert "vm_stop" not in detail(app)
