"""Filtering the member list by an office held now and by a tag: each member once, never
outside the user's area, bad values refused on the form, the same filters in the downloads,
and the group page's link to its members."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.utils import timezone

from groups import services as group_services
from members import services
from members.models import Member, Tag
from tests.members.test_export import export

BOOTH_PRESIDENT = "booth_president"


def register(actor, booth, phone, name, *, tags: tuple[Tag, ...] = (), **fields) -> Member:
    member = services.member_create(actor=actor, full_name=name, phone=phone, booth=booth, **fields)
    member.tags.add(*tags)
    return member


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def listed(client, **params) -> list[str]:
    """Names on the member list as filtered, in page order (a repeated row shows twice)."""
    response = client.get("/members/", params)
    assert response.status_code == 200
    assert not response.context["form"].errors
    return [member.full_name for member in response.context["page"].members]


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


@pytest.fixture
def youth(db) -> Tag:
    return Tag.objects.create(name="youth")


@pytest.fixture
def women(db) -> Tag:
    return Tag.objects.create(name="women")


def test_only_members_holding_the_office_today_are_listed(naveen_client, asha, tree):
    booth_1, booth_2, booth_3 = tree.mandrem_booths
    ongoing = register(asha, booth_1, "9811111111", "Ongoing Term")
    ends_later = register(asha, booth_2, "9822222222", "Ends Next Month")
    ended = register(asha, booth_2, "9833333333", "Ended Yesterday")
    handed_over = register(asha, booth_3, "9844444444", "Handed Over Today")
    not_begun = register(asha, booth_3, "9855555555", "Begins Tomorrow")
    agent = register(asha, booth_1, "9866666666", "Booth Agent")
    register(asha, booth_1, "9877777777", "No Office")
    month_ago = days_from_today(-30)
    for member, booth in [(ongoing, booth_1), (ends_later, booth_2), (ended, booth_2),
                          (handed_over, booth_3)]:  # fmt: skip
        services.post_assign(
            actor=asha, member=member, group=booth, office=BOOTH_PRESIDENT, starts_on=month_ago
        )
    # Two current terms of the same office (two booths) still make one row.
    services.post_assign(actor=asha, member=ongoing, group=booth_3, office=BOOTH_PRESIDENT,
                         starts_on=month_ago)  # fmt: skip
    services.post_end(actor=asha, post=ends_later.posts.get(), ends_on=days_from_today(30))
    services.post_end(actor=asha, post=ended.posts.get(), ends_on=days_from_today(-1))
    services.post_end(actor=asha, post=handed_over.posts.get())  # a handover today
    services.post_assign(actor=asha, member=not_begun, group=booth_3, office=BOOTH_PRESIDENT,
                         starts_on=days_from_today(1))  # fmt: skip
    services.post_assign(actor=asha, member=agent, group=booth_1, office="booth_agent",
                         starts_on=month_ago)  # fmt: skip

    assert listed(naveen_client, post=BOOTH_PRESIDENT) == ["Ends Next Month", "Ongoing Term"]
    assert listed(naveen_client, post="booth_agent") == ["Booth Agent"]
    assert listed(naveen_client, post="state_president") == []
    assert len(listed(naveen_client)) == 7
    assert len(listed(naveen_client, post="")) == 7


def test_only_members_carrying_the_tag_are_listed(naveen_client, asha, tree, youth, women):
    booth = tree.mandrem_booths[0]
    register(asha, booth, "9811111111", "Both Tags", tags=(youth, women))
    register(asha, booth, "9822222222", "Youth Only", tags=(youth,))
    register(asha, booth, "9833333333", "Untagged")

    assert listed(naveen_client, tag=youth.pk) == ["Both Tags", "Youth Only"]
    assert listed(naveen_client, tag=women.pk) == ["Both Tags"]
    assert listed(naveen_client, tag="") == ["Both Tags", "Untagged", "Youth Only"]


def test_the_tag_choices_are_the_existing_tags_by_name(naveen_client, tree, youth, women):
    form = naveen_client.get("/members/").context["form"]

    assert [label for _, label in form.fields["tag"].choices] == ["Any", "women", "youth"]
    assert [value for value, _ in form.fields["post"].choices][:3] == [
        "", BOOTH_PRESIDENT, "booth_agent",
    ]  # fmt: skip


def test_the_filters_combine_with_a_query_status_and_group(naveen_client, asha, tree, youth):
    booth_1, booth_2, _ = tree.mandrem_booths
    for phone, name, booth, status in [
        ("9811111111", "Ravi Kamat", booth_1, Member.Status.ACTIVE),
        ("9822222222", "Ravi Naik", booth_2, Member.Status.ACTIVE),
        ("9833333333", "Ravi Quiet", booth_2, Member.Status.INACTIVE),
    ]:
        member = register(asha, booth, phone, name, tags=(youth,), status=status)
        services.post_assign(actor=asha, member=member, group=booth, office=BOOTH_PRESIDENT)
    register(asha, booth_1, "9844444444", "Ravi Plain")

    assert listed(naveen_client, q="ravi", tag=youth.pk) == ["Ravi Kamat", "Ravi Naik",
                                                             "Ravi Quiet"]  # fmt: skip
    assert listed(naveen_client, q="kamat", post=BOOTH_PRESIDENT) == ["Ravi Kamat"]
    assert listed(naveen_client, q="9822222222", tag=youth.pk) == ["Ravi Naik"]
    assert listed(naveen_client, post=BOOTH_PRESIDENT, status="inactive") == ["Ravi Quiet"]
    assert listed(naveen_client, tag=youth.pk, group=booth_2.code, status="active") == ["Ravi Naik"]
    assert listed(naveen_client, q="plain", tag=youth.pk) == []


def test_a_lead_never_sees_members_outside_their_area_through_the_filters(
    client, asha, naveen, sita, tree, youth
):
    north = register(asha, tree.mandrem_booths[0], "9811111111", "Asha North", tags=(youth,))
    south = register(asha, tree.ponda_booth, "9822222222", "Sita South", tags=(youth,))
    for member in (north, south):
        services.post_assign(actor=asha, member=member, group=member.booth,
                             office=BOOTH_PRESIDENT)  # fmt: skip

    for user, names in [(naveen, ["Asha North"]), (sita, ["Sita South"]),
                        (asha, ["Asha North", "Sita South"])]:  # fmt: skip
        client.force_login(user)
        assert listed(client, post=BOOTH_PRESIDENT) == names
        assert listed(client, tag=youth.pk) == names
        assert listed(client, tag=youth.pk, post=BOOTH_PRESIDENT) == names
    client.force_login(naveen)
    assert listed(client, q="Sita", tag=youth.pk) == []
    assert listed(client, q="9822222222", post=BOOTH_PRESIDENT) == []


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [({"post": "emperor"}, "post", "Choose an office from the list."),
     ({"post": "<script>alert(1)</script>"}, "post", "Choose an office from the list."),
     ({"post": BOOTH_PRESIDENT * 1000}, "post", "Choose an office from the list."),
     ({"tag": "999999"}, "tag", "Choose a tag from the list."),
     ({"tag": "youth"}, "tag", "Choose a tag from the list."),
     ({"tag": "1 OR 1=1"}, "tag", "Choose a tag from the list."),
     ({"tag": "-1"}, "tag", "Choose a tag from the list."),
     ({"tag": "9" * 30}, "tag", "Choose a tag from the list."),
     ({"tag": "9" * 5000}, "tag", "Choose a tag from the list."),
     ({"tag": "<script>alert(1)</script>"}, "tag", "Choose a tag from the list.")],
)  # fmt: skip
def test_bad_filter_values_are_shown_as_form_errors(
    naveen_client, asha, tree, youth, params, field, message
):
    """(A control character in any filter is a 400: tests/members/test_control_characters.py.)"""
    register(asha, tree.mandrem_booths[0], "9811111111", "Asha North", tags=(youth,))

    response = naveen_client.get("/members/", params)

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    content = response.content.decode()
    label = {"post": "Holds the office", "tag": "Tag"}[field]
    assert f"<p>{label}: {message}</p>" in content
    assert "<script>alert(1)</script>" not in content


def test_the_new_filters_are_translated(naveen_client, tree):
    naveen_client.post("/i18n/setlang/", {"language": "hi", "next": "/members/"})

    response = naveen_client.get("/members/", {"post": "emperor"})

    content = response.content.decode()
    assert "इस पद पर आसीन" in content
    assert "सूची में से कोई पद चुनें।" in content


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_downloads_hold_exactly_the_filtered_members(
    naveen_client, asha, tree, youth, women, file_format
):
    booth_1, booth_2, _ = tree.mandrem_booths
    president = register(asha, booth_1, "9811111111", "Asha President", tags=(youth, women))
    services.post_assign(actor=asha, member=president, group=booth_1, office=BOOTH_PRESIDENT)
    services.post_assign(actor=asha, member=president, group=booth_2, office=BOOTH_PRESIDENT)
    former = register(asha, booth_2, "9822222222", "Former President", tags=(youth,))
    post = services.post_assign(actor=asha, member=former, group=booth_2, office=BOOTH_PRESIDENT,
                                starts_on=days_from_today(-30))  # fmt: skip
    services.post_end(actor=asha, post=post, ends_on=days_from_today(-1))
    register(asha, booth_2, "9833333333", "Untagged")
    outside = register(asha, tree.ponda_booth, "9844444444", "Sita South", tags=(youth,))
    services.post_assign(actor=asha, member=outside, group=tree.ponda_booth,
                         office=BOOTH_PRESIDENT)  # fmt: skip

    def names(**params) -> list[str]:
        return [row["full_name"] for row in export(naveen_client, file_format, **params)]

    assert names(post=BOOTH_PRESIDENT) == ["Asha President"]
    assert names(tag=youth.pk) == ["Asha President", "Former President"]
    assert names(tag=women.pk, post=BOOTH_PRESIDENT) == ["Asha President"]
    assert names(tag=youth.pk, q="former") == ["Former President"]


@pytest.mark.parametrize("params", [{"post": "emperor"}, {"tag": "999999"}])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_downloads_with_bad_filters_go_back_to_the_list(
    naveen_client, asha, tree, params, file_format
):
    register(asha, tree.mandrem_booths[0], "9811111111", "Asha North")

    response = naveen_client.get(f"/members/export.{file_format}", params, follow=True)

    [(name, value)] = params.items()
    assert response.redirect_chain[0] == (f"/members/?{name}={value}", 302)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Correct the filters before downloading." in content
    assert "from the list." in content


def group_card_links(content: str) -> dict[str, str]:
    """Link text -> address, for the links in the "Group" card of a group page."""
    card = re.search(r'<article[^>]*aria-labelledby="group-heading">(.*?)</article>', content,
                     re.DOTALL)  # fmt: skip
    assert card is not None
    return {
        re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", text))).strip(): unescape(href)
        for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', card[1], re.DOTALL)
    }


def test_the_group_page_links_to_its_members(naveen_client, asha, tree):
    booth_1, booth_2, _ = tree.mandrem_booths
    register(asha, booth_1, "9811111111", "Asha North")
    register(asha, booth_2, "9822222222", "Ravi Kamat")
    register(asha, booth_2, "9833333333", "Gone Quiet", status=Member.Status.INACTIVE)
    register(asha, tree.ponda_booth, "9844444444", "Sita South")
    group_services.group_figures_refresh_all()

    for group, count, names in [
        (booth_2, 2, ["Gone Quiet", "Ravi Kamat"]),
        (tree.mandrem, 3, ["Asha North", "Gone Quiet", "Ravi Kamat"]),
    ]:
        page = naveen_client.get(f"/groups/{group.pk}/")
        assert page.status_code == 200
        address = group_card_links(page.content.decode())[f"Members ({count})"]
        assert address == f"/members/?group={group.code}"

        members = naveen_client.get(address)

        assert [member.full_name for member in members.context["page"].members] == names
        assert members.context["form"].cleaned_data["group"] == group


def test_the_group_page_links_to_its_members_before_they_are_counted(naveen_client, tree):
    page = naveen_client.get(f"/groups/{tree.mandrem.pk}/")

    address = group_card_links(page.content.decode())["Members"]
    assert address == f"/members/?group={tree.mandrem.code}"


def test_the_filtered_list_reads_in_a_fixed_number_of_queries(
    naveen_client, asha, tree, youth, django_assert_max_num_queries
):
    for number in range(30):
        booth = tree.mandrem_booths[number % 3]
        member = register(asha, booth, f"98110000{number:02d}", f"Member {number:02d}",
                          tags=(youth,))  # fmt: skip
        services.post_assign(actor=asha, member=member, group=booth, office=BOOTH_PRESIDENT)

    # 8 for the list, 3 for the menu's count of content awaiting a lead (counted once a
    # minute: content.context_processors).
    with django_assert_max_num_queries(11):
        names = listed(naveen_client, post=BOOTH_PRESIDENT, tag=youth.pk, status="active")

    assert len(names) == 30
