"""Every screen and every step of the flow, at 80x24 and 160x48, against stored SVGs.

The scenes are the ones `python -m tests.showcase.screenshots` renders for the README, on
the fixed showcase world (seeded queue, fixed engine, frozen clock). After an intended
change of look, refresh with `pytest tests/tui/test_snapshots.py --snapshot-update` and
review the SVG diff.
"""

from __future__ import annotations

import pytest

from tests.showcase.screenshots import SCENES, SIZES, showcase_app


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("scene", SCENES)
def test_screen_looks_as_approved(scene, size, snap_compare, tmp_path):
    from console.store.db import open_store

    store = open_store(f"sqlite:///{tmp_path / 'showcase.db'}")
    try:
        assert snap_compare(showcase_app(store), terminal_size=size, run_before=SCENES[scene])
    finally:
        store.close()
