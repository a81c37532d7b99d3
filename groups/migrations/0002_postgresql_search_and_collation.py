from django.db import migrations

from cadreconnect.db.migrations import PostgresOnlySQL


class Migration(migrations.Migration):
    """PostgreSQL only: byte-order collation for codes, trigram indexes for name search.

    Codes sort by bytes ("C") so that the database orders siblings exactly as the bulk loader's
    Python code does, whatever the server's locale; a "C" column also lets LIKE 'S24-%' use
    the b-tree index. Trigram GIN indexes serve ILIKE '%...%' searches on names in any script.
    """

    dependencies = [("groups", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            'ALTER TABLE groups_group ALTER COLUMN code TYPE varchar(64) COLLATE "C"',
            'ALTER TABLE groups_group ALTER COLUMN code TYPE varchar(64) COLLATE "default"',
        ),
        PostgresOnlySQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            migrations.RunSQL.noop,
        ),
        PostgresOnlySQL(
            "CREATE INDEX groups_name_trgm ON groups_group USING gin (name gin_trgm_ops)",
            "DROP INDEX groups_name_trgm",
        ),
        PostgresOnlySQL(
            "CREATE INDEX groups_name_local_trgm ON groups_group"
            " USING gin (name_local gin_trgm_ops)",
            "DROP INDEX groups_name_local_trgm",
        ),
    ]
