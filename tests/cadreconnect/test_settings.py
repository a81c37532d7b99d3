"""Start-up configuration: production refuses to start without its secrets."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


# What a production deployment must always set; everything else has production defaults.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "s3cr3t-production-like-value-" * 3,
    "ALLOWED_HOSTS": "cadre.example.org",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
    # Unset whatever the developer's or CI's shell has, so that the defaults are what is checked.
    "SECURE_HSTS_SECONDS": None,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": None,
    "SECURE_HSTS_PRELOAD": None,
    "SECURE_SSL_REDIRECT": None,
    "SESSION_COOKIE_SECURE": None,
    "CSRF_COOKIE_SECURE": None,
    "TRUSTED_PROXY_COUNT": None,
    "TRUSTED_CLIENT_IP_HEADER": None,
}


def test_production_defaults_alone_pass_the_deployment_checklist():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def show_settings(*names: str, **env_overrides: str | None) -> dict[str, str]:
    """The named settings as the portal computes them from this environment."""
    code = "from django.conf import settings; " + "; ".join(
        f"print('setting', {name!r}, repr(getattr(settings, {name!r}, None)))" for name in names
    )
    result = manage("shell", "-c", code, **env_overrides)
    assert result.returncode == 0, result.stderr
    shown = [
        line.split(" ", 2) for line in result.stdout.splitlines() if line.startswith("setting ")
    ]
    return {name: value for _, name, value in shown}


def test_production_sends_hsts_for_a_year_with_subdomains_and_preload_by_default():
    shown = show_settings(
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", **PRODUCTION
    )

    assert shown == {
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "SECURE_HSTS_PRELOAD": "True",
    }


def test_a_deployment_may_still_set_each_hsts_value():
    shown = show_settings(
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        **{
            **PRODUCTION,
            "SECURE_HSTS_SECONDS": "600",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
            "SECURE_HSTS_PRELOAD": "no",
        },
    )

    assert shown == {
        "SECURE_HSTS_SECONDS": "600",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "False",
        "SECURE_HSTS_PRELOAD": "False",
    }


def test_development_sends_no_hsts():
    shown = show_settings("SECURE_HSTS_SECONDS", DEBUG="true", SECURE_HSTS_SECONDS=None)

    assert shown == {"SECURE_HSTS_SECONDS": "0"}


@pytest.mark.parametrize("cache_url", [None, "locmemcache://", "dummycache://"])
def test_production_refuses_a_per_process_cache(cache_url):
    result = manage("check", **{**PRODUCTION, "CACHE_URL": cache_url})

    assert result.returncode == 2
    assert "Configuration error: CACHE_URL is not set to a shared cache" in result.stderr
    assert "redis://" in result.stderr
    assert "Traceback" not in result.stderr


def test_client_addresses_come_from_remote_addr_unless_proxies_are_configured():
    default = show_settings(
        "ALLAUTH_TRUSTED_PROXY_COUNT", "ALLAUTH_TRUSTED_CLIENT_IP_HEADER", **PRODUCTION
    )
    behind_one_proxy = show_settings(
        "ALLAUTH_TRUSTED_PROXY_COUNT", **{**PRODUCTION, "TRUSTED_PROXY_COUNT": "1"}
    )

    assert default == {
        "ALLAUTH_TRUSTED_PROXY_COUNT": "0",
        "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": "None",
    }
    assert behind_one_proxy == {"ALLAUTH_TRUSTED_PROXY_COUNT": "1"}


def test_a_negative_proxy_count_is_refused():
    result = manage("check", **{**PRODUCTION, "TRUSTED_PROXY_COUNT": "-1"})

    assert result.returncode == 2
    assert "TRUSTED_PROXY_COUNT=-1 is negative" in result.stderr


def test_a_bad_boolean_in_the_environment_is_refused():
    result = manage("check", DEBUG="perhaps")

    assert result.returncode != 0
    assert "perhaps" in result.stderr
