"""Member figures of the group tree: every node's counts equal a count done by hand over the
member rows, a real worker recounts them after a member is registered, and a member who moves
booth takes their counts along.

A member counts at their home booth whether or not the booth is still active; a booth counts
as one with an active member only while it is active itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction

from groups import services as group_services
from groups.models import Group, GroupFigures, Kind, StaleFigures
from groups.tasks import group_figures_refresh
from members import services
from members.models import Member
from tests.conftest import wait_until

Status = Member.Status


def members_counted_by_hand() -> dict[int, tuple[int, int, int]]:
    """group id -> (members, active members, active booths with an active member) in its
    subtree, counted from the rows by walking up from every member's home booth to the top
    (parent, or for the root of a tree hanging below another, the node it hangs from); the
    national node's are the totals."""
    above = {
        node_id: parent_id or upper_id
        for node_id, parent_id, upper_id in Group.objects.values_list("id", "parent", "upper")
    }
    national = Group.objects.get(kind=Kind.NATIONAL, parent__isnull=True).pk
    counts = {node_id: [0, 0, 0] for node_id in above}

    def add_up(booth_id: int, column: int) -> None:
        node_id = booth_id
        while node_id is not None:
            counts[node_id][column] += 1
            node_id = above[node_id]
        counts[national][column] += 1

    for booth_id, status in Member.objects.values_list("booth_id", "status"):
        add_up(booth_id, 0)
        if status == Status.ACTIVE:
            add_up(booth_id, 1)
    active_booths = Group.objects.filter(kind=Kind.BOOTH, is_active=True)
    for booth_id in (
        active_booths.filter(home_members__status=Status.ACTIVE)
        .distinct()
        .values_list("id", flat=True)
    ):
        add_up(booth_id, 2)
    return {node_id: tuple(figures) for node_id, figures in counts.items()}


def stored_member_figures() -> dict[int, tuple[int, int, int]]:
    return {
        group_id: (members, active, booths)
        for group_id, members, active, booths in GroupFigures.objects.values_list(
            "group_id", "members", "active_members", "booths_with_active_member"
        )
    }


def member_figures_of(group: Group) -> tuple[int, int, int]:
    figures = GroupFigures.objects.get(group=group)
    return figures.members, figures.active_members, figures.booths_with_active_member


def register(asha, booth: Group, number: int, status: str = Status.ACTIVE) -> Member:
    return services.member_create(
        actor=asha, full_name=f"Member {number}", phone=f"+91981234{number:04d}", booth=booth,
        status=status,
    )  # fmt: skip


@dataclass
class Register:
    """The booths members live in, beyond the `tree` fixture's."""

    ponda_booth_2: Group
    tripura_booth: Group
    kumarghat: Group


@pytest.fixture
def register_rows(asha, tree) -> Register:
    """Members in booths of both Goa districts and of Tripura:

    - Mandrem booth 1: two active members; booth 2: one inactive member; booth 3: one active
      and one suspended member, then the booth is deactivated (its members still count);
    - Ponda booth 1: one active and one deceased member; Ponda booth 2: two active members;
    - a booth in Tripura's first constituency (below a Lok Sabha constituency, no district):
      one active member.
    """
    ponda_booth_2 = group_services.group_create_child(
        actor=asha, parent=tree.ponda, name="Ponda booth 2", code="S05-AC-021-B-0002",
        kind=Kind.BOOTH,
    )  # fmt: skip
    kumarghat = Group.objects.get(code="S23-AC-001")
    tripura_booth = group_services.group_create_child(
        actor=asha, parent=kumarghat, name="Tripura booth 1", code="S23-AC-001-B-0001",
        kind=Kind.BOOTH,
    )  # fmt: skip
    first, second, third = tree.mandrem_booths
    for number, booth, status in [
        (1, first, Status.ACTIVE), (2, first, Status.ACTIVE), (3, second, Status.INACTIVE),
        (4, third, Status.ACTIVE), (5, third, Status.SUSPENDED),
        (6, tree.ponda_booth, Status.ACTIVE), (7, tree.ponda_booth, Status.DECEASED),
        (8, ponda_booth_2, Status.ACTIVE), (9, ponda_booth_2, Status.ACTIVE),
        (10, tripura_booth, Status.ACTIVE),
    ]:  # fmt: skip
        register(asha, booth, number, status)
    group_services.group_deactivate(actor=asha, group=third)
    return Register(ponda_booth_2=ponda_booth_2, tripura_booth=tripura_booth, kumarghat=kumarghat)


def test_member_figures_of_every_node_equal_a_count_by_hand(tree, register_rows):
    group_services.group_figures_refresh_all()

    assert stored_member_figures() == members_counted_by_hand()
    first, second, third = tree.mandrem_booths
    assert member_figures_of(first) == (2, 2, 1)
    assert member_figures_of(second) == (1, 0, 0)
    assert member_figures_of(third) == (2, 1, 0)  # deactivated: members count, the booth not
    assert member_figures_of(tree.mandrem) == (5, 3, 1)
    assert member_figures_of(tree.north_goa) == (5, 3, 1)
    assert member_figures_of(tree.south_goa) == (4, 3, 2)
    assert member_figures_of(tree.goa) == (9, 6, 3)
    assert member_figures_of(tree.tripura) == (1, 1, 1)
    assert member_figures_of(tree.india) == (10, 7, 4)


