"""Member lists from spreadsheets: reading CSV and XLSX, mapping columns, checking each row,
and writing in batches.

Rows are streamed (memory stays flat for any file size) and written in batches, each batch in
one transaction: an import stopped half-way (a worker killed, the database gone) leaves whole
batches, never part of one, and running it again is safe (members are matched by phone). On
PostgreSQL a batch goes through COPY into a staging table and one INSERT ... ON CONFLICT;
elsewhere through one batched upsert statement. Never one ORM save per row.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import operator
import os
import queue
import threading
import zipfile
from collections import namedtuple
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from groups import selectors as group_selectors
from groups.models import Group, Kind
from members.models import Consent, Member, MemberImport
from members.validation import epic_normalise, phone_normalise

# What a column can hold, with the header names we recognise for it.
TARGETS: dict[str, tuple[str, ...]] = {
    "full_name": ("full_name", "name", "full name", "member name", "naam", "नाम"),
    "name_local": ("name_local", "local name", "name in local script", "hindi name",
                   "हिंदी नाम", "स्थानीय नाम"),
    "phone": ("phone", "mobile", "mobile number", "phone number", "contact", "मोबाइल", "फ़ोन"),
    "whatsapp_number": ("whatsapp_number", "whatsapp", "whatsapp number", "व्हाट्सऐप"),
    "email": ("email", "e-mail", "email address"),
    "gender": ("gender", "sex", "लिंग"),
    "birth_year": ("birth_year", "birth year", "year of birth", "yob"),
    "epic": ("epic", "voter id", "epic number", "voter id number", "मतदाता पहचान पत्र"),
    "booth": ("booth", "booth code", "booth_code", "बूथ"),
    "status": ("status",),
    "joined_on": ("joined_on", "joined", "joining date", "date joined"),
    "consent_whatsapp": ("consent_whatsapp", "whatsapp consent"),
    "consent_sms": ("consent_sms", "sms consent"),
}  # fmt: skip
REQUIRED_TARGETS = ("full_name", "phone", "booth")
GENDERS = {"f": "f", "female": "f", "m": "m", "male": "m", "x": "x", "other": "x", "": ""}
YES = {"yes", "y", "true", "1", "हाँ", "haan"}
NO = {"no", "n", "false", "0", "नहीं", ""}
MAX_CELL = 1000
PROBLEMS_KEPT = 200


class ImportFileError(ApplicationError):
    """The file as a whole cannot be read as a member list."""


def sniff_kind(path: Path) -> str:
    """'xlsx' or 'csv', or ImportFileError for anything else (images, PDFs, binaries)."""
    with path.open("rb") as source:
        head = source.read(64 * 1024)
    if not head:
        raise ImportFileError("The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    return "xlsx"
        except zipfile.BadZipFile as error:
            raise ImportFileError("The file looks like a damaged Excel file.") from error
        raise ImportFileError("This is a zip archive, not an Excel (.xlsx) file.")
    if b"\x00" in head:
        raise ImportFileError(
            "This is not a spreadsheet: upload a CSV file (UTF-8) or an Excel .xlsx file."
        )
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise ImportFileError(
            "The file is not UTF-8 text. Save the CSV as 'CSV UTF-8' (or upload .xlsx)."
        ) from error
    return "csv"


def read_rows(path: Path, kind: str) -> Iterator[list[str]]:
    """Every row of the file (the header first) as a list of strings, streamed."""
    if kind == "xlsx":
        import openpyxl

        # A file object, not a path: uploads are stored without their extension, which
        # openpyxl would otherwise insist on.
        with path.open("rb") as source:
            try:
                workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
            except Exception as error:
                raise ImportFileError(f"The Excel file cannot be read: {error}") from error
            try:
                sheet = workbook.worksheets[0]
                for values in sheet.iter_rows(values_only=True):
                    yield [_cell_text(value) for value in values]
            finally:
                workbook.close()
        return
    with path.open(encoding="utf-8-sig", newline="") as source:
        sample = source.read(16 * 1024)
        source.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        try:
            yield from csv.reader(source, dialect)
        except (csv.Error, UnicodeDecodeError) as error:
            raise ImportFileError(f"The file stops being readable CSV: {error}") from error


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def guess_mapping(headers: Sequence[str]) -> dict[str, int]:
    """Target field -> column index, from the header names we recognise."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = " ".join(header.strip().lower().replace("_", " ").split())
        for target, names in TARGETS.items():
            if target not in mapping and name in {n.replace("_", " ") for n in names}:
                mapping[target] = index
                break
    return mapping


