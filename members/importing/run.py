"""An import's run from start to end: read the file, check each batch, write it (or, in a
dry run, count what it would do), keep the problems and the rejected rows."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

from members.importing.checking import (
    REQUIRED_TARGETS,
    BoothLookup,
    CheckedRow,
    RowChecker,
    RowProblem,
)
from members.importing.reading import ImportFileError, read_rows
from members.importing.writing import Batch, BatchWriters, Progress
from members.models import Member, MemberImport

PROBLEMS_KEPT = 200


def member_import_rows(*, member_import: MemberImport, dry_run: bool) -> MemberImport:
    """Check (dry run) or import the whole file, batch by batch, recording progress.

    The file is read and checked here while, on PostgreSQL, writer threads (each with its own
    connection) write the batches already checked: the database and Python work side by side.
    """
    path = Path(member_import.file.path)
    mapping = {target: int(index) for target, index in member_import.mapping.items()}
    missing = [target for target in REQUIRED_TARGETS if target not in mapping]
    if missing:
        raise ImportFileError(f"Choose a column for: {', '.join(missing)}.")
    checker = RowChecker(mapping)
    booths = BoothLookup(user=member_import.created_by)
    batch_size = max(1, settings.MEMBER_IMPORT_BATCH_SIZE)
    problems: list[dict] = []
    rows_total = 0
    rejects_path = Path(settings.MEDIA_ROOT) / "imports" / f"{member_import.pk}-rejects.csv"
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    threads = settings.MEMBER_IMPORT_WRITERS if connection.vendor == "postgresql" else 0
    with (
        rejects_path.open("w", encoding="utf-8-sig", newline="") as rejects_file,
        BatchWriters(member_import, threads=0 if dry_run else threads) as writers,
    ):
        rejects = csv.writer(rejects_file)
        rejects.writerow(["row", "column", "problem", *member_import.headers])
        for lines in _batches(read_rows(path, member_import.file_kind), batch_size):
            rows_total += len(lines)
            known = len(problems)
            batch = _check_batch(lines, checker, booths, rejects, problems)
            if dry_run:
                _count_as_dry_run(batch, update=writers.update)
                batch.progress.record(member_import)
            else:
                writers.write(batch)
            if len(problems) != known:  # the page shows the first problems while it runs
                MemberImport.objects.filter(pk=member_import.pk).update(problems=problems)
    member_import.rejects_file = os.path.relpath(rejects_path, settings.MEDIA_ROOT)
    member_import.rows_total = rows_total
    member_import.problems = problems
    member_import.save(update_fields=["rejects_file", "rows_total", "problems"])
    return member_import


def _batches(rows: Iterator[list[str]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    """(line, values) of the non-empty rows after the header, `size` at a time."""
    next(rows, None)  # the header
    batch: list[tuple[int, list[str]]] = []
    for line, values in enumerate(rows, start=2):
        if not "".join(values).strip():
            continue
        batch.append((line, values))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_batch(lines, checker: RowChecker, booths: BoothLookup, rejects, problems) -> Batch:
    """The batch's valid rows; its invalid ones go to the rejects file and `problems`. A phone
    seen earlier in the batch is refused (earlier batches' rows are simply updated or kept)."""
    booths.resolve({checker.booth_code(values) for _, values in lines})
    checked: list[CheckedRow] = []
    seen_phones: dict[str, int] = {}
    rejected = 0
    for line, values in lines:
        result = checker(values, line, booths)
        if isinstance(result, CheckedRow):
            first = seen_phones.get(result.phone)
            if first is None:
                seen_phones[result.phone] = line
                checked.append(result)
                continue
            result = [RowProblem(line, "phone", f"the same phone as row {first}")]
        rejected += 1
        for item in result:
            rejects.writerow([item.row, item.column, item.message, *values])
            if len(problems) < PROBLEMS_KEPT:
                problems.append({"row": item.row, "column": item.column, "message": item.message})
    return Batch(checked, Progress(rows=len(lines), rejected=rejected))


def _count_as_dry_run(batch: Batch, *, update: bool) -> None:
    """What the import would do with the batch under the chosen policy. (A phone met in an
    earlier batch of the file counts as new again: the check writes nothing, and keeps no list
    of the file's phones, whose size would grow with the file.)"""
    phones = [row.phone for row in batch.checked]
    existing = Member.objects.filter(phone__in=phones).count() if phones else 0
    batch.progress.members_found(created=len(phones) - existing, existing=existing, update=update)
