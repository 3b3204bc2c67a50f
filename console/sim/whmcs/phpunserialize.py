"""Decoder for the PHP ``serialize()`` subset WHMCS accepts in API parameters.

UpdateClientProduct takes ``customfields`` and ``configoptions`` as
base64(serialize(array)). The simulator decodes them the way PHP would, so a
client that encodes them wrongly gets an error instead of silent success.
Supported: arrays (``a:``), strings (``s:`` with a UTF-8 byte length),
integers, floats, booleans and null.
"""

from __future__ import annotations

import base64


class UnserializeError(ValueError):
    pass


def loads_base64(text: str) -> object:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise UnserializeError(f"not base64: {exc}") from exc
    return loads(raw)


def loads(data: bytes) -> object:
    value, end = _parse(data, 0)
    if end != len(data):
        raise UnserializeError(f"trailing bytes at offset {end}")
    return value


def _expect(data: bytes, pos: int, token: bytes) -> int:
    if data[pos : pos + len(token)] != token:
        raise UnserializeError(f"expected {token!r} at offset {pos}")
    return pos + len(token)


def _read_until(data: bytes, pos: int, stop: bytes) -> tuple[bytes, int]:
    end = data.find(stop, pos)
    if end < 0:
        raise UnserializeError(f"missing {stop!r} after offset {pos}")
    return data[pos:end], end + len(stop)


def _parse(data: bytes, pos: int) -> tuple[object, int]:
    kind = data[pos : pos + 2]
    if kind == b"N;":
        return None, pos + 2
    if kind == b"i:":
        text, pos = _read_until(data, pos + 2, b";")
        return int(text), pos
    if kind == b"d:":
        text, pos = _read_until(data, pos + 2, b";")
        return float(text), pos
    if kind == b"b:":
        text, pos = _read_until(data, pos + 2, b";")
        return text == b"1", pos
    if kind == b"s:":
        length_text, pos = _read_until(data, pos + 2, b":")
        length = int(length_text)
        pos = _expect(data, pos, b'"')
        raw = data[pos : pos + length]
        if len(raw) != length:
            raise UnserializeError("string shorter than its declared length")
        pos = _expect(data, pos + length, b'";')
        return raw.decode("utf-8"), pos
    if kind == b"a:":
        count_text, pos = _read_until(data, pos + 2, b":")
        pos = _expect(data, pos, b"{")
        result: dict = {}
        for _ in range(int(count_text)):
            key, pos = _parse(data, pos)
            if not isinstance(key, (int, str)):
                raise UnserializeError("array keys must be int or string")
            result[key], pos = _parse(data, pos)
        pos = _expect(data, pos, b"}")
        return result, pos
    raise UnserializeError(f"unknown type {kind!r} at offset {pos}")
