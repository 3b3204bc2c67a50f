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


async def test_the_queue_marks_orders_whose_template_is_stale(store):
    # The showcase's catalog, as last read from the engine: ubuntu2204-plesk v1 is 120 days
    # old (max 30), alma9-cpanel v3 10 days, win2022-plesk v2 25 days.
    app = ConsoleApp(showcase_context(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rows = {line.split()[0]: line for line in lines(app)[3:9]}
        assert "!ubuntu2204-" in rows["1003"], rows["1003"]  # VPS Linux Plesk
        for order in ("1001", "1002", "1005", "1006"):
            assert "!" not in rows[order].split("G ", 1)[1], rows[order]
        assert app.screen.query_one("#orders").selected_key == "1003"
        shown = " ".join("\n".join(lines(app)).split())  # the detail wraps at 80 columns
        stale = "ubuntu2204-plesk STALE: v1 sealed 120 days ago (max 30); 2, f refreshes it"
        assert stale in shown, shown
        await pilot.press("down")  # 1006: win2022-plesk, not stale
        await settle(pilot)
        assert "STALE" not in "\n".join(lines(app)[10:16])
