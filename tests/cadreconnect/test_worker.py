"""Background work: a view sends a task through the broker and a real worker runs it."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cadreconnect.celery import app as celery_app
from cadreconnect.models import WorkerPing
from cadreconnect.tasks import worker_heartbeat
from tests.conftest import wait_until
from tests.factories import UserFactory


def answered(ping: WorkerPing):
    def check() -> WorkerPing | None:
        ping.refresh_from_db()
        return ping if ping.answered_at else None

    return check


def test_ping_from_the_dashboard_runs_in_a_separate_worker_process(client, celery_worker_process):
    lalit = UserFactory(email="lalit@cadreconnect.example")
    client.force_login(lalit)

    response = client.post("/system/worker-pings/new/")

    assert response.status_code == 302
    ping = WorkerPing.objects.get(requested_by=lalit)
    wait_until(answered(ping), timeout=60)
    assert ping.worker_pid != os.getpid()
    assert ping.worker_hostname.startswith("pytest-")
    assert ping.round_trip_seconds >= 0


def test_ping_answered_by_the_in_process_worker_fixture(client, celery_worker):
    lalit = UserFactory(email="lalit@cadreconnect.example")
    client.force_login(lalit)

    response = client.post("/system/worker-pings/new/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="worker-pings"' in response.content.decode()
    ping = WorkerPing.objects.get(requested_by=lalit)
    wait_until(answered(ping))
    response = client.get("/system/worker-pings/")
    assert ping.worker_hostname in response.content.decode()


def test_ping_is_sent_only_after_the_row_is_committed(
    lalit_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lalit_client.post("/system/worker-pings/new/")

    assert len(callbacks) == 1
    assert WorkerPing.objects.filter(answered_at__isnull=True).count() == 1


def test_ping_with_the_broker_down_says_so_and_leaves_no_ping(
    transactional_db, lalit_client, broker_unreachable
):
    with broker_unreachable():
        partial = lalit_client.post("/system/worker-pings/new/", HTTP_HX_REQUEST="true")
        page = lalit_client.post("/system/worker-pings/new/", follow=True)

    assert partial.status_code == page.status_code == 200
    for response in (partial, page):
        assert "The task queue cannot be reached" in response.content.decode()
    assert not WorkerPing.objects.exists()


def test_dashboard_shows_only_my_pings(client, db):
    lalit = UserFactory(email="lalit@cadreconnect.example")
    other = UserFactory(email="other@cadreconnect.example")
    WorkerPing.objects.create(
        source=WorkerPing.Source.STAFF,
        requested_by=other,
        answered_at=timezone.now(),
        worker_hostname="celery@elsewhere",
    )
    client.force_login(lalit)

    page = client.get("/").content.decode()

    assert "celery@elsewhere" not in page


def test_ping_needs_post(lalit_client):
    assert lalit_client.get("/system/worker-pings/new/").status_code == 405


def test_ping_needs_login(client, db):
    response = client.post("/system/worker-pings/new/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not WorkerPing.objects.exists()


def test_beat_schedule_sends_the_heartbeat():
    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == worker_heartbeat.name
    assert entry["task"] in celery_app.tasks


def test_every_beat_task_is_registered_and_time_limited():
    # As a worker does when it starts: every app's tasks, not only those imported so far by
    # the tests that ran before this one.
    celery_app.autodiscover_tasks(force=True)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = celery_app.tasks[entry["task"]]
        assert 0 < task.soft_time_limit < task.time_limit, entry["task"]


def test_heartbeat_runs_on_the_worker_and_prunes_old_pings(client, celery_worker):
    stale = WorkerPing.objects.create(source=WorkerPing.Source.BEAT)
    WorkerPing.objects.filter(pk=stale.pk).update(requested_at=timezone.now() - timedelta(days=3))

    worker_heartbeat.delay()

    beat = wait_until(
        lambda: WorkerPing.objects.filter(
            source=WorkerPing.Source.BEAT, answered_at__isnull=False
        ).first()
    )
    assert not WorkerPing.objects.filter(pk=stale.pk).exists()
    lalit = UserFactory(email="lalit@cadreconnect.example")
    client.force_login(lalit)
    assert beat.worker_hostname in client.get("/").content.decode()


def test_celery_is_configured_for_reliable_delivery():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.worker_prefetch_multiplier == 1
    if conf.broker_url.startswith("redis"):
        assert conf.broker_transport_options["visibility_timeout"] >= 3600
