"""The one sanitiser for text the console did not write (console/text_safety.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.text_safety import is_safe, safe_data, safe_text
from tests.plugins.whmcs import HOSTILE, hostile_text


def test_every_class_of_sequence_is_made_visible():
    assert safe_text(HOSTILE["osc52"]) == "␛]52;c;SE9TVElMRQ==␇"
    assert safe_text(HOSTILE["csi"]) == "␛[2J␛[31;1mCSI-HOSTILE"
    assert safe_text(HOSTILE["dcs"]) == "␛Pq#HOSTILE-DCS␛\\"
    assert safe_text("\x9b31m\x85") == "<U+009B>31m<U+0085>"
    assert safe_text("\u202eabc\u2066d\u2069\u200f") == "<U+202E>abc<U+2066>d<U+2069><U+200F>"
    assert safe_text("line\nnext\ttab\x7f") == "line␊next␉tab␡"
    # markup is not a control sequence: kept as typed, rendered as plain text by the screens
    assert safe_text(HOSTILE["markup_close"]) == "[/]oops"
    assert safe_text("Zoë Ørsted 株式会社") == "Zoë Ørsted 株式会社"


def test_payloads_are_cleaned_all_the_way_down():
    cleaned = safe_data(
        {"name": hostile_text("n"), "\x1bkey": [hostile_text("x"), 3, None], "nested": {"ok": True}}
    )
    assert is_safe(str(cleaned)) and cleaned["nested"] == {"ok": True}
    assert "␛key" in cleaned and cleaned["␛key"][1:] == [3, None]


@given(st.text())
def test_whatever_comes_in_what_goes_out_is_safe_and_stable(text):
    once = safe_text(text)
    assert is_safe(once) and safe_text(once) == once
    if is_safe(text):
        assert once == text