@dataclass
class RowProblem:
    row: int
    column: str
    message: str


@dataclass(slots=True)
class CheckedRow:
    line: int
    phone: str
    record: tuple  # in the order of MEMBER_COLUMNS
    consent_whatsapp: bool
    consent_sms: bool


@dataclass
class BoothLookup:
    """Booth code -> (id, tree_id, state id), limited to the importer's scope; cached."""

    user: User
    found: dict[str, tuple[int, int, int | None] | None] = field(default_factory=dict)

    def resolve(self, codes: set[str]) -> None:
        """Look up the batch's new booth codes set-wise: a few queries per batch, whatever
        the number of booths."""
        missing = [code for code in codes if code and code not in self.found]
        if not missing:
            return
        scope = group_selectors.user_scope(self.user)
        booths = list(
            Group.objects.filter(code__in=missing, kind=Kind.BOOTH, is_active=True).only(
                "id", "code", "tree_id", "lft", "rght"
            )
        )
        states = _states_of_trees({booth.tree_id for booth in booths})
        for booth in booths:
            if scope.contains(booth):
                self.found[booth.code] = (booth.pk, booth.tree_id, states.get(booth.tree_id))
        for code in missing:
            self.found.setdefault(code, None)


def _states_of_trees(tree_ids: set[int]) -> dict[int, int | None]:
    """tree_id -> id of the state it belongs to: the tree's root if that is a state, else the
    root of the tree the root hangs from (see groups.models)."""
    roots = {
        tree_id: (node_id, kind, upper_id)
        for node_id, tree_id, kind, upper_id in Group.objects.filter(
            parent__isnull=True, tree_id__in=tree_ids
        ).values_list("id", "tree_id", "kind", "upper_id")
    }
    upper_trees = dict(
        Group.objects.filter(pk__in=[upper for _, _, upper in roots.values() if upper]).values_list(
            "id", "tree_id"
        )
    )
    upper_roots = {
        tree_id: (node_id, kind)
        for node_id, tree_id, kind in Group.objects.filter(
            parent__isnull=True, tree_id__in=set(upper_trees.values())
        ).values_list("id", "tree_id", "kind")
    }
    states: dict[int, int | None] = {}
    for tree_id, (node_id, kind, upper_id) in roots.items():
        if kind == Kind.STATE:
            states[tree_id] = node_id
        elif upper_id and upper_id in upper_trees:
            top_id, top_kind = upper_roots.get(upper_trees[upper_id], (None, None))
            states[tree_id] = top_id if top_kind == Kind.STATE else None
        else:
            states[tree_id] = None
    return states


_Cells = namedtuple("_Cells", list(TARGETS))
STATUSES = frozenset(Member.Status.values)


