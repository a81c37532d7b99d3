"""Roles and nodes in the admin go through groups.services: every role change is checked against
the permission table and audited, and a refusal is a message, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from cadreconnect.models import AuditEvent
from groups.models import Assignment, Group, Role
from tests.factories import UserFactory

ASSIGNMENTS = "/admin/groups/assignment/"


@pytest.fixture
def asha_client(client, asha):
    client.force_login(asha)
    return client


@pytest.fixture
def ravi(db):
    """Ravi has a portal account and no role yet."""
    return UserFactory(email="ravi@cadreconnect.example", full_name="Ravi Rao")


def events(action: str) -> list[dict]:
    return [event.data for event in AuditEvent.objects.filter(action=action).order_by("pk")]


def test_a_role_given_in_the_admin_is_audited(asha_client, asha, tree, ravi):
    response = asha_client.post(
        f"{ASSIGNMENTS}add/", {"user": ravi.pk, "group": tree.mandrem.pk, "role": "organiser"}
    )

    assert response.status_code == 302
    assignment = Assignment.objects.get(user=ravi)
    assert (assignment.group, assignment.role) == (tree.mandrem, "organiser")
    event = AuditEvent.objects.get(action="assignment.add", data__user=ravi.pk)
    assert event.actor == asha
    assert event.data == {"user": ravi.pk, "role": "organiser", "group": tree.mandrem.code}


def test_a_role_changed_in_the_admin_is_a_removal_and_a_grant(asha_client, asha, tree, ravi):
    asha_client.post(f"{ASSIGNMENTS}add/",
                     {"user": ravi.pk, "group": tree.mandrem.pk, "role": "viewer"})  # fmt: skip
    assignment = Assignment.objects.get(user=ravi)

    response = asha_client.post(
        f"{ASSIGNMENTS}{assignment.pk}/change/",
        {"user": ravi.pk, "group": tree.north_goa.pk, "role": "lead"},
    )

    assert response.status_code == 302
    assert list(Assignment.objects.filter(user=ravi).values_list("group__code", "role")) == [
        (tree.north_goa.code, "lead")
    ]
    assert events("assignment.remove") == [
        {"user": ravi.pk, "role": "viewer", "group": tree.mandrem.code}
    ]
    assert events("assignment.add")[-1] == {
        "user": ravi.pk, "role": "lead", "group": tree.north_goa.code,
    }  # fmt: skip


def test_roles_deleted_in_the_admin_one_by_one_or_in_bulk_are_audited(asha_client, tree, ravi):
    for group in [tree.mandrem, tree.ponda, tree.north_goa]:
        asha_client.post(f"{ASSIGNMENTS}add/",
                         {"user": ravi.pk, "group": group.pk, "role": "viewer"})  # fmt: skip
    first, *rest = Assignment.objects.filter(user=ravi).order_by("pk")

    single = asha_client.post(f"{ASSIGNMENTS}{first.pk}/delete/", {"post": "yes"})
    bulk = asha_client.post(
        ASSIGNMENTS,
        {"action": "delete_selected", "_selected_action": [a.pk for a in rest], "post": "yes"},
    )

    assert (single.status_code, bulk.status_code) == (302, 302)
    assert not Assignment.objects.filter(user=ravi).exists()
    assert sorted(event["group"] for event in events("assignment.remove")) == sorted(
        [tree.mandrem.code, tree.ponda.code, tree.north_goa.code]
    )


@pytest.fixture
def naveen_staff(naveen):
    """Naveen (North Goa lead) also has the admin's model rights on assignments."""
    naveen.is_staff = True
    naveen.save()
    naveen.user_permissions.add(*Permission.objects.filter(content_type__model="assignment"))
    return naveen


def test_a_lead_in_the_admin_cannot_give_a_role_above_their_own(client, naveen_staff, tree, ravi):
    client.force_login(naveen_staff)
    before = AuditEvent.objects.count()

    at_own_node = client.post(
        f"{ASSIGNMENTS}add/", {"user": ravi.pk, "group": tree.north_goa.pk, "role": "lead"}
    )
    elsewhere = client.post(
        f"{ASSIGNMENTS}add/", {"user": ravi.pk, "group": tree.ponda.pk, "role": "viewer"}
    )
    below = client.post(
        f"{ASSIGNMENTS}add/", {"user": ravi.pk, "group": tree.mandrem.pk, "role": "lead"}
    )

    assert at_own_node.status_code == 200
    assert "You cannot give or remove the role of lead" in at_own_node.content.decode()
    assert elsewhere.status_code == 404
    assert below.status_code == 302
    assert list(Assignment.objects.filter(user=ravi).values_list("group__code", "role")) == [
        (tree.mandrem.code, "lead")
    ]
    assert AuditEvent.objects.count() == before + 1


def test_a_lead_in_the_admin_cannot_remove_a_role_above_their_own(
    client, naveen_staff, gopal, tree
):
    gopal_role = Assignment.objects.get(user=gopal)
    own_role = Assignment.objects.get(user=naveen_staff)
    client.force_login(naveen_staff)

    single = client.post(f"{ASSIGNMENTS}{own_role.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        ASSIGNMENTS,
        {"action": "delete_selected", "_selected_action": [own_role.pk], "post": "yes"},
        follow=True,
    )
    outside = client.post(f"{ASSIGNMENTS}{gopal_role.pk}/delete/", {"post": "yes"})

    assert single.status_code == 302  # back to the page, with the reason
    assert "You cannot give or remove the role of lead" in bulk.content.decode()
    assert outside.status_code == 404
    assert Assignment.objects.filter(pk__in=[gopal_role.pk, own_role.pk]).count() == 2
    assert events("assignment.remove") == []


def test_a_node_refused_by_the_service_in_the_admin_is_a_form_error(asha_client, tree):
    response = asha_client.post(
        "/admin/groups/group/add/",
        {"parent": tree.mandrem.pk, "kind": "80", "code": tree.mandrem_booths[0].code,
         "name": "Copy", "name_local": "", "whatsapp_invite_link": "", "telegram_chat_id": ""},
    )  # fmt: skip

    assert response.status_code == 200
    assert "already" in response.content.decode()
    assert Group.objects.filter(name="Copy").count() == 0


def test_a_role_of_a_deactivated_user_is_refused_in_the_admin(asha_client, tree, ravi):
    ravi.is_active = False
    ravi.save()

    response = asha_client.post(
        f"{ASSIGNMENTS}add/", {"user": ravi.pk, "group": tree.mandrem.pk, "role": Role.VIEWER}
    )

    assert response.status_code == 200
    assert "is deactivated and cannot be given a role" in response.content.decode()
    assert not Assignment.objects.filter(user=ravi).exists()


def test_the_admin_index_names_each_section_once(asha_client):
    import re

    page = asha_client.get("/admin/").content.decode()

    sections = re.findall(r"<caption>\s*<a[^>]*>([^<]*)</a>", page)
    models = re.findall(r'<th scope="row"[^>]*>\s*<a[^>]*>([^<]*)</a>', page)
    assert "Accounts" in sections and "Groups" in sections
    assert len(sections) == len(set(sections)), sections
    assert len(models) == len(set(models)), models
    assert "Log entries" in models
    assert asha_client.get("/admin/accounts/user/add/").status_code == 200
