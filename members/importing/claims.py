"""The claim a task holds on the import it runs, and its signs of life.

Every write of a run (a batch's counts, its progress, its end) is an UPDATE conditional on the
run's token still being the import's `run_token`: once a cancel clears it or another task takes
the import over, the old run's next write changes nothing and raises `ClaimLost`, inside its
batch's transaction, which then rolls back. So two tasks never both write a batch.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connections
from django.utils import timezone

from members.models import MemberImport

logger = logging.getLogger(__name__)


class ClaimLost(Exception):
    """The import was cancelled or taken over by another task: stop, write nothing more."""


@dataclass(frozen=True)
class Claim:
    import_id: int
    token: str

    def update(self, **fields) -> None:
        """Update the import if this run still holds it (a sign of life too); ClaimLost if
        not."""
        if not MemberImport.objects.filter(pk=self.import_id, run_token=self.token).update(
            heartbeat_at=timezone.now(), **fields
        ):
            raise ClaimLost(self.import_id)


class Heartbeat:
    """A thread (with its own database connection) that marks the run alive every
    MEMBER_IMPORT_HEARTBEAT_SECONDS, however long a step takes (counting a large file's rows,
    waiting on a lock). It dies with the worker process: then the import goes silent, and
    beat's next delivery takes it over. When the claim is gone it sets `lost`, which the run
    checks between batches."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"member-import-heartbeat-{claim.import_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.MEMBER_IMPORT_HEARTBEAT_SECONDS):
                try:
                    self.claim.update()
                except ClaimLost:
                    self.lost.set()
                    return
                except DatabaseError as error:  # the run itself will meet it, or recover
                    logger.warning("Import %s: heartbeat not written (%s)",
                                   self.claim.import_id, type(error).__name__)  # fmt: skip
                    connections["default"].close()
        finally:
            connections.close_all()
