"""Finding members by name: the PostgreSQL full-text match of either script's words, the
statistics that say whether a word is common, and the planner settings each kind of name search
runs with. Everything PostgreSQL-specific about name search is here; the scoped reads that use
it are members.selectors."""

from __future__ import annotations

import contextlib

from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value


class NamesMatch(Func):
    """PostgreSQL: the member's names (either script) hold each word of the query, the last
    one as the start of a word: 'asha dev' finds 'Asha Devi', 'सुनी' finds 'सुनीता'. (A word
    followed by another is taken as typed whole: its start would match far more names, and
    reading them all is what makes a search slow.) The query is split into words by
    PostgreSQL's own parser, as the names were, and matched against the member's stored
    `name_words` column through its full-text index (members migration 0007).

    Takes any column of the member (F("id")): it says which table the names are read from.
    With `index` False the same match is written as a function call, which the planner does
    not take to the index: each member it reads is checked instead."""

    output_field = BooleanField()

    def __init__(self, *expressions, index: bool = True, **extra) -> None:
        super().__init__(*expressions, **extra)
        self.index = index

    def as_sql(self, compiler, connection, **extra):
        member_column, text = self.get_source_expressions()
        words = (
            f"{compiler.quote_name_unless_alias(member_column.alias)}."
            f"{connection.ops.quote_name('name_words')}"
        )
        text_sql, text_params = compiler.compile(text)
        # Only a quoted column reference and a placeholder go into the SQL.
        words_query = (
            "(SELECT to_tsquery('simple'::regconfig, string_agg(quote_literal(lexeme)"  # noqa: S608
            " || CASE WHEN is_last THEN ':*' ELSE '' END, ' & '))"
            f" FROM ({QUERY_WORDS_SQL.format(text=text_sql)}) AS words)"
        )
        if self.index:
            return f"{words} @@ {words_query}", tuple(text_params)
        return f"ts_match_vq({words}, {words_query})", tuple(text_params)


# The words of a name query, as PostgreSQL's parser splits them, and whether each is the last
# (the one taken as the start of a word).
QUERY_WORDS_SQL = (
    "SELECT lexeme, positions[array_upper(positions, 1)]"
    " = MAX(positions[array_upper(positions, 1)]) OVER () AS is_last"
    " FROM unnest(to_tsvector('simple'::regconfig, {text}))"
)


def name_search_q(query: str, *, index: bool = True) -> Q:
    """Members whose names hold words starting with each word of the query."""
    if connection.vendor == "postgresql":
        return Q(NamesMatch(F("id"), Value(query), index=index))
    # Elsewhere (SQLite in development) each word is looked for anywhere in either name.
    condition = Q()
    for word in query.split()[:10]:
        condition &= Q(full_name__icontains=word) | Q(name_local__icontains=word)
    return condition


# Settings for a name search, local to its transaction: bitmap index scans only (the planner
# cannot estimate word starts, and might read the whole table for a rare one), no JIT
# compilation and no parallel workers (both cost more than such a query saves).
NAME_SEARCH_SETTINGS = {
    "enable_seqscan": "off",
    "enable_indexscan": "off",
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
}

# A name search whose words PostgreSQL's statistics find in at least this share of members
# (a common first name: one member in eight or so) does not use the full-text index, which
# would first gather every match (over a million across the country: 200 ms and more at ten
# million members). Members are read instead, through the index of the user's part of the
# tree or in table order for the whole country, and checked one by one until COUNT_LIMIT + 1
# match: tens of thousands of rows.
COMMON_NAME_SHARE = 0.05
# Should the statistics be wrong (the names changed since they were taken), the reading stops
# after statement_timeout and the full-text index answers instead.
COMMON_NAME_SETTINGS = {
    "enable_indexscan": "on",
    "enable_bitmapscan": "on",
    "statement_timeout": "500",
}


QUERY_CANCELED = "57014"  # PostgreSQL's code for a statement stopped by statement_timeout


def name_words_share(query: str) -> float:
    """PostgreSQL: roughly what share of members have names matching the query, from the
    most common words PostgreSQL's statistics keep of the name_words column (the query's
    last word counted with every common word it starts). 0 for words not among them; only
    ever used to choose how to search, never shown."""
    with connection.cursor() as cursor:
        cursor.execute(NAME_WORDS_SHARE_SQL, [query[:100]])
        return float(cursor.fetchone()[0] or 0)


# Built from constants only: the query text is a parameter.
NAME_WORDS_SHARE_SQL = f"""
SELECT EXP(SUM(LN(GREATEST(share, 1e-12)))) FROM (
    SELECT words.lexeme, LEAST(1, COALESCE(SUM(common.share), 0)) AS share
    FROM ({QUERY_WORDS_SQL.format(text="%s")}) AS words
    LEFT JOIN (
        SELECT common.word, common.share
        FROM pg_stats,
            unnest(most_common_elems::text::text[], most_common_elem_freqs) AS common (word, share)
        WHERE schemaname = current_schema() AND tablename = 'members_member'
            AND attname = 'name_words' AND common.word IS NOT NULL
    ) AS common
        ON common.word = words.lexeme OR (words.is_last AND starts_with(common.word, words.lexeme))
    GROUP BY words.lexeme
) AS per_word
"""  # noqa: S608


@contextlib.contextmanager
def name_search_plans(*, enabled: bool):
    """PostgreSQL: the queries inside run with NAME_SEARCH_SETTINGS, in a transaction opened
    for them; the settings are put back as they were afterwards."""
    if not (enabled and connection.vendor == "postgresql"):
        yield
        return
    with _local_settings(NAME_SEARCH_SETTINGS):
        yield


@contextlib.contextmanager
def _local_settings(settings: dict[str, str]):
    """The queries inside run with these settings, in a transaction (or savepoint) opened for
    them. They are put back as they were afterwards, since the request may go on in an
    enclosing transaction; if the block fails, rolling the transaction back undoes them."""
    names = list(settings)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        previous = cursor.fetchone()
        _set_local(cursor, settings)
        yield
        _set_local(cursor, dict(zip(names, previous, strict=True)))


def _set_local(cursor, settings: dict[str, str]) -> None:
    cursor.execute(
        "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
        [value for pair in settings.items() for value in pair],
    )


def read_one_by_one(members: QuerySet, *, limit: int, settings: dict[str, str]) -> list[int] | None:
    """The ids of up to `limit` members, read with `settings` (COMMON_NAME_SETTINGS and the
    scans chosen for the area); None when statement_timeout stopped the reading."""
    try:
        with _local_settings(settings):
            return list(members.order_by().values_list("id", flat=True)[:limit])
    except OperationalError as error:
        if getattr(error.__cause__, "pgcode", None) != QUERY_CANCELED:
            raise
    return None
