"""Probable duplicates in the register, and merging two records of one person into one."""

from __future__ import annotations

import pytest
from django.http import Http404

from cadreconnect.exceptions import ApplicationError
from cadreconnect.models import AuditEvent
from members import selectors, services
from members.models import Consent, Member, Membership


def register(actor, booth, phone, name="Sunita Das", **fields) -> Member:
    return services.member_create(actor=actor, full_name=name, phone=phone, booth=booth, **fields)


def grant(actor, member, purpose) -> Consent:
    return services.consent_grant(actor=actor, member=member, purpose=purpose,
                                  source=Consent.Source.FORM, notice_version="2026-1")  # fmt: skip


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def shown_groups(client) -> list[set[str]]:
    response = client.get("/members/duplicates/")
    assert response.status_code == 200
    return [{member.phone for member in group.members} for group in response.context["groups"]]


def test_duplicates_page_shows_only_pairs_inside_the_area(
    naveen_client, asha, tree, django_assert_max_num_queries
):
    booth_1, booth_2, _ = tree.mandrem_booths
    # In North Goa: the same voter id in two booths, and one name written twice in one booth.
    register(asha, booth_1, "9811111111", name="Ravi Naik", epic="GOA1234567")
    register(asha, booth_2, "9811111112", name="R. Naik", epic="GOA1234567")
    register(asha, booth_1, "9811111113", name="Meena Gaonkar")
    register(asha, booth_1, "9811111114", name="MEENA GAONKAR")
    # Not duplicates: the same name in two booths.
    register(asha, booth_1, "9811111115", name="Anil Shet")
    register(asha, booth_2, "9811111116", name="Anil Shet")
    # In South Goa: a pair Naveen must not see, and a voter id shared across the two districts.
    register(asha, tree.ponda_booth, "9822222221", name="Sita Kamat")
    register(asha, tree.ponda_booth, "9822222222", name="Sita Kamat")
    register(asha, booth_1, "9811111117", name="Across North", epic="GOA7777777")
    register(asha, tree.ponda_booth, "9822222223", name="Across South", epic="GOA7777777")

    with django_assert_max_num_queries(12):
        groups = shown_groups(naveen_client)

    assert groups == [
        {"+919811111113", "+919811111114"},
        {"+919811111111", "+919811111112"},
    ]
    page = naveen_client.get("/members/duplicates/").content.decode()
    assert "Same voter id GOAxxxxx67" in page
    assert "GOA1234567" not in page and "9811111111" not in page  # masked
    assert "Same name in one booth: Meena Gaonkar" in page
    assert page.count('class="filter-row merge-pair"') == 2
    for hidden in ["Sita Kamat", "Across", "Anil Shet"]:
        assert hidden not in page


def test_same_voter_id_and_same_name_is_one_group_with_both_reasons(naveen_client, asha, tree):
    booth = tree.mandrem_booths[0]
    register(asha, booth, "9811111111", name="Ravi Naik", epic="GOA1234567")
    register(asha, booth, "9811111112", name="ravi naik", epic="GOA1234567")
    register(asha, booth, "9811111113", name="Ravi Naik")

    groups = selectors.member_duplicate_groups(asha)

    assert [(group.same_epic, group.same_name, len(group.members), len(group.pairs))
            for group in groups] == [("GOA1234567", "", 2, 1), ("", "Ravi Naik", 3, 3)]  # fmt: skip


