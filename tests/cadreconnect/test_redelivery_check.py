"""The broker never hands a running task to a second worker: with Redis the visibility timeout
is longer than every task's time limit, or neither the worker nor manage.py starts."""

from __future__ import annotations

import subprocess
import sys

from tests.support import processes

# Nothing listens there: the check needs no broker, and a worker that started anyway would
# keep trying to connect instead of running tasks.
REDIS_NOBODY_LISTENS_ON = f"redis://127.0.0.1:{processes.free_port()}/0"


def run(command: list[str], **env_overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        "DEBUG": "true",
        "CELERY_BROKER_URL": REDIS_NOBODY_LISTENS_ON,
        "CELERY_VISIBILITY_TIMEOUT": None,
        "CELERY_TASK_TIME_LIMIT": None,
        **env_overrides,
    }
    return subprocess.run(
        command,
        cwd=processes.PROJECT_DIR,
        env=processes.process_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], **env_overrides)


def test_the_default_visibility_timeout_is_longer_than_every_task_time_limit():
    result = manage("check")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_manage_py_stops_on_a_visibility_timeout_shorter_than_the_member_import():
    # A system check: Django runs it before check, migrate and runserver alike.
    result = manage("check", CELERY_VISIBILITY_TIMEOUT="7200")

    assert result.returncode == 1
    assert "(cadreconnect.E001) CELERY_VISIBILITY_TIMEOUT is 7200 s" in result.stderr
    assert "14700 s (members.tasks.member_import_run)" in result.stderr
    assert "Set CELERY_VISIBILITY_TIMEOUT above 14700" in result.stderr


def test_a_default_time_limit_above_the_visibility_timeout_is_refused_too():
    result = manage("check", CELERY_TASK_TIME_LIMIT="20000")

    assert result.returncode == 1
    assert "20000 s (CELERY_TASK_TIME_LIMIT)" in result.stderr


def test_every_task_needs_a_time_limit():
    result = manage("check", CELERY_TASK_TIME_LIMIT="0")

    assert result.returncode == 1
    # Celery's own tasks have no limit of their own; every task of the portal has one.
    assert "No time limit for celery.accumulate, celery.backend_cleanup" in result.stderr
    assert "members.tasks.member_import_run" not in result.stderr
    assert "accounts.tasks.mail_send" not in result.stderr


def test_the_filesystem_broker_has_no_visibility_timeout_to_check(tmp_path):
    result = manage(
        "check",
        CELERY_BROKER_URL="filesystem://",
        CELERY_FILESYSTEM_DIR=str(tmp_path),
        CELERY_VISIBILITY_TIMEOUT="60",
    )

    assert result.returncode == 0, result.stderr


def test_a_worker_with_a_visibility_timeout_shorter_than_a_task_limit_does_not_start():
    celery = str(processes.VENV_BIN / "celery")
    result = run(
        [celery, "-A", "cadreconnect", "worker", "--pool", "solo", "--loglevel", "INFO"],
        CELERY_VISIBILITY_TIMEOUT="60",
    )

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Configuration error: CELERY_VISIBILITY_TIMEOUT is 60 s, not longer than" in output
    assert " ready." not in output
