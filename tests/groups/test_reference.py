"""The reference command: the national level, states and constituencies from the Election
Commission's data, and generated booths."""

from __future__ import annotations

import math
import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from groups import reference, selectors, tree
from groups.models import Group, Kind


def load(*args: str) -> str:
    out = StringIO()
    call_command("groups_load_reference", *args, stdout=out)
    return out.getvalue()


def counts_by_kind(**filters) -> dict[int, int]:
    return {kind: Group.objects.filter(kind=kind, **filters).count() for kind in Kind.values}


def real_acs(**filters):
    """Assembly constituencies, less the stand-ins of UTs without a legislature."""
    return Group.objects.filter(kind=Kind.ASSEMBLY, designation="", **filters)


@pytest.mark.django_db
def test_a_fresh_load_is_the_2024_list():
    output = load()

    assert Group.objects.filter(kind=Kind.NATIONAL).count() == 1
    assert Group.objects.filter(kind=Kind.STATE).count() == 36
    assert Group.objects.filter(kind=Kind.PARLIAMENTARY).count() == 543
    assert real_acs().count() == 4123
    # One stand-in per Lok Sabha constituency of a UT without a legislature holds its booths.
    stand_ins = Group.objects.filter(kind=Kind.ASSEMBLY, designation="whole_constituency")
    assert sorted(stand_ins.values_list("code", flat=True)) == [
        "U01-AC-001", "U02-AC-001", "U03-AC-001", "U03-AC-002", "U06-AC-001", "U09-AC-001",
    ]  # fmt: skip
    assert not Group.objects.filter(kind=Kind.BOOTH).exists()
    assert "The 2024 list. Created 4,709 nodes" in output
    # (PCs, real ACs) of the states the 2008 list had wrong, and of the largest.
    for code, pcs, acs in [
        ("S29", 17, 119), ("S01", 25, 175), ("U08", 5, 90), ("S03", 14, 126),
        ("S24", 80, 403), ("U09", 1, 0),
    ]:  # fmt: skip
        state = Group.objects.get(code=code)
        subtree = selectors.group_subtree(state)
        assert state.get_children().filter(kind=Kind.PARLIAMENTARY).count() == pcs, code
        assert subtree.filter(kind=Kind.ASSEMBLY, designation="").count() == acs, code
    assert not Group.objects.filter(code__in=["S09", "U04"]).exists()
    names = dict(Group.objects.filter(kind=Kind.STATE).values_list("code", "name"))
    assert names["S18"] == "Odisha"
    assert names["S29"] == "Telangana"
    assert names["U08"] == "Jammu and Kashmir"
    assert names["U03"] == "Dadra and Nagar Haveli and Daman and Diu"
    assert names["U05"] == "NCT of Delhi"
    assert names["U01"] == "Andaman and Nicobar Islands"
    hindi = dict(Group.objects.filter(kind=Kind.STATE).values_list("code", "name_local"))
    assert hindi["S29"] == "तेलंगाना"
    assert hindi["U08"] == "जम्मू और कश्मीर"
    assert hindi["U09"] == "लद्दाख"
    assert hindi["U03"] == "दादरा और नगर हवेली और दमन और दीव"
    assert all(hindi.values())
    union_territories = Group.objects.filter(kind=Kind.STATE, designation="union_territory")
    assert sorted(union_territories.values_list("code", flat=True)) == [
        "U01", "U02", "U03", "U05", "U06", "U07", "U08", "U09",
    ]  # fmt: skip
    assert Group.objects.get(name="R.S. Pura-Jammu South").code.startswith("U08-AC-")
    assert Group.objects.get(code="S05-AC-013").name == "St. Cruz"
    lucknow = Group.objects.get(name="Lucknow", kind=Kind.PARLIAMENTARY)
    assert lucknow.parent == Group.objects.get(code="S24")
    # The redrawn states' electors are estimates, and only theirs.
    estimated = Group.objects.filter(electors_estimated=True)
    assert {code[:3] for code in estimated.values_list("code", flat=True)} == {"S03", "U08"}
    assert estimated.count() == 126 + 90
    assert not Group.objects.filter(kind=Kind.ASSEMBLY, electors__isnull=True).exists()
    assert tree.check_integrity() == []


