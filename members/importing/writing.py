"""Writing checked rows in batches, each batch in one transaction with its progress counts and
its line in the import's ledger (MemberImportBatch), by writer threads side by side on
PostgreSQL."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from django.db import connection, connections, transaction
from django.db.models import F

from groups.selectors import Scope
from members.importing import sql
from members.importing.checking import CheckedRow
from members.importing.claims import Claim
from members.models import MemberImport, MemberImportBatch

PROGRESS_FIELDS = ("rows_processed", "created_count", "updated_count", "skipped_count",
                   "rejected_count", "warning_count")  # fmt: skip


@dataclass
class Progress:
    """What a batch adds to the import's counts."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    warnings: int = 0  # rows landed with a field left empty

    def members_found(self, *, created: int, existing: int, update: bool) -> None:
        """Members the batch created, and those it met already there: updated or kept as
        they were, by the import's policy."""
        self.created = created
        if update:
            self.updated = existing
        else:
            self.skipped = existing

    def record(self, claim: Claim) -> None:
        """Add to the import's counts in the database (within the batch's transaction), if the
        run still holds its claim; ClaimLost (the batch rolls back) if not."""
        values = (self.rows, self.created, self.updated, self.skipped, self.rejected,
                  self.warnings)  # fmt: skip
        claim.update(**{
            name: F(name) + value for name, value in zip(PROGRESS_FIELDS, values, strict=True)
        })  # fmt: skip


@dataclass
class Batch:
    checked: list[CheckedRow]
    progress: Progress
    first_line: int = 0  # the file's lines the batch covers (a resumed run skips them)
    last_line: int = 0


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

    def __init__(
        self, member_import: MemberImport, *, threads: int, area: Scope, claim: Claim
    ) -> None:
        self.member_import = member_import
        self.claim = claim
        self.area = area
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
        batch.checked = sql.staged(batch.checked)  # its COPY data, made in this thread
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
                    batch.checked, update=self.update, notice_version=self.notice_version,
                    member_import_id=self.member_import.pk, area=self.area,
                )  # fmt: skip
                batch.progress.members_found(created=created, existing=existing, update=self.update)
            # Last, so that the writers wait on the import's row only at their commits; the
            # pair (import, first line) is unique: a batch is never written twice.
            batch.progress.record(self.claim)
            MemberImportBatch.objects.create(
                member_import_id=self.member_import.pk, first_line=batch.first_line,
                last_line=batch.last_line,
            )  # fmt: skip


def write_members(
    rows: list[CheckedRow], *, update: bool, notice_version: str, member_import_id: int | None,
    area: Scope,
) -> tuple[int, int]:  # fmt: skip
    """One batch (distinct phones, none of a member outside `area`: the check refused those):
    members upserted by phone, then the consents the file gives to the members the batch
    created or (policy "update") changed; a member kept as it was ("skip") gets nothing, not
    even a consent. Each member written is marked with the import (`last_import`). An
    existing member outside `area` (registered there since the check) is never changed.
    Returns (members created, members that were there already)."""
    upsert = sql.upsert_postgresql if connection.vendor == "postgresql" else sql.upsert_batched
    return upsert(rows, update=update, notice_version=notice_version,
                  member_import_id=member_import_id, area=area)  # fmt: skip
