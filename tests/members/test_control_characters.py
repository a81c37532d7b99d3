"""NUL bytes and other control characters: a 400 or a form error from every search box and
form, never a 500 (PostgreSQL cannot store or even compare a NUL byte)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from cadreconnect.exceptions import ApplicationError
from groups.models import Group
from members import services
from members.forms import MemberForm
from members.models import Member
from tests.members.test_register import form_data

SEARCH_BOXES = [
    "/groups/search/?q={}",
    "/api/groups/?q={}",
    "/groups/autocomplete/?q={}",
    "/groups/autocomplete/?booth={}",
    "/members/?q={}",
    "/members/export.csv?q={}",
]


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


@pytest.mark.parametrize("box", SEARCH_BOXES)
@pytest.mark.parametrize("character", ["%00", "Goa%00", "%01", "%1B%5B31m", "%7F"])
def test_a_control_character_in_a_search_box_is_a_400(client, asha, box, character):
    client.force_login(asha)  # the national office sees everything: nothing is hidden by scope
    response = client.get(box.format(character))

    assert response.status_code == 400
    assert "control character" in response.content.decode()


def test_the_api_says_why_in_json_with_a_code(client, asha):
    client.force_login(asha)
    response = client.get("/api/groups/?q=%00")

    assert response.status_code == 400
    assert response.json()["code"] == "control_characters"


@pytest.mark.parametrize(
    "box",
    ["/groups/search/?q=Mandrem", "/api/groups/?q=Mandrem", "/groups/autocomplete/?q=Mandrem",
     "/members/?q=Ravi"],
)  # fmt: skip
def test_ordinary_searches_still_answer(naveen_client, box):
    assert naveen_client.get(box).status_code == 200


def urlencoded(data: dict) -> dict:
    """As a browser posts a form without file fields."""
    return {"data": urlencode(data), "content_type": "application/x-www-form-urlencoded"}


def test_a_control_character_in_a_form_field_is_a_400_and_nothing_is_written(naveen_client):
    response = naveen_client.post("/members/new/", **urlencoded(form_data(full_name="Ravi\x00")))
    in_notes = naveen_client.post("/members/new/", **urlencoded(form_data(notes="a\x08b")))

    assert response.status_code == 400
    assert in_notes.status_code == 400
    assert not Member.objects.exists()


def test_a_multipart_form_with_a_control_character_gets_a_form_error(naveen_client):
    response = naveen_client.post("/members/new/", form_data(full_name="Ravi\x00 Naik"))

    assert response.status_code == 200
    assert response.context["form"].errors["full_name"]
    assert not Member.objects.exists()


def test_a_multi_line_note_is_ordinary_text(naveen_client):
    response = naveen_client.post(
        "/members/new/", **urlencoded(form_data(notes="line one\r\n\tline two"))
    )

    assert response.status_code == 302
    assert Member.objects.get().notes == "line one\r\n\tline two"


def test_a_group_form_refuses_a_control_character(client, tree, asha):
    client.force_login(asha)
    response = client.post(
        f"/groups/{tree.mandrem.pk}/edit/", **urlencoded({"name": "Mandrem\x00", "name_local": ""})
    )
    as_multipart = client.post(f"/groups/{tree.mandrem.pk}/edit/", {"name": "Mandrem\x01"})

    assert response.status_code == 400
    assert as_multipart.status_code == 200 and as_multipart.context["form"].errors["name"]
    assert Group.objects.get(pk=tree.mandrem.pk).name == tree.mandrem.name


@pytest.mark.parametrize("field", ["full_name", "name_local", "notes", "phone", "epic"])
def test_the_member_form_names_the_field_with_a_control_character(naveen, tree, field):
    form = MemberForm(data=form_data(**{field: "abc\x01def"}), user=naveen)

    assert not form.is_valid()
    assert field in form.errors


def test_the_service_refuses_a_control_character_from_any_caller(naveen, tree):
    with pytest.raises(ApplicationError) as refused:
        services.member_create(
            actor=naveen, full_name="Ravi\x00Naik", phone="9812345678",
            booth=tree.mandrem_booths[0],
        )  # fmt: skip

    assert refused.value.code == "control_characters"
    assert not Member.objects.exists()


def test_a_file_upload_is_left_to_its_view(client, naveen):
    """Multipart bodies are not read by the middleware (the upload's view decides how to read
    them); the upload form still answers, with no 500."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(naveen)
    upload = SimpleUploadedFile("members\x00.csv", b"full_name,phone,booth\n", "text/csv")

    response = client.post("/members/import/", {"file": upload})

    assert response.status_code in {200, 302}
