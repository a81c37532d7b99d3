"""The content pages through the Django test client: the editor and its bad input (nothing
saved, no file left behind), the preview, decisions by those who may not, the review queue,
the content page, the library, the scoped media view and the admin's actions."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from content import services
from content.models import Content, Decision, Event, Variant

from .conftest import draft, fresh, submitted

State = Content.State
# A list page: the session, the user, their roles and reach (for the page and the menu), the
# count, the page of rows with their authors, and the menu's count of content awaiting the
# user (their deciding roles; the count itself is cached); never a query per row.
QUEUE_QUERIES = 7
LIBRARY_QUERIES = 10
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


@pytest.fixture(autouse=True)
def content_storage(settings, tmp_path) -> Path:
    """Content files go to a folder of this test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "content_media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return tmp_path / "media"


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def editor_data(**fields) -> dict:
    data = {
        "title": "Sunday rally",
        "kind": "text",
        "priority": "20",
        "campaign_tags": "rally",
        "hashtags": "#GoaRally",
        "send_at": "",
        "expires_at": "",
        "default_language": "hi",
        "body_hi": "रविवार को रैली में आइए",
        "body_en": "Come to the *rally* on Sunday",
        "caption_hi": "",
        "caption_en": "",
        "target": ["S05-D-01", "S05-D-02"],
        "target_post": ["", ""],
    }
    data.update(fields)
    return data


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- The editor -----------------------------------------------------------------------------


