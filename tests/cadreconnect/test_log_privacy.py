"""The web servers' logs never hold a searched phone number or voter id: gunicorn (production,
with cadreconnect/gunicorn.conf.py) and runserver (the django.server logger)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.support import processes

PHONE, EPIC = "9812345678", "ABC1234567"
# As typed into the search box, and as browsers encode it.
SEARCHES = [
    f"/members/?q=%2B91{PHONE}", f"/members/?q={EPIC}", "/members/?q=98123%2045678",
    "/members/?q=98123+45678", "/members/?q=abc+123+4567&status=active",
    f"/groups/search/?q=%2B91{PHONE}",
]  # fmt: skip


@pytest.fixture
def portal_env(transactional_db) -> dict[str, str]:
    return processes.process_env(DATABASE_URL=processes.database_url(connection.settings_dict))


def visit(url: str) -> None:
    """A request as a browser makes it: following the redirect to the sign-in page (whose
    ?next= holds the search again, encoded twice), with the search page as referrer."""
    request = urllib.request.Request(url, headers={"Referer": url})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def assert_no_personal_data(log: str) -> None:
    assert "/members/?q=" in log  # the requests were logged...
    for number in (PHONE, "98123 45678", "98123%2045678", "1234567", EPIC, EPIC.lower()):
        assert number not in log  # ...without the numbers


def test_gunicorn_access_and_error_logs_hold_no_searched_phone_or_voter_id(portal_env, tmp_path):
    access_log = tmp_path / "access.log"

    with processes.gunicorn(
        portal_env, name="log-privacy", options=["--access-logfile", str(access_log)]
    ) as url:
        for search in SEARCHES:
            visit(url + search)

    log = access_log.read_text()
    assert "/accounts/login/?next=" in log
    assert_no_personal_data(log)


def test_runserver_request_lines_hold_no_searched_phone_or_voter_id(portal_env):
    port = processes.free_port()
    log_path = Path(settings.VAR_DIR) / "test-logs" / f"runserver-{port}.log"
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]

    with processes.running(
        command, env={**portal_env, "DEBUG": "true"}, log_path=log_path,
        ready=lambda: processes.port_open(port),
    ):  # fmt: skip
        for search in SEARCHES:
            visit(f"http://127.0.0.1:{port}{search}")

    assert_no_personal_data(log_path.read_text())
