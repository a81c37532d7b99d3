"""The register: validation of what staff type, scope, consent, and members following the
group tree when it changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cadreconnect.models import AuditEvent
from groups import services as group_services
from groups.models import Group
from members import selectors, services
from members.models import Consent, Member
from members.validation import epic_normalise, phone_normalise


@pytest.mark.parametrize(
    "written",
    ["09812345678", "+91 98123 45678", "98123-45678", "0091 98123 45678", "9812345678",
     "+91-981-234-5678", " 98123 45678 "],
)  # fmt: skip
def test_common_written_forms_of_a_phone_are_one_number(written):
    assert phone_normalise(written) == "+919812345678"


@pytest.mark.parametrize(
    ("written", "message"),
    [("", "Enter a phone number"), ("12345", "not a valid phone number"),
     ("call me", "not a phone number"), ("9" * 40, "at most 32 characters")],
)  # fmt: skip
def test_bad_phones_are_refused_with_a_reason(written, message):
    with pytest.raises(ValidationError, match=message):
        phone_normalise(written)


@pytest.mark.parametrize(
    ("written", "stored"),
    [("abc1234567", "ABC1234567"), ("ABC 123 4567", "ABC1234567"), ("abc/1234567", "ABC1234567"),
     ("", "")],
)  # fmt: skip
def test_voter_ids_are_normalised(written, stored):
    assert epic_normalise(written) == stored


@pytest.mark.parametrize("written", ["AB1234567", "ABCD123456", "ABC123456", "1234567ABC"])
def test_malformed_voter_ids_are_refused(written):
    with pytest.raises(ValidationError, match="three letters followed by seven digits"):
        epic_normalise(written)


def form_data(**fields) -> dict:
    data = {"full_name": "Ravi Naik", "name_local": "रवि नाइक", "phone": "098123 45678",
            "whatsapp_number": "", "email": "", "gender": "m", "birth_year": "1985",
            "epic": "goa1234567", "booth": "S05-AC-001-B-0001", "status": "active",
            "joined_on": "2026-01-15", "recruited_by_phone": "", "notes": ""}  # fmt: skip
    data.update(fields)
    return data


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def test_lead_registers_a_member_with_a_devanagari_name(naveen_client, naveen, tree):
    response = naveen_client.post("/members/new/", form_data())

    member = Member.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/members/{member.pk}/"
    assert (member.phone, member.epic, member.name_local) == (
        "+919812345678",
        "GOA1234567",
        "रवि नाइक",
    )
    assert member.booth == tree.mandrem_booths[0]
    assert member.tree_id == tree.mandrem.tree_id
    assert member.state == tree.goa
    assert AuditEvent.objects.filter(action="member.create", actor=naveen).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phone": "12345"}, "not a valid phone number"),
        ({"epic": "AB12"}, "three letters followed by seven digits"),
        ({"booth": "S05-AC-021-B-0001"}, "No group with the code S05-AC-021-B-0001 in your area"),
        ({"booth": "S05-AC-001"}, "is not a polling booth"),
        ({"birth_year": "2999"}, "is not possible for a member"),
        ({"birth_year": "1850"}, "is not possible for a member"),
        ({"full_name": ""}, "This field is required"),
        ({"full_name": "x" * 201}, "at most 200 characters"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"notes": "n" * 5001}, "at most 5000 characters"),
        ({"status": "emperor"}, "Select a valid choice"),
        ({"recruited_by_phone": "+91 99999 99999"}, "No member with that phone in your area"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(naveen_client, tree, fields, message):
    response = naveen_client.post("/members/new/", form_data(**fields))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Member.objects.exists()


def test_a_phone_already_registered_in_another_form_is_refused(naveen_client, tree):
    naveen_client.post("/members/new/", form_data())

    response = naveen_client.post("/members/new/", form_data(phone="+91 98123-45678", epic=""))

    assert "already registered to another member" in response.content.decode()
    assert Member.objects.count() == 1


def test_a_repeated_voter_id_is_allowed_and_flagged(naveen_client, tree):
    naveen_client.post("/members/new/", form_data())
    naveen_client.post("/members/new/", form_data(phone="9822222222", full_name="Ravi N."))

    first, second = Member.objects.order_by("pk")
    page = naveen_client.get(f"/members/{second.pk}/").content.decode()
    assert first.epic == second.epic
    assert "Probable duplicate" in page and "Ravi Naik" in page


def register(actor, booth, phone, name="Sunita Das", **fields) -> Member:
    return services.member_create(actor=actor, full_name=name, phone=phone, booth=booth, **fields)


def test_members_outside_the_area_do_not_exist(client, naveen, sita, tree, asha):
    north = register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North",
                     name_local="आशा उत्तर")  # fmt: skip
    south = register(asha, tree.ponda_booth, "9822222222", name="Sita South")
    client.force_login(naveen)

    assert client.get(f"/members/{north.pk}/").status_code == 200
    for path in [f"/members/{south.pk}/", f"/members/{south.pk}/edit/"]:
        assert client.get(path).status_code == 404
    assert client.post(f"/members/{south.pk}/consents/", {"purpose": "sms",
                       "notice_version": "1"}).status_code == 404  # fmt: skip
    listing = client.get("/members/").content.decode()
    assert "Asha North" in listing and "Sita South" not in listing
    assert "Sita South" not in client.get("/members/", {"q": "Sita"}).content.decode()


def test_search_by_devanagari_fragment_phone_form_and_voter_id(client, naveen, tree, asha):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North",
             name_local="आशा उत्तर", epic="GOA7654321")  # fmt: skip
    register(asha, tree.mandrem_booths[1], "9833333333", name="Ravi Kamat")
    client.force_login(naveen)

    def names(**params) -> set[str]:
        page = client.get("/members/", params).context["page"]
        return {member.full_name for member in page.members}

    assert names(q="उत्तर") == {"Asha North"}
    assert names(q="098111 11111") == {"Asha North"}
    assert names(q="goa 7654321") == {"Asha North"}
    assert names(q="kamat") == {"Ravi Kamat"}
    assert names(group="S05-AC-001-B-0002") == {"Ravi Kamat"}
    assert names(status="inactive") == set()


def test_only_members_with_live_consent_may_be_messaged(asha, tree):
    consenting = register(asha, tree.mandrem_booths[0], "9811111111")
    register(asha, tree.mandrem_booths[0], "9822222222", name="No Consent")
    inactive = register(asha, tree.mandrem_booths[0], "9833333333", name="Gone Quiet",
                        status=Member.Status.INACTIVE)  # fmt: skip
    for member in (consenting, inactive):
        services.consent_grant(actor=asha, member=member, purpose=Consent.Purpose.WHATSAPP,
                               source=Consent.Source.FORM, notice_version="2026-1")  # fmt: skip

    whatsapp = selectors.members_with_live_consent(purpose=Consent.Purpose.WHATSAPP)
    assert list(whatsapp) == [consenting]
    assert not selectors.members_with_live_consent(purpose=Consent.Purpose.SMS).exists()

    again = services.consent_grant(actor=asha, member=consenting, purpose="whatsapp",
                                   source="app", notice_version="2026-2")  # fmt: skip
    assert again.notice_version == "2026-1"  # one live consent per purpose
    services.consent_withdraw(actor=asha, member=consenting, purpose="whatsapp")

    assert not selectors.members_with_live_consent(purpose=Consent.Purpose.WHATSAPP).exists()
    assert consenting.consents.get().withdrawn_at is not None
    assert AuditEvent.objects.filter(action="consent.withdraw").count() == 1


def test_consent_withdrawn_from_the_member_page(client, naveen, tree, asha):
    member = register(asha, tree.mandrem_booths[0], "9811111111")
    client.force_login(naveen)
    client.post(f"/members/{member.pk}/consents/", {"purpose": "sms", "notice_version": "2026-1"})

    response = client.post(f"/members/{member.pk}/consents/sms/withdraw/", follow=True)

    assert "Consent withdrawn." in response.content.decode()
    assert not selectors.members_with_live_consent(purpose="sms").exists()


def test_members_follow_their_constituency_when_it_moves_district(asha, naveen, sita, tree):
    member = register(asha, tree.mandrem_booths[0], "9811111111")
    south_pc = Group.objects.get(code="S05-PC-02")

    group_services.group_move(actor=asha, group=tree.mandrem, new_parent=south_pc)

    member.refresh_from_db()
    assert member.tree_id == tree.mandrem.tree_id
    assert selectors.members_visible_to(sita).filter(pk=member.pk).exists()
    assert not selectors.members_visible_to(naveen).filter(pk=member.pk).exists()


def test_members_follow_their_booth_to_another_constituency_and_state(asha, tree):
    member = register(asha, tree.mandrem_booths[0], "9811111111")
    tripura_ac = Group.objects.get(code="S23-AC-001")

    group_services.group_move(actor=asha, group=tree.mandrem_booths[0], new_parent=tripura_ac)

    member.refresh_from_db()
    assert member.tree_id == tripura_ac.tree_id
    assert member.state == tree.tripura


def test_merging_booths_moves_their_members(asha, tree):
    member = register(asha, tree.mandrem_booths[0], "9811111111")
    services.membership_add(actor=asha, member=member, group=tree.mandrem_booths[0], role="admin")

    group_services.group_merge_booths(actor=asha, source=tree.mandrem_booths[0],
                                      survivor=tree.mandrem_booths[1])  # fmt: skip

    member.refresh_from_db()
    assert member.booth == tree.mandrem_booths[1]
    assert member.memberships.get().group == tree.mandrem_booths[1]


def test_hostile_names_are_escaped(client, naveen, tree, asha):
    member = register(
        asha, tree.mandrem_booths[0], "9811111111", name="<img src=x onerror=alert(1)>"
    )
    client.force_login(naveen)

    page = client.get(f"/members/{member.pk}/").content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x" in page
