"""Roles in a real browser: what a viewer is shown and refused, and a lead bringing a new
organiser in, who then imports a member list that names no booths."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User
from groups import services as group_services
from groups.models import Assignment
from members import services as member_services
from members.models import Member
from tests.conftest import wait_until
from tests.factories import UserFactory
from tests.members.test_import import csv_bytes

pytestmark = pytest.mark.browser


def test_a_viewer_sees_masked_numbers_no_write_controls_and_403_on_the_edit_page(
    page, sign_in, asha, tree
):
    viewer = UserFactory(email="vimala@example.org", full_name="Vimala Viewer")
    group_services.assignment_add(actor=None, user=viewer, group=tree.north_goa, role="viewer")
    member = member_services.member_create(
        actor=asha, full_name="Kavita Naik", phone="+919811122221", epic="GOA1234567",
        booth=tree.mandrem_booths[0],
    )  # fmt: skip

    sign_in(viewer)
    page.goto("/members/")
    row = page.get_by_role("row").filter(has_text="Kavita Naik")
    assert "+91 98xxxxxx21" in row.inner_text()
    assert "98111 22221" not in page.content()
    for action in ("Register a member", "Import a list", "Download CSV", "Download Excel"):
        assert page.get_by_role("link", name=action).count() == 0, action

    row.get_by_role("link", name="Kavita Naik").click()
    assert page.get_by_role("heading", name="Kavita Naik").is_visible()
    assert "GOAxxxxx67" in page.content()
    assert "GOA1234567" not in page.content()
    assert page.get_by_role("link", name="Change", exact=True).count() == 0
    assert page.get_by_role("button", name="Show the full number and voter id").count() == 0
    assert page.get_by_role("button", name="Record consent").count() == 0

    response = page.goto(f"/members/{member.pk}/edit/")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "lead, organiser" in page.get_by_text("you need one of these roles").inner_text()


def test_a_lead_gives_a_new_user_the_organiser_role_who_imports_a_file_without_booth_codes(
    page, sign_in, browser, live_server, naveen, tree, celery_worker
):
    sign_in(naveen)
    page.goto(f"/groups/{tree.north_goa.pk}/")
    page.get_by_role("link", name="Roles: give and take away").click()
    page.get_by_label("E-mail address").fill("oma@example.com")
    page.get_by_label("Name", exact=True).fill("Oma Organiser")
    page.get_by_label("Role", exact=True).select_option("organiser")
    page.get_by_role("button", name="Give the role").click()
    assert page.get_by_text("Gave Oma Organiser the role of organiser at North Goa").is_visible()
    oma = User.objects.get(email="oma@example.com")
    assert Assignment.objects.get(user=oma).role == "organiser"

    # The set-password mail goes out through the worker.
    wait_until(lambda: mail.outbox)
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[-1].body)
    newcomer = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    newcomer.set_default_timeout(15_000)
    newcomer.goto(link.group(0))
    newcomer.get_by_label("New Password:", exact=True).fill("oma-sets-a-long-password")
    newcomer.get_by_label("New Password (again):").fill("oma-sets-a-long-password")
    newcomer.get_by_role("button", name="Change Password").click()
    newcomer.goto("/accounts/login/")
    newcomer.get_by_label("Email").fill("oma@example.com")
    newcomer.get_by_label("Password").fill("oma-sets-a-long-password")
    newcomer.get_by_role("button", name="Sign In").click()
    newcomer.wait_for_url("**/")

    # A list from a booth meeting: names and mobiles, no booth column.
    rows = [["Sunita Gawas", "098111 11111"], ["Ravi Parab", "9822222222"]]
    newcomer.goto("/members/")
    newcomer.get_by_role("link", name="Import a list").click()
    newcomer.get_by_label("Member list (CSV in UTF-8, or Excel .xlsx)").set_input_files(
        files=[{"name": "meeting.csv", "mimeType": "text/csv",
                "buffer": csv_bytes(rows, header=["Name", "Mobile"])}]
    )  # fmt: skip
    newcomer.get_by_role("button", name="Upload").click()
    newcomer.get_by_label("Booth for the whole file (code)").fill("S05-AC-001-B-0002")
    newcomer.get_by_role("button", name="Check the file").click()
    newcomer.get_by_role("button", name="Import the valid rows").click(timeout=30_000)
    newcomer.locator(".import-status", has_text="Imported").wait_for(timeout=30_000)
    newcomer.context.close()

    imported = Member.objects.filter(phone__in=["+919811111111", "+919822222222"])
    assert {member.booth for member in imported} == {tree.mandrem_booths[1]}
    assert imported.count() == 2