class RowChecker:
    """Checks the rows of one file against its column mapping.

    The column lookups are worked out once per file, so that a row costs a few microseconds:
    a million-row file spends seconds here, not minutes.
    """

    def __init__(self, mapping: dict[str, int]) -> None:
        self.width = max(mapping.values(), default=-1) + 1
        # A target with no column reads the padding cell after the last mapped one: always "".
        self.pick = operator.itemgetter(*(mapping.get(target, self.width) for target in TARGETS))
        self.padding = [""] * (self.width + 1)
        self.booth_index = mapping.get("booth", self.width)
        self.today = datetime.date.today()

    def booth_code(self, values: list[str]) -> str:
        return (values[self.booth_index] if self.booth_index < len(values) else "").strip().upper()

    def __call__(
        self, values: list[str], line: int, booths: BoothLookup
    ) -> CheckedRow | list[RowProblem]:
        """A CheckedRow, or the list of the row's problems (row, column, message)."""
        row = values[: self.width]
        row += self.padding[len(row) :]
        cells = [value.strip() for value in self.pick(row)]
        if max(map(len, cells)) > MAX_CELL:
            return [
                RowProblem(line, target, f"longer than {MAX_CELL} characters")
                for target, value in zip(TARGETS, cells, strict=True)
                if len(value) > MAX_CELL
            ]
        cell = _Cells._make(cells)
        problems: list[RowProblem] = []
        if not cell.full_name:
            problems.append(RowProblem(line, "full_name", "the name is empty"))
        elif len(cell.full_name) > 200:
            problems.append(RowProblem(line, "full_name", "the name is longer than 200 characters"))
        phone = whatsapp = epic = ""
        try:
            phone = phone_normalise(cell.phone)
        except ValidationError as error:
            problems.append(RowProblem(line, "phone", " ".join(error.messages)))
        if cell.whatsapp_number:
            try:
                whatsapp = phone_normalise(cell.whatsapp_number)
            except ValidationError as error:
                problems.append(RowProblem(line, "whatsapp_number", " ".join(error.messages)))
        if cell.epic:
            try:
                epic = epic_normalise(cell.epic)
            except ValidationError as error:
                problems.append(RowProblem(line, "epic", " ".join(error.messages)))
        if cell.email:
            try:
                validate_email(cell.email)
            except ValidationError:
                problems.append(
                    RowProblem(line, "email", f"“{cell.email[:60]}” is not an e-mail address")
                )
        gender = GENDERS.get(cell.gender.lower())
        if gender is None:
            problems.append(RowProblem(line, "gender", "use female, male or other"))
        birth_year = None
        if cell.birth_year:
            year = cell.birth_year
            if not year.isdigit() or not 1900 <= int(year) <= self.today.year:
                problems.append(RowProblem(
                    line, "birth_year", f"“{year[:10]}” is not a year between 1900 and this year"
                ))  # fmt: skip
            else:
                birth_year = int(year)
        status = cell.status.lower() or Member.Status.ACTIVE
        if status not in STATUSES:
            problems.append(
                RowProblem(line, "status", f"use one of {', '.join(Member.Status.values)}")
            )
        joined_on = self.today
        if cell.joined_on:
            try:
                joined_on = datetime.date.fromisoformat(cell.joined_on[:10])
            except ValueError:
                problems.append(RowProblem(
                    line, "joined_on", f"“{cell.joined_on[:20]}” is not a date like 2024-03-31"
                ))  # fmt: skip
        booth_code = cell.booth.upper()
        booth = booths.found.get(booth_code) if booth_code else None
        if not booth_code:
            problems.append(RowProblem(line, "booth", "the booth code is empty"))
        elif booth is None:
            problems.append(
                RowProblem(line, "booth", f"no active booth {booth_code[:40]} in your area")
            )
        consents = []
        for target, answer in (("consent_whatsapp", cell.consent_whatsapp.lower()),
                               ("consent_sms", cell.consent_sms.lower())):  # fmt: skip
            if answer in YES:
                consents.append(True)
            elif answer in NO:
                consents.append(False)
            else:
                problems.append(RowProblem(line, target, "answer yes or no"))
        if problems:
            return problems
        booth_id, tree_id, state_id = booth
        record = (cell.full_name, cell.name_local[:200], phone, whatsapp, cell.email, gender,
                  birth_year, epic, booth_id, tree_id, state_id, status, joined_on)  # fmt: skip
        return CheckedRow(line, phone, record, *consents)


# The order of CheckedRow.record.
MEMBER_COLUMNS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth_id", "tree_id", "state_id", "status", "joined_on",
]  # fmt: skip
UPDATED_ON_CONFLICT = [c for c in MEMBER_COLUMNS if c != "phone"]
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


