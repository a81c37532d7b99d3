"""An import's run from start to end: read the file, check each batch, write it (or, in a
dry run, count what it would do), keep the problems and the report of rows with problems."""

from __future__ import annotations

import bisect
import contextlib
import csv
import gc
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.utils.translation import gettext as _

from cadreconnect.spreadsheets import spreadsheet_safe
from members.importing.checking import (
    BOOTHS_KEPT,
    ERROR,
    WARNING,
    BoothLookup,
    CheckedRow,
    RowChecker,
    RowProblem,
    column_label,
    missing_targets,
)
from members.importing.claims import Claim, ClaimLost, Heartbeat
from members.importing.reading import ImportFileError, read_rows
from members.importing.writing import Batch, BatchWriters, Progress
from members.models import Member, MemberImport, MemberImportBatch

PROBLEMS_KEPT = 200  # of each kind (errors, warnings), for the page


def member_import_rows(
    *, member_import: MemberImport, dry_run: bool, claim: Claim, heartbeat: Heartbeat | None = None
) -> MemberImport:
    """Check (dry run) or import the whole file, batch by batch, recording progress.

    The check and the run go through the same steps (`_check_batch`), so that the run writes
    every row the check promised. The file is read and checked here while, on PostgreSQL,
    writer threads (each with its own connection) write the batches already checked: the
    database and Python work side by side.

    A run that resumes an import (after its worker died, or a failure) cuts the file into
    the same batches and skips those in the import's ledger: each row is written and counted
    once. The report of rejected rows and the problems shown keep what the written batches
    found, and go on from there.
    """
    path = Path(member_import.file.path)
    mapping = {target: int(index) for target, index in member_import.mapping.items()}
    default_booth = member_import.default_booth.code if member_import.default_booth else ""
    missing = missing_targets(mapping, default_booth=bool(default_booth))
    if missing:
        raise ImportFileError(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(column_label(target) for target in missing)},
            code="column_missing",
        )
    checker = RowChecker(mapping, default_booth=default_booth)
    booths = BoothLookup(user=member_import.created_by)
    batch_size = max(1, member_import.batch_size or settings.MEMBER_IMPORT_BATCH_SIZE)
    written = Written([] if dry_run else list(
        MemberImportBatch.objects.filter(member_import=member_import)
        .order_by("first_line").values_list("first_line", "last_line")
    ))  # fmt: skip
    problems = Problems(
        [kept for kept in member_import.problems if written.holds(kept.get("row", 0))]
    )
    rows_total = 0
    rejects_path = Path(settings.MEDIA_ROOT) / "imports" / f"{member_import.pk}-rejects.csv"
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    resuming = bool(written) and rejects_path.exists()
    if resuming:
        _rejects_keep(rejects_path, written)
    threads = settings.MEMBER_IMPORT_WRITERS if connection.vendor == "postgresql" else 0
    threads = 0 if dry_run else threads
    pause = settings.MEMBER_IMPORT_BATCH_PAUSE
    with (
        _interpreter_for_throughput(),  # first in, last out: the writers end inside it
        rejects_path.open("a" if resuming else "w", encoding="utf-8" if resuming else "utf-8-sig",
                          newline="") as rejects_file,
        BatchWriters(member_import, threads=threads, area=booths.scope, claim=claim) as writers,
        _BoothsAhead(checker, booths) if threads else contextlib.nullcontext() as ahead,
    ):  # fmt: skip
        rejects = csv.writer(rejects_file)
        if not resuming:
            rejects.writerow([spreadsheet_safe(value) for value in [
                _("row"), _("column"), _("problem"), _("outcome"), *member_import.headers
            ]])  # fmt: skip

        def to_do() -> Iterator[list[tuple[int, list[str]]]]:
            nonlocal rows_total
            for lines in _batches(read_rows(path, member_import.file_kind), batch_size):
                rows_total += len(lines)
                if not written.holds(lines[0][0]):
                    yield lines

        batches = to_do()
        if ahead is not None:
            batches = ahead.batches(batches)
        for lines in batches:
            if heartbeat is not None and heartbeat.lost.is_set():
                raise ClaimLost(member_import.pk)
            known = len(problems)
            batch = _check_batch(lines, checker, booths, rejects, problems)
            if dry_run:
                _count_as_dry_run(batch, update=writers.update)
                batch.progress.record(claim)
            else:
                writers.write(batch)
            if len(problems) != known:  # the page shows the first problems while it runs
                claim.update(problems=problems.kept)
            if pause:
                time.sleep(pause)
    member_import.rejects_file = os.path.relpath(rejects_path, settings.MEDIA_ROOT)
    member_import.rows_total = rows_total
    member_import.problems = problems.kept
    claim.update(rejects_file=member_import.rejects_file, rows_total=rows_total,
                 problems=problems.kept)  # fmt: skip
    return member_import


