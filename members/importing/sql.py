"""The database-specific SQL of imports, in one place: on PostgreSQL COPY into a staging table
and one INSERT ... ON CONFLICT per batch; elsewhere (SQLite) one batched upsert statement. Also
a batch's lookups of booths by code and of members by phone."""

from __future__ import annotations

import csv
import io
import operator

from django.db import connection
from django.utils import timezone

from cadreconnect.validation import CONTROL_CHARACTERS
from groups.models import Group, Kind
from groups.selectors import Scope
from members.importing.checking import MEMBER_COLUMNS, STAGING_COLUMNS, CheckedRow
from members.models import Consent, Member

UPDATED_ON_CONFLICT = [c for c in MEMBER_COLUMNS if c != "phone"]
_record = operator.attrgetter("record")  # a checked row as staged (STAGING_COLUMNS)


# A batch's lookups (2,000 booth codes, 2,000 phones) pass one array on PostgreSQL: an IN list
# of 2,000 values costs Django as long to build as the database takes to answer it.

# Between the codes of a batch's booth lookup: a control character, which no code looked up
# holds (see active_booths).
CODE_SEPARATOR = "\x1f"


def active_booths(codes: list[str]) -> list[tuple[int, str, int, int]]:
    """(id, code, tree_id, lft) of the active booths of these codes.

    A code holding a control character names no booth (and PostgreSQL takes no NUL in a
    string): it is not looked up, and its row is refused by the check. On PostgreSQL the codes
    go as one string, split there: psycopg2 builds an array parameter element by element,
    which for 2,000 codes held the lookup thread (and Python's lock) longer than the
    database took to answer."""
    if CONTROL_CHARACTERS.search("".join(codes)):
        codes = [code for code in codes if not CONTROL_CHARACTERS.search(code)]
    if not codes:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, code, tree_id, lft FROM groups_group"
                " WHERE code = ANY(string_to_array(%s, %s)) AND kind = %s AND is_active",
                [CODE_SEPARATOR.join(codes), CODE_SEPARATOR, int(Kind.BOOTH)],
            )
            return cursor.fetchall()
    return list(
        Group.objects.filter(code__in=codes, kind=Kind.BOOTH, is_active=True)
        .order_by()
        .values_list("id", "code", "tree_id", "lft")
    )


def members_spots(phones: list[str]) -> list[tuple[str, int, int]]:
    """(phone, tree_id, lft of the booth) of the members registered with these phones."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(  # normalised phones (+ and digits): one string, as for booths
                "SELECT m.phone, b.tree_id, b.lft FROM members_member m JOIN groups_group b"
                " ON b.id = m.booth_id WHERE m.phone = ANY(string_to_array(%s, ','))",
                [",".join(phones)],
            )
            return cursor.fetchall()
    return list(
        Member.objects.filter(phone__in=phones)
        .order_by()
        .values_list("phone", "booth__tree_id", "booth__lft")
    )


class StagedRows(list):
    """A batch's checked rows with their COPY data, formatted by the thread that hands the
    batch to a writer thread (see `staged`)."""

    copy_data: str = ""


def staged(rows: list[CheckedRow]) -> StagedRows:
    """The rows with their COPY data: CSV, strings quoted and numbers not, a None as a quoted
    empty string (which FORCE_NULL reads as NULL in the columns that may be NULL).

    Formatted by the reading thread, which has time to spare while the writers wait for the
    database, rather than by the writer, whose connection would sit idle meanwhile (the
    writers' Python and the reading thread's take turns, one at a time): over the whole tree
    the import took about 8% less time so, in two paired runs on a busy machine."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(
        map(_record, rows)
    )
    batch = StagedRows(rows)
    batch.copy_data = buffer.getvalue()
    return batch


def copy_to_staging(cursor, rows: list[CheckedRow]) -> None:
    """COPY the batch into member_staging (formatted here unless `staged` did it)."""
    data = rows.copy_data if isinstance(rows, StagedRows) else staged(rows).copy_data
    columns = ", ".join(STAGING_COLUMNS)
    # The batch in one piece: psycopg2 reads its source `size` characters at a time (8 KB
    # unless told) and takes Python's lock back for every piece, so that a writer thread
    # waited for the reading thread some forty times a batch (up to 5 ms each, Python's
    # switch interval) while its database connection sat idle.
    cursor.cursor.copy_expert(
        f"COPY member_staging ({columns}) FROM STDIN WITH (FORMAT csv,"
        " FORCE_NULL (birth_year, state_id))",
        io.StringIO(data),
        size=max(len(data), 8192),
    )


STAGING_TABLE_SQL = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS member_staging ON COMMIT DELETE ROWS AS"
    f" SELECT {', '.join(MEMBER_COLUMNS)}, FALSE AS consent_whatsapp, FALSE AS consent_sms"
    " FROM members_member WITH NO DATA"
)