@pytest.mark.django_db
def test_the_2008_list_still_loads():
    output = load("--edition", "2008", "--states", "S01,S09,U04")

    assert "The 2008 list" in output
    andhra = Group.objects.get(code="S01")
    assert andhra.get_children().filter(kind=Kind.PARLIAMENTARY).count() == 42
    assert selectors.group_subtree(andhra).filter(kind=Kind.ASSEMBLY).count() == 294
    jammu_kashmir = Group.objects.get(code="S09")
    assert (jammu_kashmir.name, jammu_kashmir.designation) == ("Jammu and Kashmir", "")
    assert selectors.group_subtree(jammu_kashmir).filter(kind=Kind.ASSEMBLY).count() == 87
    daman = Group.objects.get(code="U04")
    assert (daman.name, daman.name_local, daman.designation) == (
        "Daman and Diu", "दमन और दीव", "union_territory",
    )  # fmt: skip
    assert Group.objects.get(code="U04-AC-001").designation == "whole_constituency"
    assert not Group.objects.filter(electors_estimated=True).exists()
    assert tree.check_integrity() == []


def test_the_2008_list_has_its_counts():
    specs = [spec for nodes in reference.tree_specs(with_booths=False, edition="2008").values()
             for spec in nodes]  # fmt: skip

    kinds = Counter((spec.kind, spec.designation) for spec in specs)
    assert kinds[(Kind.STATE, "")] + kinds[(Kind.STATE, "union_territory")] == 35
    assert kinds[(Kind.PARLIAMENTARY, "")] == 543
    assert kinds[(Kind.ASSEMBLY, "")] == 4120
    assert kinds[(Kind.ASSEMBLY, "whole_constituency")] == 5


@pytest.mark.django_db
def test_states_are_separate_trees_under_a_virtual_national_root():
    load("--states", "S05,S23")

    india = Group.objects.get(code="IN")
    assert india.kind == Kind.NATIONAL
    goa, tripura = Group.objects.get(code="S05"), Group.objects.get(code="S23")
    assert goa.parent is None and tripura.parent is None
    assert len({india.tree_id, goa.tree_id, tripura.tree_id}) == 3


@pytest.mark.django_db
def test_generated_booths_follow_electors_per_880():
    load("--states", "S05", "--booths")

    electors = reference.electors_by_ac()
    expected = sum(
        math.ceil(count / reference.ELECTORS_PER_BOOTH)
        for (state, _ac), count in electors.items()
        if state == "GOA"
    )
    booths = Group.objects.filter(kind=Kind.BOOTH)
    assert booths.count() == expected
    assert not booths.filter(is_generated=False).exists()
    mandrem = Group.objects.get(code="S05-AC-001")
    assert mandrem.electors == electors[("GOA", 1)]
    assert mandrem.get_children().count() == math.ceil(mandrem.electors / 880)
    assert Group.objects.filter(code="S05-AC-001-B-0001", parent=mandrem).exists()
    assert tree.check_integrity() == []


@pytest.mark.django_db
def test_running_it_again_adds_nothing():
    load("--states", "S05", "--booths")
    before = Group.objects.count()

    output = load("--states", "S05", "--booths")

    assert Group.objects.count() == before
    assert "Created 0 nodes" in output


@pytest.mark.django_db
def test_booths_added_to_an_existing_tree_keep_it_sound():
    load("--states", "S05,S23")

    load("--states", "S05", "--booths")

    assert Group.objects.filter(kind=Kind.BOOTH, code__startswith="S05-").count() > 1000
    assert not Group.objects.filter(kind=Kind.BOOTH, code__startswith="S23-").exists()
    assert tree.check_integrity() == []


@pytest.mark.django_db
def test_a_code_of_another_kind_is_refused_and_nothing_is_written():
    load("--states", "S05")
    Group.objects.filter(code="S05-AC-001").update(kind=Kind.MANDAL)
    before = Group.objects.count()

    with pytest.raises(CommandError, match="S05-AC-001 is a Mandal / block here"):
        load("--states", "S05", "--booths")

    assert Group.objects.count() == before


