"""The intake keys: `on_paid` per product (a closed set, default queue) and the engines'
`max_clones_per_storage_domain` (default 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ConfigError, IntakePolicy, parse_config

BASE = """
[[engines]]
name = "a"
url = "https://engine.example.net/ovirt-engine/api"
{engine}
[[catalog.products]]
billing_product = "VPS"
template = "alma9"
{product}
"""


def parse(engine: str = "", product: str = ""):
    return parse_config(BASE.format(engine=engine, product=product), Path("config.toml"))


def test_defaults_keep_todays_queue_and_two_clones_per_domain():
    config = parse()
    assert config.catalog.products[0].on_paid is IntakePolicy.QUEUE
    assert config.engines[0].max_clones_per_storage_domain == 2


def test_policies_and_limit_are_read():
    config = parse("max_clones_per_storage_domain = 3", 'on_paid = "preclone"')
    assert config.catalog.products[0].on_paid is IntakePolicy.PRECLONE
    assert config.engines[0].max_clones_per_storage_domain == 3


def test_a_misspelt_policy_names_the_line_the_key_and_the_choices():
    with pytest.raises(ConfigError) as caught:
        parse(product='on_paid = "prelcone"')
    message = caught.value.message
    assert "line 9" in message and "catalog.products[0].on_paid" in message
    assert "'queue', 'preclone' or 'provision'" in message


def test_a_limit_below_one_is_refused():
    with pytest.raises(ConfigError, match="max_clones_per_storage_domain"):
        parse("max_clones_per_storage_domain = 0")
