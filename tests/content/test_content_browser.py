"""Content from draft to approval in a real browser: an editor (who is an approver too) drafts
bilingual content with an image for two districts and submits it; each district's lead finds
it in their queue; one asks for changes; the editor revises; both approve; the timeline shows
every step and the author could never approve their own."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from content.models import Content

pytestmark = pytest.mark.browser


def png_file(tmp_path):
    path = tmp_path / "poster.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (11, 110, 79)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_bilingual_content_for_two_districts_is_approved_by_both_leads(
    page, sign_in, tree, emma, naveen, sita, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "content_media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    sign_in(emma)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My content").click()
    page.get_by_role("link", name="New content").click()
    page.get_by_label("Title").fill("Sunday rally")
    page.get_by_label("Kind").select_option("image")
    page.locator("#id_body_hi").fill("रविवार को *रैली* में आइए")
    # The preview is refreshed by the server as the editor types.
    page.locator("#preview .sms-count").first.wait_for()
    assert "UCS-2" in page.locator("#preview .sms-count").first.inner_text()
    page.locator("#id_media_hi").set_input_files(png_file(tmp_path))
    page.locator("label.tab", has_text="English").click()
    page.locator("#id_body_en").fill("Come to the rally on Sunday")
    page.locator("#target-1").fill("S05-D-01")
    page.locator("#target-2").fill("S05-D-02")
    page.get_by_role("button", name="Save").click()

    page.get_by_text("Saved as a draft.").wait_for()
    image = page.locator("img.media-preview")
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted for review.").wait_for()
    content = Content.objects.get()
    assert content.state == Content.State.IN_REVIEW
    # Emma approves content in Goa, but not her own: no decision on its page, not in her queue.
    assert page.get_by_role("button", name="Record my decision").count() == 0
    page.goto("/content/review/")
    assert page.get_by_role("link", name="Sunday rally").count() == 0

    def as_lead(lead) -> None:
        page.context.clear_cookies()
        sign_in(lead)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
        page.get_by_role("link", name="Sunday rally").click()
        page.get_by_role("heading", name="Your decision").wait_for()

    as_lead(naveen)  # North Goa's lead finds it waiting
    as_lead(sita)  # and so does South Goa's, who asks for a change
    page.get_by_label("Request changes").check()
    page.get_by_label("Comment").fill("Say at what time the rally starts.")
    page.get_by_role("button", name="Record my decision").click()
    page.get_by_text("Your decision is recorded.").wait_for()

    page.context.clear_cookies()
    sign_in(emma)
    page.goto(f"/content/{content.pk}/")
    assert page.get_by_text("Say at what time the rally starts.").is_visible()
    page.get_by_role("link", name="Edit").click()
    page.locator("label.tab", has_text="English").click()
    page.locator("#id_body_en").fill("Come to the rally on Sunday at 10:00")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted for review.").wait_for()

    for lead in (naveen, sita):
        as_lead(lead)
        page.get_by_label("Approve").check()
        page.get_by_role("button", name="Record my decision").click()
        page.get_by_text("Your decision is recorded.").wait_for()

    page.goto(f"/content/{content.pk}/")
    assert page.locator(".lead .state").inner_text() == "Approved"
    timeline = page.get_by_role("list", name="Timeline").locator("li")
    steps = [line.split("·")[0] for line in timeline.all_inner_texts()]
    expected = [
        ("Emma Both", "created"), ("Emma Both", "submitted"),
        ("Sita South", "requested changes"), ("Emma Both", "edited"),
        ("Emma Both", "submitted"), ("Naveen North", "approved"), ("Sita South", "approved"),
    ]  # fmt: skip
    assert len(steps) == len(expected), steps
    for step, (who, what) in zip(steps, expected, strict=True):
        assert who in step and what in step, (step, who, what)
    assert "+Come to the rally on Sunday at 10:00" in page.locator("pre.diff").inner_text()
