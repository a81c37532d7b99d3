"""Reads of the system app: health of the services the portal depends on, recent pings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import DatabaseError, connections

from accounts.models import User
from cadreconnect.celery import app as celery_app
from cadreconnect.models import WorkerPing


@dataclass
class ServiceHealth:
    ok: bool
    milliseconds: float
    error: str = ""
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        answer: dict = {"ok": self.ok, "ms": round(self.milliseconds, 1), **self.details}
        if self.error:
            answer["error"] = self.error
        return answer


def database_health(alias: str = "default") -> ServiceHealth:
    started = time.monotonic()
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (DatabaseError, OSError) as error:
        # Drop the broken connection so the next request starts a fresh one.
        connection.close_if_unusable_or_obsolete()
        # The class name only: the message may carry host names and user names.
        return ServiceHealth(False, _ms_since(started), error=type(error).__name__)
    return ServiceHealth(True, _ms_since(started), details={"vendor": connection.vendor})


def broker_health(timeout: float = 3.0) -> ServiceHealth:
    started = time.monotonic()
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            transport = connection.transport_cls
            if hasattr(connection.default_channel, "client"):
                # Redis: a connection is made lazily; a PING proves the server answers.
                connection.default_channel.client.ping()
    except Exception as error:  # noqa: BLE001 -- any failure means "not healthy", never a crash
        return ServiceHealth(False, _ms_since(started), error=type(error).__name__)
    return ServiceHealth(True, _ms_since(started), details={"transport": str(transport)})


def worker_pings_recent(*, user: User, limit: int = 5) -> list[WorkerPing]:
    """The user's own recent pings, newest first."""
    return list(
        WorkerPing.objects.filter(source=WorkerPing.Source.STAFF, requested_by=user)[:limit]
    )


def worker_heartbeat_last() -> WorkerPing | None:
    return (
        WorkerPing.objects.filter(source=WorkerPing.Source.BEAT, answered_at__isnull=False)
        .order_by("-answered_at")
        .first()
    )


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
