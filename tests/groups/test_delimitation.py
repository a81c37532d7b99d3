"""Delimitation as an operation (`manage.py groups_delimit`): a mapping from old to new
constituencies and booths applied to a small tree with members, posts, roles and figures.

The mapping below splits North Goa off as a new state (S40), the way Telangana left Andhra
Pradesh: its Lok Sabha constituency moves there and Mandrem is renumbered S40-AC-001 with its
booths, while Goa's remaining constituencies are renumbered into the freed codes (a chain:
S05-AC-001 becomes S40-AC-001, then S05-AC-021 becomes S05-AC-001); one booth of Mandrem moves
by an explicit order to Ponda; Cuncolim (S05-AC-030) is redrawn with no booth-level order, so
it is retired and its booths wait for a lead; Canacona (S05-AC-040) is merged into Sanguem;
Tripura is renamed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from cadreconnect.models import AuditEvent
from cadreconnect.permissions import Forbidden, OutsideArea
from groups import services as group_services
from groups.delimitation import (
    applying,
    delimitation_booth_place,
    delimitation_booths_waiting,
)
from groups.models import (
    Assignment,
    BoothPlacement,
    Delimitation,
    DelimitationNotice,
    DelimitationStep,
    Group,
    GroupFigures,
    Kind,
    Role,
)
from groups.tree import check_integrity
from members import services as member_services
from members.models import Member, Membership, Post
from tests.conftest import wait_until
from tests.groups.conftest import Tree, build_tree, staff
from tests.groups.test_figures import counted_by_hand, stored_figures
from tests.members.test_member_figures import members_counted_by_hand, stored_member_figures
from tests.support import processes

# Needs PostgreSQL: a merge is PostgreSQL's (SQLite refuses it).
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a merge is PostgreSQL's (SQLite refuses it)"
)

# The eight columns of the first files, still read (no designation or estimate changes).
HEADER = "action,old_code,new_code,above,kind,name,name_local,electors"
FULL_HEADER = HEADER + ",designation,electors_estimated"
MAPPING = [
    HEADER,
    "create,,S40,,state,North Goa State,उत्तर गोवा राज्य,",
    "move,S05-PC-01,S40-PC-01,S40,pc,,,",
    "move,S05-AC-001,S40-AC-001,,ac,,,",
    "move,S05-PC-02,S05-PC-01,,pc,,,",
    "move,S05-AC-021,S05-AC-001,,ac,Ponda (renumbered),,",
    "move,S05-AC-001-B-0003,S05-AC-001-B-0002,S05-AC-001,booth,,,",
    "retire,S05-AC-030,S05-2008-AC-030,,ac,,,",
    # A merge is PostgreSQL's (the embedded SQLite refuses it: see the refusal test).
    *(["merge,S05-AC-040,,S05-AC-039,ac,,,"] if connection.vendor == "postgresql" else []),
    "move,S23,,,state,Tripura State,,",
]


def mapping_file(tmp_path: Path, *lines: str, name: str = "mapping.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def delimit(path: Path, *options: str) -> tuple[str, str]:
    """Run the command as an operator would; (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("groups_delimit", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@dataclass
class Scene:
    tree: Tree
    cuncolim: Group
    cuncolim_booths: list[Group]
    mohan: User  # leads Mandrem
    cuncolim_viewer: User
    mandrem_members: list[Member]  # in booth 1
    moving_member: Member  # in Mandrem booth 3, which moves to Ponda
    ponda_member: Member
    cuncolim_members: list[Member]


def build_scene(asha: User, tree: Tree | None = None) -> Scene:
    """The `tree` fixture's Goa and Tripura, with two booths in Cuncolim (S05-AC-030), six
    members (one inactive), a booth president's post, a membership of Mandrem's group, and
    roles at Mandrem and Cuncolim."""
    tree = tree or build_tree(asha)
    cuncolim = Group.objects.get(code="S05-AC-030")
    cuncolim_booths = [
        group_services.group_create_child(
            actor=asha, parent=cuncolim, name=f"Cuncolim booth {number}",
            code=f"S05-AC-030-B-{number:04d}", kind=Kind.BOOTH,
        )
        for number in (1, 2)
    ]  # fmt: skip

    def register(number: int, booth: Group, status: str = Member.Status.ACTIVE) -> Member:
        return member_services.member_create(
            actor=asha, full_name=f"Member {number}", phone=f"+91981230{number:04d}",
            booth=booth, status=status,
        )  # fmt: skip

    first, _second, third = tree.mandrem_booths
    mandrem_members = [register(1, first), register(2, first, Member.Status.INACTIVE)]
    moving_member = register(3, third)
    ponda_member = register(4, tree.ponda_booth)
    cuncolim_members = [register(5, cuncolim_booths[0]), register(6, cuncolim_booths[1])]
    member_services.post_assign(
        actor=None, member=mandrem_members[0], group=first, office=Post.Office.BOOTH_PRESIDENT
    )
    member_services.membership_add(
        actor=None, member=mandrem_members[0], group=tree.mandrem, role="member"
    )
    mohan = staff("mohan@cadreconnect.example", "Mohan Mandrem", tree.mandrem, Role.LEAD)
    viewer = staff("chitra@cadreconnect.example", "Chitra Cuncolim", cuncolim, Role.VIEWER)
    group_services.group_figures_refresh_all()
    return Scene(
        tree=tree, cuncolim=cuncolim, cuncolim_booths=cuncolim_booths, mohan=mohan,
        cuncolim_viewer=viewer, mandrem_members=mandrem_members, moving_member=moving_member,
        ponda_member=ponda_member, cuncolim_members=cuncolim_members,
    )  # fmt: skip


@pytest.fixture
def scene(asha, tree) -> Scene:
    return build_scene(asha, tree)


def code_of(group_id: int | None) -> str | None:
    return Group.objects.get(pk=group_id).code if group_id else None


def where_is(member: Member) -> tuple[str, str, str]:
    """(home booth's code, the code of its tree's root, the member's state's code)."""
    member.refresh_from_db()
    root = Group.objects.get(tree_id=member.tree_id, parent__isnull=True)
    return member.booth.code, root.code, code_of(member.state_id)


def assert_sound_with_true_figures() -> None:
    assert check_integrity() == []
    out = StringIO()
    call_command("groups_check", stdout=out)
    assert "sound" in out.getvalue()
    assert stored_figures() == counted_by_hand()
    assert stored_member_figures() == members_counted_by_hand()


def test_a_mapping_moves_renumbers_creates_and_retires_with_members_posts_and_roles(
    scene, tmp_path
):
    tree = scene.tree
    post = Post.objects.get()
    membership = Membership.objects.get()
    roles = set(Assignment.objects.values_list("pk", "group_id"))

    out, _err = delimit(mapping_file(tmp_path, *MAPPING))

    # Tripura has no dependency and comes first (by code); S05 takes codes S40 gives up.
    assert list(DelimitationStep.objects.values_list("number", "states")) == [
        (1, "S23"), (2, "S40"), (3, "S05"),
    ]  # fmt: skip
    assert "Applied 3 steps of 3" in out
    north_goa_state = Group.objects.get(code="S40")
    assert (north_goa_state.kind, north_goa_state.parent_id, north_goa_state.upper_id) == (
        Kind.STATE, None, None,
    )  # fmt: skip
    assert north_goa_state.name_local == "उत्तर गोवा राज्य"
    # The Lok Sabha constituency is the same node, with its new code, in the new state.
    north_goa_pc = Group.objects.get(code="S40-PC-01")
    assert north_goa_pc.parent_id == north_goa_state.pk
    mandrem = tree.fresh(tree.mandrem)
    assert (mandrem.code, mandrem.upper_id) == ("S40-AC-001", north_goa_pc.pk)
    # An assembly constituency without a row of its own goes where its PC goes, code kept.
    assert Group.objects.get(code="S05-AC-002").upper_id == north_goa_pc.pk
    # The chain: S05-AC-021 took S05-AC-001 once Mandrem had given it up.
    ponda = tree.fresh(tree.ponda)
    assert (ponda.code, ponda.name) == ("S05-AC-001", "Ponda (renumbered)")
    assert code_of(ponda.upper_id) == "S05-PC-01"
    assert Group.objects.get(code="S05-PC-01").pk == Group.objects.get(pk=ponda.upper_id).pk
    # Booths follow their constituency's code; the ordered one moved to Ponda.
    first, second, third = (tree.fresh(booth) for booth in tree.mandrem_booths)
    assert (first.code, second.code) == ("S40-AC-001-B-0001", "S40-AC-001-B-0002")
    assert (third.code, third.parent_id) == ("S05-AC-001-B-0002", ponda.pk)
    assert tree.fresh(tree.ponda_booth).code == "S05-AC-001-B-0001"
    assert Group.objects.get(code="S23").name == "Tripura State"

    # Members move with their booths: their tree and state columns follow.
    assert where_is(scene.mandrem_members[0]) == ("S40-AC-001-B-0001", "S40-AC-001", "S40")
    assert where_is(scene.mandrem_members[1]) == ("S40-AC-001-B-0001", "S40-AC-001", "S40")
    assert where_is(scene.moving_member) == ("S05-AC-001-B-0002", "S05-AC-001", "S05")
    assert where_is(scene.ponda_member) == ("S05-AC-001-B-0001", "S05-AC-001", "S05")
    # Posts, memberships and roles point at the same nodes, wherever those went.
    assert Post.objects.get().pk == post.pk and Post.objects.get().group_id == first.pk
    assert Membership.objects.get().pk == membership.pk
    assert Membership.objects.get().group_id == mandrem.pk
    assert set(Assignment.objects.values_list("pk", "group_id")) == roles

    # Cuncolim is retired with its booths (kept, with a code for history), the booths wait
    # for a lead, its members stay at home there, and its viewer's role is on record.
    cuncolim = tree.fresh(scene.cuncolim)
    assert (cuncolim.code, cuncolim.is_active) == ("S05-2008-AC-030", False)
    booths = [tree.fresh(booth) for booth in scene.cuncolim_booths]
    assert [(b.code, b.is_active) for b in booths] == [
        ("S05-2008-AC-030-B-0001", False), ("S05-2008-AC-030-B-0002", False),
    ]  # fmt: skip
    assert sorted(BoothPlacement.objects.values_list("booth_id", "retired_from", "placed_at")) == [
        (booths[0].pk, "S05-2008-AC-030", None), (booths[1].pk, "S05-2008-AC-030", None),
    ]  # fmt: skip
    assert where_is(scene.cuncolim_members[0]) == (
        "S05-2008-AC-030-B-0001", "S05-2008-AC-030", "S05",
    )  # fmt: skip
    notice = DelimitationNotice.objects.get()
    assert (notice.assignment.user, notice.group_code) == (scene.cuncolim_viewer, cuncolim.code)
    # Canacona, merged into Sanguem, is retired (it had nothing under it).
    assert Group.objects.get(code="S05-AC-040").is_active == (connection.vendor != "postgresql")

    # One audited operation per state, inside the run's start and end.
    applied = AuditEvent.objects.filter(action="delimitation.apply").order_by("id")
    assert [event.data["state"] for event in applied] == ["S23", "S40", "S05"]
    assert applied[2].data["booths_to_place"] == 2
    assert applied[2].data["members_to_place"] == 2
    # Mandrem's three members went to S40 with it; then the ordered booth brought one back.
    assert applied[1].data["members_moved"] == 3
    assert applied[2].data["members_moved"] == 1
    assert AuditEvent.objects.filter(action="delimitation.start").count() == 1
    assert AuditEvent.objects.filter(action="delimitation.done").count() == 1
    assert_sound_with_true_figures()
    # The new state's figures hold North Goa's members.
    assert GroupFigures.objects.get(group=north_goa_state).members == 2


def test_the_same_file_again_changes_nothing(scene, tmp_path):
    path = mapping_file(tmp_path, *MAPPING)
    delimit(path)
    before = fingerprint()

    out, _err = delimit(path)

    assert "applied already" in out
    assert fingerprint() == before


def test_a_dry_run_prints_every_change_and_writes_nothing(scene, tmp_path):
    before = fingerprint()
    audits = AuditEvent.objects.count()

    out, _err = delimit(mapping_file(tmp_path, *MAPPING), "--dry-run")

    assert "Step 2: S40" in out
    assert "S05-AC-001 -> S40-AC-001" in out
    assert "S05-AC-021 -> S05-AC-001" in out
    assert "S05-PC-02 -> S05-PC-01" in out
    assert "S05-AC-001-B-0003 -> S05-AC-001-B-0002" in out
    assert "S05-AC-001-… -> S40-AC-001-… (2 booths)" in out
    assert "booths to place 2 (members waiting 2)" in out
    assert "members moved with their booths 3" in out
    assert "Dry run: nothing was written." in out
    assert fingerprint() == before
    assert AuditEvent.objects.count() == audits
    assert not Delimitation.objects.exists()


def test_a_bad_mapping_is_refused_whole_with_its_line_numbers(scene, tmp_path):
    before = fingerprint()
    path = mapping_file(
        tmp_path,
        HEADER,
        "move,S05-AC-001,S40-AC-001,,ac,,,",  # fine on its own
        "move,S05-AC-999,,,ac,,,",  # 3: unknown
        "move,S05-AC-002,S05-AC-003,,ac,,,",  # 4 and 5: a circle
        "move,S05-AC-003,S05-AC-002,,ac,,,",
        "move,S05-AC-001-B-0001,S05-AC-001-B-0009,,booth,,,",
        "move,S05-AC-001-B-0001,,S05-AC-021,booth,,,",  # 7: the same booth again
        "move,S05-AC-010,,S05-AC-011,ac,,,",  # 8: an AC under an AC
        "move,S05-AC-021-B-0001,,S05-PC-01,booth,,,",  # 9: a booth under a PC
    )

    with pytest.raises(CommandError, match="refused"):
        delimit(path)

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("groups_delimit", str(path), stderr=err)
    problems = err.getvalue()
    assert "line 3: no node in the tree has the code S05-AC-999" in problems
    assert "line 4: the codes S05-AC-002 → S05-AC-003 → S05-AC-002 go round in a circle" in problems
    assert "line 5: the codes" in problems
    assert "line 7: S05-AC-001-B-0001 is mapped twice (first on line 6)" in problems
    assert (
        "line 8: S05-AC-010 (Assembly constituency) cannot go under S05-AC-011 (Assembly "
        "constituency)" in problems
    )
    assert (
        "line 9: S05-AC-021-B-0001 (Polling booth) cannot go under S05-PC-01 (Lok Sabha "
        "constituency)" in problems
    )
    assert "line 2:" not in problems and "line 6:" not in problems
    assert fingerprint() == before
    assert not Delimitation.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER.encode() + b"\nmove,S05-AC-001,\x00,,ac,,,\n", "line 2: the file holds a NUL byte"),
        (HEADER.encode() + b"\nmove,S05-AC-001,,,ac,Mapu\xe7a,,\n",
         "line 2: this line is not UTF-8"),
        (HEADER.encode() + b",drop_me\nmove,S05-AC-001,,,ac,,,,x\n",
         "unknown columns: 'drop_me'"),
        (b"action,old_code,new_code,kind\nmove,S05-AC-001,,ac\n",
         "missing columns: above, name, name_local, electors"),
        (HEADER.encode() + b"\nmove,S05-AC-001,S05 AC 1,,ac,,,\n",
         "line 2: the new_code 'S05 AC 1'"),
        (HEADER.encode() + b"\nmove,S05-AC-001,,,ac,Bad\x07name,,\n",
         "line 2: the name holds a control character"),
        (HEADER.encode() + b",designations\nmove,S05-AC-001,,,ac,,,,none\n",
         "unknown columns: 'designations'"),
        (FULL_HEADER.encode() + b"\nmove,S05,,,state,,,,republic,\n",
         "line 2: the designation 'republic' is not one of none, union_territory, "
         "whole_constituency"),
        (FULL_HEADER.encode() + b"\nmove,S05-AC-001,,,ac,,,,,maybe\n",
         "line 2: electors_estimated 'maybe' is not yes or no"),
        (FULL_HEADER.encode() + b"\nmerge,S05-AC-001,,,ac,,,,,\n",
         "line 2: a merge needs its above"),
    ],
    ids=["nul", "encoding", "forged-column", "missing-columns", "bad-code", "control-character",
         "misspelt-column", "bad-designation", "bad-estimate", "merge-without-above"],
)  # fmt: skip
def test_hostile_files_are_refused_with_a_clear_error(db, tmp_path, content, expected):
    path = tmp_path / "mapping.csv"
    path.write_bytes(content)
    err = StringIO()

    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("groups_delimit", str(path), stderr=err)

    assert expected in err.getvalue()
    assert not Delimitation.objects.exists()


