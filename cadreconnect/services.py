"""State changes of the system app."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from cadreconnect.models import AuditEvent, WorkerPing
from cadreconnect.queue import QueueUnavailable, enqueue

# Pings older than this are pruned by the heartbeat; the dashboard only shows recent ones.
PING_RETENTION = timedelta(days=2)


def worker_ping_request(*, requested_by: User) -> WorkerPing:
    """Record a ping and send it to a worker once the row is committed. The person waits for
    the answer, so a broker that cannot take the message is said at once: the ping is removed
    and QueueUnavailable raised, for the page to say so (no ping left waiting for ever)."""
    with transaction.atomic():
        ping = WorkerPing.objects.create(source=WorkerPing.Source.STAFF, requested_by=requested_by)
        transaction.on_commit(lambda: _worker_ping_send(ping))
    return ping


def _worker_ping_send(ping: WorkerPing) -> None:
    from cadreconnect.tasks import worker_ping_answer

    try:
        enqueue(worker_ping_answer, ping.pk)
    except QueueUnavailable:
        WorkerPing.objects.filter(pk=ping.pk).delete()
        raise


def worker_ping_answer(*, ping_id: int, hostname: str | None = None) -> bool:
    """Mark a ping answered by this process. Returns False when it was already answered."""
    answered = WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=True).update(
        answered_at=timezone.now(),
        worker_hostname=hostname or socket.gethostname(),
        worker_pid=os.getpid(),
    )
    return answered == 1


def worker_heartbeat_record(*, hostname: str | None = None) -> WorkerPing:
    """Record that a worker ran a scheduled task now, and prune old pings."""
    now = timezone.now()
    with transaction.atomic():
        WorkerPing.objects.filter(requested_at__lt=now - PING_RETENTION).delete()
        return WorkerPing.objects.create(
            source=WorkerPing.Source.BEAT,
            answered_at=now,
            worker_hostname=hostname or socket.gethostname(),
            worker_pid=os.getpid(),
        )


def audit_record(
    *, actor: User | None, action: str, target: models.Model | None, data: dict | None = None
) -> AuditEvent:
    """Write an audit event; call it inside the transaction of the change it records.

    `target` None: an event about no one record (an export, a failed sign-in). The target's
    text is its `__str__`, which for a member is masked (cadreconnect.privacy): an audit row
    never holds a full phone or voter id."""
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        data=data or {},
    )
