"""Every kind of page under the content security policy, in Chromium: no violation, no script
error (the `page` fixture fails a test on either)."""

from __future__ import annotations

import pytest

from members import services as member_services
from tests.groups import conftest as groups_conftest

pytestmark = pytest.mark.browser

# The group tests' tree, as a fixture here too.
tree = groups_conftest.tree
vikram = groups_conftest.vikram


@pytest.fixture
def members(asha, tree):
    """Two members at Mandrem's first booth with one voter id: a probable duplicate."""
    booth = tree.mandrem_booths[0]
    return [
        member_services.member_create(
            actor=asha, full_name=name, phone=phone, booth=booth, voter_id="ABC1234567"
        )
        for name, phone in [("Sunita Das", "9822222222"), ("Sunita Dass", "9833333333")]
    ]


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    # Violations are reported while the page loads and runs its scripts (htmx, portal.js).
    page.wait_for_load_state("load")


def test_each_page_type_loads_with_no_csp_violation_or_script_error(
    page,
    sign_in,
    asha,
    tree,
    members,
    browser_problems,
):
    mandrem, booth = tree.mandrem, tree.mandrem_booths[0]
    visit(page, "/accounts/login/")
    visit(page, "/accounts/password/reset/")
    sign_in(asha)

    for path in [
        "/",
        "/groups/",
        "/groups/search/?q=Mandrem",
        f"/groups/{mandrem.pk}/",
        f"/groups/{mandrem.pk}/children/new/",
        f"/groups/{booth.pk}/edit/",
        f"/groups/{booth.pk}/move/",
        f"/groups/{booth.pk}/merge/",
        "/groups/delimitation/",
        "/groups/delimitation/booths/",
        "/members/",
        f"/members/{members[0].pk}/",
        f"/members/{members[0].pk}/edit/",
        "/members/new/",
        "/members/import/",
        "/members/import/in-progress/",
        "/members/duplicates/",
        "/accounts/password/change/",
        "/accounts/email/",
        "/accounts/logout/",
        "/admin/",
        "/admin/members/member/",
        "/admin/members/memberimport/",
        f"/admin/members/member/{members[0].pk}/change/",
        f"/admin/accounts/user/{asha.pk}/change/",
        f"/admin/groups/group/{booth.pk}/change/",
    ]:
        visit(page, path)

    assert browser_problems == []


def test_the_refusal_and_not_found_pages_load_under_the_policy(
    page, sign_in, vikram, members, browser_problems
):
    sign_in(vikram)

    assert page.goto(f"/members/{members[0].pk}/edit/").status == 403
    assert page.goto("/members/999999999/").status == 404
    page.wait_for_load_state("load")

    assert browser_problems == []


def test_the_language_switch_and_group_suggestions_work_under_the_policy(
    page,
    sign_in,
    asha,
    tree,
):
    sign_in(asha)
    page.goto("/members/new/")

    page.get_by_label("Booth").press_sequentially("S05-AC-001-B")
    page.locator("#group-suggestions option[value='S05-AC-001-B-0001']").wait_for(state="attached")
    page.get_by_label("Language").select_option("hi")
    page.wait_for_function("document.documentElement.lang === 'hi'")


def test_an_inline_script_is_refused_and_reported(page, sign_in, asha, browser_problems):
    """The check above can fail: a script the policy refuses is reported, and fails a test."""
    page.goto("/accounts/login/")

    page.evaluate(
        """() => { const script = document.createElement('script');
                   script.textContent = 'window.ran = true'; document.body.append(script); }"""
    )

    assert page.evaluate("window.ran") is None
    page.wait_for_timeout(200)  # the console message arrives asynchronously
    assert any("Content Security Policy" in problem for problem in browser_problems)
    browser_problems.clear()  # seen and expected: do not fail this test at teardown
