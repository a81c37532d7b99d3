"""Reading member lists: what kind of file an upload is, and its rows, streamed."""

from __future__ import annotations

import codecs
import csv
import datetime
import zipfile
from collections.abc import Iterator
from pathlib import Path

from cadreconnect.exceptions import ApplicationError


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
