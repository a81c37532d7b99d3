"""A private redis-server for tests that stop, restart or break the broker.

Never the shared Redis on port 6379: other test runs and helpers use it. Each server listens
on a free port of 127.0.0.1 and keeps its files in a folder of its own:

    with RedisServer(tmp_path) as redis_server:          # or the `redis_server` fixture
        env = processes.process_env(CELERY_BROKER_URL=redis_server.url())
        ...
        redis_server.restart()   # stop (saving its data, as a service restart does) and start
        redis_server.stop()      # Redis down ...
        redis_server.start()     # ... and back, on the same port with the same data
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.support import processes

REDIS_SERVER = "redis-server"


def redis_server_available() -> bool:
    return shutil.which(REDIS_SERVER) is not None


class RedisServer:
    def __init__(self, folder: Path, *, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or processes.free_port()
        self.log_path = folder / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, *, timeout: float = 10) -> None:
        """Start the server and wait until it answers PING."""
        if self.running():
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            # Saved when it stops, loaded when it starts: a restart keeps the queues, as a
            # Redis service with snapshots does.
            "--save", "3600 1",
            "--appendonly", "no",
            "--logfile", "",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log_path.read_text(errors="replace")[-4000:]
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{output}")
            time.sleep(0.02)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (it saves its data first), or SIGKILL with kill=True."""
        if self.process is None:
            return
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: connections drop, the data stays."""
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _answers(self) -> bool:
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1) as probe:
                return bool(probe.ping())
        except redis.RedisError:
            return False

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
