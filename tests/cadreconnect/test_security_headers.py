"""Headers that keep pages safe in the browser: the content security policy, the features the
portal turns off, and no cached copy of a page with personal data."""

from __future__ import annotations

import pytest

from members import services as member_services
from tests.groups import conftest as groups_conftest

# The group tests' tree and cast, as fixtures here too.
naveen = groups_conftest.naveen
tree = groups_conftest.tree


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


@pytest.fixture
def sunita(naveen, tree):
    """A member at Mandrem's first booth, registered by Naveen."""
    return member_services.member_create(
        actor=naveen, full_name="Sunita Das", phone="9822222222", booth=tree.mandrem_booths[0]
    )


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def test_pages_allow_scripts_and_styles_from_the_site_only(naveen_client):
    policy = directives(naveen_client.get("/")["Content-Security-Policy"])

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_the_sign_in_page_has_the_policy_too(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_no_page_has_an_inline_script_or_event_handler(naveen_client, sunita):
    for url in ["/", "/groups/", f"/members/{sunita.pk}/edit/", "/members/new/"]:
        html = naveen_client.get(url).content.decode()

        assert "<script>" not in html, url
        assert " onchange=" not in html and " onsubmit=" not in html, url


def test_camera_microphone_geolocation_and_payment_are_off(client, db):
    policy = client.get("/accounts/login/")["Permissions-Policy"]
    features = dict(item.strip().split("=", 1) for item in policy.split(","))

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", feature


@pytest.mark.parametrize(
    "path",
    [
        "/members/",
        "/members/?q=9822222222",
        "/members/new/",
        "/members/{pk}/",
        "/members/{pk}/edit/",
        "/members/export.csv",
        "/members/export.xlsx",
        "/members/duplicates/",
        "/members/import/",
    ],
)
def test_member_pages_and_exports_are_never_stored(naveen_client, sunita, path):
    response = naveen_client.get(path.format(pk=sunita.pk))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_group_export_is_never_stored(naveen_client, naveen, tree):
    response = naveen_client.get(f"/groups/{tree.north_goa.pk}/export.csv")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_a_member_page_outside_the_area_is_not_stored_either(naveen_client, tree):
    response = naveen_client.get("/members/999999999/")

    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]


def test_pages_without_personal_data_keep_the_usual_caching(naveen_client, tree):
    response = naveen_client.get("/groups/")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
