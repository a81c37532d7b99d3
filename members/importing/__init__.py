"""Member lists from spreadsheets: reading CSV and XLSX, mapping columns, checking each row,
and writing in batches.

- `reading`: what kind of file an upload is, and its rows, streamed;
- `checking`: the column mapping and the one validation of a row (`RowChecker`, `BoothLookup`),
  shared by the check and the run;
- `writing`: batches, each in one transaction with its progress counts (`BatchWriters`,
  `write_members`);
- `sql`: the database-specific SQL (PostgreSQL COPY and INSERT ... ON CONFLICT; SQLite);
- `claims`: the claim a task holds on the import it runs, and its heartbeat;
- `run`: an import from start to end (`member_import_rows`), resumable batch by batch.

Rows are streamed (memory stays flat for any file size) and written in batches, each batch in
one transaction: an import stopped half-way (a worker killed, the database gone) leaves whole
batches, never part of one, and running it again is safe (members are matched by phone). On
PostgreSQL a batch goes through COPY into a staging table and one INSERT ... ON CONFLICT;
elsewhere through one batched upsert statement. Never one ORM save per row.
"""

from members.importing.checking import (
    MEMBER_COLUMNS,
    REQUIRED_TARGETS,
    TARGETS,
    BoothLookup,
    CheckedRow,
    RowChecker,
    RowProblem,
    column_label,
    guess_mapping,
    missing_targets,
)
from members.importing.claims import Claim, ClaimLost, Heartbeat
from members.importing.reading import (
    ImportFileError,
    count_rows,
    file_headers,
    read_rows,
    sniff_kind,
)
from members.importing.run import member_import_rows
from members.importing.writing import BatchWriters, write_members

__all__ = [
    "MEMBER_COLUMNS", "REQUIRED_TARGETS", "TARGETS", "BatchWriters", "BoothLookup",
    "CheckedRow", "Claim", "ClaimLost", "Heartbeat", "ImportFileError", "RowChecker",
    "RowProblem", "column_label", "count_rows", "file_headers", "guess_mapping",
    "member_import_rows", "missing_targets", "read_rows", "sniff_kind", "write_members",
]  # fmt: skip
