"""The system's background work. Both tasks take seconds (time limits well under a minute) and
are safe to receive twice: a ping is answered only if it is still unanswered (a conditional
UPDATE), and a second heartbeat records one more worker sign of life, which is true. Neither
needs a catch-up round: a lost ping shows as unanswered to the person who asked, and beat
sends the next heartbeat a minute later."""

from celery import shared_task

from cadreconnect import services


@shared_task(bind=True, soft_time_limit=20, time_limit=30)
def worker_ping_answer(self, ping_id: int) -> None:
    services.worker_ping_answer(ping_id=ping_id, hostname=self.request.hostname)


@shared_task(bind=True, soft_time_limit=20, time_limit=30)
def worker_heartbeat(self) -> None:
    services.worker_heartbeat_record(hostname=self.request.hostname)
