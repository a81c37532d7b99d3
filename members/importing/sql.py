"""The database-specific SQL of imports, in one place: on PostgreSQL COPY into a staging table
and one INSERT ... ON CONFLICT per batch; elsewhere (SQLite) one batched upsert statement."""

from __future__ import annotations

import csv
import io

from django.db import connection
from django.utils import timezone

from members.importing.checking import MEMBER_COLUMNS, CheckedRow
from members.models import Consent, Member

UPDATED_ON_CONFLICT = [c for c in MEMBER_COLUMNS if c != "phone"]


def copy_to_staging(cursor, rows: list[CheckedRow]) -> None:
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


def _conflict(update: bool) -> str:
    if not update:
        return "DO NOTHING"
    return (
        "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_CONFLICT)
        + ", updated_at = EXCLUDED.updated_at"
    )  # fmt: skip


MEMBER_DEFAULTS = "languages, skills, social_handles, notes, created_at, updated_at"
PURPOSES = (Consent.Purpose.WHATSAPP, Consent.Purpose.SMS)


def upsert_postgresql(
    rows: list[CheckedRow], *, update: bool, notice_version: str
) -> tuple[int, int]:
    """COPY into the staging table, then one INSERT ... ON CONFLICT that also writes the
    consents. Returns (members created, members that were there already)."""
    now = timezone.now()
    columns = ", ".join(MEMBER_COLUMNS)
    with connection.cursor() as cursor:
        # A batch lost to a crash in the instant after its commit is lost whole, with its
        # progress counts: the import is re-run to finish. Not waiting for the disk on
        # each commit is worth that.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(STAGING_TABLE_SQL)
        copy_to_staging(cursor, rows)
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
        consent_params = [Consent.Source.IMPORT, notice_version, now, *PURPOSES]
        cursor.execute(
            f"WITH written AS (INSERT INTO members_member ({columns}, {MEMBER_DEFAULTS})"
            f" SELECT {columns}, '[]', '[]', '{{}}', '', %s, %s FROM member_staging"
            f" ORDER BY phone ON CONFLICT (phone) {_conflict(update)}"
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


def upsert_batched(rows: list[CheckedRow], *, update: bool, notice_version: str) -> tuple[int, int]:
    """The same for SQLite: one batched upsert statement, then the consents by phone."""
    now = timezone.now()
    columns = ", ".join(MEMBER_COLUMNS)
    with connection.cursor() as cursor:
        phones = [row.phone for row in rows]
        existing = Member.objects.filter(phone__in=phones).count()
        placeholders = ", ".join(["%s"] * (len(MEMBER_COLUMNS) + 6))
        cursor.executemany(
            f"INSERT INTO members_member ({columns}, {MEMBER_DEFAULTS}) VALUES ({placeholders})"
            f" ON CONFLICT (phone) {_conflict(update)}",
            [(*row.record, "[]", "[]", "{}", "", now, now) for row in rows],
        )
        for purpose, wanted in zip(PURPOSES, ("consent_whatsapp", "consent_sms"), strict=True):
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
