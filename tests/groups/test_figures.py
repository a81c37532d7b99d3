"""Subtree figures: every node's booth counts equal a count done by hand over the rows, the
national node's are the sum of the states', and a real worker recounts them after a change."""

from __future__ import annotations

import string
from io import StringIO

import pytest
from django.core.management import call_command

from groups import loader, selectors, services
from groups.models import Group, GroupFigures, Kind
from groups.tree import check_integrity
from tests.conftest import wait_until


def invite_link(seed: int) -> str:
    letters = string.ascii_letters
    return "https://chat.whatsapp.com/" + "".join(
        letters[(seed * 7 + index * 13) % len(letters)] for index in range(22)
    )


def counted_by_hand() -> dict[int, tuple[int, int]]:
    """group id -> (active booths, active booths with a WhatsApp link) in its subtree, counted
    from the rows by walking up from every booth to the top (parent, or for the root of a tree
    hanging below another, the node it hangs from); the national node's are the totals over
    the roots with nothing above them."""
    above = {
        node_id: parent_id or upper_id
        for node_id, parent_id, upper_id in Group.objects.values_list("id", "parent", "upper")
    }
    counts = {node_id: [0, 0] for node_id in above}
    booths = Group.objects.filter(kind=Kind.BOOTH, is_active=True).values_list(
        "id", "whatsapp_invite_link"
    )
    national = Group.objects.get(kind=Kind.NATIONAL, parent__isnull=True)
    for booth_id, link in booths:
        node_id = booth_id
        while node_id is not None:
            counts[node_id][0] += 1
            counts[node_id][1] += 1 if link else 0
            node_id = above[node_id]
        counts[national.pk][0] += 1
        counts[national.pk][1] += 1 if link else 0
    return {node_id: (booths, linked) for node_id, (booths, linked) in counts.items()}


def stored_figures() -> dict[int, tuple[int, int]]:
    return {
        group_id: (booths, with_whatsapp)
        for group_id, booths, with_whatsapp in GroupFigures.objects.values_list(
            "group_id", "booths", "booths_with_whatsapp"
        )
    }


@pytest.fixture
def goa_and_lakshadweep(db) -> None:
    """Goa (1,205 generated booths) and Lakshadweep (55), some booths with a WhatsApp group,
    some deactivated (one of those with a link, which no longer counts)."""
    loader.reference_tree_load(with_booths=True, state_codes=["S05", "U06"])
    with_links = [
        "S05-AC-001-B-0001", "S05-AC-001-B-0002", "S05-AC-001-B-0034", "S05-AC-021-B-0010",
        "S05-AC-040-B-0001", "U06-AC-001-B-0001", "U06-AC-001-B-0055",
    ]  # fmt: skip
    for seed, code in enumerate(with_links):
        assert Group.objects.filter(code=code).update(whatsapp_invite_link=invite_link(seed)) == 1
    # An assembly constituency's own group link is not a booth's.
    Group.objects.filter(code="S05-AC-002").update(whatsapp_invite_link=invite_link(99))
    deactivated = [
        "S05-AC-001-B-0002",
        "S05-AC-001-B-0003",
        "S05-AC-040-B-0005",
        "U06-AC-001-B-0007",
    ]
    assert Group.objects.filter(code__in=deactivated).update(is_active=False) == 4


def figures_of(code: str) -> tuple[int, int]:
    figures = GroupFigures.objects.get(group__code=code)
    return figures.booths, figures.booths_with_whatsapp


def test_figures_of_every_node_equal_a_count_by_hand(goa_and_lakshadweep):
    services.group_figures_refresh_all()

    assert stored_figures() == counted_by_hand()
    assert figures_of("IN") == (1205 + 55 - 4, 7 - 1)
    assert figures_of("S05") == (1205 - 3, 5 - 1)
    assert figures_of("U06") == (55 - 1, 2)
    assert figures_of("S05-AC-001") == (34 - 2, 2)
    assert figures_of("S05-AC-002") == (35, 0)
    assert figures_of("S05-AC-001-B-0001") == (1, 1)
    assert figures_of("S05-AC-001-B-0002") == (0, 0)
    assert not GroupFigures.objects.exclude(
        members=0, active_members=0, booths_with_active_member=0
    ).exists()