def _area_condition(area: Scope) -> tuple[str, list]:
    """SQL saying that the existing row (members_member) lies in the area: whole trees by the
    member's own tree_id, ranges inside a tree by its booth. Evaluated only for rows whose
    phone is taken (the ON CONFLICT branch), so a new member costs nothing here."""
    if area.everything:
        return "TRUE", []
    whole = set(area.tree_ids) | {tree_id for tree_id, lft, _ in area.ranges if lft == 1}
    parts, params = [], []
    if whole:
        parts.append(f"members_member.tree_id IN ({', '.join(['%s'] * len(whole))})")
        params += sorted(whole)
    for tree_id, lft, rght in area.ranges:
        if tree_id in whole:
            continue
        parts.append(
            "members_member.booth_id IN (SELECT id FROM groups_group"
            " WHERE tree_id = %s AND lft BETWEEN %s AND %s)"
        )
        params += [tree_id, lft, rght]
    return "(" + (" OR ".join(parts) or "FALSE") + ")", params


def _conflict(update: bool, area: Scope) -> tuple[str, list]:
    if not update:
        return "DO NOTHING", []
    condition, params = _area_condition(area)
    updated = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_CONFLICT)
    return (
        f"DO UPDATE SET {updated}, last_import_id = EXCLUDED.last_import_id,"
        f" updated_at = EXCLUDED.updated_at WHERE {condition}",
        params,
    )


MEMBER_FIELDS = len(MEMBER_COLUMNS)  # of a checked row's record, before its consents
MEMBER_DEFAULTS = "last_import_id, languages, skills, social_handles, notes, created_at, updated_at"
PURPOSES = (Consent.Purpose.WHATSAPP, Consent.Purpose.SMS)


def upsert_postgresql(
    rows: list[CheckedRow], *, update: bool, notice_version: str, member_import_id: int | None,
    area: Scope,
) -> tuple[int, int]:  # fmt: skip
    """COPY into the staging table, then one INSERT ... ON CONFLICT that also writes the
    consents of the members it wrote. Returns (members created, members already there)."""
    now = timezone.now()
    columns = ", ".join(MEMBER_COLUMNS)
    conflict, conflict_params = _conflict(update, area)
    with connection.cursor() as cursor:
        # A batch lost to a crash in the instant after its commit is lost whole, with its
        # progress counts: the import is re-run to finish. Not waiting for the disk on
        # each commit is worth that. (One round trip with the staging table: each answer
        # waits for Python's lock, see copy_to_staging.)
        cursor.execute(f"SET LOCAL synchronous_commit TO OFF; {STAGING_TABLE_SQL}")
        copy_to_staging(cursor, rows)
        # Consents go in with the members they belong to, joined to what the INSERT
        # returns (no index lookup per row): the members created, and under "update" those
        # changed; a member kept as it was ("skip") is not returned, so gets no consent.
        # Rows are sorted by phone, so that two batches meeting the same phones take their
        # row locks in the same order (no deadlock between parallel writers).
        consent_sql = (
            "INSERT INTO members_consent (member_id, purpose, source, notice_version,"
            " granted_at) SELECT m.id, p.purpose, %s, %s, %s FROM member_staging s"
            " JOIN written m ON m.phone = s.phone CROSS JOIN LATERAL"
            " (VALUES (%s, s.consent_whatsapp), (%s, s.consent_sms)) AS p (purpose, wanted)"
            " WHERE p.wanted ORDER BY s.phone, p.purpose"
            " ON CONFLICT (member_id, purpose) WHERE withdrawn_at IS NULL DO NOTHING"
        )
        consent_params = [Consent.Source.IMPORT, notice_version, now, *PURPOSES]
        cursor.execute(
            f"WITH written AS (INSERT INTO members_member ({columns}, {MEMBER_DEFAULTS})"
            f" SELECT {columns}, %s, '[]', '[]', '{{}}', '', %s, %s FROM member_staging"
            f" ORDER BY phone ON CONFLICT (phone) {conflict}"
            " RETURNING id, phone, xmax = 0 AS created),"
            f" consents AS ({consent_sql})"
            " SELECT COUNT(*) FILTER (WHERE created) FROM written",
            [member_import_id, now, now, *conflict_params, *consent_params],
        )
        created = cursor.fetchone()[0]
        return created, len(rows) - created


def upsert_batched(
    rows: list[CheckedRow], *, update: bool, notice_version: str, member_import_id: int | None,
    area: Scope,
) -> tuple[int, int]:  # fmt: skip
    """The same for SQLite: one batched upsert statement, then the consents by phone."""
    now = timezone.now()
    columns = ", ".join(MEMBER_COLUMNS)
    conflict, conflict_params = _conflict(update, area)
    with connection.cursor() as cursor:
        phones = [row.phone for row in rows]
        existing = set(Member.objects.filter(phone__in=phones).values_list("phone", flat=True))
        placeholders = ", ".join(["%s"] * (len(MEMBER_COLUMNS) + 7))
        cursor.executemany(
            f"INSERT INTO members_member ({columns}, {MEMBER_DEFAULTS}) VALUES ({placeholders})"
            f" ON CONFLICT (phone) {conflict}",
            [(*row.record[:MEMBER_FIELDS], member_import_id, "[]", "[]", "{}", "", now, now,
              *conflict_params) for row in rows],
        )  # fmt: skip
        written = (
            set(Member.objects.filter(phone__in=phones, last_import_id=member_import_id)
                .values_list("phone", flat=True))
            if update else set(phones) - existing
        )  # fmt: skip
        for purpose, wanted in zip(PURPOSES, ("consent_whatsapp", "consent_sms"), strict=True):
            chosen = [row.phone for row in rows if getattr(row, wanted) and row.phone in written]
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
        return len(rows) - len(existing), len(existing)
