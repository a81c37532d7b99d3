"""What staff type into a member's record: phones that can take a code, an SMS or WhatsApp
(never letters, never landlines), believable birth years and joining dates, through the form
and through the services that the admin and the import share."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cadreconnect.exceptions import ApplicationError
from members import services
from members.models import Member
from members.validation import birth_year_check, joined_on_check, phone_normalise
from tests.members.test_register import form_data

THIS_YEAR = timezone.localdate().year  # the party's day (Asia/Kolkata), not the machine's


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


@pytest.mark.parametrize("written", ["98765abcde", "98765 ABCDE", "+91 98123 4567O", "9812345678x"])
def test_a_phone_with_letters_is_refused_not_read_as_keypad_digits(written):
    with pytest.raises(ValidationError, match="no letters") as refused:
        phone_normalise(written)
    assert refused.value.code == "letters"


@pytest.mark.parametrize(
    "written", ["1234567890", "011 2345 6789", "01123456789", "+91 80 2222 3333"]
)
def test_a_landline_is_refused_because_it_cannot_take_a_code(written):
    with pytest.raises(ValidationError, match="a landline cannot take a code, an SMS or WhatsApp"):
        phone_normalise(written)


@pytest.mark.parametrize(
    ("written", "stored"),
    [("98123 45678", "+919812345678"), ("+44 7911 123456", "+447911123456"),
     # The United States numbers mobiles and landlines alike: phonenumbers cannot tell.
     ("+1 415 555 2671", "+14155552671")],
)  # fmt: skip
def test_mobiles_at_home_and_abroad_are_taken(written, stored):
    assert phone_normalise(written) == stored


def test_the_form_refuses_letters_in_the_phone_and_writes_nothing(naveen_client, tree):
    response = naveen_client.post("/members/new/", form_data(phone="98765abcde"))

    assert response.status_code == 200
    assert "no letters" in response.content.decode()
    assert not Member.objects.exists()


def test_the_form_refuses_a_landline_as_phone_or_whatsapp_number(naveen_client, tree):
    as_phone = naveen_client.post("/members/new/", form_data(phone="1234567890"))
    as_whatsapp = naveen_client.post("/members/new/", form_data(whatsapp_number="011 2345 6789"))

    for response in (as_phone, as_whatsapp):
        assert response.status_code == 200
        assert "a landline cannot take a code, an SMS or WhatsApp" in response.content.decode()
    assert not Member.objects.exists()


def test_the_service_refuses_a_landline_from_any_caller(naveen, tree):
    with pytest.raises(ApplicationError) as refused:
        services.member_create(
            actor=naveen, full_name="Ravi Naik", phone="011 2345 6789", booth=tree.mandrem_booths[0]
        )
    assert refused.value.code == "not_mobile"
    assert not Member.objects.exists()


@pytest.mark.parametrize(
    "year", [THIS_YEAR - 17, 2020, THIS_YEAR, THIS_YEAR - 121, 1850, 0]
)  # fmt: skip
def test_a_birth_year_outside_18_to_120_years_ago_is_refused(naveen_client, tree, year):
    response = naveen_client.post("/members/new/", form_data(birth_year=str(year)))

    assert response.status_code == 200
    assert "is not possible for a member" in response.content.decode()
    assert not Member.objects.exists()


@pytest.mark.parametrize("year", [THIS_YEAR - 18, THIS_YEAR - 120])
def test_birth_years_at_the_limits_are_taken(naveen_client, tree, year):
    response = naveen_client.post("/members/new/", form_data(birth_year=str(year)))

    assert response.status_code == 302
    assert Member.objects.get().birth_year == year


def test_the_minimum_age_is_configurable(settings):
    settings.MEMBER_MIN_AGE = 21

    with pytest.raises(ValidationError, match="21 to 120 years old"):
        birth_year_check(THIS_YEAR - 20)
    assert birth_year_check(THIS_YEAR - 21) == THIS_YEAR - 21


def test_the_service_refuses_an_underage_member_from_any_caller(naveen, tree):
    with pytest.raises(ApplicationError) as refused:
        services.member_create(
            actor=naveen, full_name="Ravi Naik", phone="9812345678",
            booth=tree.mandrem_booths[0], birth_year=THIS_YEAR - 10,
        )  # fmt: skip
    assert refused.value.code == "birth_year_out_of_range"
    assert not Member.objects.exists()


@pytest.mark.parametrize(
    ("joined_on", "message"),
    [("9999-12-31", "is in the future"), ("0001-01-01", "check the year"),
     ("tomorrow", "is in the future")],
)  # fmt: skip
def test_a_joining_date_in_the_future_or_absurdly_early_is_refused(
    naveen_client, tree, joined_on, message
):
    if joined_on == "tomorrow":  # in India: at 19:00 UTC it is already tomorrow there
        joined_on = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = naveen_client.post("/members/new/", form_data(joined_on=joined_on))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Member.objects.exists()


def test_a_joining_date_of_today_is_taken():
    today = datetime.date(2026, 3, 1)
    assert joined_on_check(today, today=today) == today
    with pytest.raises(ValidationError):
        joined_on_check(datetime.date(1905, 12, 31), today=today)


def test_an_edit_cannot_move_the_joining_date_into_the_future(naveen, tree):
    member = services.member_create(
        actor=naveen, full_name="Ravi Naik", phone="9812345678", booth=tree.mandrem_booths[0]
    )

    with pytest.raises(ApplicationError) as refused:
        services.member_update(actor=naveen, member=member, joined_on=datetime.date(9999, 12, 31))
    assert refused.value.code == "joined_in_future"
    member.refresh_from_db()
    assert member.joined_on == timezone.localdate()


def test_the_fast_path_for_indian_numbers_says_what_the_full_parse_says():
    """The fast path matches phonenumbers' pattern of mobile ranges alone; the full parse is
    the reference, over numbers spread across every 3-digit prefix."""
    import phonenumbers

    import members.validation as validation

    tails = (0, 4_719_263, 9_999_999)
    numbers = [f"{prefix}{tail:07d}" for prefix in range(600, 1000) for tail in tails]
    for national in numbers:
        parsed = phonenumbers.parse(f"+91{national}", None)
        is_mobile = (
            phonenumbers.is_valid_number(parsed)
            and phonenumbers.number_type(parsed) in validation.MOBILE_TYPES
        )
        try:
            validation.phone_normalise(national)
        except ValidationError:
            taken = False
        else:
            taken = True
        assert taken == is_mobile, national