def test_an_editor_saves_bilingual_content_with_an_image_and_two_districts(
    client, tree, esha, content_storage
):
    client.force_login(esha)
    response = client.post(
        "/content/new/",
        editor_data(kind="image", media_en=SimpleUploadedFile("poster.jpg", png(), "image/jpeg")),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    content = Content.objects.get()
    assert response["Location"] == f"/content/{content.pk}/edit/"
    revision = content.current_revision
    english = revision.variants.get(language="en")
    # The stored name is made by content.media from the type found (a PNG, whatever its name).
    assert english.media_type == "image/png" and english.media.name.endswith(".png")
    assert "poster" not in english.media.name
    assert [path.suffix for path in stored_files(content_storage)] == [".png"]
    assert sorted(revision.targets.values_list("group__code", flat=True)) == [
        "S05-D-01",
        "S05-D-02",
    ]
    page = client.get(f"/content/{content.pk}/edit/").content.decode()
    assert f'src="/content/media/{english.pk}/"' in page
    assert "<strong>rally</strong>" in page  # the WhatsApp preview

    served = client.get(f"/content/media/{english.pk}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("attachment")
    assert b"".join(served.streaming_content) == png()


def test_a_file_that_claims_to_be_an_image_but_is_not_is_refused(
    client, tree, esha, content_storage
):
    client.force_login(esha)
    fake = SimpleUploadedFile("poster.png", b"MZ\x90\x00 not an image at all", "image/png")
    response = client.post("/content/new/", editor_data(kind="image", media_hi=fake))

    assert response.status_code == 400
    assert "not" in response.content.decode() and not Content.objects.exists()
    assert stored_files(content_storage) == []


def test_an_svg_with_a_script_is_refused_and_nothing_is_stored(client, tree, esha, content_storage):
    client.force_login(esha)
    svg = SimpleUploadedFile("logo.png", SVG, "image/png")
    response = client.post("/content/new/", editor_data(kind="image", media_en=svg))

    assert response.status_code == 400
    assert "SVG drawings and web pages are not taken" in response.content.decode()
    assert not Content.objects.exists() and stored_files(content_storage) == []


def test_a_refusal_after_the_file_is_stored_leaves_no_file_behind(
    client, tree, esha, content_storage
):
    client.force_login(esha)
    image = SimpleUploadedFile("poster.png", png(), "image/png")
    past = local(timezone.now() - timedelta(hours=1))
    response = client.post("/content/new/", editor_data(kind="image", media_en=image, send_at=past))

    assert response.status_code == 400
    assert "The send time has passed" in response.content.decode()
    assert not Content.objects.exists() and stored_files(content_storage) == []


def test_a_body_empty_in_every_language_is_refused(client, tree, esha):
    client.force_login(esha)
    response = client.post("/content/new/", editor_data(body_hi="   ", body_en=""))

    assert response.status_code == 400
    assert "in at least one" in response.content.decode()
    assert not Content.objects.exists()


def test_a_target_outside_the_authors_area_forged_in_the_post_is_refused(client, tree, esha):
    client.force_login(esha)  # Esha edits for Goa; Tripura is outside her area
    response = client.post("/content/new/", editor_data(target=["S05-D-01", "S23"]))

    assert response.status_code == 400
    assert "There is no group with the code S23 in your area." in response.content.decode()
    assert not Content.objects.exists()


@pytest.mark.parametrize(
    ("send_in", "expire_in", "message"),
    [
        (timedelta(hours=-1), None, "The send time has passed"),
        (timedelta(days=2), timedelta(days=1), "The content would expire before it is sent"),
    ],
)
def test_times_in_the_past_or_in_the_wrong_order_are_refused(
    client, tree, esha, send_in, expire_in, message
):
    client.force_login(esha)
    now = timezone.now()
    response = client.post("/content/new/", editor_data(
        send_at=local(now + send_in), expires_at=local(now + expire_in) if expire_in else "",
    ))  # fmt: skip

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Content.objects.exists()


def test_a_viewer_cannot_open_the_editor_and_is_told_which_role_is_needed(client, tree, vikram):
    client.force_login(vikram)
    response = client.get("/content/new/")

    assert response.status_code == 403
    assert "editor" in response.content.decode()


def test_only_the_author_edits_and_a_decider_of_the_area_gets_403(client, tree, esha, naveen):
    content = submitted(esha, [tree.north_goa])
    client.force_login(naveen)

    assert client.get(f"/content/{content.pk}/edit/").status_code == 403
    assert client.post(f"/content/{content.pk}/submit/").status_code == 403


def test_the_preview_is_escaped_and_counts_sms_segments(client, tree, esha):
    client.force_login(esha)
    response = client.post("/content/preview/", {
        "body_en": "*Rally* <script>alert(1)</script>" + "a" * 150, "body_hi": "क" * 71,
        "hashtags": "",
    }, HTTP_HX_REQUEST="true")  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Rally</strong>" in page and "<script>" not in page
    assert "in GSM-7: 2 segments of up to 153" in page
    assert "71 characters in Unicode (UCS-2): 2 segments of up to 67" in page


# --- Deciding through the page --------------------------------------------------------------


def test_a_decision_by_a_user_without_the_role_is_403(client, tree, esha, naveen, sita, vikram):
    content = submitted(esha, [tree.north_goa])
    services.content_decide(actor=naveen, content=fresh(content), decision="approve")
    client.force_login(vikram)  # a viewer sees the approved content, and decides nothing
    content = fresh(content)
    page = client.get(f"/content/{content.pk}/").content.decode()
    for hidden in ("Record my decision", "/withdraw/", "/submit/", "/edit/"):
        assert hidden not in page  # the page offers nothing Vikram may not do

    response = client.post(f"/content/{content.pk}/decide/", {
        "decision": "reject", "comment": "No", "revision": content.submitted_revision_id,
    })  # fmt: skip

    assert response.status_code == 403
    assert "approver" in response.content.decode()
    assert fresh(content).state == State.APPROVED


def test_a_decision_on_content_outside_the_users_area_is_404(client, tree, esha, sita):
    content = submitted(esha, [tree.north_goa])
    client.force_login(sita)  # South Goa's lead

    response = client.post(f"/content/{content.pk}/decide/", {
        "decision": "approve", "revision": content.submitted_revision_id,
    })  # fmt: skip

    assert response.status_code == 404
    assert client.get(f"/content/{content.pk}/").status_code == 404
    assert not Decision.objects.exists()


def test_a_decision_on_an_old_revision_is_refused(client, tree, esha, naveen):
    content = submitted(esha, [tree.north_goa])
    old = content.submitted_revision_id
    services.content_update(actor=esha, content=fresh(content), title="Sunday rally, 10:00")
    assert fresh(content).submitted_revision_id != old  # back in review as a new revision
    client.force_login(naveen)

    response = client.post(
        f"/content/{content.pk}/decide/", {"decision": "approve", "revision": old}, follow=True
    )

    assert "This content was revised since you looked at it" in response.content.decode()
    assert not Decision.objects.exists() and fresh(content).state == State.IN_REVIEW


def test_the_author_who_is_an_approver_sees_no_decision_and_cannot_forge_one(
    client, tree, emma, naveen
):
    content = submitted(emma, [tree.north_goa])
    client.force_login(emma)

    page = client.get(f"/content/{content.pk}/").content.decode()
    assert "Record my decision" not in page
    response = client.post(f"/content/{content.pk}/decide/", {
        "decision": "approve", "revision": content.submitted_revision_id,
    })  # fmt: skip
    assert response.status_code == 403
    assert "someone else must decide it" in response.content.decode()
    assert fresh(content).state == State.IN_REVIEW


# --- The queue, the content page, the library -----------------------------------------------


def test_the_review_queue_lists_what_waits_oldest_first_with_counts(client, tree, esha, naveen):
    first = submitted(esha, [tree.north_goa, tree.south_goa], title="First")
    submitted(esha, [tree.mandrem], title="Second")
    submitted(esha, [tree.south_goa], title="Not for North Goa")
    client.force_login(naveen)

    page = client.get("/content/review/").content.decode()

    assert "2 content items wait for your decision" in page
    assert page.index("First") < page.index("Second")
    assert "Not for North Goa" not in page
    assert "2 of 2" in page  # First: both targets still waiting

    client.post(f"/content/{first.pk}/decide/", {
        "decision": "approve", "revision": first.submitted_revision_id,
    })  # fmt: skip
    page = client.get("/content/review/").content.decode()
    assert "1 content item waits for your decision" in page and "First" not in page


def test_the_content_page_shows_timeline_targets_and_diff(client, tree, esha, naveen, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    services.content_decide(
        actor=sita, content=fresh(content), decision="request_changes", comment="Add the <time>"
    )
    services.content_update(
        actor=esha, content=fresh(content),
        variants=[services.VariantInput(language="en", body="Rally on Sunday at 10:00")],
    )  # fmt: skip
    services.content_submit(actor=esha, content=fresh(content))
    client.force_login(naveen)

    page = client.get(f"/content/{content.pk}/").content.decode()

    assert "Record my decision" in page  # Naveen may decide; Withdraw he may not (one target)
    assert f'action="/content/{content.pk}/withdraw/"' not in page
    assert "requested changes" in page and "Add the &lt;time&gt;" in page
    assert "Sita South" in page and "Naveen North" in page  # who may still decide
    assert '<span class="diff-added">+Rally on Sunday at 10:00</span>' in page
    assert '<span class="diff-removed">-Come to the rally on Sunday</span>' in page


def test_the_library_is_searchable_and_filterable(client, tree, esha, naveen, vikram):
    rally = submitted(esha, [tree.north_goa], title="Sunday rally", campaign_tags=["rally"])
    services.content_decide(actor=naveen, content=fresh(rally), decision="approve")
    english_only = submitted(
        esha, [tree.north_goa], title="Water",
        variants=[services.VariantInput(language="en", body="Clean water for every booth")],
    )  # fmt: skip
    services.content_decide(actor=naveen, content=fresh(english_only), decision="approve")
    submitted(esha, [tree.north_goa], title="Still in review")
    client.force_login(vikram)

    def titles(query: str) -> list[str]:
        page = client.get(f"/content/?{query}")
        assert page.status_code == 200
        text = page.content.decode()
        return [t for t in ("Sunday rally", "Water", "Still in review") if t in text]

    assert titles("") == ["Sunday rally", "Water"]
    assert titles("q=booth") == ["Water"]
    assert titles("q=रैली") == ["Sunday rally"]
    assert titles("language=hi") == ["Sunday rally"]
    assert titles("tag=rally") == ["Sunday rally"]
    assert titles("kind=image") == []


def test_media_is_served_only_inside_the_readers_scope(client, tree, esha, sita, content_storage):
    client.force_login(esha)
    client.post("/content/new/", editor_data(
        kind="image", target=["S05-D-01"], target_post=[""],
        media_hi=SimpleUploadedFile("p.png", png(), "image/png"),
    ))  # fmt: skip
    variant = Variant.objects.get(language="hi")
    client.force_login(sita)

    assert client.get(f"/content/media/{variant.pk}/").status_code == 404
    assert client.get("/media/" + variant.media.name).status_code == 404


def test_the_admin_actions_call_the_same_services(client, tree, asha, esha, naveen):
    content = submitted(esha, [tree.north_goa])
    client.force_login(asha)
    changelist = "/admin/content/content/"

    asked = client.post(changelist, {"action": "reject", "_selected_action": [content.pk]})
    assert asked.status_code == 200 and "Comment" in asked.content.decode()
    client.post(changelist, {
        "action": "request_changes", "_selected_action": [content.pk], "apply": "1",
        "comment": "Shorter, please",
    })  # fmt: skip

    content = fresh(content)
    assert content.state == State.CHANGES_REQUESTED
    event = content.events.order_by("-id").first()
    assert (event.kind, event.actor, event.comment) == ("request_changes", asha, "Shorter, please")
    response = client.post(
        changelist, {"action": "approve", "_selected_action": [content.pk]}, follow=True
    )
    assert "it cannot be decided now" in response.content.decode()
    assert Event.objects.filter(content=content, kind="approve").count() == 0


def test_the_pages_speak_hindi(client, tree, esha, naveen):
    submitted(esha, [tree.north_goa])
    # The locale middleware leaves Hindi active in this thread after the requests: the
    # override puts the language back for the tests that follow.
    with translation.override(settings.LANGUAGE_CODE):
        client.force_login(naveen)
        client.cookies["django_language"] = "hi"

        queue = client.get("/content/review/").content.decode()
        assert "समीक्षा कतार" in queue
        assert "1 सामग्री आपके निर्णय की प्रतीक्षा में है" in queue
        client.force_login(esha)
        client.cookies["django_language"] = "hi"
        preview = client.post("/content/preview/", {"body_hi": "क" * 71}).content.decode()
        assert "यूनिकोड (UCS-2) में 71 अक्षर: 67 तक के 2 हिस्से" in preview


def test_the_queue_and_the_library_take_no_query_per_row(
    client, tree, esha, naveen, django_assert_max_num_queries
):
    for number in range(6):
        content = submitted(esha, [tree.north_goa, tree.mandrem], title=f"Item {number}")
        if number % 2:
            services.content_decide(actor=naveen, content=fresh(content), decision="approve")
    client.force_login(naveen)
    client.get("/content/review/")  # the session and the user's reach, read once

    with django_assert_max_num_queries(QUEUE_QUERIES):
        assert "Item 4" in client.get("/content/review/").content.decode()
    with django_assert_max_num_queries(LIBRARY_QUERIES):
        assert "Item 5" in client.get("/content/?q=item").content.decode()


def test_a_send_time_left_as_it_was_is_not_checked_again(client, tree, esha):
    content = draft(esha, [tree.north_goa], send_at=timezone.now() + timedelta(hours=2))
    passed = timezone.now() - timedelta(minutes=5)
    Content.objects.filter(pk=content.pk).update(send_at=passed)  # the time has come meanwhile
    client.force_login(esha)

    response = client.post(
        f"/content/{content.pk}/edit/",
        editor_data(title="Sunday rally, 10:00", send_at=local(passed), target=["S05-D-01"]),
    )

    assert response.status_code == 302
    assert fresh(content).title == "Sunday rally, 10:00"
    changed = client.post(
        f"/content/{content.pk}/edit/",
        editor_data(send_at=local(passed - timedelta(hours=1)), target=["S05-D-01"]),
    )
    assert changed.status_code == 400 and "The send time has passed" in changed.content.decode()


def test_withdrawing_by_the_author_by_a_lead_of_one_target_and_from_outside(
    client, tree, esha, naveen, sita
):
    both = submitted(esha, [tree.north_goa, tree.south_goa], title="Both")
    north = submitted(esha, [tree.north_goa], title="North only")

    client.force_login(naveen)  # decides North Goa only: not every target of "Both"
    response = client.post(f"/content/{both.pk}/withdraw/", {"reason": "Old"})
    assert response.status_code == 403 and fresh(both).state == State.IN_REVIEW
    client.force_login(sita)  # "North only" is outside her area
    for action in ("withdraw", "submit", "edit"):
        assert client.post(f"/content/{north.pk}/{action}/", {"reason": "x"}).status_code == 404
    assert fresh(north).state == State.IN_REVIEW

    client.force_login(esha)
    client.post(f"/content/{both.pk}/withdraw/", {"reason": "The rally is off."})
    assert fresh(both).state == State.WITHDRAWN
    assert fresh(both).events.order_by("-id").first().comment == "The rally is off."


def test_the_author_sees_what_they_changed_since_the_last_submission(client, tree, esha, sita):
    content = submitted(esha, [tree.south_goa])
    services.content_decide(
        actor=sita, content=fresh(content), decision="request_changes", comment="Shorter"
    )
    services.content_update(actor=esha, content=fresh(content), title="Rally")
    client.force_login(esha)

    page = client.get(f"/content/{content.pk}/").content.decode()

    assert "Changes since the last submission" in page
    assert '<span class="diff-added">+title: Rally</span>' in page
    assert "You have changes that are not submitted yet" in page
