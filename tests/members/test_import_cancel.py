"""Imports in progress: who sees them, who cancels them, and the admin's read-only view.

The imports here are rows in the state a running task leaves them (a claim, a heartbeat,
batches in the ledger): a cancel takes the claim back whatever the task is doing, and the
browser test (test_import_browser.py) cancels one a real worker is running."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from cadreconnect.models import AuditEvent
from cadreconnect.permissions import OutsideArea
from groups import services as group_services
from groups.models import Role
from members import services
from members.models import MemberImport, MemberImportBatch
from tests.factories import UserFactory

IN_PROGRESS = "/members/import/in-progress/"


def running_import(user, *, name: str = "members.csv", **fields) -> MemberImport:
    """An import a live task holds, 40 of 100 rows in, its first batch in the ledger."""
    values = {
        "status": "importing", "run_token": "a-live-task", "heartbeat_at": timezone.now(),
        "checked_at": timezone.now(), "started_at": timezone.now(), "rows_total": 100,
        "rows_processed": 40, "created_count": 40, "batch_size": 40,
        **fields,
    }  # fmt: skip
    member_import = MemberImport.objects.create(
        created_by=user, original_name=name, file="imports/none.csv", file_kind="csv",
        headers=["Name", "Mobile", "Booth"], mapping={"full_name": 0, "phone": 1, "booth": 2},
        **values,
    )  # fmt: skip
    MemberImportBatch.objects.create(member_import=member_import, first_line=2, last_line=41)
    return member_import


def cancel(client, member_import: MemberImport):
    return client.post(f"/members/import/{member_import.pk}/cancel/", follow=True)


def still_running(member_import: MemberImport) -> bool:
    member_import.refresh_from_db()
    return (member_import.status, member_import.run_token) == ("importing", "a-live-task")


def test_an_importer_follows_and_cancels_their_own_import(client, naveen, sita):
    """Naveen sees his import (not Sita's), cancels it from its page; the batch written
    stays, and the page says so and offers to finish it."""
    own = running_import(naveen, name="north-goa.csv")
    running_import(sita, name="south-goa.csv")
    client.force_login(naveen)

    listing = client.get(IN_PROGRESS).content.decode()
    status_page = client.get(f"/members/import/{own.pk}/").content.decode()
    cancelled = cancel(client, own)

    assert "north-goa.csv" in listing and "40 of 100 rows (40%)" in listing
    assert "south-goa.csv" not in listing
    assert f'action="/members/import/{own.pk}/cancel/"' in status_page
    assert "Cancel the import" in status_page
    assert cancelled.redirect_chain == [(f"/members/import/{own.pk}/", 302)]
    own.refresh_from_db()
    assert (own.status, own.error_code, own.run_token) == ("failed", "import_cancelled", "")
    assert (own.created_count, own.batches.count()) == (40, 1)
    page = cancelled.content.decode()
    assert "Cancelled by Naveen North" in page and "Run the import again to finish it" in page
    assert "Cancel the import" not in page and "Check again" not in page  # its columns stay
    assert AuditEvent.objects.filter(action="member_import.cancel", actor=naveen,
                                     target_id=str(own.pk)).count() == 1  # fmt: skip


def test_an_overseer_sees_everyone_s_imports_and_cancels_another_s(
    client, nita, naveen, sita, django_assert_max_num_queries
):
    """Nita (a lead at the national node) sees who runs what, a silent run as silent and
    one waiting for a worker as queued, and cancels Naveen's."""
    naveens = running_import(naveen, name="north-goa.csv")
    silent_since = timezone.now() - datetime.timedelta(
        seconds=settings.MEMBER_IMPORT_STALE_SECONDS + 60
    )
    running_import(sita, name="south-goa.csv", heartbeat_at=silent_since, resumes=2)
    running_import(sita, name="queued.xlsx", run_token="", heartbeat_at=None, status="checking")
    client.force_login(nita)

    with django_assert_max_num_queries(8):  # as many whatever the number of imports
        listing = client.get(IN_PROGRESS)
    cancelled = cancel(client, naveens)

    rows = listing.context["imports"]
    assert [row.member_import.original_name for row in rows] == [
        "north-goa.csv", "south-goa.csv", "queued.xlsx",
    ]  # fmt: skip
    assert [(row.queued, row.silent_for is not None) for row in rows] == [
        (False, False), (False, True), (True, False),
    ]  # fmt: skip
    page = listing.content.decode()
    assert "Naveen North" in page and "Sita South" in page
    assert "Silent for" in page and "Queued: waiting for a worker" in page
    assert cancelled.redirect_chain == [(IN_PROGRESS, 302)]
    assert "north-goa.csv: cancelled." in cancelled.content.decode()
    naveens.refresh_from_db()
    assert (naveens.status, naveens.error_code) == ("failed", "import_cancelled")
    assert "Cancelled by Nita National" in naveens.error
    assert MemberImport.objects.filter(status__in=["importing", "checking"]).count() == 2


def test_who_may_not_cancel_is_refused_and_the_import_runs_on(client, tree, naveen, sita, gopal,
                                                              vikram):  # fmt: skip
    """A viewer may not import (403); an importer elsewhere, a lead of the state among them,
    is not an overseer: another's import does not exist for them (404)."""
    naveens = running_import(naveen)

    client.force_login(vikram)
    assert client.get(IN_PROGRESS).status_code == 403
    assert client.post(f"/members/import/{naveens.pk}/cancel/").status_code == 403
    for importer in (sita, gopal):
        client.force_login(importer)
        assert client.post(f"/members/import/{naveens.pk}/cancel/").status_code == 404
        assert "members.csv" not in client.get(IN_PROGRESS).content.decode()
        with pytest.raises(OutsideArea):
            services.member_import_cancel(actor=importer, member_import=naveens)

    assert still_running(naveens)
    assert not AuditEvent.objects.filter(action="member_import.cancel").exists()


def test_cancelling_a_check_says_to_check_again_and_one_not_running_is_refused(client, naveen):
    checking = running_import(naveen, status="checking", checked_at=None)
    MemberImportBatch.objects.filter(member_import=checking).delete()
    done = running_import(naveen, status="done", run_token="")
    client.force_login(naveen)

    first = cancel(client, checking).content.decode()
    again = cancel(client, checking).content.decode()
    finished = cancel(client, done).content.decode()

    assert "Nothing was written; check the file again." in first and "Check again" in first
    assert "Run the import again to finish it" not in first
    assert "This import is not running." in again and "This import is not running." in finished
    done.refresh_from_db()
    assert (done.status, done.error_code) == ("done", "")
    assert AuditEvent.objects.filter(action="member_import.cancel").count() == 1


def test_a_forged_cancel_is_refused(naveen):
    """A link (GET) cancels nothing, nor does a form posted from another site (no CSRF)."""
    naveens = running_import(naveen)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(naveen)

    assert browser.get(f"/members/import/{naveens.pk}/cancel/").status_code == 405
    assert browser.post(f"/members/import/{naveens.pk}/cancel/").status_code == 403
    assert still_running(naveens)


def test_the_admin_shows_imports_read_only_to_overseers_and_no_phone(client, asha, naveen, tree):
    landline = "“+91 11 2345 6789” is not a mobile number"
    member_import = running_import(naveen, name="9812345678 booth list.csv", problems=[
        {"row": 7, "column": "phone", "code": "not_mobile", "message": landline,
         "severity": "error"},
    ])  # fmt: skip
    client.force_login(asha)
    url = f"/admin/members/memberimport/{member_import.pk}/"

    listing = client.get("/admin/members/memberimport/", {"q": "booth list"}).content.decode()
    detail = client.get(f"{url}change/").content.decode()
    batches = client.get(
        "/admin/members/memberimportbatch/", {"member_import__id__exact": member_import.pk}
    )

    assert "98xxxxxx78 booth list.csv" in listing and "Importing" in listing
    assert "7, phone: not_mobile" in detail and "See them" in detail
    assert 'name="original_name"' not in detail  # read-only
    for page in (listing, detail):
        assert "9812345678" not in page and "2345 6789" not in page
    assert batches.status_code == 200 and 'class="field-last_line">41<' in batches.content.decode()
    assert client.get("/admin/members/memberimport/add/").status_code == 403
    assert client.post(f"{url}change/", {"status": "done"}).status_code == 403
    assert client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert still_running(member_import)
    assert MemberImportBatch.objects.filter(member_import=member_import).count() == 1

    # Staff with the model's view permission but no oversight (a district's lead) see nothing.
    district_staff = UserFactory(email="staff@cadreconnect.example", is_staff=True)
    district_staff.user_permissions.add(*Permission.objects.filter(codename="view_memberimport"))
    group_services.assignment_add(actor=None, user=district_staff, group=tree.north_goa,
                                  role=Role.LEAD)  # fmt: skip
    client.force_login(district_staff)
    assert client.get("/admin/members/memberimport/").status_code == 403
    assert client.get(f"{url}change/").status_code == 403