def test_merge_through_the_page_moves_everything_to_the_survivor(naveen_client, naveen, asha, tree):
    booth_1, booth_2, booth_3 = tree.mandrem_booths
    survivor = register(asha, booth_1, "9811111111", name="Ravi Naik", gender="x")
    source = register(
        asha, booth_1, "9811111112", name="Ravi Naik", name_local="रवि नाइक",
        email="ravi@example.com", epic="GOA1234567", gender="m", birth_year=1985,
    )  # fmt: skip
    recruit = register(asha, booth_2, "9811111113", name="Recruit One", recruited_by=source)
    services.membership_add(actor=asha, member=survivor, group=booth_1, role="member")
    services.membership_add(actor=asha, member=source, group=booth_1, role="admin")
    services.membership_add(actor=asha, member=source, group=booth_3, role="coordinator")
    post = services.post_assign(actor=asha, member=source, group=booth_1, office="booth_agent")
    grant(asha, survivor, Consent.Purpose.SMS)
    source_sms = grant(asha, source, Consent.Purpose.SMS)
    source_whatsapp = grant(asha, source, Consent.Purpose.WHATSAPP)

    response = naveen_client.post(
        "/members/duplicates/merge/",
        {"first": survivor.pk, "second": source.pk, "survivor": survivor.pk},
        follow=True,
    )

    assert "Merged Ravi Naik (+91 98xxxxxx12) into Ravi Naik (+91 98xxxxxx11)." in (
        response.content.decode()
    )
    assert not Member.objects.filter(pk=source.pk).exists()
    survivor.refresh_from_db()
    assert (survivor.name_local, survivor.email, survivor.epic, survivor.birth_year) == (
        "रवि नाइक", "ravi@example.com", "GOA1234567", 1985,
    )  # fmt: skip
    assert survivor.gender == "x"  # the survivor's own value stays
    assert survivor.phone == "+919811111111"
    assert sorted(survivor.memberships.values_list("group__code", "role")) == [
        ("S05-AC-001-B-0001", "member"),
        ("S05-AC-001-B-0003", "coordinator"),
    ]
    assert Membership.objects.count() == 2
    assert list(survivor.posts.all()) == [post]
    source_sms.refresh_from_db()
    source_whatsapp.refresh_from_db()
    assert source_whatsapp.member == survivor and source_whatsapp.is_live
    assert source_sms.member == survivor and not source_sms.is_live
    assert survivor.consents.filter(purpose="sms", withdrawn_at__isnull=True).count() == 1
    assert set(selectors.members_with_live_consent(purpose="whatsapp")) == {survivor}
    recruit.refresh_from_db()
    assert recruit.recruited_by == survivor
    event = AuditEvent.objects.get(action="member.merge")
    assert event.actor == naveen
    assert event.target_id == str(survivor.pk)
    assert (event.data["source_id"], event.data["source_name"], event.data["source_phone"]) == (
        source.pk, "Ravi Naik", "+91 98xxxxxx12",  # who it was, but never a full number
    )  # fmt: skip
    assert event.data["moved"]["consents_withdrawn"] == 1
    assert shown_groups(naveen_client) == []


def test_a_survivor_recruited_by_the_source_takes_the_source_recruiter(asha, tree):
    booth = tree.mandrem_booths[0]
    elder = register(asha, booth, "9811111110", name="Elder")
    source = register(asha, booth, "9811111111", name="Ravi Naik", recruited_by=elder)
    survivor = register(asha, booth, "9811111112", name="Ravi Naik", recruited_by=source)

    services.member_merge(actor=asha, source=source, survivor=survivor)

    survivor.refresh_from_db()
    assert survivor.recruited_by == elder


def test_a_member_cannot_be_merged_into_themselves(naveen_client, naveen, asha, tree):
    member = register(asha, tree.mandrem_booths[0], "9811111111", name="Ravi Naik")

    response = naveen_client.post(
        "/members/duplicates/merge/",
        {"first": member.pk, "second": member.pk, "survivor": member.pk},
        follow=True,
    )

    assert "A member cannot be merged into themselves." in response.content.decode()
    assert Member.objects.filter(pk=member.pk).exists()
    with pytest.raises(ApplicationError, match="cannot be merged into themselves"):
        services.member_merge(actor=naveen, source=member, survivor=member)
    assert not AuditEvent.objects.filter(action="member.merge").exists()


@pytest.mark.parametrize("kept", ["north", "south"])
def test_a_member_outside_the_area_gives_404_and_nothing_changes(naveen_client, asha, tree, kept):
    north = register(asha, tree.mandrem_booths[0], "9811111111", name="Ravi Naik",
                     epic="GOA1234567")  # fmt: skip
    south = register(asha, tree.ponda_booth, "9822222222", name="Ravi Naik", email="r@example.com")
    services.membership_add(actor=asha, member=south, group=tree.ponda_booth, role="member")
    survivor = {"north": north, "south": south}[kept]

    response = naveen_client.post(
        "/members/duplicates/merge/",
        {"first": north.pk, "second": south.pk, "survivor": survivor.pk},
    )

    assert response.status_code == 404
    assert Member.objects.count() == 2
    assert south.memberships.count() == 1
    north.refresh_from_db()
    assert north.email == ""
    assert not AuditEvent.objects.filter(action="member.merge").exists()


def test_the_service_refuses_members_outside_the_actors_area(naveen, asha, tree):
    north = register(asha, tree.mandrem_booths[0], "9811111111", name="Ravi Naik")
    south = register(asha, tree.ponda_booth, "9822222222", name="Ravi Naik")

    with pytest.raises(Http404):
        services.member_merge(actor=naveen, source=south, survivor=north)

    assert Member.objects.count() == 2


