"""The approval rule: who must approve which target, and when content is approved."""

from __future__ import annotations

import pytest
from django.http import Http404

from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Forbidden
from content import selectors, services
from content.models import Content, Decision, Event, Target
from content.services import Refused, VariantInput

from .conftest import draft, fresh, submitted

State = Content.State


def decide(actor, content, decision="approve", **kwargs):
    if decision != "approve":
        kwargs.setdefault("comment", "Please say where the rally is.")
    return services.content_decide(actor=actor, content=content, decision=decision, **kwargs)


def waiting_codes(content) -> list[str]:
    return sorted(
        Target.objects.filter(revision=fresh(content).submitted_revision, approval__isnull=True)
        .values_list("group__code", flat=True)
    )  # fmt: skip


def test_targets_under_two_districts_need_each_districts_lead(tree, esha, naveen, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    assert list(selectors.content_review_queue(naveen)) == [content]
    assert list(selectors.content_review_queue(sita)) == [content]

    decide(naveen, content)

    assert fresh(content).state == State.IN_REVIEW
    assert waiting_codes(content) == ["S05-D-02"]
    assert list(selectors.content_review_queue(naveen)) == []  # decided: waits for Sita
    assert list(selectors.content_review_queue(sita)) == [content]

    decide(sita, content)

    assert fresh(content).state == State.APPROVED
    assert waiting_codes(content) == []
    timeline = [(e.kind, e.from_state, e.to_state, e.actor) for e in content.events.all()]
    assert timeline == [
        ("created", "draft", "draft", esha),
        ("submitted", "draft", "in_review", esha),
        ("approve", "in_review", "in_review", naveen),
        ("approve", "in_review", "approved", sita),
    ]


def test_a_state_leads_approval_covers_both_districts(tree, esha, gopal, naveen, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa, tree.mandrem_booths[0]])

    decide(gopal, content)

    content = fresh(content)
    assert content.state == State.APPROVED
    decision = Decision.objects.get(revision=content.submitted_revision)
    assert decision.approver == gopal
    assert decision.node == tree.goa
    assert set(content.submitted_revision.targets.values_list("approval", flat=True)) == {
        decision.pk
    }
    assert list(selectors.content_review_queue(naveen)) == []


def test_an_approval_at_one_target_covers_only_what_is_under_it(tree, esha, gopal, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa])

    decide(gopal, content, target=tree.north_goa)

    assert fresh(content).state == State.IN_REVIEW
    assert waiting_codes(content) == ["S05-D-02"]
    decide(sita, content)
    assert fresh(content).state == State.APPROVED


def test_the_author_never_decides_their_own_content(tree, emma, gopal):
    """Emma is an approver for Goa and wrote the content: someone else must decide it."""
    content = submitted(emma, [tree.north_goa])

    assert list(selectors.content_review_queue(emma)) == []
    for decision in ("approve", "reject", "request_changes"):
        with pytest.raises(Refused) as refused:
            decide(emma, content, decision)
        assert refused.value.code == "own_content"
    assert not Decision.objects.exists()
    assert fresh(content).state == State.IN_REVIEW

    decide(gopal, content)
    assert fresh(content).state == State.APPROVED


def test_one_rejection_among_approvals_rejects(tree, esha, naveen, sita, gopal):
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    decide(naveen, content)

    decide(sita, content, "reject", comment="Wrong date for South Goa.")

    content = fresh(content)
    assert content.state == State.REJECTED
    event = content.events.last()
    assert (event.kind, event.comment, event.actor) == ("reject", "Wrong date for South Goa.", sita)
    with pytest.raises(ApplicationError) as refused:
        decide(gopal, content)
    assert refused.value.code == "wrong_state"
    assert Decision.objects.count() == 2