def test_national_figures_are_the_sum_over_the_state_roots(goa_and_lakshadweep):
    services.group_figures_refresh_all()

    roots = GroupFigures.objects.filter(
        group__parent__isnull=True, group__upper__isnull=True
    ).exclude(group__code="IN")
    assert sorted(roots.values_list("group__code", flat=True)) == ["S05", "U06"]
    assert figures_of("IN") == (
        sum(roots.values_list("booths", flat=True)),
        sum(roots.values_list("booths_with_whatsapp", flat=True)),
    )


def test_refreshing_one_tree_recounts_it_and_the_national_node(goa_and_lakshadweep):
    services.group_figures_refresh_all()
    goa = Group.objects.get(code="S05")
    goa_ids = set(selectors.group_subtree(goa).values_list("id", flat=True))
    goa_before = {group_id: stored_figures()[group_id] for group_id in goa_ids}
    lakshadweep = Group.objects.get(code="U06")
    kavaratti = Group.objects.get(code="U06-AC-001")  # a tree of its own, below Lakshadweep's
    Group.objects.filter(code__startswith="U06-AC-001-B-001").update(is_active=False)
    Group.objects.filter(code="U06-AC-001-B-0030").update(whatsapp_invite_link=invite_link(5))

    counted = services.group_figures_refresh(tree_id=kavaratti.tree_id)

    # The constituency's tree, then the state's tree it hangs from.
    assert (
        counted
        == Group.objects.filter(tree_id__in=[kavaratti.tree_id, lakshadweep.tree_id]).count()
    )
    # Booths 10 to 19 went; booth 7 was already out.
    assert figures_of("U06") == (55 - 11, 3)
    assert stored_figures() == counted_by_hand()
    assert {group_id: stored_figures()[group_id] for group_id in goa_before} == goa_before


def test_refreshing_again_changes_nothing(goa_and_lakshadweep):
    services.group_figures_refresh_all()
    first = stored_figures()

    services.group_figures_refresh_all()

    assert stored_figures() == first


@pytest.fixture
def west_tripura(asha, tree) -> Group:
    """A district in Tripura, empty so far (Tripura's constituencies hang under the state)."""
    return services.group_create_child(
        actor=asha, parent=tree.tripura, name="West Tripura district", code="S23-D-01",
        kind=Kind.DISTRICT,
    )  # fmt: skip


def test_worker_recounts_both_trees_after_a_constituency_moves_to_another_state(
    asha, west_tripura, celery_worker
):
    # The tree was built before the worker started (which empties the queue), so the only
    # recounts the worker gets are the ones the move asks for.
    services.group_figures_refresh_all()
    assert figures_of("S05-D-01") == (3, 0)
    assert figures_of("S23-D-01") == (0, 0)
    north_goa_pc = Group.objects.get(code="S05-PC-01")

    services.group_move(actor=asha, group=north_goa_pc, new_parent=west_tripura)

    wait_until(lambda: figures_of("S05-D-01") == (0, 0) and figures_of("S23-D-01") == (3, 0))
    wait_until(lambda: figures_of("S05") == (1, 0) and figures_of("S23") == (3, 0))
    assert figures_of("IN") == (4, 0)
    mandrem = Group.objects.get(code="S05-AC-001")
    assert "S23" in [node.code for node in selectors.group_lineage(mandrem)]
    assert stored_figures() == counted_by_hand()
    assert check_integrity() == []


def test_worker_recounts_figures_after_a_booth_list_import(tmp_path, celery_worker):
    loader.reference_tree_load(with_booths=True, state_codes=["U06"])
    services.group_figures_refresh_all()
    assert figures_of("U06-AC-001") == (55, 0)
    path = tmp_path / "booths.csv"
    path.write_text(
        "state_code,ac_number,booth_number,name\n"
        "U06,1,1,Kavaratti Government School\n"
        "U06,1,2,Agatti Panchayat Hall\n"
        "U06,1,60,Bitra Community Hall\n"
    )

    call_command("groups_import_booths", str(path), stdout=StringIO(), stderr=StringIO())

    # Two generated booths became real ones, one was added and the other 53 were retired.
    wait_until(lambda: figures_of("U06-AC-001") == (3, 0) and figures_of("IN") == (3, 0))
    assert stored_figures() == counted_by_hand()
    assert check_integrity() == []
