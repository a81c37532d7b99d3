"""Normalising and checking what people type, shared by the forms, the services and the member
import: phone numbers in any common written form (mobiles only), voter ids (EPIC), birth
years, joining dates, control characters."""

from __future__ import annotations

import datetime
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers.phonemetadata import PhoneMetadata

from cadreconnect.validation import has_control_characters, refuse_control_characters

__all__ = [
    "birth_year_check", "epic_normalise", "has_control_characters", "joined_on_check",
    "phone_display", "phone_normalise", "refuse_control_characters",
]  # fmt: skip

DEFAULT_REGION = "IN"
EPIC_PATTERN = re.compile(r"^[A-Z]{3}[0-9]{7}$")
_EPIC_SEPARATORS = re.compile(r"[\s/-]")
# An Indian mobile number in its usual written forms: 10 digits starting with 6 to 9, after
# +91, 0091, 91 or a trunk 0. Matched first because imports meet millions of them and the
# full parse costs about 25 microseconds each; anything else goes to phonenumbers.
_SEPARATORS = re.compile(r"[\s().-]")
INDIAN_MOBILE = re.compile(r"^(?:\+91|0091|91|0)?([6-9][0-9]{9})$")
# phonenumbers reads letters as keypad digits ('98765abcde' is +91 98765 22233): a number
# written with letters is a typing or copying mistake, never a vanity number of a member.
_LETTER = re.compile(r"[^\W\d_]")
# A member is reached by a code, an SMS or WhatsApp: only these number types can take them.
# (FIXED_LINE_OR_MOBILE is what phonenumbers says where the two share their ranges, e.g. in
# the United States.)
MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Landlines start with 6 to 9 too (Bengaluru's 80 2222 3333), so the fast pattern alone cannot
# tell a mobile. phonenumbers' own pattern of Indian mobile ranges can: for ten digits from 6
# to 9 only the fixed-line and mobile patterns apply (toll-free, premium and the rest start
# with 1), and a number in the mobile ranges is MOBILE or FIXED_LINE_OR_MOBILE. One regular
# expression match (about 1 microsecond) instead of the full parse (about 25); tested against
# the full parse.
INDIAN_MOBILE_RANGES = re.compile(
    PhoneMetadata.metadata_for_region(DEFAULT_REGION).mobile.national_number_pattern
)
# Nobody alive was born longer ago than this.
MAX_AGE = 120


def phone_normalise(text: str) -> str:
    """'098123 45678', '+91 98123-45678', '0091 9812345678' -> '+919812345678' (E.164).

    Numbers without a country code are read as Indian; only mobile numbers are taken. Raises
    ValidationError with a message that says what is wrong (and a stable code).
    """
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(_("Enter a phone number."), code="required")
    if len(raw) > 32:
        raise ValidationError(_("A phone number is at most 32 characters long."), code="too_long")
    mobile = INDIAN_MOBILE.match(raw) or INDIAN_MOBILE.match(_SEPARATORS.sub("", raw))
    if mobile and INDIAN_MOBILE_RANGES.fullmatch(mobile.group(1)):
        return "+91" + mobile.group(1)
    shown = _shown(raw)
    if _LETTER.search(raw) or has_control_characters(raw):
        raise ValidationError(
            _("“%(value)s” is not a phone number: a phone number has digits only, no letters."),
            params={"value": shown},
            code="letters",
        )
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), params={"value": shown}, code="invalid"
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number: check the number of digits."),
            params={"value": shown},
            code="invalid",
        )
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(
            _(
                "“%(value)s” is not a mobile number: a landline cannot take a code, an SMS or "
                "WhatsApp. Enter the member's mobile number."
            ),
            params={"value": shown},
            code="not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _shown(raw: str) -> str:
    # The message repeats what was typed, short and without characters that cannot be shown.
    return re.sub(r"[\x00-\x1f\x7f]", "?", raw)[:32]


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
            params={"value": _shown(text.strip())},
            code="invalid",
        )
    return value


def birth_year_bounds(today: datetime.date | None = None) -> tuple[int, int]:
    """The earliest and latest birth year of a member (MAX_AGE and MEMBER_MIN_AGE years old)."""
    this_year = (today or timezone.localdate()).year
    return this_year - MAX_AGE, this_year - settings.MEMBER_MIN_AGE


def joined_on_earliest(today: datetime.date | None = None) -> datetime.date:
    """No one living joined before this: the start of the year MAX_AGE years ago."""
    return datetime.date((today or timezone.localdate()).year - MAX_AGE, 1, 1)


def birth_year_check(year: int | None, *, today: datetime.date | None = None) -> int | None:
    """A member is at least MEMBER_MIN_AGE (18 unless configured) and at most 120 years old.

    None (not known) stays None. Checks the year alone, as that is all the register keeps: a
    member born in the year that makes them 18 this year is taken."""
    if year is None:
        return None
    minimum_age = settings.MEMBER_MIN_AGE
    earliest, latest = birth_year_bounds(today)
    if not earliest <= year <= latest:
        raise ValidationError(
            _(
                "Birth year %(year)s is not possible for a member: members are %(minimum)s to "
                "%(maximum)s years old, born from %(earliest)s to %(latest)s."
            ),
            params={
                "year": year, "minimum": minimum_age, "maximum": MAX_AGE,
                "earliest": earliest, "latest": latest,
            },
            code="birth_year_out_of_range",
        )  # fmt: skip
    return year


def joined_on_check(
    joined_on: datetime.date | None, *, today: datetime.date | None = None
) -> datetime.date | None:
    """A joining date is not in the future, and not before anyone living could have joined
    (0001-01-01 is a placeholder, not a date)."""
    if joined_on is None:
        return None
    today = today or timezone.localdate()
    if joined_on > today:
        raise ValidationError(
            _("The joining date %(date)s is in the future."),
            params={"date": joined_on.isoformat()},
            code="joined_in_future",
        )
    earliest = joined_on_earliest(today)
    if joined_on < earliest:
        raise ValidationError(
            _("The joining date %(date)s is before %(earliest)s: check the year."),
            params={"date": joined_on.isoformat(), "earliest": earliest.isoformat()},
            code="joined_too_early",
        )
    return joined_on
