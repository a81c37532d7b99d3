"""The shipped mapping from the 2008 list to the 2024 one (groups/data/delimitation-2008-2024.csv)
applied with `manage.py groups_delimit` to a tree loaded from the 2008 list, with members,
posts, roles and figures: the tree it leaves is the one a fresh 2024 load writes.

The whole 2008 tree is loaded without booths (a few seconds); booths are generated for Goa
(unchanged), Dadra and Nagar Haveli and Daman and Diu (merged) and made by hand for a few
constituencies of Andhra Pradesh (split), Assam and J&K (redrawn; Ladakh's ACs merged into
its one).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from groups import loader, reference
from groups import services as group_services
from groups.models import Assignment, BoothPlacement, Delimitation, Group, Kind, Role
from members import services as member_services
from members.models import Member, Post
from tests.groups.conftest import staff
from tests.groups.test_delimitation import assert_sound_with_true_figures, fingerprint, where_is

# Needs PostgreSQL: the mapping merges Ladakh's ACs, which needs PostgreSQL.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the mapping merges Ladakh's ACs, which needs PostgreSQL",
)

MAPPING = str(reference.MAPPING_2008_2024_CSV)
# Constituencies given booths by hand: (2008 AC, its booths).
HAND_BOOTHS = {
    "S01-AC-001": 2,  # Sirpur: Telangana's AC 1 from 2014
    "S01-AC-120": 2,  # Ichchapuram: Andhra Pradesh's AC 1 from 2014
    "S01-AC-294": 1,  # Andhra Pradesh's last: AC 175
    "S03-AC-001": 2,  # Assam, redrawn
    "S09-AC-047": 1,  # Nobra (Ladakh), J&K redrawn
    "S09-AC-080": 1,
    "S18-AC-001": 1,  # Orissa, renamed
}


def tree_rows(state_codes: set[str]) -> dict[str, tuple]:
    """code -> (name, name_local, kind, parent's code, designation, electors, whether they are
    an estimate) of the active nodes of these states (booths included), the parent of a tree's
    root being the node it hangs from."""
    codes = dict(Group.objects.values_list("pk", "code"))
    return {
        code: (name, name_local, kind, codes.get(parent or upper), designation, electors, estimated)
        for code, name, name_local, kind, parent, upper, designation, electors, estimated in (
            Group.objects.filter(is_active=True)
            .exclude(kind=Kind.NATIONAL)
            .values_list(
                "code",
                "name",
                "name_local",
                "kind",
                "parent",
                "upper",
                "designation",
                "electors",
                "electors_estimated",
            )
        )
        if code.split("-")[0] in state_codes
    }


def spec_rows(state_codes: set[str], *, with_booths: set[str]) -> dict[str, tuple]:
    """The same, as a fresh 2024 load writes them (booths only for the states given; a
    booth's name left out, since it keeps the one it was generated with)."""
    specs = reference.tree_specs(with_booths=False, edition="2024")
    specs |= reference.tree_specs(with_booths=True, state_codes=with_booths, edition="2024")
    return {
        spec.code: (
            None if spec.kind == Kind.BOOTH else spec.name, spec.name_local, spec.kind,
            spec.parent_code, spec.designation, spec.electors, spec.electors_estimated,
        )
        for st, nodes in specs.items()
        if st in state_codes
        for spec in nodes
    }  # fmt: skip


@pytest.fixture
def tree_2008(asha) -> dict[str, Member]:
    loader.reference_tree_load(with_booths=False, edition="2008")
    loader.reference_tree_load(with_booths=True, state_codes=["S05", "U03", "U04"], edition="2008")
    for code, count in HAND_BOOTHS.items():
        ac = Group.objects.get(code=code)
        for number in range(1, count + 1):
            group_services.group_create_child(
                actor=asha, parent=ac, name=f"{ac.name} booth {number}",
                code=f"{code}-B-{number:04d}", kind=Kind.BOOTH,
            )  # fmt: skip
    booths = {
        "telangana": "S01-AC-001-B-0002", "andhra": "S01-AC-120-B-0001",
        "andhra_last": "S01-AC-294-B-0001", "assam": "S03-AC-001-B-0001",
        "ladakh": "S09-AC-047-B-0001", "jammu": "S09-AC-080-B-0001",
        "odisha": "S18-AC-001-B-0001", "goa": "S05-AC-001-B-0003",
        "dadra": "U03-AC-001-B-0002", "daman": "U04-AC-001-B-0001",
    }  # fmt: skip
    members = {
        key: member_services.member_create(
            actor=asha, full_name=f"Member {key}", phone=f"+9198123{index:05d}",
            booth=Group.objects.get(code=code),
            status=Member.Status.INACTIVE if key == "goa" else Member.Status.ACTIVE,
        )
        for index, (key, code) in enumerate(booths.items())
    }  # fmt: skip
    member_services.post_assign(
        actor=None, member=members["daman"], group=members["daman"].booth,
        office=Post.Office.BOOTH_PRESIDENT,
    )  # fmt: skip
    staff("lead@cadreconnect.example", "Lead Andhra", Group.objects.get(code="S01-AC-120"),
          Role.LEAD)  # fmt: skip
    staff("viewer@cadreconnect.example", "Viewer J&K", Group.objects.get(code="S09"), Role.VIEWER)
    group_services.group_figures_refresh_all()
    return members


def delimit(*options: str) -> str:
    out = StringIO()
    call_command("groups_delimit", MAPPING, *options, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_shipped_mapping_is_what_the_command_writes():
    out = StringIO()
    call_command("groups_mapping_2008_2024", "--stdout", stdout=out)

    assert out.getvalue() == reference.MAPPING_2008_2024_CSV.read_text(encoding="utf-8")


@on_postgresql
def test_the_2008_tree_becomes_the_2024_one_with_its_members(tree_2008):
    members = tree_2008
    post = Post.objects.get()
    roles = set(Assignment.objects.values_list("pk", "group_id"))
    before = fingerprint()

    # A dry run first: it prints the changes and writes nothing.
    out = delimit("--dry-run")

    assert "S01-AC-120 -> S01-AC-001" in out
    assert "U04-AC-001 -> U03-AC-001" in out
    assert "S09-AC-047 merged into U09-AC-001 (1 booths)" in out
    assert "Dry run: nothing was written." in out
    assert fingerprint() == before
    assert not Delimitation.objects.exists()

    out = delimit()

    assert "Applied 10 steps of 10" in out
    # Every state the 2024 list has, as a fresh 2024 load writes it: codes, names, kinds,
    # parents, designation, electors and their estimate mark; booths too for Goa and the
    # merged U03. No difference.
    states_2024 = set(reference.tree_specs(with_booths=False, edition="2024"))
    after = tree_rows(states_2024)
    expected = spec_rows(states_2024, with_booths={"S05", "U03"})
    hand_made = {code for code, row in after.items()
                 if row[2] == Kind.BOOTH and code.split("-")[0] not in {"S05", "U03"}}  # fmt: skip
    booth_name = {code: row[1:] for code, row in after.items() if row[2] == Kind.BOOTH}
    after = {
        code: ((None, *booth_name[code]) if code in booth_name else row)
        for code, row in after.items()
        if code not in hand_made
    }
    assert after == expected
    assert after["U09"][4] == "union_territory" and after["U09-AC-001"][4] == "whole_constituency"
    assert after["U08-AC-001"][6] and after["S03-AC-001"][6]
    # The hand-made booths followed their constituencies; Ladakh's went into its one AC.
    assert sorted(hand_made) == [
        "S01-AC-001-B-0001", "S01-AC-001-B-0002", "S01-AC-175-B-0001", "S18-AC-001-B-0001",
        "S29-AC-001-B-0001", "S29-AC-001-B-0002", "U09-AC-001-B-0001",
    ]  # fmt: skip
    # Nothing of the 2008 tree is active that the 2024 one lacks.
    assert not Group.objects.filter(is_active=True, code__regex=r"^(S09|U04)").exists()
    assert not Group.objects.filter(is_active=True, code__startswith="S03-2008-").exists()

    # Members of a renumbered, moved or unchanged constituency went with their booth.
    assert where_is(members["telangana"]) == ("S29-AC-001-B-0002", "S29-AC-001", "S29")
    assert where_is(members["andhra"]) == ("S01-AC-001-B-0001", "S01-AC-001", "S01")
    assert where_is(members["andhra_last"]) == ("S01-AC-175-B-0001", "S01-AC-175", "S01")
    assert where_is(members["odisha"]) == ("S18-AC-001-B-0001", "S18-AC-001", "S18")
    assert where_is(members["goa"]) == ("S05-AC-001-B-0003", "S05-AC-001", "S05")
    assert where_is(members["daman"]) == ("U03-AC-001-B-0001", "U03-AC-001", "U03")
    assert where_is(members["dadra"]) == ("U03-AC-002-B-0002", "U03-AC-002", "U03")
    assert where_is(members["ladakh"]) == ("U09-AC-001-B-0001", "U09-AC-001", "U09")
    assert Group.objects.get(code="U09-AC-001-B-0001").name == "Nobra booth 1"
    assert Group.objects.get(code="U03-AC-001").name == "Daman and Diu"
    assert Post.objects.get().pk == post.pk
    assert Post.objects.get().group.code == "U03-AC-001-B-0001"
    assert set(Assignment.objects.values_list("pk", "group_id")) == roles
    assert Assignment.objects.get(role=Role.LEAD).group.code == "S01-AC-001"

    # The redrawn states' other old booths are retired, kept, and listed for a lead to place,
    # with their members at home there; Ladakh's merged ACs are retired, empty.
    retired = {
        code: Group.objects.get(code=code)
        for code in ("S03-2008-AC-001-B-0001", "S03-2008-AC-001-B-0002", "S09-AC-080-B-0001")
    }  # fmt: skip
    assert not any(booth.is_active for booth in retired.values())
    placements = BoothPlacement.objects.filter(placed_at__isnull=True)
    assert sorted(placements.values_list("booth__code", flat=True)) == sorted(retired)
    assert where_is(members["assam"])[0] == "S03-2008-AC-001-B-0001"
    assert where_is(members["jammu"])[0] == "S09-AC-080-B-0001"
    nobra = Group.objects.get(code="S09-AC-047")
    assert not nobra.is_active and not nobra.get_children().exists()
    assert_sound_with_true_figures()
    assert Delimitation.objects.get().status == Delimitation.Status.DONE
