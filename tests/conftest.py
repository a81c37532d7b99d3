"""Fixtures every test package shares: the cast of users, a real Celery worker, a real browser
and throwaway HTTP servers for fakes of outside services."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from cadreconnect.celery import app as celery_app
from tests.factories import PASSWORD, UserFactory
from tests.support import processes
from tests.support.broker import broker_at, unreachable_url
from tests.support.fake_http import FakeHTTPServer, Responder
from tests.support.redis import RedisServer, redis_server_available
from tests.support.services import CHROMIUM, chromium_available, require

# --- The cast ------------------------------------------------------------------------------


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def asha(db) -> User:
    """Asha runs the national office: a superuser."""
    return UserFactory(
        email="asha@cadreconnect.example", full_name="Asha Admin", is_staff=True, is_superuser=True
    )


@pytest.fixture
def lalit(db) -> User:
    """Lalit is a district lead: signs in to the portal, no admin rights."""
    return UserFactory(email="lalit@cadreconnect.example", full_name="Lalit Lead")


@pytest.fixture
def lalit_client(client, lalit):
    client.force_login(lalit)
    return client


# --- Celery --------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _empty_broker_queue() -> None:
    """Tasks left over from an earlier run must not run against this run's database."""
    celery_app.control.purge()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts and ends in the default language: a request in Hindi (its cookie, its
    Accept-Language) leaves Hindi active in the thread that ran it, for the next test too."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def wait_until(condition: Callable[[], object], *, timeout: float = 30, every: float = 0.2):
    """Poll until `condition()` returns something truthy; return it, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up after {timeout} s waiting for {condition!r}")
        time.sleep(every)


@pytest.fixture
def broker_unreachable() -> Callable[[], AbstractContextManager[None]]:
    """`with broker_unreachable():` this process sends its tasks to a port nothing listens on,
    as when the broker is down (a worker's own connection is left alone); the configured
    broker is back after the block."""
    return lambda: broker_at(unreachable_url())


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[object]:
    """A Celery worker in a thread of this process, consuming the configured broker.

    Tasks it runs see the test database (committed data only: hence transactional_db).
    """
    from celery.contrib.testing.worker import start_worker

    celery_app.control.purge()
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        yield worker


@pytest.fixture
def celery_worker_process(transactional_db) -> Iterator[object]:
    """A real `celery worker` process on the configured broker and the test database.

    Started per test (a few seconds), so that no other test's tasks go to it.
    """
    celery_app.control.purge()
    log_path = Path(settings.VAR_DIR) / "test-logs" / f"celery-worker-{os.getpid()}.log"
    env = processes.process_env(DATABASE_URL=processes.database_url(connection.settings_dict))
    with processes.celery_worker(env, log_path=log_path) as process:
        yield process


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A private redis-server on a free port, for tests that stop or restart it (never 6379)."""
    require(
        redis_server_available(), "redis-server is not installed (apt-get install -y redis-server)"
    )
    with RedisServer(tmp_path / "redis") as server:
        yield server


# --- Browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    require(
        chromium_available(),
        f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    )
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_problems() -> list[str]:
    """What the `page` fixture's browser tab reported as errors so far (the test fails on any)."""
    return []


@pytest.fixture
def page(browser, live_server, browser_problems) -> Iterator[object]:
    """A fresh browser tab (own cookies) whose relative URLs go to the live test server.

    The test fails when the page reports a script error or a console error: a content
    security policy violation is reported there, and so is a script or style that did not load.
    """
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems = browser_problems
    documents: set[str] = set()

    def on_console(message) -> None:
        if message.type != "error":
            return
        # A page the test opens on purpose may answer 403 or 404 (the test checks what it
        # shows); Chromium reports that as a failed load of the document itself.
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") in documents
        ):
            return
        problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_response(response) -> None:
        if response.request.is_navigation_request():
            documents.add(response.url)

    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    context.close()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def sign_in(page, password) -> Callable[[User], object]:
    """Sign a user in through the allauth page, as a person would."""

    def sign_in_as(user: User):
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url("**/")
        return page

    return sign_in_as


# --- Fakes of outside services -------------------------------------------------------------


@pytest.fixture
def fake_http_server() -> Iterator[Callable[[Responder], FakeHTTPServer]]:
    """Start throwaway HTTP servers on 127.0.0.1; each stops when the test ends."""
    started: list[FakeHTTPServer] = []

    def start(responder: Responder) -> FakeHTTPServer:
        server = FakeHTTPServer(responder).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