@on_postgresql
def test_bad_designations_and_merges_are_refused_whole_with_their_lines(scene, tmp_path):
    before = fingerprint()
    path = mapping_file(
        tmp_path,
        FULL_HEADER,
        "move,S05-AC-001,,,ac,,,,union_territory,",  # 2: a UT is a state's node
        "move,S05,,,state,,,,whole_constituency,",  # 3: a whole constituency an AC's
        "merge,S05-AC-010,,S05-PC-01,ac,,,,,",  # 4: into another kind
        "merge,S05-AC-011,,S05-AC-011,ac,,,,,",  # 5: into itself
        "retire,S05-AC-012,,,ac,,,,,",
        "merge,S05-AC-013,,S05-AC-012,ac,,,,,",  # 7: into a retired node
        "merge,S05-AC-014,,S05-AC-015,ac,,,,,",
        "merge,S05-AC-015,,S05-AC-016,ac,,,,,",  # 8 takes in what 9 merges away
        "merge,S05-AC-014,,S05-AC-016,ac,,,,,",  # 10: merged twice
        "merge,S05-AC-021-B-0001,,S05-AC-001-B-0001,booth,,,,,",  # 11: a booth
        "move,S05-AC-002,,,ac,,,,whole_constituency,yes",  # fine
        "merge,S23,,S05,state,,,,,",  # fine: Tripura's PCs and ACs numbered on after Goa's
        "move,S05-AC-001-B-0001,,S23-AC-001,booth,,,,,",  # 14: a code the merge renumbers
    )
    err = StringIO()

    with pytest.raises(CommandError, match="refused"):
        call_command("groups_delimit", str(path), stderr=err)

    problems = err.getvalue()
    assert (
        "line 2: the designation union_territory is for a node of the kind State, not Assembly "
        "constituency" in problems
    )
    assert "line 3: the designation whole_constituency is for a node of the kind Assembly" in (
        problems
    )
    assert (
        "line 4: S05-AC-010 (Assembly constituency) can only be merged into a node of its kind, "
        "not S05-PC-01 (Lok Sabha constituency)" in problems
    )
    assert "line 5: S05-AC-011 cannot be merged into itself" in problems
    assert "line 7: S05-AC-013 cannot be merged into S05-AC-012, which line 6 retires" in problems
    assert "line 8: S05-AC-014 cannot be merged into S05-AC-015, which line 9 retires" in problems
    assert "line 10: S05-AC-014 is mapped twice (first on line 8)" in problems
    assert "line 11: S05-AC-021-B-0001 is a polling booth: nothing is under it to merge" in problems
    assert "line 14: S23-AC-001 goes with the merge on line 13 and is renumbered" in problems
    assert "line 12:" not in problems and "line 13:" not in problems and "line 6:" not in problems
    assert fingerprint() == before
    assert not Delimitation.objects.exists()


