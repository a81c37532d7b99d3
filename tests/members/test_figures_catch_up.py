"""The figures catch up whatever happens to a recount's message: lost, never sent because the
broker was down when a member was saved, or sent while another recount runs. A real worker
recounts, and the figures end equal to a count done by hand over the rows."""

from __future__ import annotations

from django.db import connection, connections

from groups import services as group_services
from groups.models import StaleFigures
from groups.tasks import group_figures_refresh_stale
from members.models import Member
from tests.conftest import wait_until
from tests.groups.test_figures import counted_by_hand, stored_figures
from tests.members.test_member_figures import (
    member_figures_of,
    members_counted_by_hand,
    register,
    stored_member_figures,
)
from tests.members.test_register import form_data
from tests.support.services import require


def marked_stale() -> dict[int, bool]:
    """tree id -> whether a recount is counting it."""
    return dict(StaleFigures.objects.values_list("tree_id", "counting"))


def figures_right() -> bool:
    """Every node's figures equal a count by hand, and no tree is left marked stale."""
    return (
        not StaleFigures.objects.exists()
        and stored_member_figures() == members_counted_by_hand()
        and stored_figures() == counted_by_hand()
    )


def test_beats_round_is_scheduled_as_configured(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["group-figures-refresh-stale"]
    assert entry["task"] == group_figures_refresh_stale.name
    assert entry["schedule"] == settings.GROUP_FIGURES_CATCH_UP_SECONDS


def test_a_lost_recount_message_is_caught_up_by_beats_round(transactional_db, asha, tree, request):
    group_services.group_figures_refresh_all()
    booth = tree.mandrem_booths[1]
    register(asha, booth, 1)  # its recount's message waits in the broker: no worker yet

    request.getfixturevalue("celery_worker")  # which empties the queue first: the message is lost

    assert marked_stale() == {tree.mandrem.tree_id: False}
    assert member_figures_of(booth) == (0, 0, 0)
    group_figures_refresh_stale.delay()  # beat's round
    wait_until(figures_right)
    assert member_figures_of(booth) == (1, 1, 1)
    assert member_figures_of(tree.india) == (Member.objects.count(), 1, 1)


def test_the_broker_down_when_a_member_is_saved(
    transactional_db, client, naveen, tree, broker_unreachable, request
):
    group_services.group_figures_refresh_all()
    client.force_login(naveen)

    with broker_unreachable():
        response = client.post("/members/new/", form_data())

    member = Member.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/members/{member.pk}/"
    assert marked_stale() == {tree.mandrem.tree_id: False}
    request.getfixturevalue("celery_worker")
    group_figures_refresh_stale.delay()  # beat's round
    wait_until(figures_right)
    assert member_figures_of(tree.mandrem_booths[0]) == (1, 1, 1)


def test_two_recounts_at_once_one_leaves_and_the_figures_end_right(
    transactional_db, asha, tree, request
):
    require(connection.vendor == "postgresql", "the figures claim is a PostgreSQL lock")
    group_services.group_figures_refresh_all()
    request.getfixturevalue("celery_worker")
    # Another session holds the figures table, so the worker's recount stops mid-count.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("LOCK TABLE groups_groupfigures IN SHARE MODE")
    try:
        register(asha, tree.mandrem_booths[0], 1)  # the worker's recount starts

        def worker_waits() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE %s",
                    ["DELETE FROM groups_groupfigures%"],
                )
                return cursor.fetchone()[0] == 1

        wait_until(worker_waits)
        register(asha, tree.ponda_booth, 2)

        # A second recount finds the claim held and leaves at once, its tree marked (were it
        # to count, it would wait for the table as the worker does: an error after 5 s).
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
        assert group_services.group_figures_refresh(tree_id=tree.ponda.tree_id) is None
        assert marked_stale() == {tree.mandrem.tree_id: True, tree.ponda.tree_id: False}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        blocker.rollback()
        blocker.close()

    # The running recount finishes its tree and takes Ponda's mark before it lets the claim
    # go (or the message Ponda's registration sent counts it).
    wait_until(figures_right)
    assert member_figures_of(tree.mandrem_booths[0]) == (1, 1, 1)
    assert member_figures_of(tree.ponda_booth) == (1, 1, 1)
    assert member_figures_of(tree.india) == (2, 2, 2)


def test_a_recount_cut_short_leaves_its_trees_to_the_next(transactional_db, asha, tree):
    """What a worker killed mid-count leaves: the marks it was counting (its count rolled
    back, its claim gone with its connection). The next recount takes them again."""
    group_services.group_figures_refresh_all()
    register(asha, tree.mandrem_booths[2], 1)
    StaleFigures.objects.update(counting=True)

    assert group_services.group_figures_refresh_stale() > 0

    assert figures_right()
