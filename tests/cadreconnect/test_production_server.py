"""The portal as production runs it: gunicorn with DEBUG off and only the settings a deployment
must give, behind a TLS-terminating proxy (X-Forwarded-Proto: https)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from tests.support import processes
from tests.support.services import require

# What a browser sends: HTML first, anything else accepted.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def production_url(transactional_db) -> Iterator[str]:
    broker = settings.CELERY_BROKER_URL
    require(broker.startswith("redis://"), "needs Redis (CELERY_BROKER_URL=redis://...)")
    env = processes.process_env(
        DATABASE_URL=processes.database_url(connection.settings_dict),
        DEBUG="false",
        SECRET_KEY="k3y-" + "s3cr3t-production-like-value-" * 3,
        ALLOWED_HOSTS="127.0.0.1",
        # The broker's Redis serves as the shared cache here.
        CACHE_URL=broker,
        SECURE_PROXY_SSL_HEADER="true",
        SECURE_HSTS_SECONDS=None,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=None,
        SECURE_HSTS_PRELOAD=None,
    )
    with processes.gunicorn(env, name="production") as url:
        yield url


def test_production_answers_with_hsts_csp_and_permissions_policy(production_url):
    status, headers, _ = fetch(f"{production_url}/healthz")

    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "camera=()" in headers["Permissions-Policy"]


def test_production_healthz_says_only_ok(production_url):
    status, _, body = fetch(f"{production_url}/healthz")

    assert (status, body) == (200, b'{"status": "ok"}')


def test_production_api_answers_a_browser_in_json_not_the_browsable_api(production_url):
    status, headers, body = fetch(f"{production_url}/api/groups/", Accept=BROWSER_ACCEPT)

    assert status == 403
    assert headers["Content-Type"] == "application/json"
    assert b"<html" not in body


def test_development_keeps_the_browsable_api(client, db):
    response = client.get("/api/groups/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