# Mandrem (S05-AC-001, three booths) and Cuncolim (S05-AC-030, two) merged into Ponda
# (S05-AC-021, one booth), Mandrem keeping its code for history; a new whole constituency
# with estimated electors; Ponda's electors marked as an estimate.
MERGE_MAPPING = [
    FULL_HEADER,
    "merge,S05-AC-001,S05-2008-AC-001,S05-AC-021,ac,,,,,",
    "merge,S05-AC-030,,S05-AC-021,ac,,,,,",
    "move,S05-AC-021,,,ac,,,41000,,yes",
    "create,,S05-AC-041,S05-PC-02,ac,Mormugao Port,,12000,whole_constituency,yes",
]


@on_postgresql
def test_a_merge_moves_everything_under_a_node_into_another_with_members_and_posts(scene, tmp_path):
    tree = scene.tree
    path = mapping_file(tmp_path, *MERGE_MAPPING)
    post = Post.objects.get()
    membership = Membership.objects.get()
    before = fingerprint()

    out, _err = delimit(path, "--dry-run")

    assert "S05-AC-001 merged into S05-AC-021 (3 booths)" in out
    assert "S05-AC-030 merged into S05-AC-021 (2 booths)" in out
    assert "merged into another node 2" in out
    assert fingerprint() == before

    out, _err = delimit(path)

    # The booths went to Ponda, numbered after its own booth: Mandrem's in tree order, then
    # Cuncolim's (the rows' order).
    ponda = tree.fresh(tree.ponda)
    booths = [tree.fresh(booth) for booth in (*tree.mandrem_booths, *scene.cuncolim_booths)]
    assert [(b.code, b.parent_id, b.is_active) for b in booths] == [
        (f"S05-AC-021-B-{number:04d}", ponda.pk, True) for number in range(2, 7)
    ]
    assert tree.fresh(tree.ponda_booth).code == "S05-AC-021-B-0001"
    # The merged constituencies are retired, empty, kept for history; nothing waits for a lead.
    mandrem, cuncolim = tree.fresh(tree.mandrem), tree.fresh(scene.cuncolim)
    assert (mandrem.code, mandrem.is_active) == ("S05-2008-AC-001", False)
    assert (cuncolim.code, cuncolim.is_active) == ("S05-AC-030", False)
    assert not Group.objects.filter(parent__in=[mandrem, cuncolim]).exists()
    assert not BoothPlacement.objects.exists()
    # Members, posts and memberships went with their booths; roles there are kept, noticed.
    assert where_is(scene.mandrem_members[0]) == ("S05-AC-021-B-0002", "S05-AC-021", "S05")
    assert where_is(scene.moving_member) == ("S05-AC-021-B-0004", "S05-AC-021", "S05")
    assert where_is(scene.cuncolim_members[1]) == ("S05-AC-021-B-0006", "S05-AC-021", "S05")
    assert Post.objects.get().pk == post.pk and Post.objects.get().group_id == booths[0].pk
    assert Membership.objects.get().group_id == mandrem.pk == membership.group_id
    assert sorted(DelimitationNotice.objects.values_list("group_code", flat=True)) == [
        "S05-2008-AC-001", "S05-AC-030",
    ]  # fmt: skip
    # The designation and the estimate mark, on a move and on a create.
    assert (ponda.electors, ponda.electors_estimated, ponda.designation) == (41000, True, "")
    port = Group.objects.get(code="S05-AC-041")
    assert (port.designation, port.electors, port.electors_estimated) == (
        "whole_constituency", 12000, True,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="delimitation.apply")
    assert event.data["merged"] == 2
    assert_sound_with_true_figures()
    assert GroupFigures.objects.get(group=ponda).members == 6
    assert GroupFigures.objects.get(group=ponda).booths == 6

    out, _err = delimit(path)

    assert "applied already" in out


