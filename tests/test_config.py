"""Every configuration mistake gets one clear message: file, line, key, the fix; exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.cli import main
from console.config import load_config

ENGINE = """
[[engines]]
name = "prod"
url = "https://engine.example.net/ovirt-engine/api"
"""


def run_check(tmp_path: Path, text: str | None, *, name: str = "config.toml"):
    path = tmp_path / name
    if text is not None:
        path.write_text(textwrap.dedent(text))
    result = CliRunner().invoke(main, ["--config", str(path), "check-config"])
    return result, path


def assert_explained(result, path: Path, *needles: str, line: int | None = None) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(path) in result.output
    if line is not None:
        assert f"line {line}:" in result.output
    for needle in needles:
        assert needle in result.output, f"{needle!r} not in {result.output!r}"


def test_missing_file_points_to_example_and_demo(tmp_path):
    result, path = run_check(tmp_path, None)
    assert_explained(
        result, path, "no configuration file", "config.example.toml", "vps-console demo"
    )


def test_toml_syntax_error_names_the_line(tmp_path):
    result, path = run_check(tmp_path, ENGINE + 'cluster = "prod-a\n')
    assert_explained(result, path, "not valid TOML", "Check quotes, brackets", line=5)


def test_unknown_key_suggests_the_right_one(tmp_path):
    result, path = run_check(tmp_path, ENGINE + 'clustr = "prod-a"\n')
    assert_explained(
        result, path, "engines[0].clustr", "unknown key", "Did you mean 'cluster'?", line=5
    )


def test_unknown_key_in_a_later_table_points_at_its_line(tmp_path):
    result, path = run_check(tmp_path, ENGINE + "\n[ui]\nrefresh_second = 3\n")
    assert_explained(result, path, "ui.refresh_second", "Did you mean 'refresh_seconds'?", line=7)


def test_wrong_type_says_what_was_expected(tmp_path):
    result, path = run_check(tmp_path, ENGINE + '\n[ui]\nrefresh_seconds = "soon"\n')
    assert_explained(
        result, path, "ui.refresh_seconds", "expected a valid number", "'soon'", line=7
    )


def test_bad_url_shows_an_example(tmp_path):
    result, path = run_check(tmp_path, '[[engines]]\nname = "prod"\nurl = "engine.example.net"\n')
    assert_explained(
        result,
        path,
        "engines[0].url",
        "is not a URL",
        "https://engine.example.net/ovirt-engine/api",
        line=3,
    )


def test_bad_enum_value_lists_the_allowed_ones(tmp_path):
    result, path = run_check(tmp_path, ENGINE + '\n[billing]\nkind = "whmc"\n')
    assert_explained(
        result, path, "billing.kind", "'whmc' is not allowed", "'whmcs'", "'file'", line=7
    )


def test_empty_engines_list(tmp_path):
    result, path = run_check(tmp_path, "engines = []\n")
    assert_explained(result, path, "engines", "at least one [[engines]] entry", line=1)


def test_no_engines_at_all(tmp_path):
    result, path = run_check(tmp_path, '[ui]\ntheme = "textual-dark"\n')
    assert_explained(result, path, "engines: this key is required", "[[engines]]")


def test_duplicate_engine_names(tmp_path):
    result, path = run_check(tmp_path, ENGINE + ENGINE)
    assert_explained(
        result, path, "engines[1].name", "'prod' is used twice", "its own name", line=7
    )


def test_product_mapped_to_nothing(tmp_path):
    result, path = run_check(
        tmp_path, ENGINE + '\n[[catalog.products]]\nbilling_product = "VPS S"\n'
    )
    assert_explained(
        result,
        path,
        "catalog.products[0].template",
        "required",
        'template = "alma9-cpanel"',
        line=6,
    )


def test_product_with_empty_template_name(tmp_path):
    result, path = run_check(
        tmp_path, ENGINE + '\n[[catalog.products]]\nbilling_product = "VPS S"\ntemplate = ""\n'
    )
    assert_explained(result, path, "catalog.products[0].template", "at least 1 character", line=8)


def test_insecure_without_acknowledgement(tmp_path):
    result, path = run_check(tmp_path, ENGINE + "insecure = true\n")
    assert_explained(
        result, path, "engines[0].insecure", "insecure_acknowledged = true", "ca_file", line=5
    )


def test_insecure_with_acknowledgement_is_accepted(tmp_path):
    result, _ = run_check(tmp_path, ENGINE + "insecure = true\ninsecure_acknowledged = true\n")
    assert result.exit_code == 0, result.output
    assert "TLS NOT VERIFIED" in result.output


@pytest.mark.parametrize("key", ["password", "secret", "api_token", "license_key"])
def test_secret_in_the_file_is_refused(tmp_path, key):
    result, path = run_check(tmp_path, ENGINE + f'{key} = "hunter2-value"\n')
    assert_explained(
        result,
        path,
        f"engines[0].{key}",
        "never kept in the config file",
        "vps-console credentials set",
        "VPS_CONSOLE_ENGINE_PASSWORD",
        line=5,
    )
    assert "hunter2-value" not in result.output


def test_bad_size_in_a_product(tmp_path):
    result, path = run_check(
        tmp_path,
        ENGINE + '\n[[catalog.products]]\nbilling_product = "S"\n'
        'template = "alma9"\nmemory = "lots"\n',
    )
    assert_explained(
        result, path, "catalog.products[0].memory", "'lots' is not a size", "4GiB", line=9
    )


def test_bad_store_url(tmp_path):
    result, path = run_check(tmp_path, ENGINE + '\n[store]\nurl = "mysql://db/console"\n')
    assert_explained(result, path, "store.url", "sqlite:///", "postgresql://", line=7)


def test_naming_pattern_must_carry_the_order_id(tmp_path):
    result, path = run_check(tmp_path, ENGINE + '\n[naming]\nvm_name = "customer-vm"\n')
    assert_explained(result, path, "naming.vm_name", "{order_id}", line=7)


def test_config_found_through_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.toml"
    path.write_text(ENGINE)
    monkeypatch.setenv("VPS_CONSOLE_CONFIG", str(path))
    config = load_config()
    assert config.path == path
    assert config.engine().name == "prod"


def test_config_found_in_the_user_config_dir(isolated_user_dirs):
    path = isolated_user_dirs / ".config" / "vps-console" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(ENGINE)
    assert load_config().path == path


def test_example_config_loads_as_shipped():
    example = Path(__file__).parents[1] / "config.example.toml"
    result = CliRunner().invoke(main, ["--config", str(example), "check-config"])
    assert result.exit_code == 0, result.output
    config = load_config(example)
    assert {p.billing_product for p in config.catalog.products} >= {
        "VPS Linux cPanel",
        "VPS Windows Plesk",
    }
    assert all(p.template for p in config.catalog.products)


def test_licenses_low_stock_defaults_to_five_and_refuses_a_negative(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(ENGINE)
    assert load_config(path).licenses.low_stock == 5
    result, path = run_check(tmp_path, ENGINE + "\n[licenses]\nlow_stock = -1\n")
    assert_explained(result, path, "licenses.low_stock", "low_stock = 5", line=7)


def test_check_config_lists_every_problem_not_only_the_first(tmp_path):
    result, path = run_check(
        tmp_path,
        """
        [[engines]]
        name = "prod"
        url = "nope"
        clustr = "x"

        [ui]
        refresh_seconds = "soon"

        [billing]
        kind = "whmc"
        """,
    )
    assert_explained(
        result,
        path,
        "4 problems",
        "line 5: engines[0].clustr: unknown key",
        "Did you mean 'cluster'?",
        "line 4: engines[0].url: 'nope' is not a URL",
        "line 8: ui.refresh_seconds: expected a valid number",
        "line 11: billing.kind: 'whmc' is not allowed",
    )
    # The unknown key comes first: it usually explains the rest (a typo).
    assert result.output.index("clustr") < result.output.index("'nope'")


def test_pool_entries_default_and_one_per_template_and_cluster(tmp_path):
    path = tmp_path / "pool.toml"
    path.write_text(ENGINE + '\n[[pool]]\ntemplate = "alma9-cpanel"\ncluster = "prod-a"\n')
    (entry,) = load_config(path).pool
    assert (entry.size, entry.max_age_hours, entry.storage_domain) == (2, 168, "")
    twice = '\n[[pool]]\ntemplate = "alma9-cpanel"\ncluster = "prod-a"\n' * 2
    result, path = run_check(tmp_path, ENGINE + twice)
    assert result.exit_code == 2
    assert "configured twice" in result.output and "one [[pool]] entry" in result.output