@pytest.mark.django_db
def test_a_national_code_taken_by_something_else_is_refused():
    Group.objects.create(code="IN", name="Impostor", kind=Kind.STATE)

    with pytest.raises(CommandError, match="not the national root"):
        load("--states", "S05")

    assert Group.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "error"),
    [(["--states", "S99"], "Unknown state code"),
     # Jammu and Kashmir was the state S09 until 2019; the 2024 list has it as U08.
     (["--states", "S05,S09"], r"Unknown state code\(s\) in the 2024 list: S09"),
     (["--edition", "2008", "--states", "U08"], r"in the 2008 list: U08")],
)  # fmt: skip
def test_an_unknown_state_is_refused(arguments, error):
    with pytest.raises(CommandError, match=error):
        load(*arguments)

    assert not Group.objects.exists()


@pytest.mark.django_db
def test_nodes_staff_have_moved_stay_where_they_are_on_a_rerun(asha):
    from groups import services

    load("--states", "S05")
    goa = Group.objects.get(code="S05")
    district = services.group_create_child(
        actor=asha, parent=goa, name="North Goa district", code="S05-D-01", kind=Kind.DISTRICT
    )
    services.group_move(actor=asha, group=Group.objects.get(code="S05-PC-01"), new_parent=district)

    output = load("--states", "S05", "--booths")

    assert Group.objects.get(code="S05-PC-01").parent_id == district.pk
    assert "Created 1,205 nodes" in output
    assert tree.check_integrity() == []


# --- The 2024 list's electors: the 2014 roll where the ground is the same ------------------


def acs_of(edition: str) -> dict[str, reference.NodeSpec]:
    return {
        spec.code: spec
        for nodes in reference.tree_specs(with_booths=False, edition=edition).values()
        for spec in nodes
        if spec.kind == Kind.ASSEMBLY
    }


def test_an_ac_on_unchanged_ground_keeps_its_2014_roll():
    new, old = acs_of("2024"), acs_of("2008")
    # Where an AC kept its ground, its 2014 figure is the 2008 AC's, and so is its name
    # (which shows the right 2008 AC was taken): same code, or the codes the split and the
    # merger gave it.
    moved = {
        **{f"S29-AC-{n:03d}": f"S01-AC-{n:03d}" for n in range(1, 120)},
        **{f"S01-AC-{n:03d}": f"S01-AC-{n + 119:03d}" for n in range(1, 176)},
        "U03-AC-001": "U04-AC-001",
        "U03-AC-002": "U03-AC-001",
    }
    compared = 0
    for code, spec in new.items():
        if spec.electors_estimated or code.startswith("U09-"):
            continue
        before = old[moved.get(code, code)]
        assert spec.electors == before.electors, code
        if code != "S14-AC-037":  # Kakching, misspelt KAKCH:NG in the 2008 data
            assert spec.name == before.name, code
        compared += 1
    assert compared == 4129 - 126 - 90 - 1
    # Ladakh is the 2008 Lok Sabha constituency of Ladakh, four of J&K's ACs.
    ladakh_2008 = [spec for spec in old.values() if spec.parent_code == "S09-PC-04"]
    assert {spec.name for spec in ladakh_2008} == {"Nobra", "Leh", "Kargil", "Zanskar"}
    assert new["U09-AC-001"].electors == sum(spec.electors for spec in ladakh_2008)
    assert not new["U09-AC-001"].electors_estimated


def test_a_redrawn_state_shares_its_2014_roll_over_its_new_acs():
    new, old = acs_of("2024"), acs_of("2008")

    def in_state(acs, prefix):
        return [spec for code, spec in acs.items() if code.startswith(prefix)]

    assam = in_state(new, "S03-")
    assert len(assam) == 126 and all(spec.electors_estimated for spec in assam)
    assert sum(spec.electors for spec in assam) == sum(s.electors for s in in_state(old, "S03-"))
    assert max(s.electors for s in assam) - min(s.electors for s in assam) <= 1
    jammu_kashmir = in_state(new, "U08-")
    assert len(jammu_kashmir) == 90 and all(spec.electors_estimated for spec in jammu_kashmir)
    assert sum(spec.electors for spec in jammu_kashmir) + new["U09-AC-001"].electors == sum(
        spec.electors for spec in in_state(old, "S09-")
    )
    # Nobody is lost or counted twice: the same 814.6 million electors as the 2008 tree.
    assert sum(spec.electors for spec in new.values()) == sum(
        spec.electors for spec in old.values()
    )


