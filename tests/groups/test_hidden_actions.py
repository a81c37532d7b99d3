"""Pages show only the actions the permission table lets the user take."""

from __future__ import annotations

import pytest

from groups import services as group_services
from groups.models import Role
from members import services as member_services
from tests.factories import UserFactory

TREE_ACTIONS = ["Add a group under it", "Rename or set links", ">Move<", ">Deactivate<"]


@pytest.fixture
def cast(tree, naveen, vikram):
    """North Goa: Naveen leads, Vikram views, Olga organises, Eka edits, Apu approves."""
    users = {"lead": naveen, "viewer": vikram}
    for role, name in [("organiser", "olga"), ("editor", "eka"), ("approver", "apu")]:
        user = UserFactory(email=f"{name}@cadreconnect.example")
        group_services.assignment_add(actor=None, user=user, group=tree.north_goa, role=role)
        users[role] = user
    return users


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_group_page_shows_tree_and_role_actions_only_to_leads(client, tree, cast, role):
    client.force_login(cast[role])

    page = client.get(f"/groups/{tree.mandrem.pk}/").content.decode()

    lead = role == Role.LEAD
    for action in TREE_ACTIONS:
        assert (action in page) is lead, action
    assert (f"/groups/{tree.mandrem.pk}/roles/" in page) is lead
    booth_page = client.get(f"/groups/{tree.mandrem_booths[0].pk}/").content.decode()
    assert ("Merge into another booth" in booth_page) is lead


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_member_pages_show_only_the_actions_of_the_role(client, asha, tree, cast, role):
    booth = tree.mandrem_booths[0]
    first = member_services.member_create(actor=asha, full_name="Ravi Naik", phone="9811111111",
                                          booth=booth)  # fmt: skip
    member_services.member_create(actor=asha, full_name="Ravi Naik", phone="9811111112",
                                  booth=booth)  # fmt: skip
    client.force_login(cast[role])

    listing = client.get("/members/").content.decode()
    detail = client.get(f"/members/{first.pk}/").content.decode()
    duplicates = client.get("/members/duplicates/").content.decode()

    writes = role in (Role.LEAD, Role.ORGANISER)
    assert ("/members/new/" in listing) is writes
    assert ("/members/import/" in listing) is writes
    assert ("/members/export.csv" in listing) is (role == Role.LEAD)
    assert (f"/members/{first.pk}/edit/" in detail) is writes
    assert (f"/members/{first.pk}/reveal/" in detail) is writes
    assert ("Record consent" in detail) is writes
    assert ("merge-pair" in duplicates) is (role == Role.LEAD)
    assert "+91 98xxxxxx11" in listing and "9811111111" not in listing