def _copy_to_staging(cursor, rows: list[CheckedRow]) -> None:
    """COPY the batch into member_staging. Strings are quoted, numbers not; a None becomes a
    quoted empty string, which FORCE_NULL reads as NULL in the columns that may be NULL."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(
        (*row.record, row.consent_whatsapp, row.consent_sms) for row in rows
    )
    buffer.seek(0)
    columns = ", ".join([*MEMBER_COLUMNS, "consent_whatsapp", "consent_sms"])
    cursor.cursor.copy_expert(
        f"COPY member_staging ({columns}) FROM STDIN WITH (FORMAT csv,"
        " FORCE_NULL (birth_year, state_id))",
        buffer,
    )


STAGING_TABLE_SQL = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS member_staging ON COMMIT DELETE ROWS AS"
    f" SELECT {', '.join(MEMBER_COLUMNS)}, FALSE AS consent_whatsapp, FALSE AS consent_sms"
    " FROM members_member WITH NO DATA"
)


def write_members(rows: list[CheckedRow], *, update: bool, notice_version: str) -> tuple[int, int]:
    """One batch (distinct phones): members upserted by phone, then the consents the file
    gives. Returns (members created, members that were there already)."""
    now = timezone.now()
    conflict = (
        "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_CONFLICT)
        + ", updated_at = EXCLUDED.updated_at"
        if update else "DO NOTHING"
    )  # fmt: skip
    columns = ", ".join(MEMBER_COLUMNS)
    extra = "languages, skills, social_handles, notes, created_at, updated_at"
    purposes = (Consent.Purpose.WHATSAPP, Consent.Purpose.SMS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A batch lost to a crash in the instant after its commit is lost whole, with its
            # progress counts: the import is re-run to finish. Not waiting for the disk on
            # each commit is worth that.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(STAGING_TABLE_SQL)
            _copy_to_staging(cursor, rows)
            # Consents go in with the members they belong to, joined to what the INSERT
            # returns (no index lookup per row); members the batch did not write (kept as
            # they were under the "skip" policy) are looked up by phone afterwards.
            # Rows are sorted by phone, so that two batches meeting the same phones take their
            # row locks in the same order (no deadlock between parallel writers).
            consent_sql = (
                "INSERT INTO members_consent (member_id, purpose, source, notice_version,"
                " granted_at) SELECT m.id, p.purpose, %s, %s, %s FROM member_staging s"
                " JOIN {members} m ON m.phone = s.phone CROSS JOIN LATERAL"
                " (VALUES (%s, s.consent_whatsapp), (%s, s.consent_sms)) AS p (purpose, wanted)"
                " WHERE p.wanted ORDER BY s.phone, p.purpose"
                " ON CONFLICT (member_id, purpose) WHERE withdrawn_at IS NULL DO NOTHING"
            )
            consent_params = [Consent.Source.IMPORT, notice_version, now, *purposes]
            cursor.execute(
                f"WITH written AS (INSERT INTO members_member ({columns}, {extra})"
                f" SELECT {columns}, '[]', '[]', '{{}}', '', %s, %s FROM member_staging"
                f" ORDER BY phone ON CONFLICT (phone) {conflict}"
                " RETURNING id, phone, xmax = 0 AS created),"
                f" consents AS ({consent_sql.format(members='written')})"
                " SELECT COUNT(*) FILTER (WHERE created) FROM written",
                [now, now, *consent_params],
            )
            created = cursor.fetchone()[0]
            kept = len(rows) - created
            if not update and kept and any(row.consent_whatsapp or row.consent_sms for row in rows):
                cursor.execute(consent_sql.format(members="members_member"), consent_params)
            return created, len(rows) - created
        phones = [row.phone for row in rows]
        existing = Member.objects.filter(phone__in=phones).count()
        placeholders = ", ".join(["%s"] * (len(MEMBER_COLUMNS) + 6))
        cursor.executemany(
            f"INSERT INTO members_member ({columns}, {extra}) VALUES ({placeholders})"
            f" ON CONFLICT (phone) {conflict}",
            [(*row.record, "[]", "[]", "{}", "", now, now) for row in rows],
        )
        for purpose, wanted in zip(purposes, ("consent_whatsapp", "consent_sms"), strict=True):
            chosen = [row.phone for row in rows if getattr(row, wanted)]
            if not chosen:
                continue
            # The WHERE also settles SQLite's reading of INSERT ... SELECT ... ON CONFLICT.
            placeholders = ", ".join(["%s"] * len(chosen))
            cursor.execute(
                "INSERT INTO members_consent (member_id, purpose, source, notice_version,"
                " granted_at) SELECT id, %s, %s, %s, %s FROM members_member"
                f" WHERE phone IN ({placeholders})"
                " ON CONFLICT (member_id, purpose) WHERE withdrawn_at IS NULL DO NOTHING",
                [purpose, Consent.Source.IMPORT, notice_version, now, *chosen],
            )
        return len(rows) - existing, existing


def file_headers(path: Path, kind: str, *, samples: int = 5) -> tuple[list[str], list[list[str]]]:
    """The header row and a few rows, for the mapping step."""
    rows = read_rows(path, kind)
    header = next(rows, None)
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError("The first row must name the columns (name, phone, booth, ...).")
    sample = []
    for values in rows:
        sample.append(values)
        if len(sample) == samples:
            break
    return [cell.strip()[:100] for cell in header], sample


def count_rows(path: Path, kind: str) -> int:
    """About how many data rows the file has, for the progress bar, read fast: the lines of a
    CSV file (a cell holding a line break makes it count one more), the size an Excel sheet
    declares. The import records the exact number when it ends."""
    if kind == "xlsx":
        import openpyxl

        with path.open("rb") as source:
            try:
                workbook = openpyxl.load_workbook(source, read_only=True)
                declared = workbook.worksheets[0].max_row
                workbook.close()
            except Exception:  # noqa: BLE001 - the import itself reports what is wrong
                declared = None
        if declared:
            return max(0, declared - 1)
        return max(0, sum(1 for _ in read_rows(path, kind)) - 1)
    lines = 0
    last = b"\n"
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # the last line has no line break
    return max(0, lines - 1)
