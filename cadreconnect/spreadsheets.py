"""Helpers for files that people open in a spreadsheet (CSV and Excel exports)."""

from __future__ import annotations

# A cell whose text starts with one of these is run as a formula by Excel, LibreOffice and
# Google Sheets (CSV injection); a leading apostrophe makes it plain text again.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


class Echo:
    """A file-like object for csv.writer that hands each written line back, for streaming."""

    def write(self, value: str) -> str:
        return value