@on_postgresql
def test_a_state_merged_into_another_brings_its_constituencies_renumbered_after_its_own(
    scene, tmp_path, asha
):
    """Tripura into Goa: its PCs and ACs are numbered on after Goa's (S23-AC-001 becomes
    S05-AC-041), its booths follow their AC, its members change state."""
    udaipur = Group.objects.get(code="S23-AC-001")
    booth = group_services.group_create_child(
        actor=asha, parent=udaipur, name="Booth 1", code="S23-AC-001-B-0001", kind=Kind.BOOTH
    )
    member = member_services.member_create(
        actor=asha, full_name="Member T", phone="+919812399999", booth=booth
    )
    group_services.group_figures_refresh_all()

    out, _err = delimit(mapping_file(tmp_path, FULL_HEADER, "merge,S23,,S05,state,,,,,"))

    assert "Applied 1 steps of 1" in out
    assert where_is(member) == ("S05-AC-041-B-0001", "S05-AC-041", "S05")
    assert Group.objects.get(code="S05-AC-041").pk == udaipur.pk
    assert Group.objects.get(code="S05-PC-03").parent.code == "S05"
    tripura = Group.objects.get(code="S23")
    assert not tripura.is_active and not tripura.get_children().exists()
    assert_sound_with_true_figures()


