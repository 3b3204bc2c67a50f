"""The one boundary for text the console did not write: customer data from billing, names
and messages from the engine, rows of an import file.

Such text may carry terminal control sequences (CSI, OSC 52 that rewrites the clipboard,
OSC 0 that retitles the window, DCS, C1 controls) or bidi overrides that make a name read
as something else. `safe_text` makes every such character visible instead of letting the
terminal act on it (ESC becomes ␛, other C0 controls their Control Pictures, C1 and
format characters `<U+XXXX>`), so what the engineer reads is what the customer typed.
It is applied once, where the text enters the console; the screens and the CLI also render
it as plain text, never as markup, which is the other half of the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Bidi embeddings, overrides and isolates, marks, and line/paragraph separators: each
# can reorder or break what is shown without being visible itself.
_INVISIBLE_FORMAT = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
)


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟; ESC is ␛
    if code == 0x7F:
        return "␡"
    return f"<U+{code:04X}>"


def _unsafe(code: int) -> bool:
    return code < 0x20 or 0x7F <= code <= 0x9F or code in _INVISIBLE_FORMAT


def safe_text(value: Any) -> str:
    """`value` as text with every control and bidi character made visible."""
    text = "" if value is None else str(value)
    if not any(_unsafe(ord(char)) for char in text):
        return text
    return "".join(_visible(char) if _unsafe(ord(char)) else char for char in text)


def is_safe(text: str) -> bool:
    return not any(_unsafe(ord(char)) for char in text)


def safe_data(value: Any) -> Any:
    """A JSON-like payload (dicts, lists, strings) with `safe_text` applied to every key
    and string; numbers, booleans and None unchanged."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, Mapping):
        return {
            safe_text(key) if isinstance(key, str) else key: safe_data(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [safe_data(item) for item in value]
    return value
