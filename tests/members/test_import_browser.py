"""The import wizard in a real browser."""

from __future__ import annotations

import pytest

from tests.members.test_import import csv_bytes

pytestmark = pytest.mark.browser


def test_import_a_small_file_see_the_errors_run_it_and_find_a_member(
    page, sign_in, naveen, tree, celery_worker
):
    rows = [
        ["Sunita Debbarma", "सुनीता देबबर्मा", "098111 11111", "", "S05-AC-001-B-0001", "yes"],
        ["Ravi Naik", "रवि नाइक", "9822222222", "", "S05-AC-001-B-0002", "no"],
        ["Nobody", "", "12345", "", "S05-AC-001-B-0002", ""],
    ]
    sign_in(naveen)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.get_by_role("link", name="Import a list").click()

    page.get_by_label("Member list (CSV in UTF-8, or Excel .xlsx)").set_input_files(
        files=[{"name": "booth-workers.csv", "mimeType": "text/csv",
                "buffer": csv_bytes(rows, bom=True)}]
    )  # fmt: skip
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_role("heading", name="Match the columns").is_visible()
    assert page.get_by_label("Phone *").input_value() == "2"  # guessed from "Mobile"
    page.get_by_role("button", name="Check the file").click()

    problems = page.get_by_role("table", name="Rows with problems")
    problems.wait_for(timeout=30_000)
    assert "is not a valid phone number" in problems.inner_text()
    assert problems.get_by_role("cell", name="4", exact=True).is_visible()
    page.get_by_role("button", name="Import the valid rows").click()
    page.locator(".import-status", has_text="Imported").wait_for(timeout=30_000)
    assert page.locator("dd.created").inner_text() == "2"

    page.get_by_role("link", name="See the members").click()
    page.get_by_label("Name, phone or voter id").fill("देबबर्मा")
    page.get_by_role("button", name="Search").click()
    members = page.get_by_role("table", name="Members")
    assert members.get_by_role("link", name="Sunita Debbarma").is_visible()
    assert not members.get_by_role("link", name="Ravi Naik").is_visible()


def test_an_organiser_imports_a_file_without_booth_codes_with_a_booth_for_the_whole_file(
    page, sign_in, tree, celery_worker
):
    """The column page waits for the worker to read the file (htmx polling), then takes a
    booth for the whole file in place of a booth column."""
    from groups.models import Role
    from members.models import Member
    from tests.groups.conftest import staff

    olga = staff("olga@cadreconnect.example", "Olga Organiser", tree.north_goa, Role.ORGANISER)
    rows = [["Sunita Debbarma", "098111 11111"], ["Ravi Naik", "9822222222"]]
    sign_in(olga)
    page.goto("/members/import/")
    page.get_by_label("Member list (CSV in UTF-8, or Excel .xlsx)").set_input_files(
        files=[{"name": "no-booths.csv", "mimeType": "text/csv",
                "buffer": csv_bytes(rows, header=["Name", "Mobile"])}]
    )  # fmt: skip
    page.get_by_role("button", name="Upload").click()

    page.get_by_label("Booth for the whole file (code)").fill("S05-AC-001-B-0002")
    assert page.get_by_label("Booth code").input_value() == ""
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import the valid rows").click()
    page.locator(".import-status", has_text="Imported").wait_for(timeout=30_000)

    assert page.locator("dd.created").inner_text() == "2"
    assert set(Member.objects.values_list("booth__code", flat=True)) == {"S05-AC-001-B-0002"}


def test_an_overseer_sees_an_import_in_progress_and_cancels_it(
    page, sign_in, client, naveen, nita, tree, celery_worker, settings
):
    """Naveen's import runs one row a batch, slowly; Nita, a lead at the national node, finds
    it among the imports in progress and cancels it. The worker stops at its next batch:
    what it wrote stays whole (each member with its batch in the ledger), nothing after."""
    from cadreconnect.models import WorkerPing
    from cadreconnect.services import worker_ping_request
    from members.models import Member, MemberImport
    from tests.conftest import wait_until
    from tests.members.test_import import check_and_import, upload

    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(200)]
    client.force_login(naveen)
    upload(client, csv_bytes(rows), name="slow-list.csv")
    checked = check_and_import(client, MemberImport.objects.get())
    settings.MEMBER_IMPORT_BATCH_SIZE, settings.MEMBER_IMPORT_BATCH_PAUSE = 1, 0.2
    client.post(f"/members/import/{checked.pk}/run/")
    wait_until(lambda: MemberImport.objects.get(pk=checked.pk).created_count >= 2)

    sign_in(nita)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.get_by_role("link", name="Imports in progress").click()
    row = page.get_by_role("row").filter(has_text="slow-list.csv")
    assert "Naveen North" in row.inner_text() and "Importing" in row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancel").click()

    page.get_by_text("slow-list.csv: cancelled.").wait_for()
    assert page.get_by_text("No check or import is in progress.").is_visible()
    # The worker takes one message at a time: once a ping sent now is answered, the import's
    # task has ended.
    ping = worker_ping_request(requested_by=nita)
    wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).answered_at)
    cancelled = MemberImport.objects.get(pk=checked.pk)
    assert (cancelled.status, cancelled.error_code) == ("failed", "import_cancelled")
    written = Member.objects.count()
    assert 2 <= written < 200
    assert written == cancelled.created_count == cancelled.rows_processed
    assert written == cancelled.batches.count()
