"""Reading member lists: what kind of file an upload is, and its rows, streamed and bounded.

The web request only stores an upload and sniffs it (`sniff_kind`: its first bytes and, for a
zip, the directory at its end). Everything else is read by the worker, through readers that
hold a bounded amount in memory whatever the file claims about itself: a CSV line by line (a
line no longer than the columns and cells allowed), an .xlsx by unpacking its parts ourselves
and counting the real unpacked bytes (a zip's sizes are what its maker wrote, not what it
holds) and parsing them as a stream with expat. openpyxl is not used for reading: it holds
every shared string at once and trusts the sheet's <dimension>, which a hostile file omits.
"""

from __future__ import annotations

import array
import codecs
import contextlib
import csv
import datetime
import re
import struct
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from cadreconnect.exceptions import ApplicationError


class ImportFileError(ApplicationError):
    """The file as a whole cannot be read as a member list (or is over a limit)."""

    def __init__(self, message: str, *, code: str = "file_invalid", **params: object) -> None:
        super().__init__(message, code=code, extra=params)


@dataclass(frozen=True)
class Limits:
    """What a member list may hold (settings MEMBER_IMPORT_*, see .env.example)."""

    rows: int
    columns: int
    cell_chars: int
    sheet_bytes: int
    shared_strings_bytes: int
    ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            rows=settings.MEMBER_IMPORT_MAX_ROWS,
            columns=settings.MEMBER_IMPORT_MAX_COLUMNS,
            cell_chars=settings.MEMBER_IMPORT_MAX_CELL_CHARS,
            sheet_bytes=settings.MEMBER_IMPORT_XLSX_MAX_SHEET_BYTES,
            shared_strings_bytes=settings.MEMBER_IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES,
            ratio=settings.MEMBER_IMPORT_XLSX_MAX_RATIO,
        )


def _too_many_rows(limits: Limits) -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)s rows: split it into smaller files.")
        % {"limit": f"{limits.rows:,}"},
        code="too_many_rows",
        limit=limits.rows,
    )


def _too_many_columns(limits: Limits) -> ImportFileError:
    return ImportFileError(
        _(
            "The file has more than %(limit)s columns: keep only the columns of the member "
            "list (name, phone, booth, ...)."
        )
        % {"limit": limits.columns},
        code="too_many_columns",
        limit=limits.columns,
    )


def _damaged() -> ImportFileError:
    return ImportFileError(_("The file looks like a damaged Excel file."), code="xlsx_damaged")


# --- Sniffing (the web request) ------------------------------------------------------------

ZIP_MAX_ENTRIES = 10_000  # a workbook has a few dozen parts; each entry costs memory to list
ZIP_MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
_END_OF_DIRECTORY = b"PK\x05\x06"


def sniff_kind(path: Path) -> str:
    """'xlsx' or 'csv', or ImportFileError for anything else (images, PDFs, binaries, zip
    archives that are not workbooks, workbooks whose parts say they are over the limits).
    Reads the first 64 KB and, for a zip, its directory: cheap for any file size."""
    with path.open("rb") as source:
        head = source.read(64 * 1024)
    if not head:
        raise ImportFileError(_("The file is empty."), code="file_empty")
    if head.startswith(b"PK\x03\x04"):
        _check_zip_directory(path, Limits.from_settings())
        return "xlsx"
    if b"\x00" in head:
        raise ImportFileError(
            _("This is not a spreadsheet: upload a CSV file (UTF-8) or an Excel .xlsx file."),
            code="not_a_spreadsheet",
        )
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _("The file is not UTF-8 text. Save the CSV as 'CSV UTF-8' (or upload .xlsx)."),
            code="not_utf8",
        ) from error
    return "csv"


