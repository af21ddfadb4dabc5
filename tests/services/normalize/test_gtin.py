import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.normalize.gtin import GtinCheck, check_gtin, gtin_check_digit


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # valid EAN-13 (Polish prefix 590), EAN-8, UPC-A (GTIN-12), GTIN-14
        ("5901234123457", GtinCheck("5901234123457", True)),
        ("96385074", GtinCheck("96385074", True)),
        ("036000291452", GtinCheck("036000291452", True)),
        ("10012345678902", GtinCheck("10012345678902", True)),
        ("0012345678905", GtinCheck("0012345678905", True)),  # leading zeros kept
        # digits only, separators dropped
        (" 590 1234 12345 7 ", GtinCheck("5901234123457", True)),
        ("590-1234-12345-7", GtinCheck("5901234123457", True)),
        # invalid: kept and flagged
        ("5901234123458", GtinCheck("5901234123458", False, "check digit should be 7")),
        ("59012341234", GtinCheck("59012341234", False, "8, 12, 13 or 14 digits expected, got 11")),
        ("590123412345712", GtinCheck("590123412345712", False, "8, 12, 13 or 14 digits expected, got 15")),
        ("59012341234AB", GtinCheck("59012341234AB", False, "not digits")),
        ("５９０１２３４１２３４５７", GtinCheck("５９０１２３４１２３４５７", False, "not digits")),
        # absent
        (None, GtinCheck(None, None)),
        ("", GtinCheck(None, None)),
        ("   ", GtinCheck(None, None)),
    ],
)
def test_checks_codes(code, expected):
    assert check_gtin(code) == expected


def test_check_digit_for_ean13_weighs_1_3_from_the_left():
    body = "590123412345"
    left_weighted = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))

    assert gtin_check_digit(body) == (10 - left_weighted % 10) % 10 == 7


bodies = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda size: st.text(alphabet="0123456789", min_size=size, max_size=size)
)


@given(bodies)
def test_a_code_with_its_check_digit_is_valid(body):
    code = body + str(gtin_check_digit(body))

    assert check_gtin(code) == GtinCheck(code, True)


@given(bodies, st.data())
def test_changing_one_digit_makes_a_code_invalid(body, data):
    code = body + str(gtin_check_digit(body))
    at = data.draw(st.integers(0, len(code) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != code[at]]))
    changed = code[:at] + digit + code[at + 1 :]

    result = check_gtin(changed)

    assert result.valid is False
    assert result.code == changed
    assert result.reason is not None
    assert result.reason.startswith("check digit should be")