def test_an_oversized_file_is_refused_before_it_is_read(db, tmp_path, settings):
    settings.GROUP_DELIMIT_MAX_BYTES = 2048
    path = tmp_path / "mapping.csv"
    path.write_text(HEADER + "\n" + "move,S05-AC-001,,,ac,,,\n" * 200)

    with pytest.raises(CommandError, match="at most 2,048 bytes"):
        delimit(path)


# --- Booths left for placement ------------------------------------------------------------


@pytest.fixture
def delimited(scene, tmp_path) -> Scene:
    delimit(mapping_file(tmp_path, *MAPPING))
    return scene


def test_a_lead_places_a_waiting_booth_in_an_active_constituency_and_its_members_follow(
    delimited, gopal
):
    booth = Group.objects.get(code="S05-2008-AC-030-B-0002")
    assert [p.booth.code for p in delimitation_booths_waiting(user=gopal)] == [
        "S05-2008-AC-030-B-0001", "S05-2008-AC-030-B-0002",
    ]  # fmt: skip
    curtorim = Group.objects.get(code="S05-AC-025")

    placed = delimitation_booth_place(actor=gopal, booth=booth, constituency=curtorim)

    assert (placed.code, placed.parent_id, placed.is_active) == (
        "S05-AC-025-B-0001",
        curtorim.pk,
        True,
    )
    assert where_is(delimited.cuncolim_members[1]) == ("S05-AC-025-B-0001", "S05-AC-025", "S05")
    assert [p.booth.code for p in delimitation_booths_waiting(user=gopal)] == [
        "S05-2008-AC-030-B-0001"
    ]
    placement = BoothPlacement.objects.get(booth=booth)
    assert (placement.placed_by, placement.placed_into, placement.placed_code) == (
        gopal, curtorim, "S05-AC-025-B-0001",
    )  # fmt: skip
    event = AuditEvent.objects.get(action="delimitation.place")
    assert event.data == {"from": "S05-2008-AC-030-B-0002", "to": "S05-AC-025-B-0001",
                          "into": "S05-AC-025", "members": 1}  # fmt: skip
    group_services.group_figures_refresh_stale()
    assert_sound_with_true_figures()


