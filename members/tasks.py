"""The register's background work. Each task is safe to receive twice and to be cut short:
the import claims its run (members.importing.claims) and resumes from its ledger; reading an
upload changes only an upload still being read; beat's resume round sends each silent import's
message at most once per MEMBER_IMPORT_STALE_SECONDS."""

from celery import shared_task

from members import services


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60)
def member_import_read(import_id: int) -> None:
    """Read an upload's header and first rows for the column page (bounded: seconds)."""
    services.member_import_read_file(import_id=import_id)


@shared_task(soft_time_limit=4 * 60 * 60, time_limit=4 * 60 * 60 + 300)
def member_import_run(import_id: int, dry_run: bool) -> None:
    services.member_import_execute(import_id=import_id, dry_run=dry_run)


@shared_task(soft_time_limit=50, time_limit=60)
def member_imports_resume() -> int:
    return services.member_imports_resume()
