"""The admin password rule: what a generated one always passes and a hostile one never does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.errors import BadInput
from console.flow.firstboot import FirstBootRefused, initialization
from console.flow.passwords import password_problem, validated_admin_password
from console.secrets.values import generate_password
from tests.flow.test_firstboot_hostile import plan


def test_generated_passwords_always_pass():
    for _ in range(200):
        assert password_problem(generate_password()) is None


@given(
    st.text(min_size=12, max_size=60).filter(lambda s: s.strip() == s),
    st.sampled_from(["\x1b[2J", "\x07", "\n", "\r", "\x00", "\u200b", "\u202e", "\x9b", "\t"]),
    st.integers(min_value=0, max_value=12),
)
def test_a_control_or_invisible_character_anywhere_is_refused_with_the_field(base, bad, at):
    value = "Aa1-" + base[:at] + bad + base[at:]
    with pytest.raises(BadInput) as refused:
        validated_admin_password(value)
    assert refused.value.message.startswith("admin password:")
    assert refused.value.hint and "credentials set admin-password" in refused.value.hint
    # Nothing of the value itself is echoed back (it may be a secret, or an attack).
    said = refused.value.message + refused.value.hint
    assert bad not in said and base not in said


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd", "Po"]), min_size=12))
def test_the_rule_decides_the_same_way_every_time(value):
    first = password_problem(value)
    assert first == password_problem(value)
    if first is None:
        assert validated_admin_password(value) == value


@pytest.mark.parametrize("init", ["cloud-init", "sysprep"])
def test_first_boot_refuses_what_entry_would_have_refused(init):
    with pytest.raises(FirstBootRefused):
        initialization(plan(kinds=(), init=init), {}, "Good-Passw0rd\x1b]0;x\x07")
    assert initialization(plan(kinds=(), init=init), {}, "Good-Passw0rd-1").root_password
