"""The Templates screen flags stale templates by upkeep's one rule, the one `templates list`
and doctor apply (console.flow.upkeep.policy.staleness): the screen and the CLI never
disagree, at the edge of max_age_days included."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from console.flow.upkeep.policy import staleness
from console.tui.app import ConsoleApp
from tests.showcase.world import FIXED_TEMPLATES, FROZEN_NOW, FixedEngine, showcase_context
from tests.tui.helpers import settle, table_keys
from tests.tui.test_layout_80x24 import lines

EDGE = FIXED_TEMPLATES[2]  # alma9-cpanel v3; max_age_days is 30 (the default)


async def test_screen_and_upkeep_agree_on_what_is_stale(store):
    templates = [
        # 30 days and 20 hours: 30 whole days, not more than 30.
        replace(EDGE, created_at=FROZEN_NOW - timedelta(days=30, hours=20)),
        replace(
            EDGE, id="t-ubu-9", name="ubuntu2204-plesk", created_at=FROZEN_NOW - timedelta(days=31)
        ),
        replace(
            EDGE, id="t-c7-9", name="centos7-cpanel", created_at=FROZEN_NOW - timedelta(days=2)
        ),
    ]
    context = showcase_context(store, engine=FixedEngine(templates=templates))
    judged = {s.template: s.stale for s in staleness(context.config, templates, FROZEN_NOW)}
    assert judged == {"alma9-cpanel": False, "ubuntu2204-plesk": True, "centos7-cpanel": False}
    app = ConsoleApp(context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert sorted(table_keys(app, "#templates")) == ["t-alma-3", "t-c7-9", "t-ubu-9"]
        shown = "\n".join(lines(app))
        assert "3 templates, 1 stale" in shown, shown
        stale_rows = [line for line in lines(app) if "STALE" in line]
        assert len(stale_rows) == 1 and "ubuntu2204-plesk" in stale_rows[0], stale_rows
