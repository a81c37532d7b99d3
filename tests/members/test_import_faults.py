"""An import under faults, with real worker processes on PostgreSQL and Redis: a worker killed
mid-run, its database connections cut, its message delivered twice, the queue down when
"run" is pressed. Each ends with the right members, consents and counts, the import done or
resumable from its page, and figures equal to a count made here.

The worker and beat run as separate processes with short heartbeat and staleness settings
(seconds, not minutes) and a small pause after each batch, so that a few thousand rows take
long enough to be interrupted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cadreconnect.models import AuditEvent
from members.models import Consent, Member, MemberImport, MemberImportBatch
from tests.conftest import wait_until
from tests.members.test_import import check_and_import, csv_bytes, upload
from tests.support import processes
from tests.support.broker import broker_at
from tests.support.services import require

ROWS = 3000
BATCH = 100
FAST = {
    "MEMBER_IMPORT_BATCH_SIZE": str(BATCH),
    "MEMBER_IMPORT_BATCH_PAUSE": "0.05",
    "MEMBER_IMPORT_HEARTBEAT_SECONDS": "0.5",
    "MEMBER_IMPORT_STALE_SECONDS": "3",
    "MEMBER_IMPORT_RESUME_SECONDS": "1",
}


@pytest.fixture(autouse=True)
def _production_stack(transactional_db):
    require(connection.vendor == "postgresql", "fault tests need PostgreSQL (DATABASE_URL)")
    require(
        settings.CELERY_BROKER_URL.startswith("redis://"),
        "fault tests need Redis (CELERY_BROKER_URL=redis://...)",
    )
    from cadreconnect.celery import app

    app.control.purge()


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def _env(**extra: str) -> dict[str, str]:
    return processes.process_env(
        DATABASE_URL=processes.database_url(connection.settings_dict), **FAST, **extra
    )


@contextlib.contextmanager
def worker(*, concurrency: int = 1, name: str = "worker", broker: str | None = None):
    """`celery worker` as production runs it (prefork), on the test database."""
    log_path = Path(settings.VAR_DIR) / "test-logs" / f"faults-{name}-{os.getpid()}.log"
    command = [
        str(processes.VENV_BIN / "celery"), "-A", "cadreconnect", "worker", "--pool", "prefork",
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
        "--without-mingle", "--hostname", f"faults-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    env = _env(**({"CELERY_BROKER_URL": broker} if broker else {}))
    with processes.running(
        command, env=env, log_path=log_path,
        ready=lambda: log_path.exists() and b" ready." in log_path.read_bytes(),
    ) as process:  # fmt: skip
        yield process


@contextlib.contextmanager
def beat():
    schedule = Path(settings.VAR_DIR) / f"test-beat-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    log_path = Path(settings.VAR_DIR) / "test-logs" / f"faults-beat-{os.getpid()}.log"
    command = [
        str(processes.VENV_BIN / "celery"), "-A", "cadreconnect", "beat", "--loglevel", "INFO",
        "--schedule", str(schedule),
    ]  # fmt: skip
    with processes.running(
        command, env=_env(), log_path=log_path,
        ready=lambda: log_path.exists() and b"beat: Starting" in log_path.read_bytes(),
    ) as process:  # fmt: skip
        yield process
    for path in schedule.parent.glob(schedule.name + "*"):
        path.unlink(missing_ok=True)


def pool_children(process: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def checked_import(client, tree) -> MemberImport:
    booths = [booth.code for booth in tree.mandrem_booths]
    rows = [[f"Member {n}", "", f"98{n:08d}", "", booths[n % 3], "yes"] for n in range(ROWS)]
    upload(client, csv_bytes(rows))
    return check_and_import(client, MemberImport.objects.get())


def written(member_import: MemberImport) -> int:
    return MemberImport.objects.get(pk=member_import.pk).rows_processed


def assert_imported_once(member_import: MemberImport) -> MemberImport:
    """Every row written once, counted once; the ledger covers the file."""
    done = MemberImport.objects.get(pk=member_import.pk)
    assert done.status == "done", (done.status, done.error)
    assert Member.objects.count() == ROWS
    assert Consent.objects.count() == ROWS  # one WhatsApp consent each, none twice
    assert (done.rows_processed, done.created_count, done.skipped_count) == (ROWS, ROWS, 0)
    assert MemberImportBatch.objects.filter(member_import=done).count() == ROWS // BATCH
    assert (
        AuditEvent.objects.filter(action="member_import.run", target_id=str(done.pk)).count() == 1
    )
    return done


def assert_figures_true(tree) -> None:
    """The figures the portal shows (the state, the constituency, each booth) equal a count
    made here, within a minute."""
    from groups.models import GroupFigures

    def shown() -> list[int | None]:
        groups = [tree.goa, tree.mandrem, *tree.mandrem_booths]
        figures = dict(
            GroupFigures.objects.filter(group__in=groups).values_list("group", "members")
        )
        return [figures.get(group.pk) for group in groups]

    def counted() -> list[int]:
        booths = [Member.objects.filter(booth=booth).count() for booth in tree.mandrem_booths]
        return [Member.objects.filter(state=tree.goa).count(), sum(booths), *booths]

    wait_until(lambda: shown() == counted(), timeout=60)
    assert counted()[0] == Member.objects.count()


def test_a_worker_killed_mid_import_is_taken_over_and_finished_with_no_one_touching_it(
    naveen_client, tree
):
    with worker() as process, beat():
        member_import = checked_import(naveen_client, tree)
        naveen_client.post(f"/members/import/{member_import.pk}/run/")
        wait_until(lambda: written(member_import) >= 5 * BATCH)
        for child in pool_children(process):
            os.kill(child, signal.SIGKILL)  # the out-of-memory killer, say
        stopped_at = written(member_import)
        assert stopped_at < ROWS, "the import should have been stopped mid-run"

        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done",
                   timeout=120)  # fmt: skip
        done = assert_imported_once(member_import)
        assert done.resumes >= 1
        resumed = AuditEvent.objects.get(action="member_import.resume", target_id=str(done.pk))
        assert BATCH <= resumed.data["rows_processed"] < ROWS
        assert_figures_true(tree)


def test_cut_database_connections_fail_the_import_and_running_it_again_finishes_it(
    naveen_client, tree
):
    with worker():
        member_import = checked_import(naveen_client, tree)
        naveen_client.post(f"/members/import/{member_import.pk}/run/")
        wait_until(lambda: written(member_import) >= 5 * BATCH)
        with connection.cursor() as cursor:  # every connection of the worker's, not ours
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1

        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "failed")
        failed = MemberImport.objects.get(pk=member_import.pk)
        assert failed.error_code == "import_stopped"
        assert failed.run_token == ""
        # Whole batches, counted exactly.
        landed = Member.objects.count()
        assert landed % BATCH == 0 and landed == failed.created_count == failed.rows_processed
        assert MemberImportBatch.objects.filter(member_import=failed).count() == landed // BATCH
        assert_figures_true(tree)
        page = naveen_client.get(f"/members/import/{failed.pk}/").content.decode()
        assert "Run the import again to finish it" in page

        naveen_client.post(f"/members/import/{failed.pk}/run/")
        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done")
        assert_imported_once(member_import)
        assert_figures_true(tree)


def test_the_same_message_delivered_twice_while_the_first_run_lives_runs_the_file_once(
    naveen_client, tree
):
    from members.tasks import member_import_run

    with worker(concurrency=2):
        member_import = checked_import(naveen_client, tree)
        naveen_client.post(f"/members/import/{member_import.pk}/run/")
        wait_until(lambda: written(member_import) >= BATCH)
        member_import_run.delay(member_import.pk, False)  # a redelivery, or a double queueing

        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done")
        done = assert_imported_once(member_import)
        assert done.resumes == 0
        assert not AuditEvent.objects.filter(action="member_import.resume").exists()
        assert_figures_true(tree)


def test_redis_restarted_mid_import_the_worker_finishes_it_and_takes_the_next_task(
    naveen, naveen_client, tree, redis_server
):
    from cadreconnect.models import WorkerPing
    from cadreconnect.services import worker_ping_request

    with broker_at(redis_server.url()), worker(broker=redis_server.url()) as process:
        member_import = checked_import(naveen_client, tree)
        naveen_client.post(f"/members/import/{member_import.pk}/run/")
        wait_until(lambda: written(member_import) >= 5 * BATCH)
        redis_server.restart()
        assert written(member_import) < ROWS, "Redis should have restarted mid-run"

        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done")
        assert_imported_once(member_import)
        assert_figures_true(tree)
        ping = worker_ping_request(requested_by=naveen)
        wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).answered_at)
        assert process.poll() is None, "the worker should still be running"


def test_the_queue_down_when_run_is_pressed_says_so_and_marks_nothing(
    naveen_client, tree, broker_unreachable
):
    """The portal's web process, pointed at a broker that is not there (a port nothing
    listens on): "run" says the queue cannot be reached, the import stays checked, and
    pressing it again once the queue is back runs it."""
    with worker():
        member_import = checked_import(naveen_client, tree)
    before = MemberImport.objects.get(pk=member_import.pk)
    with broker_unreachable():
        response = naveen_client.post(f"/members/import/{member_import.pk}/run/", follow=True)

    assert response.status_code == 200
    assert "The task queue cannot be reached, so nothing was started" in response.content.decode()
    after = MemberImport.objects.get(pk=member_import.pk)
    fields = ["status", "run_token", "queued_at", "started_at", "rows_processed", "checked_at"]
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]
    assert after.status == "checked"

    with worker():
        naveen_client.post(f"/members/import/{member_import.pk}/run/")
        wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done")
        assert Member.objects.count() == ROWS
        assert_figures_true(tree)


def test_an_upload_while_the_queue_is_down_is_kept_and_read_once_it_is_back(
    naveen_client, broker_unreachable
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = csv_bytes([["Ravi Naik", "", "9811111111", "", "S05-AC-001-B-0001", ""]])
    with broker_unreachable():
        response = naveen_client.post(
            "/members/import/", {"file": SimpleUploadedFile("members.csv", data)}, follow=True
        )  # fmt: skip

    assert "the task queue cannot be reached just now" in response.content.decode()
    kept = MemberImport.objects.get()
    assert kept.status == "reading" and Path(kept.file.path).exists()
    with worker(), beat():  # beat's round sends the lost message again
        wait_until(lambda: MemberImport.objects.get(pk=kept.pk).status == "uploaded")
    assert MemberImport.objects.get(pk=kept.pk).headers[0] == "Name"
