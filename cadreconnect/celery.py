"""The Celery application. Its settings are the CELERY_* values in cadreconnect.settings."""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu.transport import redis

from cadreconnect import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadreconnect.settings")
broker.install()

app = Celery("cadreconnect")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def redelivery_problem(celery_app: Celery = app) -> str | None:
    """Why the broker could hand a task that is still running to a second worker, if it could.

    Every task needs a time limit. Redis acknowledges by emulation: a message that is not
    acknowledged within the visibility timeout is delivered again, and with late acknowledgement
    a message is acknowledged when its task ends. So the timeout must be longer than the longest
    time limit (a task's own, or CELERY_TASK_TIME_LIMIT for the tasks without one). The
    filesystem broker has no visibility timeout: it never delivers a message twice (nor again
    when its worker dies). Asked by the worker at start-up and by Django's system checks
    (cadreconnect.checks: check, migrate, runserver).
    """
    celery_app.autodiscover_tasks(force=True)  # every task, not only those imported so far
    default_limit = celery_app.conf.task_time_limit
    limits = {
        name: (task.time_limit or default_limit or 0) for name, task in celery_app.tasks.items()
    }
    unlimited = sorted(name for name, limit in limits.items() if not limit)
    if unlimited:
        return (
            f"No time limit for {', '.join(unlimited)}: set CELERY_TASK_TIME_LIMIT (seconds) or"
            " the task's time_limit. A task without one can hold its worker for ever."
        )
    with celery_app.connection_for_read() as connection:
        if not isinstance(connection.transport, redis.Transport):
            return None
    timeout = celery_app.conf.broker_transport_options.get(
        "visibility_timeout", redis.Channel.visibility_timeout
    )
    name, longest = max(limits.items(), key=lambda item: item[1])
    if timeout > longest:
        return None
    if longest == default_limit:
        name = "CELERY_TASK_TIME_LIMIT"
    return (
        f"CELERY_VISIBILITY_TIMEOUT is {timeout} s, not longer than the longest task time limit,"
        f" {longest} s ({name}): Redis would deliver the message of a task still running after"
        f" {timeout} s again, and another worker process would run the task beside the first. Set"
        f" CELERY_VISIBILITY_TIMEOUT above {longest} or lower the time limit."
    )


@signals.worker_init.connect
def refuse_to_start_on_a_redelivery_problem(**kwargs: object) -> None:
    problem = redelivery_problem()
    if problem:
        # SystemExit, because Celery catches and only logs any Exception a signal handler raises.
        raise SystemExit(f"Configuration error: {problem}")
