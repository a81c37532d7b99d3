"""Numbers sorted as numbers, and counts written as India writes them (12,34,567) in English
and in Hindi."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template

from groups import services
from groups.models import GroupFigures, Kind
from members.models import Member


def indian(value) -> str:
    return Template("{% load numbers %}{{ value|indian }}").render(Context({"value": value}))


@pytest.mark.parametrize(
    ("value", "written"),
    [(0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (99999, "99,999"), (100000, "1,00,000"),
     (1234567, "12,34,567"), (927741, "9,27,741"), (10_00_00_000, "10,00,00,000"),
     (-1234567, "-12,34,567"), ("4125", "4,125"), (None, ""), ("n/a", "n/a"), (2.5, "2.5")],
)  # fmt: skip
def test_counts_are_grouped_in_thousands_then_lakhs_and_crores(value, written):
    assert indian(value) == written


@pytest.fixture
def gopal_client(client, gopal):
    client.force_login(gopal)
    return client


def test_group_search_puts_booth_2_before_booth_10(gopal_client, asha, tree):
    services.group_create_child(
        actor=asha, parent=tree.mandrem, name="Mandrem booth 10", code="S05-AC-001-B-0010",
        kind=Kind.BOOTH,
    )  # fmt: skip

    page = gopal_client.get("/groups/search/", {"q": "Mandrem booth"}).content.decode()

    found = re.findall(r">(Mandrem booth \d+)</a>", page)
    assert found == ["Mandrem booth 1", "Mandrem booth 2", "Mandrem booth 3", "Mandrem booth 10"]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_group_figures_use_indian_digit_grouping(gopal_client, tree, language):
    GroupFigures.objects.update_or_create(
        group=tree.goa,
        defaults={"booths": 1234567, "booths_with_whatsapp": 100000, "members": 98765432,
                  "active_members": 4567, "booths_with_active_member": 12},
    )  # fmt: skip
    gopal_client.cookies["django_language"] = language

    page = gopal_client.get(f"/groups/{tree.goa.pk}/").content.decode()

    for written in ["12,34,567", "1,00,000", "9,87,65,432", "4,567"]:
        assert written in page
    assert "1,234,567" not in page and "98,765,432" not in page


def test_booth_counts_in_the_tree_use_indian_digit_grouping(gopal_client, tree):
    GroupFigures.objects.update_or_create(group=tree.north_goa, defaults={"booths": 153000})

    page = gopal_client.get(f"/groups/{tree.goa.pk}/").content.decode()

    assert "1,53,000 booths" in page


def test_member_list_counts_use_indian_digit_grouping(gopal_client, tree):
    booth = tree.mandrem_booths[0]
    Member.objects.bulk_create(
        Member(full_name=f"Member {number:04d}", phone=f"+9198{number:08d}", booth=booth,
               tree_id=booth.tree_id, state=tree.goa)
        for number in range(1234)
    )  # fmt: skip

    page = gopal_client.get("/members/", {"page": "2"}).content.decode()

    assert "Members 51\u2013100 of 1,234" in page
