from celery import shared_task

from cadreconnect import services


@shared_task(bind=True)
def worker_ping_answer(self, ping_id: int) -> None:
    services.worker_ping_answer(ping_id=ping_id, hostname=self.request.hostname)


@shared_task(bind=True)
def worker_heartbeat(self) -> None:
    services.worker_heartbeat_record(hostname=self.request.hostname)
