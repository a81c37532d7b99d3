"""The roles page: a lead gives and takes away roles in their area, as the permission table
says (any role below their node, any but lead at it), and every change is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from cadreconnect.models import AuditEvent
from groups.models import Assignment, Role
from tests.conftest import wait_until


def roles_url(group) -> str:
    return f"/groups/{group.pk}/roles/"


def offered_roles(response) -> list[str]:
    select = re.search(r'<select name="role"[^>]*>(.*?)</select>', response.content.decode(), re.S)
    return re.findall(r'<option value="([a-z]+)"', select.group(1))


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def test_a_lead_is_offered_every_role_but_lead_at_their_node_and_every_role_below(
    naveen_client, tree
):
    at_node = naveen_client.get(roles_url(tree.north_goa))
    below = naveen_client.get(roles_url(tree.mandrem))

    assert at_node.status_code == 200
    assert offered_roles(at_node) == ["organiser", "approver", "editor", "viewer"]
    assert offered_roles(below) == ["lead", "organiser", "approver", "editor", "viewer"]
    page = at_node.content.decode()
    assert "naveen@cadreconnect.example" in page
    assert "Remove the role of Lead" not in page  # his own, at his node: not his to remove


def test_a_lead_gives_an_existing_user_a_role(naveen_client, naveen, tree, vikram):
    response = naveen_client.post(
        roles_url(tree.north_goa),
        {"email": "VIKRAM@cadreconnect.example", "full_name": "", "role": "organiser"},
        follow=True,
    )

    assert "Gave Vikram Viewer the role of organiser at North Goa district." in (
        response.content.decode()
    )
    assert set(Assignment.objects.filter(user=vikram).values_list("role", flat=True)) == {
        "viewer", "organiser",
    }  # fmt: skip
    event = AuditEvent.objects.get(action="assignment.add", actor=naveen)
    assert event.data == {"user": vikram.pk, "role": "organiser", "group": tree.north_goa.code}
    assert mail.outbox == []


def test_a_new_person_gets_an_account_and_sets_a_password_through_the_reset_mail(
    client, naveen_client, naveen, tree, celery_worker
):
    response = naveen_client.post(
        roles_url(tree.mandrem),
        {"email": "Oma.Organiser@Example.COM", "full_name": "  Oma   Organiser ",
         "role": "organiser"},
        follow=True,
    )  # fmt: skip

    assert "they were sent an e-mail to set their password" in response.content.decode()
    oma = User.objects.get(email="oma.organiser@example.com")
    assert oma.full_name == "Oma Organiser"
    assert not oma.has_usable_password()
    assert Assignment.objects.get(user=oma).role == "organiser"
    assert AuditEvent.objects.filter(action="user.invite", actor=naveen).count() == 1
    wait_until(lambda: mail.outbox)  # sent by the worker
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["oma.organiser@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    client.logout()
    form_page = client.get(link.group(1), follow=True)
    set_password = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": "a-long-new-password-2026", "password2": "a-long-new-password-2026"},
    )
    assert set_password.status_code == 302
    oma.refresh_from_db()
    assert oma.check_password("a-long-new-password-2026")


def test_a_forged_role_above_ones_own_is_refused_and_nothing_is_written(naveen_client, tree):
    before = (User.objects.count(), Assignment.objects.count(), AuditEvent.objects.count())

    response = naveen_client.post(
        roles_url(tree.north_goa),
        {"email": "new.lead@example.com", "full_name": "New Lead", "role": "lead"},
    )

    assert response.status_code == 403
    assert "You cannot give or remove the role of lead" in response.content.decode()
    after = (User.objects.count(), Assignment.objects.count(), AuditEvent.objects.count())
    assert after == before
    assert mail.outbox == []


def test_a_node_outside_the_area_does_not_exist_for_the_lead(naveen_client, tree, sita):
    sita_role = Assignment.objects.get(user=sita)
    before = Assignment.objects.count()

    assert naveen_client.get(roles_url(tree.south_goa)).status_code == 404
    assert (
        naveen_client.post(
            roles_url(tree.ponda), {"email": "x@example.com", "full_name": "X", "role": "viewer"}
        ).status_code
        == 404
    )
    assert (
        naveen_client.post(f"/groups/{tree.south_goa.pk}/roles/{sita_role.pk}/remove/").status_code
        == 404
    )
    # An assignment of another node through this node's address: no such role here.
    assert (
        naveen_client.post(f"/groups/{tree.north_goa.pk}/roles/{sita_role.pk}/remove/").status_code
        == 404
    )
    assert Assignment.objects.count() == before
    assert not User.objects.filter(email="x@example.com").exists()


def test_a_lead_removes_a_role_below_and_the_removal_is_audited(
    naveen_client, naveen, tree, vikram
):
    role = Assignment.objects.get(user=vikram)

    response = naveen_client.post(
        f"/groups/{tree.north_goa.pk}/roles/{role.pk}/remove/", follow=True
    )

    assert "Took the role of viewer at North Goa district from Vikram Viewer." in (
        response.content.decode()
    )
    assert not Assignment.objects.filter(user=vikram).exists()
    event = AuditEvent.objects.get(action="assignment.remove")
    assert (event.actor, event.data) == (
        naveen, {"user": vikram.pk, "role": "viewer", "group": tree.north_goa.code},
    )  # fmt: skip


def test_a_lead_cannot_remove_a_lead_at_their_own_node(naveen_client, naveen, tree):
    own = Assignment.objects.get(user=naveen)

    response = naveen_client.post(f"/groups/{tree.north_goa.pk}/roles/{own.pk}/remove/")

    assert response.status_code == 403
    assert Assignment.objects.filter(pk=own.pk).exists()
    assert not AuditEvent.objects.filter(action="assignment.remove").exists()


def test_only_leads_see_the_roles_link_and_page(naveen_client, tree, vikram):
    client = Client()
    client.force_login(vikram)

    assert client.get(roles_url(tree.north_goa)).status_code == 403
    assert (
        client.post(
            roles_url(tree.north_goa),
            {"email": "x@example.com", "full_name": "X", "role": "viewer"},
        ).status_code
        == 403
    )
    viewer_page = client.get(f"/groups/{tree.north_goa.pk}/").content.decode()
    assert roles_url(tree.north_goa) not in viewer_page
    assert (
        roles_url(tree.north_goa)
        in naveen_client.get(f"/groups/{tree.north_goa.pk}/").content.decode()
    )
    assert not User.objects.filter(email="x@example.com").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not an address", "full_name": "X", "role": "viewer"}, "valid email"),
        ({"email": "a" * 300 + "@example.com", "full_name": "X", "role": "viewer"}, "at most"),
        ({"email": "new@example.com", "full_name": "", "role": "viewer"}, "Enter the name"),
        ({"email": "new@example.com", "full_name": "X", "role": "emperor"}, "valid choice"),
        ({"email": "vikram@cadreconnect.example", "full_name": "", "role": "viewer"},
         "already has the role of viewer here"),
    ],
)  # fmt: skip
def test_bad_input_on_the_roles_page_is_a_form_error(naveen_client, tree, vikram, fields, message):
    before = (User.objects.count(), Assignment.objects.count())

    response = naveen_client.post(roles_url(tree.north_goa), fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert (User.objects.count(), Assignment.objects.count()) == before


def test_a_deactivated_account_cannot_be_given_a_role(naveen_client, tree, vikram):
    vikram.is_active = False
    vikram.save()

    response = naveen_client.post(
        roles_url(tree.north_goa),
        {"email": vikram.email, "full_name": "", "role": "organiser"},
    )

    assert response.status_code == 200
    assert "is deactivated and cannot be given a role" in response.content.decode()
    assert not Assignment.objects.filter(user=vikram, role=Role.ORGANISER).exists()


def test_the_roles_page_speaks_hindi(naveen_client, tree):
    naveen_client.cookies["django_language"] = "hi"

    page = naveen_client.get(roles_url(tree.north_goa)).content.decode()

    assert "भूमिका दें" in page
