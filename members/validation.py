"""Normalising what people type: phone numbers in any common written form, voter ids (EPIC)."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "IN"
EPIC_PATTERN = re.compile(r"^[A-Z]{3}[0-9]{7}$")
_EPIC_SEPARATORS = re.compile(r"[\s/-]")
# An Indian mobile number in its usual written forms: 10 digits starting with 6 to 9, after
# +91, 0091, 91 or a trunk 0. Matched first because imports meet millions of them and the
# full parse costs about 25 microseconds each; anything else goes to phonenumbers.
_SEPARATORS = re.compile(r"[\s().-]")
INDIAN_MOBILE = re.compile(r"^(?:\+91|0091|91|0)?([6-9][0-9]{9})$")


def phone_normalise(text: str) -> str:
    """'098123 45678', '+91 98123-45678', '0091 9812345678' -> '+919812345678' (E.164).

    Numbers without a country code are read as Indian. Raises ValidationError with a message
    that says what is wrong.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(_("Enter a phone number."), code="required")
    if len(raw) > 32:
        raise ValidationError(_("A phone number is at most 32 characters long."), code="too_long")
    mobile = INDIAN_MOBILE.match(raw) or INDIAN_MOBILE.match(_SEPARATORS.sub("", raw))
    if mobile:
        return "+91" + mobile.group(1)
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), params={"value": raw}, code="invalid"
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number: check the number of digits."),
            params={"value": raw},
            code="invalid",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """'+919812345678' -> '+91 98123 45678' for people to read."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def epic_normalise(text: str) -> str:
    """A voter id (EPIC): three letters and seven digits, 'abc 1234567' -> 'ABC1234567'.

    Empty stays empty (the EPIC is optional)."""
    if text and EPIC_PATTERN.match(text):
        return text  # already as stored (most imported rows)
    value = _EPIC_SEPARATORS.sub("", (text or "")).upper()
    if not value:
        return ""
    if not EPIC_PATTERN.match(value):
        raise ValidationError(
            _(
                "“%(value)s” is not a voter id: three letters followed by seven digits, e.g. "
                "ABC1234567."
            ),
            params={"value": text.strip()[:40]},
            code="invalid",
        )
    return value
