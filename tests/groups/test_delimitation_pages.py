"""The delimitation pages: the national office's upload, dry run and run by a worker; the
leads' booths to place; the notice at sign-in for a role at a retired node."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from groups.delimitation import applying, office
from groups.delimitation.reading import file_digest
from groups.models import BoothPlacement, Delimitation, DelimitationNotice, Group, Role
from tests.groups.conftest import staff
from tests.groups.test_delimitation import HEADER, build_scene

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


def test_the_dry_run_shows_what_changes_and_writes_nothing(scene, nita):
    response = upload(client_of(nita), RETIRE_CUNCOLIM)
    assert response.status_code == 200
    page = response.content.decode()
    assert "S05-AC-030" in page and "S05-2008-AC-030" in page
    assert f'name="digest" value="{file_digest(RETIRE_CUNCOLIM)}"' in page
    assert not Delimitation.objects.exists()
    assert Group.objects.get(code="S05-AC-030").is_active


def test_a_refused_mapping_lists_its_lines(scene, nita):
    data = "\n".join([HEADER, "retire,S05-AC-999,,,ac,,,", "move,S05-XX,,,ac,,,", ""]).encode()
    page = upload(client_of(nita), data).content.decode()
    assert "The mapping was refused and nothing was changed." in page
    assert "<td>2</td>" in page and "<td>3</td>" in page
    assert "Apply" not in page.split("Problems in the mapping")[1]


@pytest.mark.parametrize(
    "data, error",
    [
        (HEADER.encode() + b"\nretire,S05-AC-030\x00,,,ac,,,\n", "NUL"),
        (HEADER.encode() + b"\n" + b"x" * 3000, "bytes"),
    ],
    ids=["nul-byte", "oversized"],
)
def test_a_hostile_file_gets_a_clear_error_and_nothing_kept(scene, nita, settings, data, error):
    settings.GROUP_DELIMIT_MAX_BYTES = 2048
    response = upload(client_of(nita), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Delimitation.objects.exists()
    assert not (settings.MEDIA_ROOT / office.KEPT_DIRECTORY).exists()


def test_only_the_national_office_uploads_and_applies(scene, nita, gopal):
    national_viewer = staff("vina@cadreconnect.example", "Vina", scene.tree.india, Role.VIEWER)
    assert upload(client_of(national_viewer), RETIRE_CUNCOLIM).status_code == 403
    assert upload(client_of(gopal), RETIRE_CUNCOLIM).status_code == 404
    upload(client_of(nita), RETIRE_CUNCOLIM)  # kept, so only the role decides below
    digest = file_digest(RETIRE_CUNCOLIM)
    apply_url = reverse("groups:delimitation_apply")
    assert client_of(national_viewer).post(apply_url, {"digest": digest}).status_code == 403
    assert client_of(gopal).post(apply_url, {"digest": digest}).status_code == 404
    status_url = reverse("groups:delimitation_status", args=[digest])
    assert client_of(gopal).get(status_url).status_code == 404
    assert client_of(national_viewer).get(status_url).status_code == 403
    assert not Delimitation.objects.exists()


def test_a_forged_apply_is_refused(scene, nita):
    upload(client_of(nita), RETIRE_CUNCOLIM)
    digest = file_digest(RETIRE_CUNCOLIM)
    url = reverse("groups:delimitation_apply")
    assert client_of(nita).get(url, {"digest": digest}).status_code == 405
    no_csrf = Client(enforce_csrf_checks=True)
    no_csrf.force_login(nita)
    assert no_csrf.post(url, {"digest": digest}).status_code == 403
    assert not Delimitation.objects.exists()


def test_with_the_broker_down_nothing_is_started(scene, nita, broker_unreachable):
    client = client_of(nita)
    upload(client, RETIRE_CUNCOLIM)
    with broker_unreachable():
        response = client.post(
            reverse("groups:delimitation_apply"),
            {"digest": file_digest(RETIRE_CUNCOLIM), "file_name": "mapping.csv"},
            follow=True,
        )
    assert "The task queue cannot be reached, so nothing was started" in response.content.decode()
    assert not Delimitation.objects.exists()


def test_the_run_received_twice_applies_once(scene, nita):
    upload(client_of(nita), RETIRE_CUNCOLIM)
    digest = file_digest(RETIRE_CUNCOLIM)
    for _delivery in range(2):
        office.delimitation_run_kept(digest=digest, file_name="mapping.csv", actor_id=nita.pk)
    delimitation = Delimitation.objects.get()
    assert (delimitation.status, delimitation.runs, delimitation.steps.count()) == ("done", 1, 1)
    assert BoothPlacement.objects.filter(placed_at__isnull=True).count() == 2


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
