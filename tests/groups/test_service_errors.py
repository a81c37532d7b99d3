"""Service errors in the user's language, with a stable code the API returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from groups import services
from groups.models import Group
from tests.members.test_register import form_data

SERVICE_MODULES = ["groups/services.py", "members/services.py", "cadreconnect/permissions.py",
                   "members/validation.py", "cadreconnect/validation.py",
                   "groups/delimitation/office.py", "groups/signals.py"]  # fmt: skip


def test_a_state_lead_sees_a_service_refusal_in_hindi(client, gopal, tree):
    """Moving a district under its own constituency is refused by the service; the page says
    why in Hindi."""
    client.force_login(gopal)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"

    response = client.post(f"/groups/{tree.north_goa.pk}/move/", {"new_parent": "S05-PC-01"})

    assert "के नीचे नहीं ले जाया जा सकता, जो उसी के भीतर है" in response.content.decode()
    assert Group.objects.get(pk=tree.north_goa.pk).parent_id == tree.goa.pk


def test_a_member_form_refusal_from_the_service_is_in_hindi(client, naveen, tree):
    client.force_login(naveen)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    client.post("/members/new/", form_data())

    response = client.post("/members/new/", form_data(phone="+91 98123-45678", epic=""))

    assert "पहले से किसी दूसरे सदस्य के नाम पंजीकृत है" in response.content.decode()


class MoveView(APIView):
    """An API endpoint that calls a service, as the member app's endpoints will."""

    def post(self, request, pk: int):
        group = Group.objects.get(pk=pk)
        services.group_move(
            actor=request.user, group=group, new_parent=Group.objects.get(code="S05-PC-01")
        )


@pytest.mark.parametrize(
    ("language", "detail"),
    [("en", "which is inside it: the tree would have a loop"),
     ("hi", "संगठन-वृक्ष में चक्र बन जाएगा")],
)  # fmt: skip
def test_the_api_answers_a_service_refusal_with_detail_and_code(gopal, tree, language, detail):
    request = APIRequestFactory().post(f"/api/groups/{tree.north_goa.pk}/move/")
    force_authenticate(request, user=gopal)

    with translation.override(language):
        response = MoveView.as_view()(request, pk=tree.north_goa.pk)

    assert response.status_code == 400
    assert response.data["code"] == "move_into_itself"
    assert detail in response.data["detail"]


def test_the_api_answers_a_refusal_of_the_table_with_403_and_its_code(vikram, tree):
    request = APIRequestFactory().post(f"/api/groups/{tree.north_goa.pk}/move/")
    force_authenticate(request, user=vikram)

    with translation.override("en"):
        response = MoveView.as_view()(request, pk=tree.mandrem.pk)

    assert response.status_code == 403
    assert response.data["code"] == "forbidden"
    assert "lead" in response.data["detail"]


def test_the_api_gives_its_own_errors_a_code_too(client, naveen, tree):
    anonymous = client.get("/api/groups/")
    client.force_login(naveen)
    outside = client.get(f"/api/groups/{tree.ponda.pk}/")

    assert anonymous.status_code == 403
    assert anonymous.json()["code"] == "not_authenticated"
    assert outside.status_code == 404
    assert outside.json()["code"] == "not_found"


def test_every_message_a_service_raises_has_a_hindi_translation():
    catalogue = read_po((Path(settings.BASE_DIR) / "locale/hi/LC_MESSAGES/django.po").open("rb"))
    translated = {message.id for message in catalogue if message.id and message.string}
    keywords = {"_": None, "gettext": None, "gettext_lazy": None}
    missing = [
        f"{module}:{line}: {message}"
        for module in SERVICE_MODULES
        for line, message, _comments, _context in extract_from_file(
            "python", Path(settings.BASE_DIR) / module, keywords=keywords
        )
        if message not in translated
    ]

    assert missing == []
