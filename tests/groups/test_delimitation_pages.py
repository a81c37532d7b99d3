"""The delimitation pages: the national office's upload, its dry run and its run by a worker
(run here as the worker runs them, by calling the tasks); the leads' booths to place; the
notice at sign-in for a role at a retired node."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from groups import tasks
from groups.delimitation import applying, office
from groups.delimitation.reading import file_digest
from groups.models import (
    BoothPlacement,
    Delimitation,
    DelimitationCheck,
    DelimitationNotice,
    Group,
    Role,
)
from tests.groups.conftest import staff
from tests.groups.test_delimitation import HEADER, build_scene

# Needs PostgreSQL: the delimitation claim is a PostgreSQL lock.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the delimitation claim is a PostgreSQL lock"
)

RETIRE_CUNCOLIM = "\n".join([HEADER, "retire,S05-AC-030,S05-2008-AC-030,,ac,,,", ""]).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def scene(asha, tree):
    return build_scene(asha, tree)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, data: bytes, name: str = "mapping.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("groups:delimitation"), {"file": SimpleUploadedFile(name, data, "text/csv")}
    )


def checked(client: Client, data: bytes) -> DelimitationCheck:
    """Upload the mapping and run its check as the worker does (the message it sent waits in
    the broker: a second delivery finds the check answered)."""
    response = upload(client, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    check = DelimitationCheck.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    tasks.delimitation_check_kept(check.pk)
    check.refresh_from_db()
    return check


def check_page(client: Client, check: DelimitationCheck) -> str:
    response = client.get(reverse("groups:delimitation_check", args=[check.pk]))
    assert response.status_code == 200
    return response.content.decode()


def poll(client: Client, check: DelimitationCheck):
    """The page's htmx request, every two seconds while the check runs."""
    return client.get(reverse("groups:delimitation_check", args=[check.pk]), HTTP_HX_REQUEST="true")


def test_a_worker_dry_runs_the_upload_and_the_page_shows_what_changes(scene, nita):
    client = client_of(nita)
    response = upload(client, RETIRE_CUNCOLIM)
    check = DelimitationCheck.objects.get()
    assert response["Location"] == reverse("groups:delimitation_check", args=[check.pk])
    assert (check.status, check.digest) == ("waiting", file_digest(RETIRE_CUNCOLIM))
    assert "Checking mapping.csv" in check_page(client, check)
    polled = poll(client, check).content.decode()
    assert 'hx-trigger="every 2s"' in polled and "<html" not in polled

    tasks.delimitation_check_kept(check.pk)
    tasks.delimitation_check_kept(check.pk)  # a second delivery changes nothing
    assert poll(client, check)["HX-Refresh"] == "true"  # the page reloads whole
    page = check_page(client, check)
    assert "S05-AC-030" in page and "S05-2008-AC-030" in page
    assert f'name="check" value="{check.pk}"' in page
    assert not Delimitation.objects.exists()
    assert Group.objects.get(code="S05-AC-030").is_active


