"""Sending work to the Celery workers, with the broker's failures said plainly.

A message a user's action depends on (an import's run) is sent with `enqueue` inside the
transaction that marks the work queued: when the broker cannot take it, `QueueUnavailable`
rolls that transaction back, and the user is told, with nothing marked. Work that a periodic
task would catch up on anyway (a recount of the figures) is sent with `enqueue_or_log`, which
never fails the request that wrote the data.
"""

from __future__ import annotations

import logging

from celery import Task
from celery.result import AsyncResult
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError

from cadreconnect.exceptions import ApplicationError

logger = logging.getLogger(__name__)

# Publishing retries a refused connection this often before giving up: the user waits about
# a second, not the broker's default of retrying for ever.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}


class QueueUnavailable(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            _("The task queue cannot be reached, so nothing was started. Try again in a "
              "minute; if it goes on, tell the office."),
            code="queue_unavailable",
        )  # fmt: skip


def enqueue(task: Task, *args, **kwargs) -> AsyncResult:
    """Send the task's message now; QueueUnavailable when the broker cannot take it."""
    try:
        return task.apply_async(args, kwargs, retry=True, retry_policy=RETRY_POLICY)
    except (OperationalError, OSError) as error:
        logger.warning("Broker unavailable, %s not sent: %s", task.name, type(error).__name__)
        raise QueueUnavailable() from error


def enqueue_or_log(task: Task, *args, **kwargs) -> AsyncResult | None:
    """Send the task's message if the broker takes it; log and go on when it does not (for
    work that a periodic task repeats)."""
    try:
        return enqueue(task, *args, **kwargs)
    except QueueUnavailable:
        return None


def enqueue_again(rows, *, model, task: Task, now) -> int:
    """Send again the messages of `rows` ((pk, queued_at) of `model`, whose work is still to
    do), each row claimed by a conditional update of its `queued_at` so that two beats send it
    once; stops at the first the broker refuses (the next round tries again). The count sent."""
    sent = 0
    for pk, queued_at in rows:
        if not model.objects.filter(pk=pk, queued_at=queued_at).update(queued_at=now):
            continue
        if enqueue_or_log(task, pk) is None:
            break
        sent += 1
    return sent
