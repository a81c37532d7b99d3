"""Delimitation in a real browser, with a real Celery worker checking and applying the mapping."""

from __future__ import annotations

import pytest

from groups.models import Group
from tests.groups.test_delimitation import HEADER, build_scene

pytestmark = pytest.mark.browser

MAPPING = "\n".join(
    [HEADER, "retire,S05-AC-030,S05-2008-AC-030,,ac,,,", "move,S23,,,state,Tripura State,,", ""]
).encode()


def test_the_national_office_dry_runs_and_applies_a_mapping_and_a_state_lead_places_a_booth(
    page, sign_in, asha, tree, nita, gopal, settings, tmp_path, celery_worker
):
    settings.MEDIA_ROOT = tmp_path / "media"
    build_scene(asha, tree)
    sign_in(nita)
    page.goto(f"/groups/{tree.india.pk}/")
    page.get_by_role("link", name="Delimitation: apply a mapping of constituencies").click()
    page.get_by_label("Mapping file (CSV in UTF-8)").set_input_files(
        files=[{"name": "cuncolim.csv", "mimeType": "text/csv", "buffer": MAPPING}]
    )
    page.get_by_role("button", name="Check the mapping").click()
    # The worker's dry run: the page says so and asks again (htmx) until the answer is there.
    page.get_by_role("heading", name="What it would change").wait_for(timeout=60_000)

    codes = page.get_by_role("table", name="Codes that change in S05")
    assert codes.get_by_role("cell", name="S05-2008-AC-030", exact=True).is_visible()
    assert "Tripura State" in page.locator(".delimitation-state", has_text="S23").inner_text()
    goa = page.locator(".delimitation-state", has_text="S05").inner_text()
    assert "Booths to place\n2" in goa.replace("\t", "\n")
    assert Group.objects.get(code="S05-AC-030").is_active  # a dry run only

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    page.locator(".delimitation-status", has_text="Applied").wait_for(timeout=60_000)
    assert "2 of 2 steps done." in page.content()
    assert not Group.objects.get(code="S05-2008-AC-030").is_active

    page.context.clear_cookies()
    sign_in(gopal)
    page.goto(f"/groups/{tree.goa.pk}/")
    page.get_by_role("link", name="Booths to place 2").click()
    booths = page.get_by_role("table", name="Booths waiting to be placed")
    assert booths.get_by_role("cell", name="S05-2008-AC-030-B-0002 Cuncolim booth 2").is_visible()
    page.get_by_label("Constituency for S05-2008-AC-030-B-0002").select_option("S05-AC-021")
    page.get_by_role("button", name="Place S05-2008-AC-030-B-0002").click()
    assert page.get_by_text("Cuncolim booth 2 is placed in").is_visible()
    assert not booths.get_by_role("cell", name="S05-2008-AC-030-B-0002 Cuncolim booth 2").count()
    placed = Group.objects.get(name="Cuncolim booth 2")
    assert (placed.code, placed.parent.code, placed.is_active) == (
        "S05-AC-021-B-0002", "S05-AC-021", True,
    )  # fmt: skip
