import pytest

from console.flow.plan import check_license, normalise_license

WINDOWS_2022_KMS = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"  # Microsoft's published GVLK


def test_a_real_windows_key_passes_in_any_spelling():
    assert check_license("windows", WINDOWS_2022_KMS) is None
    messy = " vdybn27wpp v4hqt-9vmd4vmk7h "
    assert normalise_license("windows", messy) == WINDOWS_2022_KMS
    assert check_license("windows", messy) is None


@pytest.mark.parametrize(
    "value, words",
    [
        ("VDYBN-27WPP-V4HQT-9VMD4-VMK7", "five groups of five"),
        ("ADYBN-27WPP-V4HQT-9VMD4-VMK7H", "characters no product key uses (A)"),
        ("VDYB0-27WPP-V4HQT-9VMD4-VMK71", "(01)"),
        ("VNYBN-27WPP-V4HQT-9VMD4-VMK7H", "more than one N"),
        ("", "missing"),
    ],
)
def test_bad_windows_keys_say_what_is_wrong(value, words):
    problem = check_license("windows", value)
    assert problem is not None and problem.field == "license.windows"
    assert words in problem.message
    assert problem.fix


def test_mssql_uses_the_product_key_rules():
    assert check_license("mssql", WINDOWS_2022_KMS) is None
    assert "SQL Server" in check_license("mssql", "nope").message


def test_plesk_activation_code():
    assert check_license("plesk", "A00Q00-28H603-ABCDEF-GH1234-JKLMN0") is None
    assert (
        normalise_license("plesk", "a00q0028h603abcdefgh1234jklmn0")
        == "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"
    )
    problem = check_license("plesk", "A00Q00-28H603")
    assert problem and "six" in problem.message and "A00Q00" in problem.fix


def test_cpanel_needs_no_key_and_says_why_when_given_one():
    assert check_license("cpanel", None) is None
    problem = check_license("cpanel", "SOME-KEY-1234")
    assert problem and "licensed by the VM's IP address" in problem.message


def test_unknown_kind():
    assert "not a license kind" in check_license("oracle", "x").message
