"""The roles page in a real browser: a lead gives a newcomer the organiser role; the newcomer
sets a password from the e-mail, signs in and finds the register's write actions."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User
from groups.models import Assignment

pytestmark = pytest.mark.browser


def test_a_lead_gives_a_new_person_the_organiser_role_and_they_sign_in(
    page, sign_in, browser, live_server, naveen, tree
):
    sign_in(naveen)
    page.goto(f"/groups/{tree.north_goa.pk}/")
    page.get_by_role("link", name="Roles: give and take away").click()

    page.get_by_label("E-mail address").fill("oma@example.com")
    page.get_by_label("Name", exact=True).fill("Oma Organiser")
    page.get_by_label("Role", exact=True).select_option("organiser")
    page.get_by_role("button", name="Give the role").click()

    assert page.get_by_text("Gave Oma Organiser the role of organiser at North Goa").is_visible()
    assert page.get_by_role("row").filter(has_text="oma@example.com").is_visible()
    oma = User.objects.get(email="oma@example.com")
    assert Assignment.objects.get(user=oma).role == "organiser"

    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body)
    newcomer = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    newcomer.goto(link.group(0))
    newcomer.get_by_label("New Password:", exact=True).fill("oma-sets-a-long-password")
    newcomer.get_by_label("New Password (again):").fill("oma-sets-a-long-password")
    newcomer.get_by_role("button", name="Change Password").click()
    newcomer.goto("/accounts/login/")
    newcomer.get_by_label("Email").fill("oma@example.com")
    newcomer.get_by_label("Password").fill("oma-sets-a-long-password")
    newcomer.get_by_role("button", name="Sign In").click()
    newcomer.wait_for_url("**/")

    newcomer.goto("/members/")
    assert newcomer.get_by_role("link", name="Import a list").is_visible()
    assert newcomer.get_by_role("link", name="Register a member").is_visible()
    assert newcomer.get_by_role("link", name="Download CSV").count() == 0  # leads only
    newcomer.context.close()
