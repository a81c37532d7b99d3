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
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from groups import selectors as group_selectors
from groups.models import Group, Kind
from groups.tree import copy_rows
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


@dataclass
class CheckedRow:
    line: int
    fields: dict
    consents: list[str]


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


def check_row(values: list[str], line: int, mapping: dict[str, int], booths: BoothLookup):
    """Validate one row: a CheckedRow, or the list of its problems (column, message)."""
    problems: list[RowProblem] = []

    def cell(target: str) -> str:
        index = mapping.get(target)
        if index is None or index >= len(values):
            return ""
        return (values[index] or "").strip()

    def problem(column: str, message: str) -> None:
        problems.append(RowProblem(line, column, message))

    fields: dict = {}
    for target in TARGETS:
        if len(cell(target)) > MAX_CELL:
            problem(target, f"longer than {MAX_CELL} characters")
    if problems:
        return problems
    name = cell("full_name")
    if not name:
        problem("full_name", "the name is empty")
    elif len(name) > 200:
        problem("full_name", "the name is longer than 200 characters")
    fields["full_name"] = name
    fields["name_local"] = cell("name_local")[:200]
    for target, required in (("phone", True), ("whatsapp_number", False)):
        raw = cell(target)
        if not raw and not required:
            fields[target] = ""
            continue
        try:
            fields[target] = phone_normalise(raw)
        except ValidationError as error:
            problem(target, " ".join(error.messages))
    try:
        fields["epic"] = epic_normalise(cell("epic"))
    except ValidationError as error:
        problem("epic", " ".join(error.messages))
    email = cell("email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problem("email", f"“{email[:60]}” is not an e-mail address")
    fields["email"] = email
    gender = GENDERS.get(cell("gender").lower())
    if gender is None:
        problem("gender", "use female, male or other")
    fields["gender"] = gender or ""
    year = cell("birth_year")
    fields["birth_year"] = None
    if year:
        if not year.isdigit() or not 1900 <= int(year) <= datetime.date.today().year:
            problem("birth_year", f"“{year[:10]}” is not a year between 1900 and this year")
        else:
            fields["birth_year"] = int(year)
    status = cell("status").lower() or Member.Status.ACTIVE
    if status not in Member.Status.values:
        problem("status", f"use one of {', '.join(Member.Status.values)}")
    fields["status"] = status
    joined = cell("joined_on")
    fields["joined_on"] = datetime.date.today()
    if joined:
        try:
            fields["joined_on"] = datetime.date.fromisoformat(joined[:10])
        except ValueError:
            problem("joined_on", f"“{joined[:20]}” is not a date like 2024-03-31")
    booth_code = cell("booth").upper()
    booth = booths.found.get(booth_code) if booth_code else None
    if not booth_code:
        problem("booth", "the booth code is empty")
    elif booth is None:
        problem("booth", f"no active booth {booth_code[:40]} in your area")
    else:
        fields["booth_id"], fields["tree_id"], fields["state_id"] = booth
    consents = []
    for target, purpose in (("consent_whatsapp", "whatsapp"), ("consent_sms", "sms")):
        answer = cell(target).lower()
        if answer in YES:
            consents.append(purpose)
        elif answer not in NO:
            problem(target, "answer yes or no")
    if problems:
        return problems
    return CheckedRow(line, fields, consents)


MEMBER_COLUMNS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth_id", "tree_id", "state_id", "status", "joined_on",
]  # fmt: skip
UPDATED_ON_CONFLICT = [c for c in MEMBER_COLUMNS if c != "phone"]


def member_import_rows(*, member_import: MemberImport, dry_run: bool) -> MemberImport:
    """Check (dry run) or import the whole file, batch by batch, recording progress."""
    path = Path(member_import.file.path)
    mapping = {target: int(index) for target, index in member_import.mapping.items()}
    missing = [target for target in REQUIRED_TARGETS if target not in mapping]
    if missing:
        raise ImportFileError(f"Choose a column for: {', '.join(missing)}.")
    booths = BoothLookup(user=member_import.created_by)
    batch_size = max(1, settings.MEMBER_IMPORT_BATCH_SIZE)
    counts = {"rows": 0, "created": 0, "updated": 0, "skipped": 0, "rejected": 0}
    problems: list[dict] = []
    rejects_path = Path(settings.MEDIA_ROOT) / "imports" / f"{member_import.pk}-rejects.csv"
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    with rejects_path.open("w", encoding="utf-8-sig", newline="") as rejects_file:
        rejects = csv.writer(rejects_file)
        rejects.writerow(["row", "column", "problem", *member_import.headers])
        rows = read_rows(path, member_import.file_kind)
        next(rows, None)  # the header
        batch: list[tuple[int, list[str]]] = []
        line = 1
        for values in rows:
            line += 1
            if not any((value or "").strip() for value in values):
                continue
            batch.append((line, values))
            if len(batch) == batch_size:
                _process_batch(member_import, batch, mapping, booths, counts, problems,
                               rejects, dry_run)  # fmt: skip
                batch = []
        if batch:
            _process_batch(member_import, batch, mapping, booths, counts, problems, rejects,
                           dry_run)  # fmt: skip
    member_import.rejects_file = os.path.relpath(rejects_path, settings.MEDIA_ROOT)
    member_import.rows_total = counts["rows"]
    member_import.save(update_fields=["rejects_file", "rows_total"])
    return member_import


