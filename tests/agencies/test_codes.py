import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from agencies.codes import (
    my_number_check_digit,
    normalize_my_number,
    validate_affair_code,
    validate_item_code,
    validate_local_government_code,
    with_local_government_check_digit,
)


def test_valid_my_number_passes():
    assert normalize_my_number("983205673214") == "983205673214"


def test_wrong_check_digit_is_named():
    with pytest.raises(ValidationError) as exc:
        normalize_my_number("983205673215")
    assert exc.value.code == "my_number_check_digit"
    assert "983205673215" not in str(exc.value)


@pytest.mark.parametrize(
    "raw",
    [
        "９８３２０５６７３２１４",
        "9832-0567-3214",
        "9832 0567 3214",
        "９８３２−０５６７−３２１４",
        "　9832　0567　3214　",
    ],
)
def test_full_width_hyphens_and_spaces_are_normalised(raw):
    assert normalize_my_number(raw) == "983205673214"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("98320567321", "my_number_length"),
        ("9832056732140", "my_number_length"),
        ("98320567321a", "my_number_not_digits"),
        ("", "my_number_length"),
        ("９８３２０５６７３２１", "my_number_length"),
    ],
)
def test_bad_shapes_are_named(raw, code):
    with pytest.raises(ValidationError) as exc:
        normalize_my_number(raw)
    assert exc.value.code == code


def test_length_message_says_how_many_digits_without_the_number():
    with pytest.raises(ValidationError) as exc:
        normalize_my_number("12345")
    assert "5" in exc.value.messages[0] and "12345" not in exc.value.messages[0]


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_exactly_one_check_digit_is_valid(first_eleven):
    valid = [d for d in range(10) if _ok(first_eleven + str(d))]
    assert valid == [my_number_check_digit(first_eleven)]


def _ok(number):
    try:
        normalize_my_number(number)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("code", ["130001", "011002", "141003", "271004"])
def test_valid_organisation_codes(code):
    validate_local_government_code(code)
    assert with_local_government_check_digit(code[:5]) == code


@pytest.mark.parametrize("code", ["130002", "01100", "0110021", "13000a"])
def test_invalid_organisation_codes(code):
    with pytest.raises(ValidationError):
        validate_local_government_code(code)


def test_sixteen_character_codes():
    validate_affair_code("JT01010000000214")
    validate_item_code("TM00000000000002")
    for bad in ["TM00000000000002", "JT0101000000021", "jt01010000000214", "JT0101000000021X"]:
        with pytest.raises(ValidationError):
            validate_affair_code(bad)
    with pytest.raises(ValidationError):
        validate_item_code("JT01010000000214")
