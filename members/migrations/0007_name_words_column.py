"""PostgreSQL: the words of a member's names kept in a stored column, `name_words`, which the
database computes on every insert and update, and the full-text index built on that column
instead of on the expression.

Writing a member costs the same (the words were computed for the index anyway), but a search
that matches many members no longer parses every candidate's names again to check them: at
ten million members a common first name took 400 ms, nearly all of it that re-parsing.

The column is not a model field: Django never writes it, and only members.name_search.NamesMatch
reads it. SQLite (development) has neither column nor index.
"""

from django.db import migrations

from cadreconnect.db.migrations import PostgresOnlySQL

NAME_WORDS = "to_tsvector('simple'::regconfig, full_name::text || ' ' || name_local::text)"


class Migration(migrations.Migration):
    dependencies = [("members", "0006_name_order_not_active")]

    operations = [
        PostgresOnlySQL(
            "DROP INDEX member_name_words",
            f"CREATE INDEX member_name_words ON members_member USING gin ({NAME_WORDS})",
        ),
        PostgresOnlySQL(
            "ALTER TABLE members_member ADD COLUMN name_words tsvector"
            f" GENERATED ALWAYS AS ({NAME_WORDS}) STORED",
            "ALTER TABLE members_member DROP COLUMN name_words",
        ),
        PostgresOnlySQL(
            "CREATE INDEX member_name_words ON members_member USING gin (name_words)",
            "DROP INDEX member_name_words",
        ),
    ]
