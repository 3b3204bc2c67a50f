"""PHP ``serialize()`` for the flat maps WHMCS takes as API parameters.

UpdateClientProduct's ``customfields`` and ``configoptions`` are
base64(serialize(array)): e.g. ``{7: "srv1.example.net"}`` becomes
``a:1:{i:7;s:16:"srv1.example.net";}``. String lengths are counted in UTF-8
bytes, as PHP does; getting that wrong corrupts every non-ASCII value.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def dumps(value: object) -> bytes:
    if value is None:
        return b"N;"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return b"b:1;" if value else b"b:0;"
    if isinstance(value, int):
        return b"i:%d;" % value
    if isinstance(value, float):
        return b"d:" + repr(value).encode("ascii") + b";"
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return b's:%d:"' % len(raw) + raw + b'";'
    if isinstance(value, Mapping):
        parts = [b"a:%d:{" % len(value)]
        for key, item in value.items():
            parts.append(dumps(_php_key(key)))
            parts.append(dumps(item))
        parts.append(b"}")
        return b"".join(parts)
    if isinstance(value, (list, tuple)):
        return dumps(dict(enumerate(value)))
    raise TypeError(f"cannot PHP-serialize {type(value).__name__}")


def _php_key(key: object) -> int | str:
    # PHP turns numeric-string keys into ints; do the same so ids match.
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"PHP array keys must be int or str, not {type(key).__name__}")
    if isinstance(key, str) and key.isdigit() and (key == "0" or not key.startswith("0")):
        return int(key)
    return key


def dumps_base64(value: Mapping[Any, Any]) -> str:
    """What UpdateClientProduct expects in ``customfields``/``configoptions``."""
    return base64.b64encode(dumps(value)).decode("ascii")
