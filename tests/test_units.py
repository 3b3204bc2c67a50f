import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.units import SizeError, format_mib, parse_gib, parse_memory, parse_mib


@pytest.mark.parametrize(
    "text, mib",
    [
        ("4GiB", 4096),
        ("4 GB", 4096),
        ("4096MiB", 4096),
        ("4096 MB", 4096),
        ("4G", 4096),
        ("1.5GiB", 1536),
        ("1TiB", 1024 * 1024),
        (2048, 2048),
    ],
)
def test_sizes_in_the_spellings_people_use(text, mib):
    assert parse_mib(text) == mib


@pytest.mark.parametrize("text", ["lots", "", "-4GiB", "4 parsecs", "0GiB", "0.3MiB"])
def test_unreadable_sizes_say_how_to_write_them(text):
    with pytest.raises(SizeError) as error:
        parse_mib(text)
    assert "MiB" in str(error.value)


def test_bare_numbers_for_disks_are_gib():
    assert parse_gib(80) == 80
    assert parse_gib("80") == 80
    with pytest.raises(SizeError):
        parse_gib("1500MiB")


@given(st.integers(min_value=1, max_value=10**7))
def test_format_and_parse_round_trip(mib):
    assert parse_mib(format_mib(mib)) == mib


@pytest.mark.parametrize(
    "text, mib",
    [("8", 8192), ("8G", 8192), ("8GiB", 8192), ("8192M", 8192), ("4096 MB", 4096), ("1.5", 1536)],
)
def test_memory_as_engineers_type_it_in_the_cli_and_the_console(text, mib):
    # One rule for both fronts: a bare number is GiB (the fields' hints say so).
    assert parse_memory(text) == mib