class Written:
    """The batches of the file already in the register: (first line, last line), in order."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges
        self.firsts = [first for first, _ in ranges]

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def holds(self, line: int) -> bool:
        at = bisect.bisect_right(self.firsts, line) - 1
        return at >= 0 and self.ranges[at][0] <= line <= self.ranges[at][1]


def _rejects_keep(path: Path, written: Written) -> None:
    """Keep, in the report of rejected rows, the header and the rows of the batches written;
    the rest is checked again (and reported again) by the resumed run."""
    kept = path.with_suffix(".kept")
    with (
        path.open(encoding="utf-8-sig", newline="") as source,
        kept.open("w", encoding="utf-8-sig", newline="") as target,
    ):
        reader, writer = csv.reader(source), csv.writer(target)
        header = next(reader, None)
        if header is not None:
            writer.writerow(header)
        for row in reader:
            if row and row[0].isdigit() and written.holds(int(row[0])):
                writer.writerow(row)
    os.replace(kept, path)


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


class Problems:
    """The first problems of each kind (errors, warnings), for the page."""

    def __init__(self, kept: list[dict] | None = None) -> None:
        self.kept: list[dict] = list(kept or [])
        self.counts = {ERROR: 0, WARNING: 0}
        for problem in self.kept:
            severity = problem.get("severity", ERROR)
            self.counts[severity] = self.counts.get(severity, 0) + 1

    def __len__(self) -> int:
        return len(self.kept)

    def keep(self, problem: RowProblem) -> None:
        if self.counts[problem.severity] < PROBLEMS_KEPT:
            self.counts[problem.severity] += 1
            self.kept.append(problem.as_dict())


GC_THRESHOLD = 100_000  # objects allocated (net) between two runs of the cyclic collector
SWITCH_INTERVAL = 0.0005  # seconds a thread keeps Python's lock while another waits for it


@contextlib.contextmanager
def _interpreter_for_throughput() -> Iterator[None]:
    """Two settings of the interpreter (the whole process's) while the rows go through,
    restored after.

    - The cyclic garbage collector runs less often. By default it runs every 700 objects
      allocated (net), which a million rows reach over a thousand times, each time walking
      every object still alive, the batches in flight among them: a fifth of the import's
      time in Python over the whole tree. Rows, checked rows and batches hold no cycles
      (reference counts free them); the collector still runs, bounding any cyclic garbage.
    - A thread waiting for Python's lock gets it sooner (0.5 ms instead of 5). A writer
      thread needs it back each time the database answers, about seven times a batch,
      while the reading thread holds it: its connection sat idle for up to 5 ms each time
      (on a busy two-core machine a statement that does nothing took 9-10 ms, 5 with this)."""
    thresholds = gc.get_threshold()
    switch_interval = sys.getswitchinterval()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)


class _BoothsAhead:
    """Looks up the booths of the next batch in a thread of its own (with its own database
    connection) while this thread checks the current one.

    Over the whole tree nearly every batch names 2,000 booths not met before (a million rows
    over 927,741 booths), and this thread, which sets the import's pace, would otherwise wait
    for them batch after batch. Only beside the writer threads, whose batches are committed
    as they go (a lookup in another connection sees committed booths only). A context
    manager, so that the thread and its connection end with the import, however it ends."""

    def __init__(self, checker: RowChecker, booths: BoothLookup) -> None:
        self.checker = checker
        self.booths = booths
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="member-import-booths")

    def __enter__(self) -> _BoothsAhead:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.pool.submit(connections.close_all)
        self.pool.shutdown(wait=True)

    def batches(
        self, batches: Iterator[list[tuple[int, list[str]]]]
    ) -> Iterator[list[tuple[int, list[str]]]]:
        """The batches, each once the booths it names are in the lookup's cache. (A code the
        bounded cache drops meanwhile is looked up again when the batch is checked.)"""
        pending = None
        for lines in batches:
            codes = self.checker.booth_codes(lines)
            ahead = (lines, self.pool.submit(self.booths.look_up, codes))
            if pending is not None:
                yield self._known(*pending)
            pending = ahead
        if pending is not None:
            yield self._known(*pending)

    def _known(self, lines, lookup: Future):
        found = self.booths.found
        found.update(lookup.result())
        if len(found) > BOOTHS_KEPT:
            # `resolve` empties the cache and looks this batch's booths up again.
            return lines
        return _Resolved(lines)


class _Resolved(list):
    """A batch whose booths are already in the lookup's cache (`_BoothsAhead`), so that
    `_check_batch` does not collect its codes a second time (over the whole tree, a set of
    2,000 codes a batch: about 3% of the reading thread's time)."""


def _check_batch(lines, checker: RowChecker, booths: BoothLookup, rejects, problems) -> Batch:
    """The batch's valid rows; its invalid ones go to the report and `problems`, and so do the
    warnings of rows that land with a field left empty. A phone seen earlier in the batch is
    refused (earlier batches' rows are simply updated or kept); so is a phone registered to a
    member outside the importer's area (one query per batch), whose member stays untouched."""
    if not isinstance(lines, _Resolved):
        booths.resolve(checker.booth_codes(lines))
    checked: list[CheckedRow] = []
    refused: list[tuple[list[str], list[RowProblem]]] = []
    seen_phones: dict[str, int] = {}
    for line, values in lines:
        result = checker(values, line, booths)
        if isinstance(result, CheckedRow):
            first = seen_phones.get(result.phone)
            if first is None:
                seen_phones[result.phone] = line
                checked.append(result)
                continue
            message = _("the same phone as row %(row)s") % {"row": first}
            result = [RowProblem(line, "phone", "phone_repeated", message)]
        refused.append((values, result))
    elsewhere = booths.members_elsewhere([row.phone for row in checked])
    if elsewhere:
        by_line = dict(lines)
        kept = []
        for row in checked:
            if row.phone in elsewhere:
                message = _("this phone is registered in another area")
                refused.append((by_line[row.line], [RowProblem(row.line, "phone", "other_area",
                                                               message)]))  # fmt: skip
            else:
                kept.append(row)
        checked = kept
        refused.sort(key=lambda item: item[1][0].row)
    warned = 0
    values_of = dict(lines) if any(row.warnings for row in checked) else {}
    for values, items in refused:
        _report(items, values, rejects, problems, outcome=_("rejected"))
    for row in checked:
        if row.warnings:
            warned += 1
            _report(row.warnings, values_of[row.line], rejects, problems,
                    outcome=_("imported without this field"))  # fmt: skip
    return Batch(checked, Progress(rows=len(lines), rejected=len(refused), warnings=warned),
                 first_line=lines[0][0], last_line=lines[-1][0])  # fmt: skip


def _report(items: list[RowProblem], values: list[str], rejects, problems: Problems, *,
            outcome: str) -> None:  # fmt: skip
    for item in items:
        rejects.writerow([spreadsheet_safe(value) for value in [
            item.row, column_label(item.column), item.message, outcome, *values
        ]])  # fmt: skip
        problems.keep(item)


def _count_as_dry_run(batch: Batch, *, update: bool) -> None:
    """What the import would do with the batch under the chosen policy. (A phone met in an
    earlier batch of the file counts as new again: the check writes nothing, and keeps no list
    of the file's phones, whose size would grow with the file.)"""
    phones = [row.phone for row in batch.checked]
    existing = Member.objects.filter(phone__in=phones).count() if phones else 0
    batch.progress.members_found(created=len(phones) - existing, existing=existing, update=update)


__all__ = ["member_import_rows"]
