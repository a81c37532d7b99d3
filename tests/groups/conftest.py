"""A small real tree and a cast of staff, for the group tests.

Tree: India > Goa (S05) > North Goa district (S05-D-01) > North Goa PC > 20 ACs, with three
booths in Mandrem (S05-AC-001); Goa > South Goa district (S05-D-02) > South Goa PC > 20 ACs,
one booth in Ponda (S05-AC-021); India > Tripura (S23) > 2 PCs > 60 ACs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from groups import loader, services
from groups.models import Group, Kind, Role
from tests.factories import UserFactory


@dataclass
class Tree:
    india: Group
    goa: Group
    north_goa: Group
    south_goa: Group
    mandrem: Group
    ponda: Group
    mandrem_booths: list[Group]
    ponda_booth: Group
    tripura: Group

    def fresh(self, group: Group) -> Group:
        return Group.objects.get(pk=group.pk)


def build_tree(admin: User) -> Tree:
    loader.reference_tree_load(with_booths=False, state_codes=["S05", "S23"])
    goa = Group.objects.get(code="S05")
    districts = []
    for code, name, pc_code in [
        ("S05-D-01", "North Goa district", "S05-PC-01"),
        ("S05-D-02", "South Goa district", "S05-PC-02"),
    ]:
        district = services.group_create_child(
            actor=admin, parent=goa, name=name, code=code, kind=Kind.DISTRICT
        )
        services.group_move(actor=admin, group=Group.objects.get(code=pc_code), new_parent=district)
        districts.append(district)
    mandrem = Group.objects.get(code="S05-AC-001")
    ponda = Group.objects.get(code="S05-AC-021")
    mandrem_booths = [
        services.group_create_child(
            actor=admin, parent=mandrem, name=f"Mandrem booth {number}",
            code=f"S05-AC-001-B-{number:04d}", kind=Kind.BOOTH,
        )
        for number in (1, 2, 3)
    ]  # fmt: skip
    ponda_booth = services.group_create_child(
        actor=admin, parent=ponda, name="Ponda booth 1", code="S05-AC-021-B-0001", kind=Kind.BOOTH
    )
    return Tree(
        india=Group.objects.get(code="IN"),
        goa=Group.objects.get(code="S05"),
        north_goa=Group.objects.get(pk=districts[0].pk),
        south_goa=Group.objects.get(pk=districts[1].pk),
        mandrem=Group.objects.get(pk=mandrem.pk),
        ponda=Group.objects.get(pk=ponda.pk),
        mandrem_booths=[Group.objects.get(pk=booth.pk) for booth in mandrem_booths],
        ponda_booth=Group.objects.get(pk=ponda_booth.pk),
        tripura=Group.objects.get(code="S23"),
    )


@pytest.fixture
def tree(asha) -> Tree:
    return build_tree(asha)


def staff(email: str, name: str, group: Group, role: str) -> User:
    user = UserFactory(email=email, full_name=name)
    services.assignment_add(actor=None, user=user, group=group, role=role)
    return user


@pytest.fixture
def nita(tree) -> User:
    """Nita leads at national level."""
    return staff("nita@cadreconnect.example", "Nita National", tree.india, Role.LEAD)


@pytest.fixture
def gopal(tree) -> User:
    """Gopal leads Goa."""
    return staff("gopal@cadreconnect.example", "Gopal Goa", tree.goa, Role.LEAD)


@pytest.fixture
def naveen(tree) -> User:
    """Naveen leads the North Goa district."""
    return staff("naveen@cadreconnect.example", "Naveen North", tree.north_goa, Role.LEAD)


@pytest.fixture
def sita(tree) -> User:
    """Sita leads the South Goa district."""
    return staff("sita@cadreconnect.example", "Sita South", tree.south_goa, Role.LEAD)


@pytest.fixture
def vikram(tree) -> User:
    """Vikram may look at North Goa but not change it."""
    return staff("vikram@cadreconnect.example", "Vikram Viewer", tree.north_goa, Role.VIEWER)


@pytest.fixture
def nobody(db) -> User:
    """Signed in, but assigned nowhere."""
    return UserFactory(email="nobody@cadreconnect.example", full_name="No Body")