def _process_batch(member_import, batch, mapping, booths, counts, problems, rejects, dry_run):
    booths.resolve({
        (values[mapping["booth"]] if mapping["booth"] < len(values) else "").strip().upper()
        for _, values in batch
    })  # fmt: skip
    checked: list[CheckedRow] = []
    seen_phones: dict[str, int] = {}
    for line, values in batch:
        result = check_row(values, line, mapping, booths)
        if isinstance(result, CheckedRow) and result.fields["phone"] in seen_phones:
            first = seen_phones[result.fields["phone"]]
            result = [RowProblem(line, "phone", f"the same phone as row {first}")]
        if isinstance(result, CheckedRow):
            seen_phones[result.fields["phone"]] = line
            checked.append(result)
        else:
            counts["rejected"] += 1
            for item in result:
                rejects.writerow([item.row, item.column, item.message, *values])
                if len(problems) < PROBLEMS_KEPT:
                    problems.append({"row": item.row, "column": item.column,
                                     "message": item.message})  # fmt: skip
    existing = set(
        Member.objects.filter(phone__in=[row.fields["phone"] for row in checked]).values_list(
            "phone", flat=True
        )
    )
    new_rows = sum(1 for row in checked if row.fields["phone"] not in existing)
    counts["created"] += new_rows
    if member_import.policy == MemberImport.Policy.UPDATE:
        counts["updated"] += len(checked) - new_rows
    else:
        counts["skipped"] += len(checked) - new_rows
    counts["rows"] += len(batch)
    with transaction.atomic():
        if not dry_run and checked:
            _write(checked, update=member_import.policy == MemberImport.Policy.UPDATE,
                   notice_version=member_import.notice_version or "import")  # fmt: skip
        MemberImport.objects.filter(pk=member_import.pk).update(
            rows_processed=counts["rows"], created_count=counts["created"],
            updated_count=counts["updated"], skipped_count=counts["skipped"],
            rejected_count=counts["rejected"], problems=problems,
        )  # fmt: skip


def _write(rows: list[CheckedRow], *, update: bool, notice_version: str) -> None:
    """One batch: members upserted by phone, then the consents the file gives."""
    now = timezone.now()
    records = [tuple(row.fields.get(column) for column in MEMBER_COLUMNS) for row in rows]
    conflict = (
        "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_CONFLICT)
        + ", updated_at = EXCLUDED.updated_at"
        if update else "DO NOTHING"
    )  # fmt: skip
    columns = ", ".join([*MEMBER_COLUMNS, "languages", "skills", "social_handles", "notes",
                         "created_at", "updated_at"])  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE member_staging (LIKE members_member INCLUDING DEFAULTS)"
                " ON COMMIT DROP"
            )
            copy_rows(
                cursor, "member_staging",
                [*MEMBER_COLUMNS, "languages", "skills", "social_handles", "notes",
                 "created_at", "updated_at", "id"],
                ((*record, "[]", "[]", "{}", "", now, now, 0) for record in records),
            )  # fmt: skip
            cursor.execute(
                f"INSERT INTO members_member ({columns}) SELECT {columns} FROM member_staging"
                f" ON CONFLICT (phone) {conflict}"
            )
            cursor.execute("DROP TABLE member_staging")
        else:
            placeholders = ", ".join(["%s"] * (len(MEMBER_COLUMNS) + 6))
            cursor.executemany(
                f"INSERT INTO members_member ({columns}) VALUES ({placeholders})"
                f" ON CONFLICT (phone) {conflict}",
                [(*record, "[]", "[]", "{}", "", now, now) for record in records],
            )
        for purpose in (Consent.Purpose.WHATSAPP, Consent.Purpose.SMS):
            phones = [row.fields["phone"] for row in rows if purpose in row.consents]
            if not phones:
                continue
            # One statement per purpose and batch; the WHERE also settles SQLite's reading of
            # INSERT ... SELECT ... ON CONFLICT.
            placeholders = ", ".join(["%s"] * len(phones))
            statement = (
                "INSERT INTO members_consent (member_id, purpose, source, notice_version,"
                " granted_at) SELECT id, %s, %s, %s, %s FROM members_member"
                f" WHERE phone IN ({placeholders})"
                " ON CONFLICT (member_id, purpose) WHERE withdrawn_at IS NULL DO NOTHING"
            )
            cursor.execute(
                statement, [purpose, Consent.Source.IMPORT, notice_version, now, *phones]
            )


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
    """Data rows in the file (for the progress bar), streamed."""
    return max(0, sum(1 for _ in read_rows(path, kind)) - 1)
