"""Start-up configuration: production refuses to start without its secrets."""

from __future__ import annotations

import subprocess
import sys

from tests.support import processes


def manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=processes.PROJECT_DIR,
        env=processes.process_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_secret_key_stops_with_a_clear_message():
    result = manage("check", DEBUG="false", SECRET_KEY=None, ALLOWED_HOSTS="cadre.example.org")

    assert result.returncode == 2
    assert "Configuration error: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_with_empty_secret_key_stops_too():
    result = manage("check", DEBUG="false", SECRET_KEY="", ALLOWED_HOSTS="cadre.example.org")

    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr


def test_production_without_allowed_hosts_stops_with_a_clear_message():
    result = manage("check", DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS=None)

    assert result.returncode == 2
    assert "ALLOWED_HOSTS is empty" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="k3y-" + "s3cr3t-production-like-value-" * 3,
        ALLOWED_HOSTS="cadre.example.org",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_bad_boolean_in_the_environment_is_refused():
    result = manage("check", DEBUG="perhaps")

    assert result.returncode != 0
    assert "perhaps" in result.stderr