def test_national_member_figures_are_the_totals(tree, register_rows):
    group_services.group_figures_refresh_all()

    active_booths = Group.objects.filter(kind=Kind.BOOTH, is_active=True)
    assert member_figures_of(tree.india) == (
        Member.objects.count(),
        Member.objects.filter(status=Status.ACTIVE).count(),
        active_booths.filter(home_members__status=Status.ACTIVE).distinct().count(),
    )


def test_refreshing_one_tree_after_a_change_recounts_it_and_the_trees_above(
    asha, tree, register_rows
):
    group_services.group_figures_refresh_all()
    member = Member.objects.get(full_name="Member 3")
    Member.objects.filter(pk=member.pk).update(status=Status.ACTIVE)

    group_services.group_figures_refresh(tree_id=tree.mandrem.tree_id)

    assert member_figures_of(tree.north_goa) == (5, 4, 2)
    assert member_figures_of(tree.india) == (10, 8, 5)
    assert stored_member_figures() == members_counted_by_hand()


def test_refreshing_again_changes_nothing(tree, register_rows):
    group_services.group_figures_refresh_all()
    first = stored_member_figures()

    group_services.group_figures_refresh_all()

    assert stored_member_figures() == first


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Tree ids the code asks the worker to recount, in order; nothing reaches the broker.

    Tests using it commit for real (transactional_db), as on-commit callbacks run only then.
    """
    tree_ids: list[int] = []

    def send(args, kwargs, **options) -> str:
        tree_ids.extend(args)
        return "sent"

    monkeypatch.setattr(group_figures_refresh, "apply_async", send)
    return tree_ids


def marked_stale() -> set[int]:
    return set(StaleFigures.objects.values_list("tree_id", flat=True))


def test_moving_a_member_to_another_booth_moves_the_counts(
    queued, transactional_db, asha, tree, register_rows
):
    group_services.group_figures_refresh_all()
    member = Member.objects.get(full_name="Member 1")
    queued.clear()

    services.member_update(actor=asha, member=member, booth=register_rows.tripura_booth)

    assert queued == sorted([tree.mandrem.tree_id, register_rows.kumarghat.tree_id])
    for tree_id in queued:
        group_services.group_figures_refresh(tree_id=tree_id)
    assert member_figures_of(tree.mandrem_booths[0]) == (1, 1, 1)
    assert member_figures_of(tree.north_goa) == (4, 2, 1)
    assert member_figures_of(register_rows.tripura_booth) == (2, 2, 1)
    assert member_figures_of(tree.tripura) == (2, 2, 1)
    assert member_figures_of(tree.india) == (10, 7, 4)
    assert stored_member_figures() == members_counted_by_hand()


def test_one_recount_per_tree_however_many_members_a_transaction_changes(
    queued, transactional_db, asha, tree
):
    group_services.group_figures_refresh_all()  # figures up to date: no tree marked stale
    queued.clear()

    with transaction.atomic():
        members = [register(asha, tree.mandrem_booths[number % 3], number) for number in range(5)]
        register(asha, tree.ponda_booth, 5)
        services.member_update(actor=asha, member=members[0], status=Status.INACTIVE)

    assert queued == sorted([tree.mandrem.tree_id, tree.ponda.tree_id])


def test_a_change_that_leaves_booth_and_status_queues_no_recount(
    queued, transactional_db, asha, tree
):
    member = register(asha, tree.ponda_booth, 1)
    queued.clear()

    services.member_update(actor=asha, member=member, full_name="Ravi Naik")

    assert queued == []


def test_a_rolled_back_registration_queues_nothing_and_loses_no_later_one(
    queued, transactional_db, asha, tree
):
    group_services.group_figures_refresh_all()  # figures up to date: no tree marked stale
    queued.clear()

    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            register(asha, tree.mandrem_booths[0], 1)
            raise RuntimeError("the import stopped")
        register(asha, tree.ponda_booth, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        register(asha, tree.mandrem_booths[0], 3)
        raise RuntimeError("the import stopped")
    register(asha, tree.ponda_booth, 4)

    # The second registration finds Ponda's tree marked stale still (no recount ran between):
    # one message is enough. Mandrem's mark went with the rolled-back registrations.
    assert queued == [tree.ponda.tree_id]
    assert marked_stale() == {tree.ponda.tree_id}
    assert Member.objects.count() == 2


def test_worker_counts_a_member_registered_through_the_service(asha, tree, celery_worker):
    # The tree was built before the worker started (which empties the queue), so the only
    # recounts the worker gets are the ones the registration asks for.
    group_services.group_figures_refresh_all()
    booth = tree.mandrem_booths[1]
    assert member_figures_of(booth) == (0, 0, 0)

    register(asha, booth, 1)

    def counted() -> bool:
        return all(
            member_figures_of(group) == (1, 1, 1)
            for group in (booth, tree.mandrem, tree.north_goa, tree.india)
        )

    wait_until(counted)
    assert member_figures_of(tree.south_goa) == (0, 0, 0)
    assert stored_member_figures() == members_counted_by_hand()