def test_a_merge_form_without_a_choice_is_refused(naveen_client, asha, tree):
    first = register(asha, tree.mandrem_booths[0], "9811111111", name="Ravi Naik")
    second = register(asha, tree.mandrem_booths[0], "9811111112", name="Ravi Naik")

    response = naveen_client.post(
        "/members/duplicates/merge/", {"first": first.pk, "second": second.pk}, follow=True
    )

    assert "Choose which of the two members to keep." in response.content.decode()
    assert Member.objects.count() == 2


@pytest.fixture
def kavitas(asha, tree) -> tuple[Member, Member]:
    """Kavita Debbarma registered twice in North Goa: once with her voter id and a post, once
    with her WhatsApp consent."""
    booth_1, booth_2, _ = tree.mandrem_booths
    first = register(asha, booth_1, "9812345621", name="Kavita Debbarma", epic="GOA1234567")
    services.post_assign(actor=asha, member=first, group=booth_1, office="booth_president")
    second = register(asha, booth_2, "9812345643", name="Kavita Debbarma", epic="GOA1234567")
    grant(asha, second, Consent.Purpose.WHATSAPP)
    return first, second


def test_merge_shows_both_records_side_by_side_before_anything_changes(naveen_client, kavitas):
    first, second = kavitas
    duplicates = naveen_client.get("/members/duplicates/").content.decode()
    assert "Compare and merge Kavita Debbarma (+91 98xxxxxx21) and Kavita Debbarma" in duplicates

    response = naveen_client.get(
        "/members/duplicates/merge/", {"first": first.pk, "second": second.pk}
    )

    assert response.status_code == 200
    page = response.content.decode()
    for shown in ["+91 98xxxxxx21", "+91 98xxxxxx43", "GOAxxxxx67", "Mandrem booth 1",
                  "Mandrem booth 2", "Booth president", "WhatsApp messages", "Keep this record",
                  first.joined_on.strftime("%-d %b %Y")]:  # fmt: skip
        assert shown in page, shown
    assert page.count('name="survivor"') == 2
    assert "checked" not in page  # the user chooses; nothing is preselected
    for full in ["9812345621", "9812345643", "GOA1234567"]:
        assert full not in page
    assert Member.objects.count() == 2
    assert not AuditEvent.objects.filter(action="member.merge").exists()


def test_the_merge_message_names_both_records(naveen_client, kavitas):
    first, second = kavitas

    response = naveen_client.post(
        "/members/duplicates/merge/",
        {"first": first.pk, "second": second.pk, "survivor": second.pk},
        follow=True,
    )

    assert (
        "Merged Kavita Debbarma (+91 98xxxxxx21) into Kavita Debbarma (+91 98xxxxxx43)."
        in response.content.decode()
    )
    assert list(Member.objects.values_list("pk", flat=True)) == [second.pk]
    assert second.posts.count() == 1


@pytest.mark.parametrize("role", ["organiser", "viewer"])
def test_only_leads_see_merge_controls_and_may_merge(client, asha, tree, kavitas, role):
    from groups import services as group_services
    from tests.factories import UserFactory

    first, second = kavitas
    staff = UserFactory(email=f"{role}@cadreconnect.example")
    group_services.assignment_add(actor=None, user=staff, group=tree.north_goa, role=role)
    client.force_login(staff)

    page = client.get("/members/duplicates/").content.decode()
    confirm = client.get("/members/duplicates/merge/", {"first": first.pk, "second": second.pk})
    merge = client.post(
        "/members/duplicates/merge/",
        {"first": first.pk, "second": second.pk, "survivor": first.pk},
    )

    assert "Kavita Debbarma" in page and "merge-pair" not in page
    assert (confirm.status_code, merge.status_code) == (403, 403)
    assert Member.objects.count() == 2


def test_the_confirmation_of_a_member_outside_the_area_is_404(naveen_client, asha, tree, kavitas):
    south = register(asha, tree.ponda_booth, "9822222222", name="Kavita Debbarma")

    response = naveen_client.get(
        "/members/duplicates/merge/", {"first": kavitas[0].pk, "second": south.pk}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [{}, {"first": "abc", "second": "1"}, {"first": "9" * 30, "second": "1"}],
)
def test_a_malformed_merge_address_goes_back_to_the_duplicates(naveen_client, kavitas, query):
    response = naveen_client.get("/members/duplicates/merge/", query, follow=True)

    assert response.redirect_chain[-1][0] == "/members/duplicates/"
    assert "Choose two members to compare" in response.content.decode()
    assert Member.objects.count() == 2


def test_a_nul_byte_in_the_merge_address_is_refused_with_400(naveen_client, kavitas):
    response = naveen_client.get("/members/duplicates/merge/", {"first": "\x00", "second": "1"})

    assert response.status_code == 400
    assert Member.objects.filter(pk__in=[member.pk for member in kavitas]).count() == 2