def test_a_long_list_of_codes_is_cut_on_the_page_and_whole_in_the_csv(scene, nita, monkeypatch):
    monkeypatch.setattr(office, "CODES_SHOWN", 1)
    rows = ["move,S05-AC-030,S05-AC-041,,ac,,,", "move,S05-AC-029,S05-AC-042,,ac,,,"]
    client = client_of(nita)
    check = checked(client, "\n".join([HEADER, *rows, ""]).encode())
    page = check_page(client, check)
    assert "And 2 more codes that change." in page  # one AC shown, one AC and its booths not
    csv_page = client.get(reverse("groups:delimitation_check_codes", args=[check.pk]))
    lines = b"".join(csv_page.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == [
        "step,state,code_now,code_after,booths",
        "1,S05,S05-AC-029,S05-AC-042,",
        "1,S05,S05-AC-030,S05-AC-041,",
        "1,S05,S05-AC-030-…,S05-AC-041-…,2",  # Cuncolim's two booths follow it
    ]


def test_codes_in_the_csv_are_formula_neutral(scene, nita):
    check = checked(client_of(nita), RETIRE_CUNCOLIM)
    check.report["steps"][0]["by_state"][0]["codes"] = [["=cmd|' /C calc'!A0", "@SUM(A1)"]]
    check.save()
    response = client_of(nita).get(reverse("groups:delimitation_check_codes", args=[check.pk]))
    assert "'=cmd|' /C calc'!A0,'@SUM(A1)" in b"".join(response.streaming_content).decode()


def test_a_refused_mapping_lists_its_lines(scene, nita):
    data = "\n".join([HEADER, "retire,S05-AC-999,,,ac,,,", "move,S05-XX,,,ac,,,", ""]).encode()
    client = client_of(nita)
    check = checked(client, data)
    page = check_page(client, check)
    assert check.status == "refused"
    assert "The mapping was refused and nothing was changed." in page
    assert "<td>2</td>" in page and "<td>3</td>" in page
    assert "Apply" not in page.split("Problems in the mapping")[1]


def test_an_oversized_file_is_refused_at_upload_and_nothing_kept(scene, nita, settings):
    settings.GROUP_DELIMIT_MAX_BYTES = 2048
    response = upload(client_of(nita), HEADER.encode() + b"\n" + b"x" * 3000)
    assert response.status_code == 200
    assert "bytes" in response.content.decode()
    assert not DelimitationCheck.objects.exists()
    assert not (settings.MEDIA_ROOT / office.KEPT_DIRECTORY).exists()


def test_a_nul_byte_is_refused_by_the_check_and_nothing_written(scene, nita):
    client = client_of(nita)
    check = checked(client, HEADER.encode() + b"\nretire,S05-AC-030\x00,,,ac,,,\n")
    assert check.status == "refused"
    assert "NUL" in check_page(client, check)
    assert not Delimitation.objects.exists()
    assert Group.objects.get(code="S05-AC-030").is_active


def test_with_the_queue_down_an_upload_keeps_nothing(scene, nita, settings, broker_unreachable):
    with broker_unreachable():
        response = upload(client_of(nita), RETIRE_CUNCOLIM)
    assert response.status_code == 200
    assert "The task queue cannot be reached, so nothing was started" in response.content.decode()
    assert not DelimitationCheck.objects.exists()
    assert not list((settings.MEDIA_ROOT / office.KEPT_DIRECTORY).iterdir())


def test_only_the_national_office_checks_and_applies(scene, nita, gopal):
    national_viewer = staff("vina@cadreconnect.example", "Vina", scene.tree.india, Role.VIEWER)
    assert upload(client_of(national_viewer), RETIRE_CUNCOLIM).status_code == 403
    assert upload(client_of(gopal), RETIRE_CUNCOLIM).status_code == 404
    check = checked(client_of(nita), RETIRE_CUNCOLIM)
    for user, status in ((national_viewer, 403), (gopal, 404)):
        client = client_of(user)
        for name in ("delimitation_check", "delimitation_check_codes"):
            assert client.get(reverse(f"groups:{name}", args=[check.pk])).status_code == status
        again = reverse("groups:delimitation_check_again", args=[check.pk])
        assert client.post(again).status_code == status
        apply = client.post(reverse("groups:delimitation_apply"), {"check": check.pk})
        assert apply.status_code == status
        status_url = reverse("groups:delimitation_status", args=[check.digest])
        assert client.get(status_url).status_code == status
    check.refresh_from_db()
    assert (check.status, check.run) == ("passed", "")
    assert not Delimitation.objects.exists()


def test_forged_requests_get_404_or_405_and_change_nothing(scene, nita):
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    apply_url = reverse("groups:delimitation_apply")
    for forged in ("", "abc", "-1", "²", "1\x00", str(check.pk + 1000), "9" * 30):
        assert client.post(apply_url, {"check": forged}).status_code == 404
    for digest in ("0" * 64, "abc", "A" * 64, "0" * 65):
        url = reverse("groups:delimitation_status", args=[digest])
        assert client.get(url).status_code == 404
    assert client.get(f"/groups/delimitation/check/{10**20}/").status_code == 404
    assert client.get(apply_url, {"check": check.pk}).status_code == 405
    no_csrf = Client(enforce_csrf_checks=True)
    no_csrf.force_login(nita)
    assert no_csrf.post(apply_url, {"check": check.pk}).status_code == 403
    assert not Delimitation.objects.exists()


def test_with_the_queue_down_nothing_is_applied(scene, nita, broker_unreachable):
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    with broker_unreachable():
        response = client.post(
            reverse("groups:delimitation_apply"), {"check": check.pk}, follow=True
        )
    assert "The task queue cannot be reached, so nothing was started" in response.content.decode()
    check.refresh_from_db()
    assert check.run == ""
    assert not Delimitation.objects.exists()


def apply(client: Client, check: DelimitationCheck, nita) -> str:
    """Ask for the run on the page, run it as the worker does, and read the status page."""
    response = client.post(reverse("groups:delimitation_apply"), {"check": check.pk})
    assert response["Location"] == reverse("groups:delimitation_status", args=[check.digest])
    assert "Waiting for a worker" in client.get(response["Location"]).content.decode()
    tasks.delimitation_apply_kept(check.digest, check.file_name, nita.pk, check_id=check.pk)
    return client.get(response["Location"]).content.decode()


def test_the_run_received_twice_applies_once(scene, nita):
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    assert "Applied: mapping.csv" in apply(client, check, nita)
    office.delimitation_run_kept(
        digest=check.digest, file_name="mapping.csv", actor_id=nita.pk, check_id=check.pk
    )
    delimitation = Delimitation.objects.get()
    assert (delimitation.status, delimitation.runs, delimitation.steps.count()) == ("done", 1, 1)
    assert BoothPlacement.objects.filter(placed_at__isnull=True).count() == 2


def test_a_mapping_refused_when_the_worker_applies_it_is_shown_refused(scene, nita):
    """The tree changed after the dry run (Cuncolim renumbered): the worker's run refuses the
    mapping, writes nothing, and the status page says so with the line, not "Waiting"."""
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    Group.objects.filter(code="S05-AC-030").update(code="S05-AC-041")
    page = apply(client, check, nita)
    assert "Refused when the worker applied it" in page and "Waiting for a worker" not in page
    assert "<td>2</td>" in page.split("Problems in the mapping")[1]
    assert "Check again" in page
    assert not Delimitation.objects.exists()
    assert Group.objects.get(code="S05-AC-041").is_active
    check.refresh_from_db()
    assert check.run == "refused"


@on_postgresql
def test_a_check_whose_worker_died_is_sent_again(scene, nita):
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    # A worker claimed it two minutes ago: while it holds the delimitation claim it is alive.
    DelimitationCheck.objects.filter(pk=check.pk).update(
        status="checking", token="dead", report={},
        started_at=timezone.now() - timedelta(minutes=2),
    )  # fmt: skip
    with applying._claim() as held:
        assert held
        assert "Checking mapping.csv" in check_page(client, check)
        assert tasks.delimitation_checks_resume() == 0
    # Then it died: no process holds the claim. The page says so, and beat's round sends it.
    assert poll(client, check)["HX-Refresh"] == "true"
    assert "No worker has answered this check for a minute" in check_page(client, check)
    assert tasks.delimitation_checks_resume() == 1
    assert tasks.delimitation_checks_resume() == 0  # sent once
    check.refresh_from_db()
    assert (check.status, check.token) == ("waiting", "")
    tasks.delimitation_check_kept(check.pk)
    assert "S05-2008-AC-030" in check_page(client, check)
    # "Check again" checks an answered mapping again (the tree may have changed since).
    client.post(reverse("groups:delimitation_check_again", args=[check.pk]))
    check.refresh_from_db()
    assert (check.status, check.report) == ("waiting", {})


def test_a_run_whose_worker_died_may_be_asked_for_again(scene, nita):
    client = client_of(nita)
    check = checked(client, RETIRE_CUNCOLIM)
    client.post(reverse("groups:delimitation_apply"), {"check": check.pk})
    DelimitationCheck.objects.filter(pk=check.pk).update(
        run="started", run_requested_at=timezone.now() - timedelta(minutes=2)
    )
    status_url = reverse("groups:delimitation_status", args=[check.digest])
    page = client.get(status_url).content.decode()
    assert "No worker has taken the run for a minute" in page and 'http-equiv="refresh"' not in page
    assert "Applied: mapping.csv" in apply(client, check, nita)


@pytest.fixture
def retired(scene):
    applying.delimitation_apply(actor=None, data=RETIRE_CUNCOLIM, file_name="mapping.csv")
    return scene


def place(user, booth: Group, code: str, client: Client | None = None):
    client = client or client_of(user)
    return client.post(
        reverse("groups:delimitation_booth_place", args=[booth.pk]), {"constituency": code}
    )


def test_a_lead_sees_the_booths_waiting_and_places_one(retired, gopal):
    client = client_of(gopal)
    page = client.get(reverse("groups:delimitation_booths")).content.decode()
    assert "S05-2008-AC-030-B-0001" in page and "S05-2008-AC-030-B-0002" in page
    assert (
        'class="badge">2<'
        in client.get(
            reverse("groups:detail", args=[gopal.assignments.get().group_id])
        ).content.decode()
    )

    booth = retired.cuncolim_booths[0]
    response = place(gopal, booth, "S05-AC-021", client)
    assert response.status_code == 302
    booth.refresh_from_db()
    assert (booth.code, booth.parent.code, booth.is_active) == (
        "S05-AC-021-B-0002",
        "S05-AC-021",
        True,
    )
    assert (
        retired.cuncolim_members[0]
        .__class__.objects.get(pk=retired.cuncolim_members[0].pk)
        .booth_id
        == booth.pk
    )


def test_placing_needs_the_role_and_the_area(retired, naveen):
    booth = retired.cuncolim_booths[0]
    assert place(retired.cuncolim_viewer, booth, "S05-AC-021").status_code == 403
    # Naveen leads North Goa: Cuncolim's booth (South Goa) is outside his area.
    assert place(naveen, booth, "S05-AC-002").status_code == 404
    assert (
        client_of(naveen)
        .get(reverse("groups:delimitation_booth_place", args=[booth.pk]))
        .status_code
        == 405
    )
    assert BoothPlacement.objects.filter(placed_at__isnull=True).count() == 2


def test_a_role_at_a_retired_node_is_told_once_at_sign_in(retired, password):
    viewer = retired.cuncolim_viewer
    assert DelimitationNotice.objects.filter(assignment__user=viewer, seen_at=None).exists()
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": viewer.email, "password": password}, follow=True
    )
    assert (
        "S05-2008-AC-030, where you hold the role of viewer, was retired"
        in response.content.decode()
    )
    assert not DelimitationNotice.objects.filter(seen_at=None).exists()
    client.logout()
    again = client.post(
        reverse("account_login"), {"login": viewer.email, "password": password}, follow=True
    )
    assert "was retired" not in again.content.decode()


def test_a_lead_at_a_retired_node_keeps_read_access_and_writes_nothing(scene, gopal):
    """Chandra led Cuncolim before it was retired: she still sees it and its members, and
    may no longer change it, register members in it or give roles there; Gopal, the state's
    lead, still may."""
    chandra = staff("chandra@cadreconnect.example", "Chandra Cuncolim", scene.cuncolim, Role.LEAD)
    applying.delimitation_apply(actor=None, data=RETIRE_CUNCOLIM, file_name="mapping.csv")
    client = client_of(chandra)
    cuncolim = reverse("groups:detail", args=[scene.cuncolim.pk])

    assert client.get(cuncolim).status_code == 200
    member = scene.cuncolim_members[0]
    assert client.get(reverse("members:detail", args=[member.pk])).status_code == 200
    assert client.post(reverse("members:edit", args=[member.pk]), {}).status_code == 403
    booth = scene.cuncolim_booths[1]
    assert place(chandra, booth, "S05-AC-030").status_code in {403, 404}
    assert client.post(reverse("groups:roles", args=[scene.cuncolim.pk]), {}).status_code == 403
    assert place(gopal, booth, "S05-AC-021").status_code == 302
