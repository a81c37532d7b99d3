"""Every transition of the workflow, allowed and refused, and what the services refuse to
write: each refusal a clear error with a stable code, and nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.http import Http404
from django.utils import timezone

from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Forbidden
from content import selectors, services
from content.models import Content, Event, Revision, Target, Variant
from content.services import Refused, TargetInput, VariantInput

from .conftest import BILINGUAL, draft, fresh, submitted

State = Content.State


def refused_code(call) -> str:
    with pytest.raises(ApplicationError) as refused:
        call()
    return refused.value.code


def nothing_written() -> bool:
    return not (Content.objects.exists() or Revision.objects.exists() or Variant.objects.exists())


# --- Creating and editing ---------------------------------------------------------------------


def test_an_editor_drafts_bilingual_content_for_two_districts(tree, esha):
    content = draft(
        esha, [tree.north_goa, TargetInput(tree.south_goa, post="booth_president")],
        campaign_tags=["sunday-rally"], hashtags=["#GoaRally", "GoaRally", "रैली"],
    )  # fmt: skip

    content = fresh(content)
    assert (content.state, content.author, content.submitted_revision) == (State.DRAFT, esha, None)
    revision = content.current_revision
    assert (revision.number, revision.is_submitted) == (1, False)
    assert [(v.language, v.is_default) for v in revision.variants.all()] == [
        ("hi", True),
        ("en", False),
    ]
    assert sorted(revision.targets.values_list("group__code", "post")) == [
        ("S05-D-01", ""),
        ("S05-D-02", "booth_president"),
    ]
    assert content.hashtags == ["GoaRally", "रैली"]
    assert content.events.get().kind == "created"


def test_the_first_language_is_the_default_when_none_is_marked(tree, esha):
    content = draft(
        esha, [tree.goa], variants=[VariantInput("en", "Hello"), VariantInput("hi", "नमस्ते")]
    )

    assert fresh(content).current_revision.variants.get(is_default=True).language == "en"


def test_a_draft_is_edited_in_place(tree, esha):
    content = draft(esha, [tree.north_goa])

    services.content_update(
        actor=esha, content=content, title="Monday rally", targets=[tree.south_goa]
    )

    content = fresh(content)
    assert (content.title, content.current_revision.number) == ("Monday rally", 1)
    assert list(content.current_revision.targets.values_list("group", flat=True)) == [
        tree.south_goa.pk
    ]
    assert content.events.last().kind == "edited"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"variants": [VariantInput("hi", "  "), VariantInput("en", "")]}, "body_empty"),
        ({"variants": []}, "body_empty"),
        ({"send_at": timezone.now() - timedelta(minutes=1)}, "send_at_past"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at_past"),
        (
            {"send_at": timezone.now() + timedelta(days=2),
             "expires_at": timezone.now() + timedelta(days=1)},
            "expires_before_send",
        ),
        ({"variants": [VariantInput("hi", "a\x00b")]}, "control_characters"),
        ({"variants": [VariantInput("xx", "text")]}, "invalid_language"),
        ({"variants": [VariantInput("hi", "a"), VariantInput("hi", "b")]}, "duplicate_language"),
        (
            {"variants": [VariantInput("hi", "a", is_default=True),
                          VariantInput("en", "b", is_default=True)]},
            "two_defaults",
        ),
        ({"variants": [VariantInput("hi", "x" * 5000)]}, "too_long"),
        ({"variants": [VariantInput("en", "x", media="content/1/other.png")]}, "invalid_media"),
        ({"variants": [VariantInput("en", "x", media=ContentFile(b"x", name="a.png"))]},
         "media_unchecked"),
        ({"title": " "}, "required"),
        ({"hashtags": ["two words"]}, "invalid_tag"),
        ({"kind": "hologram"}, "invalid_kind"),
        ({"priority": "high"}, "invalid_priority"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_is_written(tree, esha, fields, code):
    assert refused_code(lambda: draft(esha, [tree.north_goa], **fields)) == code
    assert nothing_written()


def test_a_target_outside_the_authors_area_is_404_and_nothing_is_written(tree, esha, arun):
    with pytest.raises(Http404):  # a forged target: Tripura is not Esha's
        draft(esha, [tree.goa, tree.tripura])
    with pytest.raises(Http404):  # above her area
        draft(esha, [tree.india])
    assert nothing_written()


def test_only_editors_and_leads_draft(tree, esha, arun, vikram, naveen):
    with pytest.raises(Forbidden):  # an approver in North Goa
        draft(arun, [tree.north_goa])
    with pytest.raises(Forbidden):
        draft(vikram, [tree.north_goa])
    assert nothing_written()
    assert fresh(draft(naveen, [tree.north_goa])).author == naveen


def test_a_bad_edit_changes_nothing(tree, esha):
    content = draft(esha, [tree.north_goa])

    with pytest.raises(Http404):
        services.content_update(actor=esha, content=content, targets=[tree.tripura])
    assert refused_code(
        lambda: services.content_update(
            actor=esha, content=content, title="New", variants=[VariantInput("hi", "")]
        )
    ) == "body_empty"  # fmt: skip

    content = fresh(content)
    assert content.title == "Sunday rally"
    assert list(content.current_revision.targets.values_list("group", flat=True)) == [
        tree.north_goa.pk
    ]
    assert content.events.count() == 1


def test_only_the_author_edits_or_submits(tree, esha, naveen, tarun):
    content = submitted(esha, [tree.north_goa])

    with pytest.raises(Refused):
        services.content_update(actor=naveen, content=content, title="Taken over")
    with pytest.raises(Http404):  # Tripura's lead does not even see it
        services.content_update(actor=tarun, content=content, title="Taken over")
    assert fresh(content).title == "Sunday rally"


# --- Submitting ----------------------------------------------------------------------------


def test_submitting_keeps_the_revision_as_it_was(tree, esha):
    content = submitted(esha, [tree.north_goa], hashtags=["GoaRally"])

    content = fresh(content)
    revision = content.submitted_revision
    assert content.state == State.IN_REVIEW
    assert revision == content.current_revision
    assert revision.is_submitted
    assert revision.snapshot["hashtags"] == ["GoaRally"]
    assert content.submitted_at == revision.submitted_at
    assert "[hi (default)]" in selectors.revision_text(revision)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"targets": []}, "no_targets"),
        ({"kind": Content.Kind.IMAGE}, "media_missing"),
        ({"kind": Content.Kind.LINK}, "link_missing"),
    ],
)
def test_incomplete_content_is_not_submitted(tree, esha, fields, code):
    targets = fields.pop("targets", [tree.north_goa])
    content = draft(esha, targets, **fields)

    assert refused_code(lambda: services.content_submit(actor=esha, content=content)) == code
    assert fresh(content).state == State.DRAFT
    assert not Revision.objects.filter(submitted_at__isnull=False).exists()


def test_a_send_time_passed_while_in_draft_is_refused_at_submission(tree, esha):
    content = draft(esha, [tree.north_goa], send_at=timezone.now() + timedelta(hours=1))
    Content.objects.filter(pk=content.pk).update(send_at=timezone.now() - timedelta(hours=1))

    code = refused_code(lambda: services.content_submit(actor=esha, content=content))

    assert code == "send_at_past"
    assert fresh(content).state == State.DRAFT


def test_a_target_the_author_lost_is_refused_at_submission(tree, esha):
    from groups import services as group_services
    from groups.models import Assignment

    content = draft(esha, [tree.north_goa])
    group_services.assignment_remove(actor=None, assignment=Assignment.objects.get(user=esha))
    esha = type(esha).objects.get(pk=esha.pk)  # a new request: no cached roles

    with pytest.raises(Http404):
        services.content_submit(actor=esha, content=content)
    assert fresh(content).state == State.DRAFT


def test_an_image_with_its_file_is_submitted(tree, esha):
    png = ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, name="../../etc/rally.png")
    content = draft(
        esha, [tree.north_goa], kind=Content.Kind.IMAGE,
        variants=[VariantInput("hi", "", media=png, media_caption="रैली", media_type="image/png",
                               media_size=24)],
    )  # fmt: skip

    services.content_submit(actor=esha, content=content)

    variant = fresh(content).submitted_revision.variants.get()
    assert variant.media.name.startswith(f"content/{content.pk}/rally")
    assert (variant.media_type, variant.media_size) == ("image/png", 24)
    # The next revision shares the stored file, which the author may keep by its name.
    services.content_update(
        actor=esha, content=content,
        variants=[VariantInput("hi", "नया", media=variant.media.name, media_type="image/png",
                               media_size=24)],
    )  # fmt: skip
    assert fresh(content).current_revision.variants.get().media.name == variant.media.name


# --- Refused transitions ------------------------------------------------------------------


def test_each_state_refuses_what_it_does_not_allow(tree, esha, naveen):
    in_review = submitted(esha, [tree.north_goa])
    assert refused_code(lambda: services.content_submit(actor=esha, content=in_review)) == (
        "wrong_state"
    )

    rejected = submitted(esha, [tree.north_goa])
    services.content_decide(actor=naveen, content=rejected, decision="reject", comment="No.")
    for call in (
        lambda: services.content_submit(actor=esha, content=rejected),
        lambda: services.content_update(actor=esha, content=rejected, title="Again"),
        lambda: services.content_withdraw(actor=esha, content=rejected, reason="Old"),
    ):
        assert refused_code(call) == "wrong_state"

    withdrawn = draft(esha, [tree.north_goa])
    services.content_withdraw(actor=esha, content=withdrawn, reason="Not needed")
    assert fresh(withdrawn).state == State.WITHDRAWN
    for call in (
        lambda: services.content_submit(actor=esha, content=withdrawn),
        lambda: services.content_update(actor=esha, content=withdrawn, title="Again"),
        lambda: services.content_withdraw(actor=esha, content=withdrawn, reason="Twice"),
    ):
        assert refused_code(call) == "wrong_state"
    assert Event.objects.filter(content=withdrawn).count() == 2


def test_a_decision_is_made_once_and_needs_a_comment_to_send_back(tree, esha, naveen):
    content = submitted(esha, [tree.north_goa, tree.south_goa])

    assert refused_code(
        lambda: services.content_decide(actor=naveen, content=content, decision="reject")
    ) == "comment_required"  # fmt: skip
    assert refused_code(
        lambda: services.content_decide(actor=naveen, content=content, decision="maybe")
    ) == "invalid_decision"  # fmt: skip
    services.content_decide(actor=naveen, content=content, decision="approve")
    assert refused_code(
        lambda: services.content_decide(actor=naveen, content=content, decision="approve")
    ) == "already_decided"  # fmt: skip
    assert fresh(content).state == State.IN_REVIEW


def test_a_target_that_is_not_one_is_refused(tree, esha, naveen):
    content = submitted(esha, [tree.mandrem_booths[0]])

    code = refused_code(
        lambda: services.content_decide(
            actor=naveen, content=content, decision="approve", target=tree.mandrem_booths[1]
        )
    )

    assert code == "not_a_target"


# --- Withdrawing ------------------------------------------------------------------------------


def test_the_author_withdraws_from_every_open_state(tree, esha, gopal):
    contents = {
        "draft": draft(esha, [tree.north_goa]),
        "in_review": submitted(esha, [tree.north_goa]),
        "approved": submitted(esha, [tree.north_goa]),
        "changes_requested": submitted(esha, [tree.north_goa]),
        "scheduled": submitted(esha, [tree.north_goa], send_at=timezone.now() + timedelta(days=1)),
    }
    services.content_decide(actor=gopal, content=contents["approved"], decision="approve")
    services.content_decide(actor=gopal, content=contents["scheduled"], decision="approve")
    services.content_decide(
        actor=gopal, content=contents["changes_requested"], decision="request_changes",
        comment="Shorter, please.",
    )  # fmt: skip

    for state, content in contents.items():
        assert fresh(content).state == state
        services.content_withdraw(actor=esha, content=content, reason="Plans changed")
        event = fresh(content).events.last()
        assert (event.from_state, event.to_state, event.comment) == (
            state, "withdrawn", "Plans changed",
        )  # fmt: skip


def test_a_withdrawal_needs_a_reason_and_the_right(tree, esha, naveen, gopal):
    content = submitted(esha, [tree.north_goa, tree.south_goa])

    assert refused_code(
        lambda: services.content_withdraw(actor=esha, content=content, reason=" ")
    ) == "reason_required"  # fmt: skip
    # Naveen decides only one of its two areas.
    assert refused_code(
        lambda: services.content_withdraw(actor=naveen, content=content, reason="No")
    ) == "withdraw_not_allowed"  # fmt: skip
    services.content_withdraw(actor=gopal, content=content, reason="Cancelled by the state")
    assert fresh(content).state == State.WITHDRAWN


def test_variants_and_targets_belong_to_their_revision(tree, esha, naveen):
    content = submitted(esha, [tree.north_goa], variants=BILINGUAL)
    services.content_decide(
        actor=naveen, content=content, decision="request_changes", comment="Add English."
    )
    services.content_update(actor=esha, content=content, targets=[tree.mandrem])
    services.content_submit(actor=esha, content=content)

    first, second = Revision.objects.filter(content=content).order_by("number")
    assert list(first.targets.values_list("group", flat=True)) == [tree.north_goa.pk]
    assert list(second.targets.values_list("group", flat=True)) == [tree.mandrem.pk]
    assert Variant.objects.filter(revision__content=content).count() == 4
    assert Target.objects.filter(revision__content=content).count() == 2


def test_refusals_are_translated(tree, esha):
    from django.utils import translation

    with translation.override("hi"), pytest.raises(ApplicationError) as refused:
        draft(esha, [tree.north_goa], variants=[VariantInput("hi", " ")])

    assert refused.value.message == "हर भाषा में पाठ खाली है; कम से कम एक में लिखें।"
