"""The embedded development broker: kombu's filesystem transport, writing messages atomically.

kombu's filesystem transport creates a message file and then writes into it; a consumer
listing the folder in between moves and reads an empty file, fails to decode it and the worker
stops ("Unrecoverable error: JSONDecodeError"). Seen here with a web process and a worker
sharing the folder. Writing under a temporary name and renaming it (atomic within a folder)
means a consumer only ever sees whole messages. Production uses Redis and never loads this.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


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


def install() -> None:
    """Make "filesystem://" broker URLs use this transport (called by cadreconnect.celery)."""
    TRANSPORT_ALIASES["filesystem"] = "cadreconnect.broker:Transport"
