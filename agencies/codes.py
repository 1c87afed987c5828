"""Validators for the identifiers of the linkage network (pure functions, no Django models).

- 個人番号 (My Number): 12 digits, the last a check digit.
- 団体コード (local government code): 5 digits plus a check digit.
- 事務手続コード / 特定個人情報名コード: 16 characters, two capital letters then 14 digits.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# Hyphen-like characters that NFKC leaves alone but people type between digit groups.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212\u30fc\uff70]")


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit of a My Number from its first 11 digits (番号法施行令 第8条)."""
    total = sum(int(d) * w for d, w in zip(first_eleven, MY_NUMBER_WEIGHTS, strict=True))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalize_my_number(value: object) -> str:
    """Return the 12 ASCII digits of a My Number, or raise ValidationError saying what is wrong.

    Accepts full-width digits, hyphens and spaces (NFKC first). Error messages never repeat the
    input: a mistyped My Number is still personal data.
    """
    if not isinstance(value, str):
        raise ValidationError(
            "個人番号は文字列で指定してください。 (My Number must be a string.)",
            code="my_number_type",
        )
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if text and not (text.isascii() and text.isdigit()):
        raise ValidationError(
            "個人番号は数字で入力してください。 (My Number must contain digits only.)",
            code="my_number_not_digits",
        )
    if len(text) != 12:
        raise ValidationError(
            f"個人番号は12桁です（入力は{len(text)}桁）。 "
            f"(My Number must have 12 digits; got {len(text)}.)",
            code="my_number_length",
        )
    if int(text[11]) != my_number_check_digit(text[:11]):
        raise ValidationError(
            "個人番号の検査用数字が正しくありません。 (My Number check digit is wrong.)",
            code="my_number_check_digit",
        )
    return text


def local_government_check_digit(first_five: str) -> int:
    """Check digit of a 団体コード: 11 - (sum of digits x 6,5,4,3,2) mod 11, last digit kept."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    remainder = total % 11
    return (11 - remainder) % 10


def validate_local_government_code(value: str) -> None:
    """Raise ValidationError unless value is 6 digits whose last is the 団体コード check digit."""
    if not (isinstance(value, str) and len(value) == 6 and value.isascii() and value.isdigit()):
        raise ValidationError(
            "団体コードは6桁の数字です。 (An organisation code has 6 digits.)",
            code="org_code_format",
        )
    if int(value[5]) != local_government_check_digit(value[:5]):
        raise ValidationError(
            f"団体コード{value}の検査数字が正しくありません。 "
            f"(Check digit of organisation code {value} is wrong.)",
            code="org_code_check_digit",
        )


def with_local_government_check_digit(first_five: str) -> str:
    """The full 6-digit 団体コード for its first five digits."""
    return first_five + str(local_government_check_digit(first_five))


_CODE16 = re.compile(r"^[A-Z]{2}[0-9]{14}$")


@deconstructible
class Code16Validator:
    """Validates a 16-character code that starts with a fixed two-letter prefix (JT, TM, ...)."""

    def __init__(self, prefix: str, label: str) -> None:
        self.prefix = prefix
        self.label = label

    def __call__(self, value: object) -> None:
        if (
            not isinstance(value, str)
            or not _CODE16.match(value)
            or not value.startswith(self.prefix)
        ):
            raise ValidationError(
                f"{self.label}は「{self.prefix}」で始まる16文字（英大文字2文字と数字14桁）です。 "
                f"({self.label} must be '{self.prefix}' followed by 14 digits.)",
                code="code16_format",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Code16Validator) and (self.prefix, self.label) == (
            other.prefix,
            other.label,
        )

    def __hash__(self) -> int:
        return hash((self.prefix, self.label))


validate_affair_code = Code16Validator("JT", "事務手続コード")
validate_item_code = Code16Validator("TM", "特定個人情報名コード")
