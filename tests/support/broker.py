"""This test process's Celery app pointed at another broker for a block (a private Redis, or a
port nothing listens on: the broker down). A worker's own connection is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cadreconnect.celery import app as celery_app
from tests.support import processes


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Send this process's tasks to `url` for the block; the configured broker after it.

    The app keeps a connection pool and a producer pool made for the URL it had: they are set
    aside, so that the next message opens a connection to `url`, and put back afterwards."""
    configured = (
        celery_app.conf.broker_url, celery_app.conf.broker_write_url, celery_app._pool,
        celery_app.amqp._producer_pool,
    )  # fmt: skip
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = url
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        (
            celery_app.conf.broker_url, celery_app.conf.broker_write_url, celery_app._pool,
            celery_app.amqp._producer_pool,
        ) = configured  # fmt: skip


def unreachable_url() -> str:
    """A Redis URL on a port free a moment ago, closed now: the broker down."""
    return f"redis://127.0.0.1:{processes.free_port()}/0"
