"""kombu's transports as the portal uses them, each with a fix for a fault seen here.

The development broker (kombu's filesystem transport) writes messages atomically. kombu creates
a message file and then writes into it; a consumer listing the folder in between moves and reads
an empty file, fails to decode it and the worker stops ("Unrecoverable error: JSONDecodeError").
Seen here with a web process and a worker sharing the folder. Writing under a temporary name and
renaming it (atomic within a folder) means a consumer only ever sees whole messages.

The production broker (kombu's Redis transport) keeps a channel usable after its connection was
collected. With Celery and kombu 5.7.0 a Redis restart while a prefork worker ran a task stopped
the worker ("Unrecoverable error: AttributeError: 'NoneType' object has no attribute
'hostname'"); an idle worker survived. On a lost connection the worker's consumer calls
`Connection.collect()` and then `Connection.close()` (the close is new in Celery 5.7.0:
https://github.com/celery/celery/pull/10242, for celery/celery#9705). `collect()` closes the
channel, which stops half-closed at its first connection error (reading the pending BRPOP), and
then drops the transport's `client`, the kombu connection holding host, port and password.
`close()` closes the same channel again; this time it gets as far as giving the running task's
unacknowledged message back, which needs a new Redis connection pool, whose parameters
`Channel._connparams()` reads from `self.connection.client`: None. An AttributeError is no
connection error, so nothing catches it and the worker shuts down, after its running task
(hence "once the task ended"). Acknowledging the task through that channel fails the same way.
An idle worker has no message to give back, and the solo pool runs its task in the event loop's
own thread, so the task has ended and been acknowledged before the loop sees the lost
connection. kombu has raised this AttributeError before (celery/kombu#582). No release after
5.7.0 is on PyPI, and both projects' main branches still do the same (August 2026).

The fix: a channel works out its connection parameters while its connection is whole and keeps
them, so that closing it, giving a message back or acknowledging through it still reaches Redis
after the connection was collected. Remove it once kombu or Celery fixes this upstream;
tests/cadreconnect/test_worker_survives_redis.py restarts Redis under a busy worker.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# --- Development: the filesystem transport -----------------------------------------------------


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # "<name>.tmp" is not "<queue>.msg" after its first dot, so consumers skip it.
        temporary = final + ".tmp"
        try:
            with open(temporary, "wb") as target:
                target.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


# --- Production: the Redis transport -----------------------------------------------------------


class RedisChannel(redis.Channel):
    """A Redis channel that keeps its connection parameters (see the module's docstring).

    A reconnect makes new channels, so parameters that change (a rotated password) are read
    again then.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._kept_connparams: dict[bool, dict] = {}
        super().__init__(*args, **kwargs)  # works out the event loop's parameters (its PING)
        self._connparams(asynchronous=False)  # and those of its other commands, now

    def _connparams(self, asynchronous: bool = False) -> dict:
        if asynchronous not in self._kept_connparams:
            self._kept_connparams[asynchronous] = super()._connparams(asynchronous=asynchronous)
        return dict(self._kept_connparams[asynchronous])


class RedisTransport(redis.Transport):
    Channel = RedisChannel


def install() -> None:
    """Make the portal's broker URLs use these transports (called by cadreconnect.celery)."""
    TRANSPORT_ALIASES["filesystem"] = "cadreconnect.broker:Transport"
    TRANSPORT_ALIASES["redis"] = "cadreconnect.broker:RedisTransport"
    TRANSPORT_ALIASES["rediss"] = "cadreconnect.broker:RedisTransport"