def test_changes_requested_then_the_resubmission_needs_both_again(tree, esha, naveen, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    first = fresh(content).submitted_revision
    decide(naveen, content)
    decide(sita, content, "request_changes", comment="Add the place.")
    content = fresh(content)
    assert content.state == State.CHANGES_REQUESTED
    assert content.events.last().comment == "Add the place."

    edited = [
        VariantInput(language="hi", body="रविवार को मैदान में रैली", is_default=True),
        VariantInput(language="en", body="Rally on Sunday at the maidan"),
    ]
    services.content_update(actor=esha, content=content, variants=edited, title="Maidan rally")
    content = fresh(content)
    assert content.state == State.CHANGES_REQUESTED  # edited, not yet submitted
    assert content.current_revision.number == 2
    assert content.submitted_revision == first
    assert "+title: Maidan rally" in selectors.revision_diff(content.current_revision)

    services.content_submit(actor=esha, content=content)

    content = fresh(content)
    second = content.submitted_revision
    assert (content.state, second.number) == (State.IN_REVIEW, 2)
    assert waiting_codes(content) == ["S05-D-01", "S05-D-02"]  # Naveen's approval was of r1
    assert list(selectors.content_review_queue(naveen)) == [content]
    diff = selectors.revision_diff(second)
    assert "-Come to the rally on Sunday" in diff
    assert "+Rally on Sunday at the maidan" in diff
    # The first revision is kept whole, with its decisions.
    assert first.variants.get(language="en").body == "Come to the rally on Sunday"
    assert first.decisions.count() == 2

    with pytest.raises(ApplicationError) as refused:
        decide(naveen, content, revision=first)
    assert refused.value.code == "old_revision"

    decide(naveen, content)
    decide(sita, content)
    assert fresh(content).state == State.APPROVED


def test_a_decision_on_a_revision_read_before_an_edit_is_refused(tree, esha, naveen, sita):
    seen_by_naveen = submitted(esha, [tree.north_goa])
    services.content_update(actor=esha, content=seen_by_naveen, title="Sunday rally, 10 am")

    with pytest.raises(ApplicationError) as refused:
        decide(naveen, seen_by_naveen)

    assert refused.value.code == "old_revision"
    assert not Decision.objects.exists()


def test_editing_approved_content_sends_it_back_to_review(tree, esha, naveen, gopal):
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    decide(gopal, content)
    approved_revision = fresh(content).submitted_revision

    services.content_update(actor=esha, content=fresh(content), hashtags=["GoaRally"])

    content = fresh(content)
    assert content.state == State.IN_REVIEW
    assert content.submitted_revision.number == approved_revision.number + 1
    assert content.submitted_revision.snapshot["hashtags"] == ["GoaRally"]
    assert waiting_codes(content) == ["S05-D-01", "S05-D-02"]
    event = content.events.last()
    assert (event.kind, event.from_state, event.to_state) == ("edited", "approved", "in_review")
    assert list(selectors.content_review_queue(naveen)) == [content]
    assert "+hashtags: #GoaRally" in selectors.revision_diff(content.submitted_revision)


def test_editing_scheduled_content_sends_it_back_to_review(tree, esha, gopal):
    from datetime import timedelta

    from django.utils import timezone

    content = submitted(esha, [tree.goa], send_at=timezone.now() + timedelta(days=1))
    decide(gopal, content)
    assert fresh(content).state == State.SCHEDULED

    services.content_update(actor=esha, content=fresh(content), title="Sunday rally (new time)")

    assert fresh(content).state == State.IN_REVIEW


def test_a_trusted_authors_content_is_approved_on_submission(tree, esha, naveen, sita):
    services.content_trust(actor=naveen, author=esha, group=tree.north_goa)

    inside = submitted(esha, [tree.north_goa, tree.mandrem_booths[0]])

    inside = fresh(inside)
    assert inside.state == State.APPROVED
    event = inside.events.last()
    assert (event.kind, event.from_state, event.to_state) == ("submitted", "draft", "approved")
    assert [(t["lead"], t["node"]) for t in event.data["trusted_by"]] == [(naveen.pk, "S05-D-01")]
    decision = Decision.objects.get(revision=inside.submitted_revision)
    assert (decision.approver, decision.trust.author) == (naveen, esha)

    # Beyond the trust: South Goa's target still waits for Sita.
    both = submitted(esha, [tree.north_goa, tree.south_goa])
    assert fresh(both).state == State.IN_REVIEW
    assert waiting_codes(both) == ["S05-D-02"]
    decide(sita, both)
    assert fresh(both).state == State.APPROVED


def test_a_trust_for_part_of_a_leads_area_leaves_the_rest_in_their_queue(tree, esha, naveen):
    services.content_trust(actor=naveen, author=esha, group=tree.mandrem)

    content = submitted(esha, [tree.mandrem_booths[0], tree.north_goa])

    assert waiting_codes(content) == ["S05-D-01"]
    assert list(selectors.content_review_queue(naveen)) == [content]
    decide(naveen, content)
    assert fresh(content).state == State.APPROVED


def test_a_lead_trusts_only_inside_their_own_subtree(tree, esha, emma, naveen, vikram):
    with pytest.raises(Http404):
        services.content_trust(actor=naveen, author=esha, group=tree.south_goa)
    with pytest.raises(Forbidden):
        services.content_trust(actor=vikram, author=esha, group=tree.north_goa)
    with pytest.raises(Refused):
        services.content_trust(actor=naveen, author=naveen, group=tree.north_goa)
    services.content_trust(actor=naveen, author=esha, group=tree.mandrem)
    with pytest.raises(ApplicationError) as twice:
        services.content_trust(actor=naveen, author=esha, group=tree.mandrem)
    assert twice.value.code == "already_trusted"


def test_a_revoked_trust_approves_nothing(tree, esha, naveen):
    trust = services.content_trust(actor=naveen, author=esha, group=tree.north_goa)
    services.content_trust_revoke(actor=naveen, trust=trust)

    assert fresh(submitted(esha, [tree.north_goa])).state == State.IN_REVIEW


def test_a_user_without_a_deciding_role_is_refused(tree, esha, vikram, nobody):
    content = submitted(esha, [tree.north_goa])

    for user in (vikram, nobody):
        with pytest.raises(Forbidden):
            decide(user, content)
    assert not Decision.objects.exists()


def test_an_approver_below_the_approval_level_is_refused(tree, esha, mohan, arun):
    content = submitted(esha, [tree.mandrem])

    with pytest.raises(Refused) as refused:
        decide(mohan, content)
    assert refused.value.code == "decision_level"
    assert list(selectors.content_review_queue(mohan)) == []

    decide(arun, content)  # an approver at the district
    assert fresh(content).state == State.APPROVED


def test_a_decision_outside_the_deciders_area_is_404(tree, esha, naveen, tarun):
    south_only = submitted(esha, [tree.south_goa])
    both = submitted(esha, [tree.north_goa, tree.south_goa])

    with pytest.raises(Http404):
        decide(naveen, south_only)
    with pytest.raises(Http404):
        decide(naveen, both, target=tree.south_goa)
    with pytest.raises(Http404):
        decide(tarun, both)
    assert not Decision.objects.exists()


def test_a_district_lead_cannot_decide_a_state_target(tree, esha, naveen, gopal):
    content = submitted(esha, [tree.goa])

    with pytest.raises(Refused) as refused:
        decide(naveen, content)

    assert refused.value.code == "not_your_targets"
    decide(gopal, content)
    assert fresh(content).state == State.APPROVED


def test_the_approval_level_is_a_setting(settings, tree, esha, mohan):
    from groups.models import Kind

    settings.CONTENT_APPROVAL_MIN_KIND = Kind.ASSEMBLY
    content = submitted(esha, [tree.mandrem])

    decide(mohan, content)

    assert fresh(content).state == State.APPROVED


def test_a_draft_is_not_decided(tree, esha, naveen):
    content = draft(esha, [tree.north_goa])

    with pytest.raises(Http404):  # not submitted: nobody but its author sees it
        decide(naveen, content)
    assert Event.objects.filter(content=content).count() == 1
