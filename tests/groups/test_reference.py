"""The reference command: the national level, states and constituencies from the Election
Commission's data, and generated booths."""

from __future__ import annotations

import math
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


@pytest.mark.django_db
def test_reference_tree_has_the_real_counts_and_facts():
    output = load()

    counts = counts_by_kind()
    assert counts[Kind.NATIONAL] == 1
    assert counts[Kind.STATE] == 35
    assert counts[Kind.PARLIAMENTARY] == 543
    assert counts[Kind.ASSEMBLY] == 4125
    assert counts[Kind.BOOTH] == 0
    assert "Created 4,704 nodes" in output

    up = Group.objects.get(code="S24")
    assert up.name == "Uttar Pradesh"
    assert up.name_local == "उत्तर प्रदेश"
    assert up.get_children().filter(kind=Kind.PARLIAMENTARY).count() == 80
    assert selectors.group_subtree(up).filter(kind=Kind.ASSEMBLY).count() == 403
    lucknow = Group.objects.get(name="Lucknow", kind=Kind.PARLIAMENTARY)
    assert lucknow.code.startswith("S24-PC-")
    assert lucknow.parent == up
    assert Group.objects.get(code="U05").name == "NCT of Delhi"
    assert Group.objects.get(code="S09").name == "Jammu & Kashmir"
    assert Group.objects.get(code="S05-AC-013").name == "St.Cruz"
    # Names shared across states stay apart by code.
    assert Group.objects.filter(kind=Kind.ASSEMBLY, code="S05-AC-001").get().name == "Mandrem"
    assert tree.check_integrity() == []


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
def test_an_unknown_state_is_refused():
    with pytest.raises(CommandError, match="Unknown state code"):
        load("--states", "S99")

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
