"""Hostile spreadsheets built in the test, small on disk: zip archives written by hand, whose
parts may unpack to a gigabyte (a deflate block repeated) or lie about their sizes."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)
WORKBOOK = (
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http:/'
    b'/schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" '
    b'sheetId="1" r:id="rId1"/></sheets></workbook>'
)
RELATIONS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="'
    b'http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    b'Target="sharedStrings.xml"/></Relationships>'
)
SHEET_START = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = b"</sheetData></worksheet>"


@dataclass
class Part:
    name: str
    packed: bytes  # raw deflate
    size: int  # unpacked bytes
    crc: int


def part(name: str, data: bytes) -> Part:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Part(name, packer.compress(data) + packer.flush(), len(data), zlib.crc32(data))


def repeated_part(name: str, prefix: bytes, chunk: bytes, count: int, suffix: bytes) -> Part:
    """prefix + chunk * count + suffix, packed by repeating one deflate block (after a full
    flush the packer starts afresh, so each chunk packs to the same bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    assert block == packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(suffix) + packer.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    packed = head + block * count + tail
    return Part(name, packed, len(prefix) + len(chunk) * count + len(suffix), crc)


def write_zip(
    path: Path, parts: list[Part], *, declared_sizes: dict[str, int] | None = None
) -> Path:
    """A zip archive of deflated parts; `declared_sizes` makes the headers lie."""
    declared_sizes = declared_sizes or {}
    directory = b""
    with path.open("wb") as target:
        for item in parts:
            offset = target.tell()
            name = item.name.encode()
            size = declared_sizes.get(item.name, item.size)
            header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21,
                                 item.crc, len(item.packed), size, len(name), 0)  # fmt: skip
            target.write(header + name + item.packed)
            directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21,
                                     item.crc, len(item.packed), size, len(name), 0, 0, 0, 0,
                                     0, offset) + name  # fmt: skip
        start = target.tell()
        target.write(directory)
        target.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts),
                                 len(directory), start, 0))  # fmt: skip
    return path


def workbook(path: Path, sheet: Part, shared_strings: Part | None = None, **options) -> Path:
    parts = [part("[Content_Types].xml", CONTENT_TYPES), part("xl/workbook.xml", WORKBOOK),
             part("xl/_rels/workbook.xml.rels", RELATIONS), sheet]  # fmt: skip
    if shared_strings is not None:
        parts.append(shared_strings)
    return write_zip(path, parts, **options)


def inline_row(number: int, *values: str) -> bytes:
    cells = "".join(
        f'<c r="{chr(65 + index)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
        for index, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'.encode()
