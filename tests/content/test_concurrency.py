"""Two approvers deciding the same content at the same moment, on PostgreSQL in two threads:
each decision is recorded and the content makes exactly one transition."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from content import services
from content.models import Content, Decision, Event
from groups.models import Role
from tests.support.services import require

from .conftest import small_tree, staff, submitted


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_make_one_transition(asha):
    # Row locks are what is tested: PostgreSQL's (CI runs there; a local SQLite run skips).
    require(connection.vendor == "postgresql", "needs PostgreSQL (DATABASE_URL=postgres://...)")
    tree = small_tree(asha)
    esha = staff("esha@cadreconnect.example", "Esha Editor", (tree.goa, Role.EDITOR))
    naveen = staff("naveen@cadreconnect.example", "Naveen", (tree.north_goa, Role.LEAD))
    sita = staff("sita@cadreconnect.example", "Sita", (tree.south_goa, Role.LEAD))
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    both_ready = threading.Barrier(2)

    def approve(approver) -> str:
        try:
            approver = type(approver).objects.get(pk=approver.pk)
            both_ready.wait(timeout=10)
            return services.content_decide(
                actor=approver, content=content, decision="approve"
            ).state
        finally:
            connection.close()

    for _round in range(3):
        with ThreadPoolExecutor(max_workers=2) as pool:
            states = sorted(pool.map(approve, [naveen, sita]))

        assert states == ["approved", "in_review"]  # one saw the other's approval
        assert Content.objects.get(pk=content.pk).state == "approved"
        assert Decision.objects.filter(revision=content.submitted_revision).count() == 2
        transitions = Event.objects.filter(revision=content.submitted_revision, to_state="approved")
        assert transitions.count() == 1
        # Again, on a new revision: edit the approved content and decide it once more.
        content = services.content_update(
            actor=esha, content=Content.objects.get(pk=content.pk), title=f"Round {_round}"
        )