@pytest.mark.django_db
def test_a_ut_without_a_legislature_gets_booths_under_its_stand_in():
    load("--states", "U09", "--booths")

    stand_in = Group.objects.get(code="U09-AC-001")
    assert (stand_in.name, stand_in.designation) == ("Ladakh", "whole_constituency")
    booths = stand_in.get_children()
    assert booths.count() == math.ceil(stand_in.electors / reference.ELECTORS_PER_BOOTH) > 100
    assert booths.filter(code="U09-AC-001-B-0001", kind=Kind.BOOTH).exists()
    assert tree.check_integrity() == []


# --- Names as people write them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [("NCT OF DELHI", "NCT of Delhi"), ("JAMMU & KASHMIR", "Jammu and Kashmir"),
     ("DADRA AND NAGAR HAVELI AND DAMAN AND DIU", "Dadra and Nagar Haveli and Daman and Diu"),
     ("AIZAWL EAST-II", "Aizawl East-II"), ("DIMAPUR-III", "Dimapur-III"),
     ("THIRU-VI-KA-NAGAR", "Thiru-Vi-Ka-Nagar"), ("R.S. PURA-JAMMU SOUTH", "R.S. Pura-Jammu South"),
     ("S.A.S. NAGAR", "S.A.S. Nagar"), ("ST.CRUZ", "St. Cruz"), ("B.T.M.LAYOUT", "B.T.M. Layout"),
     ("DR.AMBEDKARNAGAR-MHOW", "Dr. Ambedkarnagar-Mhow"), ("AGRA CANTT.", "Agra Cantt."),
     ("BHUBANESWAR CENTRAL (MADHYA)", "Bhubaneswar Central (Madhya)"),
     ("LAHAUL & SPITI", "Lahaul and Spiti"), ("VASCO-DA-GAMA", "Vasco-da-Gama"),
     ("CHRAR-I-SHARIEF", "Chrar-i-Sharief"), ("INDORE-1", "Indore-1"),
     ("THE NILGIRIS", "The Nilgiris"), ("  GOA ", "Goa")],
)  # fmt: skip
def test_names_are_written_as_people_write_them(written, shown):
    assert reference.display_name(written) == shown


def test_no_name_of_either_list_is_left_in_capitals():
    # Capitals survive only in NCT, BHEL, initials (R.S.) and a seat's Roman numeral (East-II).
    allowed = re.compile(r"\bNCT\b|\bBHEL\b|-(?:I{1,3}|IV|VI{0,3}|IX|X)$")
    for edition in reference.EDITIONS:
        for nodes in reference.tree_specs(with_booths=False, edition=edition).values():
            for spec in nodes:
                words = [allowed.sub("", word) for word in spec.name.split(" ")]
                assert not any(re.search(r"[A-Z]{2,}", word) for word in words), spec
                assert "&" not in spec.name and "  " not in spec.name, spec
                assert spec.name[0].isupper(), spec


# --- Editions ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "then", "foreign"),
    [(["--edition", "2008", "--states", "U04"], [], "U04"),
     (["--states", "U09"], ["--edition", "2008"], "U09")],
)  # fmt: skip
def test_a_tree_of_the_other_list_is_refused_whole(first, then, foreign):
    load(*first)
    before = sorted(Group.objects.values_list("code", flat=True))

    with pytest.raises(CommandError, match=f"This tree holds {foreign}, which the"):
        load(*then, "--states", "U05")

    assert sorted(Group.objects.values_list("code", flat=True)) == before


@pytest.mark.django_db
def test_a_retired_node_of_the_other_list_does_not_block_a_load(asha):
    from groups import services

    load("--edition", "2008", "--states", "U04")
    services.group_deactivate(actor=asha, group=Group.objects.get(code="U04"))

    load("--states", "U05")

    assert real_acs(code__startswith="U05-").count() == 70


@pytest.mark.django_db
def test_an_unknown_edition_is_refused():
    with pytest.raises(CommandError, match="invalid choice: '2019'"):
        load("--edition", "2019")

    assert not Group.objects.exists()