def _check_zip_directory(path: Path, limits: Limits) -> None:
    """The zip's directory, read from its end record before zipfile lists it (a directory of
    millions of entries would take gigabytes to list), then the parts a workbook needs. The
    sizes it declares are checked too, to refuse an honest oversized file at once; the worker
    counts the real bytes anyway."""
    size = path.stat().st_size
    with path.open("rb") as source:
        source.seek(max(0, size - (65_536 + 22)))
        tail = source.read()
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or len(tail) - at < 22:
        raise _damaged()
    _sig, _disk, _start_disk, _here, entries, directory_bytes, _offset, _comment = struct.unpack(
        "<4s4H2LH", tail[at : at + 22]
    )
    if entries > ZIP_MAX_ENTRIES or directory_bytes > ZIP_MAX_DIRECTORY_BYTES:
        raise ImportFileError(
            _("This zip archive has too many parts to be an Excel (.xlsx) file."),
            code="xlsx_too_many_parts",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _damaged() from error
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise ImportFileError(
            _("This is a zip archive, not an Excel (.xlsx) file."), code="not_xlsx"
        )
    for info in infos:
        if info.filename.startswith("xl/worksheets/"):
            _refuse_size(info.file_size, limits.sheet_bytes, shared=False)
        elif info.filename == "xl/sharedStrings.xml":
            _refuse_size(info.file_size, limits.shared_strings_bytes, shared=True)
        else:
            continue
        if info.file_size > RATIO_FROM_BYTES and info.file_size > limits.ratio * max(
            1, info.compress_size
        ):
            raise _packed_too_tight(limits)


def _refuse_size(unpacked: int, limit: int, *, shared: bool) -> None:
    if unpacked > limit:
        raise _size_error(limit, shared=shared)


def _size_error(limit: int, *, shared: bool) -> ImportFileError:
    if shared:
        message = _(
            "The Excel file's texts unpack to more than %(limit)s MB: save the sheet as CSV "
            "UTF-8 and upload that, or split the file."
        )
        code = "xlsx_shared_strings_too_large"
    else:
        message = _(
            "The Excel sheet unpacks to more than %(limit)s MB: save it as CSV UTF-8 and "
            "upload that, or split the file."
        )
        code = "xlsx_sheet_too_large"
    return ImportFileError(message % {"limit": f"{limit / 1_048_576:,.0f}"}, code=code, limit=limit)


def _packed_too_tight(limits: Limits) -> ImportFileError:
    return ImportFileError(
        _(
            "The Excel file unpacks to more than %(ratio)s times its size, which spreadsheets "
            "never do (a 'zip bomb'): it is refused."
        )
        % {"ratio": limits.ratio},
        code="xlsx_compression_ratio",
        limit=limits.ratio,
    )


# --- Rows (the worker) ---------------------------------------------------------------------


def read_rows(path: Path, kind: str, limits: Limits | None = None) -> Iterator[list[str]]:
    """Every row of the file (the header first) as a list of strings, streamed. Raises
    ImportFileError as soon as the file goes over a limit. A cell longer than the limit is cut
    one character after it (so that the check can say it is too long) rather than held."""
    limits = limits or Limits.from_settings()
    if kind == "xlsx":
        return _xlsx_rows(path, limits)
    return _csv_rows(path, limits)


def _csv_rows(path: Path, limits: Limits) -> Iterator[list[str]]:
    # The longest line a row within the limits can take (quotes and separators included);
    # reading a longer one would hold it whole.
    longest = limits.columns * (limits.cell_chars + 3) + 2
    with path.open(encoding="utf-8-sig", newline="") as source:
        try:
            sample = source.read(16 * 1024)
            source.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel

            def lines() -> Iterator[str]:
                readline = source.readline
                while line := readline(longest + 1):
                    if len(line) > longest:
                        columns = next(csv.reader([line], dialect), [])
                        if len(columns) > limits.columns:
                            raise _too_many_columns(limits)
                        raise ImportFileError(
                            _("A row of the file is longer than %(limit)s characters.")
                            % {"limit": f"{longest:,}"},
                            code="row_too_long",
                            limit=longest,
                        )
                    yield line

            most_rows, most_columns = limits.rows, limits.columns
            for number, values in enumerate(csv.reader(lines(), dialect)):
                if number > most_rows:
                    raise _too_many_rows(limits)
                if len(values) > most_columns:
                    while values and not values[-1]:
                        values.pop()  # trailing separators are not columns
                    if len(values) > limits.columns:
                        raise _too_many_columns(limits)
                yield values
        except (csv.Error, UnicodeDecodeError) as error:
            raise ImportFileError(
                _("The file stops being readable CSV: %(error)s") % {"error": error},
                code="csv_unreadable",
            ) from error


# .xlsx ---------------------------------------------------------------------------------------

UNPACK_CHUNK = 1 << 20  # unpacked bytes handed to the parser at a time
RATIO_FROM_BYTES = 2 * 1024 * 1024  # small parts may pack tightly; a bomb is big unpacked
SMALL_PART_BYTES = 16 * 1024 * 1024  # workbook.xml, its relations, styles
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Number formats Excel builds in that show dates (ids 14-22, 27-36, 45-47, 50-58).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_EMPTY_ROW: list[str] = []  # shared by every empty row (never changed by the readers' users)
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _unpacked(path: Path, info: zipfile.ZipInfo, *, limit: int, limits: Limits,
              too_large: Callable[[], ImportFileError]) -> Iterator[bytes]:  # fmt: skip
    """The part's bytes, unpacked a chunk at a time from its raw data: counts what it really
    unpacks (refused past `limit`) against what it has read (refused past the ratio)."""
    if info.flag_bits & 0x1:
        raise ImportFileError(
            _("The Excel file is protected with a password: save it without one."),
            code="xlsx_encrypted",
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged()
    with path.open("rb") as source:
        source.seek(info.header_offset)
        header = source.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise _damaged()
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        source.seek(info.header_offset + 30 + name_length + extra_length)
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        left = info.compress_size
        read = produced = 0
        while True:
            if inflater is not None and inflater.unconsumed_tail:
                out = inflater.decompress(inflater.unconsumed_tail, UNPACK_CHUNK)
            elif left > 0:
                packed = source.read(min(64 * 1024, left))
                if not packed:
                    raise _damaged()
                left -= len(packed)
                read += len(packed)
                try:
                    out = packed if inflater is None else inflater.decompress(packed, UNPACK_CHUNK)
                except zlib.error as error:
                    raise _damaged() from error
            else:
                break
            produced += len(out)
            if produced > limit:
                raise too_large()
            used = read - (len(inflater.unconsumed_tail) if inflater is not None else 0)
            if produced > RATIO_FROM_BYTES and produced > limits.ratio * max(1, used):
                raise _packed_too_tight(limits)
            if out:
                yield out


class _Parser:
    """expat over a stream of chunks, with no DOCTYPE or entity (a workbook has none; refusing
    them closes the door to entity expansion). Element names are local (namespaces dropped)."""

    def __init__(self) -> None:
        self.expat = xml.parsers.expat.ParserCreate(namespace_separator="}")
        self.expat.buffer_text = True
        self.expat.buffer_size = 64 * 1024
        self.expat.StartDoctypeDeclHandler = self._refuse
        self.expat.EntityDeclHandler = self._refuse

    @staticmethod
    def _refuse(*_args: object) -> None:
        raise _damaged()

    def feed(self, chunks: Iterator[bytes]) -> Iterator[None]:
        """Parse chunk by chunk, yielding after each (so a caller can hand on its rows)."""
        try:
            for chunk in chunks:
                self.expat.Parse(chunk, False)
                yield
            self.expat.Parse(b"", True)
            yield
        except xml.parsers.expat.ExpatError as error:
            raise _damaged() from error


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _attribute(attributes: dict[str, str], local: str) -> str | None:
    if local in attributes:
        return attributes[local]
    for name, value in attributes.items():
        if _local(name) == local:
            return value
    return None


@dataclass
class _Workbook:
    sheet: zipfile.ZipInfo
    shared_strings: zipfile.ZipInfo | None
    styles: zipfile.ZipInfo | None
    date1904: bool


def _small_part(path: Path, info: zipfile.ZipInfo, limits: Limits) -> Iterator[bytes]:
    return _unpacked(path, info, limit=SMALL_PART_BYTES, limits=limits, too_large=_damaged)


def _workbook(path: Path, limits: Limits) -> _Workbook:
    """The first sheet, the shared strings and the styles, as the workbook's relations name
    them (the usual names otherwise)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _damaged() from error
    if "xl/workbook.xml" not in parts:
        raise ImportFileError(_("This is a zip archive, not an Excel (.xlsx) file."),
                              code="not_xlsx")  # fmt: skip
    first_sheet: list[str] = []
    date1904 = [False]

    def workbook_start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "sheet" and not first_sheet:
            first_sheet.append(attributes.get(f"{_REL_NS}}}id") or _attribute(attributes, "id"))
        elif local == "workbookPr":
            date1904[0] = (_attribute(attributes, "date1904") or "").lower() in {"1", "true"}

    parser = _Parser()
    parser.expat.StartElementHandler = workbook_start
    for _chunk in parser.feed(_small_part(path, parts["xl/workbook.xml"], limits)):
        pass
    targets: dict[str, str] = {}
    kinds: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in parts:

        def relation_start(name: str, attributes: dict[str, str]) -> None:
            if _local(name) == "Relationship":
                target = attributes.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[attributes.get("Id", "")] = target
                kinds[attributes.get("Type", "").rpartition("/")[2]] = target

        parser = _Parser()
        parser.expat.StartElementHandler = relation_start
        for _chunk in parser.feed(_small_part(path, parts["xl/_rels/workbook.xml.rels"], limits)):
            pass
    sheet_name = targets.get(first_sheet[0]) if first_sheet and first_sheet[0] else None
    if sheet_name not in parts:
        sheet_name = "xl/worksheets/sheet1.xml"
    if sheet_name not in parts:
        sheets = sorted(name for name in parts if name.startswith("xl/worksheets/"))
        if not sheets:
            raise ImportFileError(_("The Excel file has no sheet."), code="xlsx_no_sheet")
        sheet_name = sheets[0]
    shared = kinds.get("sharedStrings", "xl/sharedStrings.xml")
    styles = kinds.get("styles", "xl/styles.xml")
    return _Workbook(parts[sheet_name], parts.get(shared), parts.get(styles), date1904[0])


def _unescape(text: str) -> str:
    """Excel writes characters XML cannot hold as _xHHHH_ (a control character in a cell, for
    one); the check then sees them as they were typed."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


class _SharedStrings:
    """The workbook's shared strings, held as UTF-8 in one buffer with their offsets: about
    the size of their text, where a list of str would take 60 bytes more for each (millions
    of short strings: hundreds of MB)."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.ends = array.array("I")

    def append(self, value: str) -> None:
        self.text += value.encode()
        self.ends.append(len(self.text))

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        start = self.ends[index - 1] if index else 0
        return self.text[start : self.ends[index]].decode()


def _shared_strings(path: Path, info: zipfile.ZipInfo | None, limits: Limits) -> _SharedStrings:
    strings = _SharedStrings()
    if info is None:
        return strings
    state = {"depth_phonetic": 0, "collecting": False, "length": 0}
    parts: list[str] = []
    cap = limits.cell_chars + 1

    def start(name: str, _attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "si":
            parts.clear()
            state["length"] = 0
        elif local == "rPh":  # phonetic reading (Japanese): not part of the text
            state["depth_phonetic"] += 1
        elif local == "t" and not state["depth_phonetic"]:
            state["collecting"] = True

    def end(name: str) -> None:
        local = _local(name)
        if local == "si":
            strings.append(_unescape("".join(parts)))
        elif local == "rPh":
            state["depth_phonetic"] -= 1
        elif local == "t":
            state["collecting"] = False

    def text(data: str) -> None:
        if state["collecting"] and state["length"] < cap:
            parts.append(data[: cap - state["length"]])
            state["length"] += len(data)

    for _chunk in _parsed(path, info, limits=limits, shared=True, handlers=(start, end, text)):
        pass
    return strings


def _parsed(path: Path, info: zipfile.ZipInfo, *, limits: Limits, shared: bool, handlers):
    """Feed one part of the workbook (the shared strings or the sheet), unpacked within its
    limit, to the (start, end, text) handlers; yields after each chunk."""
    limit = limits.shared_strings_bytes if shared else limits.sheet_bytes
    parser = _Parser()
    start, end, text = handlers
    parser.expat.StartElementHandler = start
    parser.expat.EndElementHandler = end
    parser.expat.CharacterDataHandler = text
    chunks = _unpacked(
        path, info, limit=limit, limits=limits,
        too_large=lambda: _size_error(limit, shared=shared),
    )  # fmt: skip
    yield from parser.feed(chunks)


def _date_styles(path: Path, info: zipfile.ZipInfo | None, limits: Limits) -> frozenset[int]:
    """Indexes of the cell styles that show a number as a date."""
    if info is None:
        return frozenset()
    custom: dict[int, str] = {}
    formats: list[int] = []
    inside = {"cellXfs": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attributes.get("numFmtId", "-1"))] = attributes.get("formatCode", "")
        elif local == "cellXfs":
            inside["cellXfs"] = True
        elif local == "xf" and inside["cellXfs"]:
            try:
                formats.append(int(attributes.get("numFmtId", "0")))
            except ValueError:
                formats.append(0)

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            inside["cellXfs"] = False

    parser = _Parser()
    parser.expat.StartElementHandler = start
    parser.expat.EndElementHandler = end
    for _chunk in parser.feed(_small_part(path, info, limits)):
        pass

    def is_date(format_id: int) -> bool:
        if format_id in custom:
            code = _QUOTED_OR_BRACKETED.sub("", custom[format_id]).lower()
            return "d" in code or "y" in code
        return format_id in _DATE_FORMAT_IDS

    return frozenset(index for index, format_id in enumerate(formats) if is_date(format_id))


def _column_index(reference: str) -> int:
    """'A1' -> 0, 'AB12' -> 27."""
    index = 0
    for character in reference:
        if "A" <= character <= "Z":
            index = index * 26 + ord(character) - 64
        else:
            break
    return index - 1


def _number_text(text: str, *, as_date: bool, date1904: bool) -> str:
    if not as_date:
        try:
            return str(int(text))
        except ValueError:
            pass
    try:
        number = float(text)
    except ValueError:
        return text
    if as_date and 0 < number < 2_958_466:  # up to 9999-12-31
        base = datetime.date(1904, 1, 1) if date1904 else datetime.date(1899, 12, 30)
        return (base + datetime.timedelta(days=int(number))).isoformat()
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return str(number)


def _xlsx_rows(path: Path, limits: Limits) -> Iterator[list[str]]:
    workbook = _workbook(path, limits)
    strings = _shared_strings(path, workbook.shared_strings, limits)
    dates = _date_styles(path, workbook.styles, limits)
    rows: list[list[str]] = []  # rows parsed from the current chunk, handed on after it
    cap = limits.cell_chars + 1
    state: dict = {"row": 0, "cells": None, "column": -1, "type": None, "style": 0,
                   "collecting": False, "length": 0, "phonetic": 0}  # fmt: skip
    parts: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "c":
            reference = attributes.get("r")
            state["column"] = _column_index(reference) if reference else state["column"] + 1
            state["type"] = attributes.get("t")
            state["style"] = int(attributes.get("s", "0") or 0)
            parts.clear()
            state["length"] = 0
        elif local in ("v", "t") and not state["phonetic"]:
            state["collecting"] = True
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "row":
            number = attributes.get("r")
            number = int(number) if number and number.isdigit() else state["row"] + 1
            if number > limits.rows + 1:
                raise _too_many_rows(limits)
            while state["row"] < number - 1:  # rows left out of the file are empty rows
                rows.append(_EMPTY_ROW)
                state["row"] += 1
            state["row"] = number
            state["cells"] = []
            state["column"] = -1

    def end(name: str) -> None:
        local = _local(name)
        if local in ("v", "t"):
            state["collecting"] = False
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "c":
            cells = state["cells"]
            if cells is None or not parts:
                return
            value = "".join(parts)
            kind = state["type"]
            if kind == "s":
                try:
                    value = strings[int(value)]
                except (ValueError, IndexError) as error:
                    raise _damaged() from error
            elif kind in ("inlineStr", "str", "e"):
                value = _unescape(value)
            elif kind == "b":
                value = "TRUE" if value.strip() == "1" else "FALSE"
            elif kind == "d":
                value = value[:10]
            else:
                value = _number_text(value, as_date=state["style"] in dates,
                                     date1904=workbook.date1904)  # fmt: skip
            if not value:
                return
            column = state["column"]
            if column >= limits.columns or column < 0:
                raise _too_many_columns(limits)
            if len(cells) <= column:
                cells.extend([""] * (column + 1 - len(cells)))
            cells[column] = value
        elif local == "row":
            rows.append(state["cells"] or [])
            state["cells"] = None

    def text(data: str) -> None:
        if state["collecting"] and state["length"] < cap:
            parts.append(data[: cap - state["length"]])
            state["length"] += len(data)

    sheet = _parsed(path, workbook.sheet, limits=limits, shared=False, handlers=(start, end, text))
    for _chunk in sheet:
        yield from rows
        rows.clear()


# --- For the wizard --------------------------------------------------------------------------

SAMPLE_ROWS = 5
SAMPLE_CELL_CHARS = 100


def file_headers(
    path: Path, kind: str, *, samples: int = SAMPLE_ROWS, limits: Limits | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header row and a few rows, for the column page (cut to what the page shows)."""
    rows = read_rows(path, kind, limits)
    header = next(rows, None)
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError(
            _("The first row must name the columns (name, phone, booth, ...)."), code="no_header"
        )
    sample = []
    for values in rows:
        if not "".join(values).strip():
            continue
        sample.append([cell[:SAMPLE_CELL_CHARS] for cell in values[: len(header)]])
        if len(sample) == samples:
            break
    return [cell.strip()[:SAMPLE_CELL_CHARS] for cell in header], sample


def count_rows(path: Path, kind: str) -> int | None:
    """About how many data rows the file has, for the progress bar, read fast: the lines of a
    CSV file (a cell holding a line break makes it count one more). None for an Excel file,
    whose sheet would have to be read whole (the check records the exact number)."""
    if kind == "xlsx":
        return None
    lines = 0
    last = b"\n"
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # the last line has no line break
    return max(0, lines - 1)
