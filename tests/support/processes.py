"""Start the project's own programs (gunicorn, a Celery worker) as real processes in tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

PROJECT_DIR = Path(settings.BASE_DIR)
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bind, read the number, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that points another process at the database this test process uses."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "localhost"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"
    raise NotImplementedError(f"No DATABASE_URL form for {engine}")


def process_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; None removes a variable."""
    env = dict(os.environ)
    # Set for Playwright in this process only; a deployment never runs with it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@contextmanager
def running(
    command: list[str], *, env: dict[str, str], ready: callable, log_path: Path, timeout: float = 60
) -> Iterator[subprocess.Popen]:
    """Run `command` until the block ends; wait until `ready()` is true or fail with its log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")[-4000:]
                    raise RuntimeError(f"{command[0]} did not start:\n{output}")
                time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def gunicorn(
    env: dict[str, str], *, name: str = "gunicorn", options: list[str] | None = None
) -> Iterator[str]:
    """Serve the portal with gunicorn, the production server, as the README runs it (with its
    config file), on a free port; yield its URL. `options`: more command-line options."""
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "cadreconnect.wsgi",
        "--config",
        str(PROJECT_DIR / "cadreconnect" / "gunicorn.conf.py"),
        *(options or []),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--timeout",
        "30",
    ]
    log_path = Path(settings.VAR_DIR) / "test-logs" / f"{name}-{port}.log"
    with running(command, env=env, ready=lambda: port_open(port), log_path=log_path):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    pool: str = "solo",
    concurrency: int = 1,
    gossip: bool = False,
    log_path: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process until the block ends; it is ready when this yields.

    The Procfile's worker is `pool="prefork", concurrency=2, gossip=True` (gossip and mingle
    talk to the other workers, and take a second longer to start). Its hostname is
    "pytest-<random>@<host>" (the process's `hostname` attribute), so that a test can tell its
    tasks from any other worker's; its log is `log_path` (the process's `log_path` attribute).
    """
    hostname = f"pytest-{uuid.uuid4().hex[:8]}"
    log_path = log_path or Path(settings.VAR_DIR) / "test-logs" / f"celery-worker-{hostname}.log"
    command = [
        str(VENV_BIN / "celery"),
        "-A",
        "cadreconnect",
        "worker",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        *([] if gossip else ["--without-gossip", "--without-mingle"]),
        "--hostname",
        f"{hostname}@%h",
    ]
    with running(
        command,
        env=env,
        log_path=log_path,
        ready=lambda: log_path.exists() and b" ready." in log_path.read_bytes(),
    ) as process:
        process.hostname = hostname
        process.log_path = log_path
        yield process