def test_a_role_that_may_not_change_the_tree_cannot_place_a_booth(delimited):
    organiser = staff("olga@cadreconnect.example", "Olga Organiser", delimited.tree.goa,
                      Role.ORGANISER)  # fmt: skip
    booth = Group.objects.get(code="S05-2008-AC-030-B-0001")

    with pytest.raises(Forbidden):
        delimitation_booth_place(
            actor=organiser, booth=booth, constituency=Group.objects.get(code="S05-AC-025")
        )

    assert not Group.objects.get(pk=booth.pk).is_active
    assert BoothPlacement.objects.filter(placed_at__isnull=False).count() == 0


def test_a_booth_or_constituency_outside_the_leads_area_does_not_exist_for_them(delimited, sita):
    booth = Group.objects.get(code="S05-2008-AC-030-B-0001")
    tripura_lead = staff("tara@cadreconnect.example", "Tara Tripura", delimited.tree.tripura,
                         Role.LEAD)  # fmt: skip

    with pytest.raises(OutsideArea):
        delimitation_booth_place(
            actor=tripura_lead, booth=booth, constituency=Group.objects.get(code="S23-AC-001")
        )
    # Sita leads South Goa, Cuncolim's district; Mandrem is in the new state now.
    with pytest.raises(OutsideArea):
        delimitation_booth_place(
            actor=sita, booth=booth, constituency=Group.objects.get(code="S40-AC-001")
        )

    assert delimitation_booths_waiting(user=tripura_lead).count() == 0
    assert BoothPlacement.objects.filter(placed_at__isnull=False).count() == 0


