from celery import shared_task

from members import services


@shared_task(soft_time_limit=4 * 60 * 60, time_limit=4 * 60 * 60 + 300)
def member_import_run(import_id: int, dry_run: bool) -> None:
    services.member_import_execute(import_id=import_id, dry_run=dry_run)
