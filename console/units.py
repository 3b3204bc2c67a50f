"""Sizes as people write them ("4GiB", "4096 MB", "80G") turned into whole MiB or GiB.

Order forms, config files and command-line flags all spell sizes differently; one parser
keeps them agreeing. Decimal and binary suffixes are treated alike on purpose: a
customer who bought "4 GB" of RAM expects 4096 MiB, not 3815.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_FACTOR_MIB = {"": None, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


class SizeError(ValueError):
    """A size that cannot be read; the message says what would be accepted."""


def parse_mib(value: str | int | float, *, bare_unit: str = "m") -> int:
    """Return the size in MiB. A bare number is taken in `bare_unit` ("m" or "g")."""
    if isinstance(value, bool):
        raise SizeError(f"{value!r} is not a size; write it like 4GiB or 4096MiB")
    if isinstance(value, (int, float)):
        number, unit = float(value), bare_unit
    else:
        match = _SIZE.match(value)
        if not match:
            raise SizeError(f"{value!r} is not a size; write it like 4GiB or 4096MiB")
        number, unit = float(match.group(1)), (match.group(2).lower() or bare_unit)
    factor = _FACTOR_MIB[unit]
    if factor is None:
        raise SizeError(f"{value!r} has no unit; write it like 4GiB or 4096MiB")
    mib = number * factor
    if mib <= 0 or mib != int(mib):
        raise SizeError(f"{value!r} is not a positive whole number of MiB")
    return int(mib)


def parse_gib(value: str | int | float) -> int:
    """Return the size in whole GiB (a bare number is GiB)."""
    mib = parse_mib(value, bare_unit="g")
    if mib % 1024:
        raise SizeError(f"{value!r} is not a whole number of GiB")
    return mib // 1024


# What a bare number means where an engineer types a size (the CLI's options, the console's
# fields): GiB for memory and disk alike, since nobody sells an 8 MiB server.
SIZE_HINT = "a bare number is GiB"


def parse_memory(value: str | int | float) -> int:
    """Memory as an engineer types it, in MiB: 8GiB, 8G, 8192M, or 8 (GiB)."""
    return parse_mib(value, bare_unit="g")


def format_mib(mib: int) -> str:
    return f"{mib // 1024}GiB" if mib % 1024 == 0 else f"{mib}MiB"
