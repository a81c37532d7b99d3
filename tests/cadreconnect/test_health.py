"""/healthz: what load balancers and monitoring see, and what only staff see."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from tests.factories import UserFactory
from tests.support import processes


def fetch_json(url: str, *, session: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(email="ops@cadreconnect.example", is_staff=True))
    return client


def test_healthz_tells_anyone_only_that_the_portal_is_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_tells_signed_in_staff_what_answered(staff_client):
    response = staff_client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["vendor"] == connection.vendor
    assert body["checks"]["broker"]["ok"] is True


def test_healthz_gives_no_details_to_a_signed_in_user_who_is_not_staff(lalit_client):
    response = lalit_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_needs_no_login_and_is_not_cached(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def portal_env(transactional_db) -> dict[str, str]:
    """Environment for a gunicorn process that uses this test run's database and broker."""
    return processes.process_env(DATABASE_URL=processes.database_url(connection.settings_dict))


@pytest.fixture
def staff_session(portal_env) -> str:
    """The session cookie of a signed-in staff user, stored in the (committed) test database."""
    client = Client()
    client.force_login(UserFactory(email="ops@cadreconnect.example", is_staff=True))
    return client.cookies["sessionid"].value


def test_healthz_is_503_when_broker_is_unreachable(portal_env, staff_session):
    dead_port = processes.free_port()
    env = {**portal_env, "CELERY_BROKER_URL": f"redis://127.0.0.1:{dead_port}/0"}

    with processes.gunicorn(env, name="healthz-no-broker") as url:
        status, body = fetch_json(f"{url}/healthz")
        staff_status, staff_body = fetch_json(f"{url}/healthz", session=staff_session)

    assert (status, body) == (503, {"status": "unavailable"})
    assert staff_status == 503
    assert staff_body["checks"]["broker"]["ok"] is False
    assert staff_body["checks"]["broker"]["error"]
    assert staff_body["checks"]["database"]["ok"] is True


def test_healthz_is_503_not_a_crash_when_database_is_unreachable(portal_env, staff_session):
    dead_port = processes.free_port()
    env = {**portal_env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_port}/cadreconnect"}

    with processes.gunicorn(env, name="healthz-no-database") as url:
        status, body = fetch_json(f"{url}/healthz")
        # The server keeps answering: a second probe gets the same clear answer.
        second_status, _ = fetch_json(f"{url}/healthz")
        # Without the database no session can be read: staff get the short answer too.
        staff_status, staff_body = fetch_json(f"{url}/healthz", session=staff_session)

    assert (status, body) == (503, {"status": "unavailable"})
    assert second_status == 503
    assert (staff_status, staff_body) == (503, {"status": "unavailable"})


def test_healthz_through_gunicorn_with_everything_up(portal_env, staff_session):
    with processes.gunicorn(portal_env, name="healthz-up") as url:
        status, body = fetch_json(f"{url}/healthz")
        staff_status, staff_body = fetch_json(f"{url}/healthz", session=staff_session)

    assert (status, body) == (200, {"status": "ok"})
    assert staff_status == 200
    assert staff_body["checks"]["database"]["ok"] is True
    assert staff_body["checks"]["broker"]["ok"] is True