# --- An interrupted run ---------------------------------------------------------------------


def fingerprint() -> dict[str, list]:
    """The tree, the register and the delimitation's records by code (ids and tree numbers
    differ between two builds of the same tree; what they stand for must not)."""
    codes = dict(Group.objects.values_list("pk", "code"))
    root_code = dict(Group.objects.filter(parent__isnull=True).values_list("tree_id", "code"))
    return {
        "nodes": sorted(
            (code, name, name_local, kind, codes.get(parent), codes.get(upper), active,
             lft, rght, level, root_code[tree_id])
            for code, name, name_local, kind, parent, upper, active, lft, rght, level, tree_id
            in Group.objects.values_list("code", "name", "name_local", "kind", "parent",
                                         "upper", "is_active", "lft", "rght", "level", "tree_id")
        ),
        "members": sorted(
            (phone, codes[booth], root_code[tree_id], codes.get(state), status)
            for phone, booth, tree_id, state, status in Member.objects.values_list(
                "phone", "booth", "tree_id", "state", "status")
        ),
        "posts": sorted(Post.objects.values_list("member__phone", "group__code", "office")),
        "memberships": sorted(Membership.objects.values_list("member__phone", "group__code")),
        "roles": sorted(Assignment.objects.values_list("user__email", "group__code", "role")),
        "figures": sorted(
            (codes[group], booths, whatsapp, members, active, with_active)
            for group, booths, whatsapp, members, active, with_active in
            GroupFigures.objects.values_list("group", "booths", "booths_with_whatsapp",
                                             "members", "active_members",
                                             "booths_with_active_member")
        ),
        "placements": sorted(BoothPlacement.objects.values_list("booth__code", "retired_from",
                                                                "placed_code")),
        "notices": sorted(DelimitationNotice.objects.values_list("assignment__user__email",
                                                                 "group_code")),
        "audit": sorted(
            (event.action, event.target_repr,
             sorted((k, str(v)) for k, v in event.data.items() if k != "delimitation"))
            for event in AuditEvent.objects.filter(action="delimitation.apply")
        ),
        "ledger": sorted(DelimitationStep.objects.values_list("number", "states")),
    }  # fmt: skip


