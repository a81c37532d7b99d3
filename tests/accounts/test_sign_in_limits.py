"""Sign-in limits: counted per client address in the shared cache, and the client's address
taken only through the proxies the deployment says are in front (none by default)."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tests.support import processes
from tests.support.services import require

TOO_MANY = "Too many failed login attempts. Try again later."
# allauth's default: 10 failed sign-ins a minute from one address.
PER_ADDRESS = 10


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Limits are kept in the cache, which outlives a test: start and end with none counted."""
    cache.clear()
    yield
    cache.clear()


def sign_in(client, login: str, password: str, *, forwarded_for: str):
    return client.post(
        "/accounts/login/",
        {"login": login, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded_for,
        REMOTE_ADDR="198.51.100.7",
    )


def guess_many(client, count: int) -> None:
    """Failed sign-ins from one connection, each claiming another address and account."""
    for attempt in range(count):
        response = sign_in(
            client, f"guess{attempt}@example.org", "wrong", forwarded_for=f"203.0.113.{attempt}"
        )
        assert response.status_code == 200
        assert TOO_MANY not in response.content.decode()


def test_failed_sign_ins_from_one_address_are_limited_whatever_x_forwarded_for_says(
    client, lalit, password
):
    guess_many(client, PER_ADDRESS)

    response = sign_in(client, lalit.email, password, forwarded_for="192.0.2.200")

    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_behind_a_configured_proxy_each_client_address_is_counted_apart(
    client, lalit, password, settings
):
    """With TRUSTED_PROXY_COUNT=1 the address the proxy appended is the client's."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    guess_many(client, PER_ADDRESS)

    response = sign_in(client, lalit.email, password, forwarded_for="192.0.2.200")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(lalit.pk)


def test_behind_a_configured_proxy_one_client_is_still_limited(client, lalit, password, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for attempt in range(PER_ADDRESS):
        # The client forges the first entries; the proxy appends the real address last.
        sign_in(
            client,
            f"guess{attempt}@example.org",
            "wrong",
            forwarded_for=f"10.0.0.{attempt}, 192.0.2.55",
        )

    response = sign_in(client, lalit.email, password, forwarded_for="10.9.9.9, 192.0.2.55")

    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- Two web processes, as production runs them ------------------------------------------


def gunicorn_sign_in(url: str, login: str, password: str) -> str:
    """Sign in through the page as a browser would (its own cookies); the page's HTML."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{url}/accounts/login/", timeout=30) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    form = urllib.parse.urlencode(
        {"login": login, "password": password, "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    with opener.open(f"{url}/accounts/login/", data=form, timeout=30) as response:
        return response.read().decode()


@pytest.fixture
def shared_cache_url(transactional_db) -> Iterator[str]:
    """The broker's Redis as the shared cache, without sign-in limits left by an earlier run."""
    broker = settings.CELERY_BROKER_URL
    require(broker.startswith("redis://"), "needs Redis (CELERY_BROKER_URL=redis://...)")
    client = redis.Redis.from_url(broker)

    def forget_limits() -> None:
        for key in client.scan_iter(match="*allauth:rl:*"):
            client.delete(key)

    forget_limits()
    yield broker
    forget_limits()
    client.close()


def test_sign_in_limits_are_shared_by_every_web_process(shared_cache_url, lalit, password):
    """Two servers (two hosts, say) count one client's failures together, in the shared cache."""
    env = processes.process_env(
        DATABASE_URL=processes.database_url(connection.settings_dict), CACHE_URL=shared_cache_url
    )
    with (
        processes.gunicorn(env, name="limits-a") as first,
        processes.gunicorn(env, name="limits-b") as second,
    ):
        for attempt in range(PER_ADDRESS):
            server = first if attempt % 2 else second
            page = gunicorn_sign_in(server, f"guess{attempt}@example.org", "wrong")
            assert TOO_MANY not in page

        page = gunicorn_sign_in(first, lalit.email, password)

    assert TOO_MANY in page
