"""The admin's index: every section and every model under a name of its own."""

from __future__ import annotations


def admin_index(client, user) -> list[dict]:
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.context["app_list"]


def test_each_admin_section_has_a_name_of_its_own(client, asha):
    sections = [app["name"] for app in admin_index(client, asha)]

    assert len(sections) == len(set(sections)), sections
    assert "Accounts" in sections
    # allauth's e-mail address rows repeat the e-mail on each user: not in the admin at all.
    assert "Sign-in addresses" not in sections


def test_only_the_tree_is_called_groups_in_the_admin(client, asha):
    app_list = admin_index(client, asha)
    named_groups = [
        (app["app_label"], model["object_name"])
        for app in app_list
        for model in app["models"]
        if model["name"] == "Groups"
    ]

    assert named_groups == [("groups", "Group")]


def test_django_permission_groups_are_not_in_the_admin(client, asha):
    client.force_login(asha)

    assert client.get("/admin/auth/group/").status_code == 404
    assert client.get(f"/admin/accounts/user/{asha.pk}/change/").status_code == 200