def claim_free() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = %s AND objid = 0 AND objsubid = 2)",
            [applying.CLAIM_NAMESPACE],
        )
        return cursor.fetchone()[0]


def wipe() -> None:
    """Everything the scene built, so that it can be built again from nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE groups_group, groups_delimitation, cadreconnect_auditevent CASCADE"
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a run on PostgreSQL")
def test_a_run_killed_between_states_and_run_again_ends_as_one_uninterrupted_run(
    transactional_db, asha, tmp_path
):
    path = mapping_file(tmp_path, *MAPPING)
    build_scene(asha)
    delimit(path)
    uninterrupted = fingerprint()
    wipe()
    build_scene(asha)
    log_path = tmp_path / "groups_delimit.log"
    env = processes.process_env(
        DATABASE_URL=processes.database_url(connection.settings_dict),
        GROUP_DELIMIT_STEP_PAUSE="120",
    )

    with log_path.open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "manage.py", "groups_delimit", str(path)],
            cwd=processes.PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(lambda: DelimitationStep.objects.exists() or run.poll() is not None)
            os.kill(run.pid, signal.SIGKILL)
        finally:
            run.kill()
            run.wait()
    assert list(DelimitationStep.objects.values_list("number", flat=True)) == [1], (
        log_path.read_text()
    )
    assert Delimitation.objects.get().status == Delimitation.Status.RUNNING
    assert not Group.objects.filter(code="S40").exists()  # step 2 never began
    wait_until(claim_free)
    # Another mapping waits until this one is finished.
    with pytest.raises(CommandError, match="is not finished"):
        delimit(mapping_file(tmp_path, HEADER, "move,S23,,,state,Tripura,,", name="other.csv"))

    out, _err = delimit(path)

    assert "resumed: 1 steps were applied before" in out
    assert Delimitation.objects.get().runs == 2
    assert AuditEvent.objects.filter(action="delimitation.resume").count() == 1
    assert fingerprint() == uninterrupted
    assert_sound_with_true_figures()


def test_refusals_are_in_the_users_language():
    from django.utils import translation

    from groups.delimitation.reading import MappingRefused, mapping_read

    with translation.override("hi"), pytest.raises(MappingRefused) as refused:
        mapping_read(HEADER.encode() + b"\nmove,S05-AC-001,\x00,,ac,,,\n")

    assert refused.value.problems[0][0] == 2
    assert "NUL बाइट" in refused.value.problems[0][1]
    assert refused.value.message.startswith("मानचित्रण अस्वीकार किया गया")


def test_a_merge_applies_on_postgresql_and_is_refused_whole_elsewhere(scene, tmp_path):
    """The merge's SQL is PostgreSQL's: the embedded SQLite refuses a mapping with a merge,
    naming its line, and writes nothing; PostgreSQL applies it."""
    before = fingerprint()
    path = mapping_file(tmp_path, HEADER, "merge,S05-AC-040,,S05-AC-039,ac,,,")

    if connection.vendor == "postgresql":
        delimit(path)
        assert not Group.objects.get(code="S05-AC-040").is_active
    else:
        with pytest.raises(CommandError, match="refused"):
            delimit(path)
        assert fingerprint() == before
