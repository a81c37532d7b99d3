"""Who sees which content: their own, what targets their subtree or an area above it (in
review for those who decide there, approved for everyone), and nothing else (404)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from cadreconnect import permissions
from cadreconnect.permissions import Action
from content import selectors, services
from content.models import Content
from groups import services as group_services
from groups.models import Group

from .conftest import draft, submitted


def visible(user) -> set[int]:
    return set(selectors.content_visible_to(user).values_list("pk", flat=True))


def test_a_draft_is_seen_by_its_author_alone(tree, esha, naveen, gopal, nita):
    content = draft(esha, [tree.north_goa])

    assert visible(esha) == {content.pk}
    for user in (naveen, gopal, nita):
        assert visible(user) == set()
        with pytest.raises(Http404):
            selectors.content_get_for_user(user, content.pk)


def test_content_in_review_reaches_the_deciders_of_its_areas(tree, esha, naveen, sita, gopal, nita,
                                                           tarun, arun, vikram):  # fmt: skip
    north = submitted(esha, [tree.north_goa])

    for user in (naveen, gopal, nita, arun):
        assert selectors.content_get_for_user(user, north.pk) == north
    for user in (sita, tarun, vikram):  # another district, another state, a viewer
        with pytest.raises(Http404):
            selectors.content_get_for_user(user, north.pk)


def test_material_for_the_state_reaches_its_districts(tree, esha, naveen, vikram, tarun, gopal):
    for_goa = submitted(esha, [tree.goa])
    assert for_goa.pk in visible(naveen)
    assert for_goa.pk not in visible(vikram)  # a viewer reads the library only

    services.content_decide(actor=gopal, content=for_goa, decision="approve")

    assert for_goa.pk in visible(vikram)
    assert for_goa.pk not in visible(tarun)


def test_the_library_shows_approved_content_to_every_role(tree, esha, gopal, vikram):
    approved = submitted(esha, [tree.mandrem])
    services.content_decide(actor=gopal, content=approved, decision="approve")
    in_review = submitted(esha, [tree.mandrem])

    assert visible(vikram) == {approved.pk}
    assert list(selectors.content_library(vikram)) == [approved]
    assert in_review.pk in visible(gopal)
    assert set(selectors.content_library(gopal)) == {approved}
    assert list(selectors.content_drafts(esha)) == []


def test_expired_content_leaves_the_library(tree, esha, gopal, vikram):
    content = submitted(esha, [tree.north_goa], expires_at=timezone.now() + timedelta(days=1))
    services.content_decide(actor=gopal, content=content, decision="approve")
    assert content.pk in visible(vikram)

    services.content_expire_due(now=timezone.now() + timedelta(days=2))

    assert content.pk not in visible(vikram)
    assert content.pk in visible(gopal)  # the history stays for those who decided it
    assert not selectors.content_sendable().filter(pk=content.pk).exists()


def test_one_content_is_found_as_the_list_finds_it(tree, esha, naveen, sita, vikram, gopal):
    """content_get_for_user asks one content's targets; content_visible_to asks every
    content's: the two agree in every state."""
    north = submitted(esha, [tree.north_goa])
    mine = draft(esha, [tree.south_goa])
    for step in ("in_review", "approved", "withdrawn"):
        if step == "approved":
            services.content_decide(actor=gopal, content=north, decision="approve")
        if step == "withdrawn":
            services.content_withdraw(actor=esha, content=north, reason="Old")
        for user in (esha, naveen, sita, vikram, gopal):
            user = type(user).objects.get(pk=user.pk)
            listed = visible(user)
            for content in (north, mine):
                found = selectors.content_reaches(user, Content.objects.get(pk=content.pk))
                assert found == (content.pk in listed), (step, user.email, content.title)
    with pytest.raises(Http404):
        selectors.content_get_for_user(naveen, "not a number")


def test_the_review_queue_is_scoped_and_oldest_first(tree, esha, naveen, sita, gopal):
    older = submitted(esha, [tree.north_goa])
    newer = submitted(esha, [tree.mandrem_booths[0]])
    south = submitted(esha, [tree.south_goa])
    Content.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timedelta(days=1))

    assert list(selectors.content_review_queue(naveen)) == [older, newer]
    assert list(selectors.content_review_queue(sita)) == [south]
    assert list(selectors.content_review_queue(gopal)) == [older, newer, south]
    assert list(selectors.content_review_queue(esha)) == []


def test_the_queue_reads_a_bounded_number_of_queries(tree, esha, naveen,
                                                     django_assert_max_num_queries):  # fmt: skip
    for _ in range(5):
        submitted(esha, [tree.north_goa, tree.mandrem])
    naveen = type(naveen).objects.get(pk=naveen.pk)

    with django_assert_max_num_queries(4):
        assert len(list(selectors.content_review_queue(naveen))) == 5


def test_content_rights_are_in_the_permission_table():
    assert permissions.roles_for(Action.CONTENT_DRAFT) == ["lead", "editor"]
    assert permissions.roles_for(Action.CONTENT_DECIDE) == ["lead", "approver"]
    assert permissions.roles_for(Action.CONTENT_TRUST) == ["lead"]


def test_the_settings_know_the_levels_of_the_tree(settings):
    from groups.models import Kind

    assert {kind.name.lower(): kind.value for kind in Kind} == settings.GROUP_KIND_VALUES
    assert settings.CONTENT_APPROVAL_MIN_KIND == Kind.DISTRICT


def queued(user) -> list[Content]:
    """The user's review queue as the next request reads it (nothing cached on the user)."""
    return list(selectors.content_review_queue(type(user).objects.get(pk=user.pk)))


def test_content_follows_its_target_when_the_node_moves(tree, asha, esha, naveen, sita, gopal,
                                                        vikram):  # fmt: skip
    """The scope is read from the targets' own paths: moving Mandrem (and its booths) from
    North to South Goa moves its content from Naveen's queue and library to Sita's."""
    booth = submitted(esha, [tree.mandrem_booths[0]])
    assert (queued(naveen), queued(sita)) == ([booth], [])

    group_services.group_move(
        actor=asha, group=tree.mandrem, new_parent=Group.objects.get(code="S05-PC-02")
    )

    assert (queued(naveen), queued(sita), queued(gopal)) == ([], [booth], [booth])
    services.content_decide(actor=sita, content=booth, decision="approve")
    assert list(selectors.content_library(type(vikram).objects.get(pk=vikram.pk))) == []


def test_content_follows_its_target_through_a_delimitation(tree, esha, naveen, sita, tmp_path):
    for_mandrem = submitted(esha, [tree.mandrem])
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(
        "action,old_code,new_code,above,kind,name,name_local,electors\n"
        "move,S05-AC-001,,S05-PC-02,ac,,,\n",
        encoding="utf-8",
    )

    call_command("groups_delimit", str(mapping), stdout=StringIO(), stderr=StringIO())

    assert Group.objects.get(pk=tree.mandrem.pk).upper.code == "S05-PC-02"
    assert (queued(naveen), queued(sita)) == ([], [for_mandrem])
