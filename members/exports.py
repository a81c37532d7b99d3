"""The member list as a file: CSV or Excel, of the user's filtered members, streamed.

Rows come from the database in chunks and go out as they are written, so that a state's
register (millions of rows) never sits in memory: CSV is streamed line by line, and Excel is
written by openpyxl's write-only workbook to a temporary file that is then streamed.

Formulas: a CSV cell cannot say it is text, so text a spreadsheet would run as a formula gets a
leading apostrophe there (cadreconnect.spreadsheets). An Excel cell can: every text goes out
as a text cell, as it is (a phone as +91..., no apostrophe; `=...` never a formula).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.db.models import Case, Q, Value, When
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from accounts.models import User
from cadreconnect.permissions import Action
from cadreconnect.spreadsheets import Echo, spreadsheet_safe
from members.name_search import name_search_plans
from members.selectors import MemberFilters, is_name_search, members_search

EXPORT_COLUMNS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth_code", "booth_name", "status", "verified", "joined_on",
]  # fmt: skip
CHUNK_SIZE = 2000
# Lines of CSV sent to the client at a time: one network write per line would be slow.
CSV_LINES_PER_WRITE = 500

ExportRow = tuple[object, ...]


def member_export_rows(*, user: User, filters: MemberFilters) -> Iterator[ExportRow]:
    """The user's members matching the list's filters, one tuple per member in the order of
    EXPORT_COLUMNS, without control characters (each format then writes text safely)."""
    members = members_search(
        user=user, filters=filters, action=Action.MEMBER_EXPORT
    ).values_list(
        "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
        "epic", "booth__code", "booth__name", "status",
        Case(
            When(Q(phone_verified_at__isnull=False, epic_checked_at__isnull=False),
                 then=Value("yes")),
            default=Value("no"),
        ),
        "joined_on",
    )  # fmt: skip
    with name_search_plans(enabled=is_name_search(filters)):
        for row in members.iterator(chunk_size=CHUNK_SIZE):
            yield tuple(_without_control_characters(value) for value in row)


def _without_control_characters(value: object) -> object:
    # Control characters (other than tab, LF and CR) are not allowed in the XML of a workbook:
    # openpyxl would refuse the whole file for one stray character pasted into a name. They
    # go before the formula check, so that "\x01=..." cannot turn into a formula.
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def members_csv_chunks(rows: Iterable[ExportRow]) -> Iterator[str]:
    """UTF-8 CSV text with a byte order mark (so that Excel reads Devanagari right)."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    lines: list[str] = []
    for row in rows:
        # csv writes None as an empty cell and a date as 2026-01-15.
        lines.append(writer.writerow([spreadsheet_safe(value) for value in row]))
        if len(lines) >= CSV_LINES_PER_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def members_xlsx_file(rows: Iterable[ExportRow]) -> IO[bytes]:
    """An Excel workbook of the rows in a temporary file, rewound; closing it deletes it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("members")
    sheet.append(EXPORT_COLUMNS)
    for row in rows:
        sheet.append([_xlsx_value(sheet, value) for value in row])
    # Not a context manager: the open file is the result; FileResponse closes it when sent.
    output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    try:
        workbook.save(output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output


class RowCounter:
    """Counts the rows of an export as they are written (for its audit event)."""

    def __init__(self, rows: Iterable[ExportRow]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[ExportRow]:
        for row in self.rows:
            self.count += 1
            yield row


def _xlsx_value(sheet: WriteOnlyWorksheet, value: object) -> object:
    # openpyxl makes any text that starts with "=" a formula; every other text is a text cell
    # already. A cell object per formula-like text only: one per value would cost every row.
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
