from django.db import migrations

from cadreconnect.db.migrations import PostgresOnlySQL


class Migration(migrations.Migration):
    """PostgreSQL only: trigram indexes so that a name fragment in any script is found fast."""

    dependencies = [("members", "0001_initial")]

    operations = [
        PostgresOnlySQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        PostgresOnlySQL(
            "CREATE INDEX member_full_name_trgm ON members_member"
            " USING gin (full_name gin_trgm_ops)",
            "DROP INDEX member_full_name_trgm",
        ),
        PostgresOnlySQL(
            "CREATE INDEX member_name_local_trgm ON members_member"
            " USING gin (name_local gin_trgm_ops)",
            "DROP INDEX member_name_local_trgm",
        ),
    ]
