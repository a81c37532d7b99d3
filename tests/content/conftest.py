"""The content tests' cast, on the group tests' tree (tests/groups/conftest.py):

India > Goa > North Goa district (Mandrem AC and its booths) and South Goa district (Ponda);
India > Tripura. Naveen leads North Goa, Sita South Goa, Gopal Goa, Nita the national office;
Vikram is a viewer in North Goa.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from accounts.models import User
from content import services
from content.models import Content
from content.services import VariantInput
from groups import services as group_services
from groups.models import Group, Kind, Role
from tests.factories import UserFactory
from tests.groups import conftest as group_fixtures
from tests.groups.conftest import Tree


def staff(email: str, name: str, *roles: tuple[Group, str]) -> User:
    user = UserFactory(email=email, full_name=name)
    for group, role in roles:
        group_services.assignment_add(actor=None, user=user, group=group, role=role)
    return user


@pytest.fixture
def esha(tree) -> User:
    """Esha edits content for all of Goa."""
    return staff("esha@cadreconnect.example", "Esha Editor", (tree.goa, Role.EDITOR))


@pytest.fixture
def emma(tree) -> User:
    """Emma edits content for Goa and is an approver there too."""
    return staff(
        "emma@cadreconnect.example", "Emma Both", (tree.goa, Role.EDITOR), (tree.goa, Role.APPROVER)
    )


@pytest.fixture
def arun(tree) -> User:
    """Arun is an approver in North Goa."""
    return staff("arun@cadreconnect.example", "Arun Approver", (tree.north_goa, Role.APPROVER))


@pytest.fixture
def mohan(tree) -> User:
    """Mohan is an approver for the Mandrem constituency only: below the approval level."""
    return staff("mohan@cadreconnect.example", "Mohan Mandrem", (tree.mandrem, Role.APPROVER))


@pytest.fixture
def tarun(tree) -> User:
    """Tarun leads Tripura."""
    return staff("tarun@cadreconnect.example", "Tarun Tripura", (tree.tripura, Role.LEAD))


def small_tree(admin: User) -> Tree:
    """The group tests' tree with only the nodes these tests use (not the reference load of
    two states, which takes seconds per test): India > Goa > North Goa district > its PC >
    Mandrem AC (a tree of its own) > three booths; Goa > South Goa district > its PC > Ponda
    AC > one booth; India > Tripura."""
    india = Group.objects.create(name="India", code="IN", kind=Kind.NATIONAL)

    def child(parent: Group, name: str, code: str, kind: int) -> Group:
        return group_services.group_create_child(
            actor=admin, parent=parent, name=name, code=code, kind=kind
        )

    goa = child(india, "Goa", "S05", Kind.STATE)
    tripura = child(india, "Tripura", "S23", Kind.STATE)
    north = child(goa, "North Goa district", "S05-D-01", Kind.DISTRICT)
    south = child(goa, "South Goa district", "S05-D-02", Kind.DISTRICT)
    mandrem = child(
        child(north, "North Goa", "S05-PC-01", Kind.PARLIAMENTARY), "Mandrem", "S05-AC-001",
        Kind.ASSEMBLY,
    )  # fmt: skip
    ponda = child(
        child(south, "South Goa", "S05-PC-02", Kind.PARLIAMENTARY), "Ponda", "S05-AC-021",
        Kind.ASSEMBLY,
    )  # fmt: skip
    booths = [
        child(mandrem, f"Mandrem booth {n}", f"S05-AC-001-B-{n:04d}", Kind.BOOTH) for n in (1, 2, 3)
    ]
    ponda_booth = child(ponda, "Ponda booth 1", "S05-AC-021-B-0001", Kind.BOOTH)

    def again(group: Group) -> Group:  # each row as it is after the later inserts
        return Group.objects.get(pk=group.pk)

    return Tree(
        india=again(india), goa=again(goa), north_goa=again(north), south_goa=again(south),
        mandrem=again(mandrem), ponda=again(ponda), mandrem_booths=[again(b) for b in booths],
        ponda_booth=again(ponda_booth), tripura=again(tripura),
    )  # fmt: skip


@pytest.fixture
def tree(asha) -> Tree:
    return small_tree(asha)


# The group tests' cast, on this tree.
gopal, naveen, nita, nobody, sita, vikram = (
    group_fixtures.gopal, group_fixtures.naveen, group_fixtures.nita, group_fixtures.nobody,
    group_fixtures.sita, group_fixtures.vikram,
)  # fmt: skip

BILINGUAL = [
    VariantInput(language="hi", body="रविवार को रैली में आइए", is_default=True),
    VariantInput(language="en", body="Come to the rally on Sunday"),
]


def draft(author: User, targets: Sequence, **fields) -> Content:
    fields.setdefault("title", "Sunday rally")
    fields.setdefault("variants", BILINGUAL)
    return services.content_create(actor=author, targets=targets, **fields)


def submitted(author: User, targets: Sequence, **fields) -> Content:
    return services.content_submit(actor=author, content=draft(author, targets, **fields))


def fresh(content: Content) -> Content:
    return Content.objects.get(pk=content.pk)
