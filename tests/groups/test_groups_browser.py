"""The group tree in a real browser: open nodes down to a booth, search, move a subtree."""

from __future__ import annotations

import pytest

from groups.models import Group

pytestmark = pytest.mark.browser


def test_expand_the_tree_down_to_a_booth(page, sign_in, gopal, tree):
    sign_in(gopal)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()

    for name in ["Goa", "North Goa district", "North Goa", "Mandrem"]:
        summary = page.locator("summary", has=page.get_by_role("link", name=name, exact=True))
        summary.first.click(position={"x": 2, "y": 8})
    booth = page.get_by_role("link", name="Mandrem booth 2", exact=True)
    booth.wait_for()
    booth.click()

    page.wait_for_url(f"**/groups/{tree.mandrem_booths[1].pk}/")
    assert page.get_by_role("heading", name="Mandrem booth 2").is_visible()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    assert breadcrumb.get_by_role("link", name="Mandrem").is_visible()


def test_search_a_constituency_by_name(page, sign_in, gopal, tree):
    sign_in(gopal)
    page.goto("/groups/")

    page.get_by_label("Find a group by name or code").fill("pond")

    results = page.get_by_role("list", name="Search results")
    result = results.get_by_role("link", name="Ponda", exact=True)
    result.wait_for()
    result.click()
    page.wait_for_url(f"**/groups/{tree.ponda.pk}/")
    assert page.get_by_text("Assembly constituency · S05-AC-021").is_visible()


def test_lead_moves_a_subtree(page, sign_in, gopal, tree):
    sign_in(gopal)
    page.goto(f"/groups/{tree.mandrem.pk}/")

    page.get_by_role("link", name="Move").click()
    field = page.get_by_label("New parent (code)")
    field.fill("S05-PC-0")
    # Suggestions arrive from the server as the lead types.
    page.locator("#group-suggestions option[value='S05-PC-02']").wait_for(state="attached")
    field.fill("S05-PC-02")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(f"**/groups/{tree.mandrem.pk}/")
    assert page.get_by_text("Moved Mandrem under South Goa.").is_visible()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    assert breadcrumb.get_by_role("link", name="South Goa district").is_visible()
    assert Group.objects.get(pk=tree.mandrem.pk).upper.code == "S05-PC-02"
