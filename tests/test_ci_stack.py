"""CI tests the production stack: PostgreSQL and Redis, never the embedded defaults."""

from __future__ import annotations

from django.db import connection

from cadreconnect.celery import app as celery_app
from tests.support.services import IN_CI, chromium_available, require


def test_ci_runs_on_postgresql(db):
    require(
        not IN_CI or connection.vendor == "postgresql",
        f"CI must run on PostgreSQL, not {connection.vendor}",
    )
    if not IN_CI:
        assert connection.vendor in {"postgresql", "sqlite"}


def test_ci_runs_on_redis():
    broker = celery_app.conf.broker_url
    require(not IN_CI or broker.startswith("redis://"), f"CI must use Redis, not {broker}")
    if not IN_CI:
        assert broker.split("://")[0] in {"redis", "filesystem"}


def test_ci_has_chromium():
    require(chromium_available(), "Chromium is not installed (apt-get install -y chromium)")
