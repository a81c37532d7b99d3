"""/healthz: what load balancers and monitoring see."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.support import processes


def fetch_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthz_is_200_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["vendor"] == connection.vendor
    assert body["checks"]["broker"]["ok"] is True


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


def test_healthz_is_503_when_broker_is_unreachable(portal_env):
    dead_port = processes.free_port()
    env = {**portal_env, "CELERY_BROKER_URL": f"redis://127.0.0.1:{dead_port}/0"}

    with processes.gunicorn(env, name="healthz-no-broker") as url:
        status, body = fetch_json(f"{url}/healthz")

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_not_a_crash_when_database_is_unreachable(portal_env):
    dead_port = processes.free_port()
    env = {**portal_env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_port}/cadreconnect"}

    with processes.gunicorn(env, name="healthz-no-database") as url:
        status, body = fetch_json(f"{url}/healthz")
        # The server keeps answering: a second probe gets the same clear answer.
        second_status, _ = fetch_json(f"{url}/healthz")

    assert status == 503
    assert second_status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    # No host names or user names leak into a public endpoint.
    assert "127.0.0.1" not in json.dumps(body)
    assert body["checks"]["broker"]["ok"] is True


def test_healthz_through_gunicorn_with_everything_up(portal_env):
    with processes.gunicorn(portal_env, name="healthz-up") as url:
        status, body = fetch_json(f"{url}/healthz")

    assert status == 200
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
