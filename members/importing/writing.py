"""Writing checked rows in batches, each batch in one transaction with its progress counts,
by writer threads side by side on PostgreSQL."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from django.db import connection, connections, transaction
from django.db.models import F

from members.importing import sql
from members.importing.checking import CheckedRow
from members.models import MemberImport

PROGRESS_FIELDS = ("rows_processed", "created_count", "updated_count", "skipped_count",
                   "rejected_count")  # fmt: skip


@dataclass
class Progress:
    """What a batch adds to the import's counts."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0

    def members_found(self, *, created: int, existing: int, update: bool) -> None:
        """Members the batch created, and those it met already there: updated or kept as
        they were, by the import's policy."""
        self.created = created
        if update:
            self.updated = existing
        else:
            self.skipped = existing

    def record(self, member_import: MemberImport) -> None:
        """Add to the import's counts in the database (within the batch's transaction)."""
        values = (self.rows, self.created, self.updated, self.skipped, self.rejected)
        MemberImport.objects.filter(pk=member_import.pk).update(**{
            name: F(name) + value for name, value in zip(PROGRESS_FIELDS, values, strict=True)
        })  # fmt: skip


@dataclass
class Batch:
    checked: list[CheckedRow]
    progress: Progress


class BatchWriters:
    """Writes checked batches, each in one transaction that also adds the batch's counts to
    the import (so an import stopped half-way leaves whole batches, and counts that match
    them).

    With `threads` > 0 the batches are written by that many threads, each with its own
    database connection, while the caller goes on reading the file; at most `threads`
    batches wait in line, so memory stays flat. A failed batch stops the import: the error
    is raised to the caller at its next batch or at the end. With 0 threads (SQLite, dry
    runs) each batch is written at once, in the caller's thread.
    """

    def __init__(self, member_import: MemberImport, *, threads: int) -> None:
        self.member_import = member_import
        self.update = member_import.policy == MemberImport.Policy.UPDATE
        self.notice_version = member_import.notice_version or "import"
        self.error: BaseException | None = None
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=max(1, threads))
        self.threads = [
            threading.Thread(target=self._work, name=f"member-import-{n}", daemon=True)
            for n in range(threads)
        ]

    def __enter__(self) -> BatchWriters:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None and kind is None:
            raise self.error

    def write(self, batch: Batch) -> None:
        if self.error is not None:
            raise self.error
        if not self.threads:
            self._write(batch)
            return
        self.queue.put(batch)

    def _work(self) -> None:
        try:
            while (batch := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self._write(batch)
                    except BaseException as error:  # noqa: BLE001 - handed to the reading thread
                        self.error = error
        finally:
            connections.close_all()

    def _write(self, batch: Batch) -> None:
        with transaction.atomic():
            if batch.checked:
                created, existing = write_members(
                    batch.checked, update=self.update, notice_version=self.notice_version
                )
                batch.progress.members_found(created=created, existing=existing, update=self.update)
            batch.progress.record(self.member_import)


def write_members(rows: list[CheckedRow], *, update: bool, notice_version: str) -> tuple[int, int]:
    """One batch (distinct phones): members upserted by phone, then the consents the file
    gives. Returns (members created, members that were there already)."""
    if connection.vendor == "postgresql":
        return sql.upsert_postgresql(rows, update=update, notice_version=notice_version)
    return sql.upsert_batched(rows, update=update, notice_version=notice_version)
