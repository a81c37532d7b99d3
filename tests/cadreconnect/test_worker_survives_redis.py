"""A worker outlives a restart of its Redis broker while it runs a task, and takes the next one.

With Celery and kombu 5.7.0 a restart of under a second stopped a busy prefork worker
("Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'") once its
task ended; cadreconnect/broker.py explains why and holds the fix. The busy task is a real one:
a password reset mail (accounts.tasks.mail_send) to a mail server that answers only when the
test lets it, so the worker is busy for exactly as long as the test needs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import OutgoingMail
from accounts.tasks import mail_send
from cadreconnect.celery import app as celery_app
from cadreconnect.models import WorkerPing
from cadreconnect.tasks import worker_ping_answer
from tests.conftest import wait_until
from tests.support import processes
from tests.support.fake_smtp import FakeSMTPServer


@pytest.fixture
def slow_mail_server():
    with FakeSMTPServer(hold=True) as server:
        yield server


def send(redis_server, task, *args, **kwargs) -> None:
    """Send a task to the worker through the private Redis, on a connection of its own."""
    with celery_app.connection_for_write(redis_server.url()) as broker:
        task.apply_async(args, kwargs, connection=broker)


def done_or_dead(worker, condition: Callable[[], object]) -> Callable[[], object]:
    """Wait for `condition`, or no longer than the worker lives."""
    return lambda: condition() or worker.poll() is not None


def log_of(worker) -> str:
    return worker.log_path.read_text(errors="replace")[-6000:]


@pytest.mark.parametrize(
    "pool, concurrency, gossip",
    [
        pytest.param("prefork", 2, True, id="prefork-as-in-the-procfile"),
        pytest.param("solo", 1, False, id="solo-as-in-the-worker-fixture"),
    ],
)
def test_worker_outlives_a_redis_restart_while_a_task_runs_and_takes_the_next_task(
    transactional_db, redis_server, slow_mail_server, pool, concurrency, gossip
):
    env = processes.process_env(
        DATABASE_URL=processes.database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis_server.url(),
        EMAIL_URL=f"smtp://127.0.0.1:{slow_mail_server.port}",
    )
    with processes.celery_worker(env, pool=pool, concurrency=concurrency, gossip=gossip) as worker:
        mail = OutgoingMail.objects.create(
            subject="Sent across a Redis restart",
            body="Your password reset link.",
            from_email="noreply@cadreconnect.example",
            to=["lalit@cadreconnect.example"],
            queued_at=timezone.now(),
        )
        send(redis_server, mail_send, mail.pk)
        # The task runs, its message not yet acknowledged (late acknowledgement).
        wait_until(slow_mail_server.held.is_set)

        redis_server.restart()
        slow_mail_server.release()

        wait_until(done_or_dead(worker, lambda: slow_mail_server.messages))
        ping = WorkerPing.objects.create(source=WorkerPing.Source.STAFF)
        send(redis_server, worker_ping_answer, ping.pk)
        wait_until(
            done_or_dead(
                worker,
                lambda: WorkerPing.objects.filter(pk=ping.pk, answered_at__isnull=False).exists(),
            ),
            timeout=60,
        )

        assert worker.poll() is None, f"The worker stopped:\n{log_of(worker)}"
        ping.refresh_from_db()
        assert ping.worker_hostname.startswith(f"{worker.hostname}@")
        # A set: after a lost connection Celery may deliver a message that was not acknowledged
        # once more (the tasks are idempotent); here the point is that the mail went out.
        assert {message["Subject"] for message in slow_mail_server.messages} == {
            "Sent across a Redis restart"
        }
    assert "Unrecoverable error" not in log_of(worker)
