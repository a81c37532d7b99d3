"""Content at scale: BENCH_CONTENT_ITEMS items (100,000 by default) over every assembly
constituency of the full reference tree (BENCH_CONTENT_BOOTHS=0: without its booths, for a
quick run), with their revisions, variants, targets, decisions and events, generated in the
database; then the reads of the content pages through the selectors, as p50 and p95 of
BENCH_CONTENT_REPEATS runs each:

- the review queue page (its first 50 and its count) of a Lok Sabha constituency's lead and
  of a state lead, and the menu's count of what awaits the constituency lead;
- the library: its first page for the constituency lead, and a search of a word in the
  titles by a state viewer;
- one content's page: the content (its scope asked of its own targets), its timeline, its
  targets with their approvals, and the diff against the revision before.

The reference tree has no districts (state, Lok Sabha constituency, assembly constituency,
booth), so the scenario sets CONTENT_APPROVAL_MIN_KIND to the Lok Sabha constituency, the
level nearest a district (543 of them against about 780 districts): its leads decide content
for their assembly constituencies as a district lead does for a district's.

Each case is measured twice in the same run: with the indexes the scope reads use, and
without them (`target_group_revision`, `target_path`, the targets' group index,
`content_state_submitted`, dropped in a transaction that is rolled back after), the baseline
a plain schema gives.
Goal: every page p95 under 50 ms on PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from accounts.models import User
from bench.harness import Bench, bench_superuser
from content import selectors
from content.context_processors import Awaiting
from content.models import Content, Target
from content.receivers import node_paths
from groups import loader
from groups import services as group_services
from groups.models import Group, Kind, Role

ITEMS = int(os.environ.get("BENCH_CONTENT_ITEMS", "100000"))
REPEATS = int(os.environ.get("BENCH_CONTENT_REPEATS", "30"))
WITH_BOOTHS = os.environ.get("BENCH_CONTENT_BOOTHS", "1") not in ("", "0", "false")
PASSWORD = "bench-pass-2026"  # noqa: S105 -- a throwaway database's users
# One in 20 of each state: (state, share out of 20).
STATE_SHARES = [("in_review", 8), ("approved", 7), ("scheduled", 1), ("draft", 2),
                ("changes_requested", 1), ("rejected", 1)]  # fmt: skip
SCOPE_INDEXES = ["target_group_revision", "target_path", "content_state_submitted"]


class _Rollback(Exception):
    pass


def _user(email: str, group: Group | None = None, role: str = "") -> User:
    user = User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD)
    if group is not None:
        group_services.assignment_add(actor=None, user=user, group=group, role=role)
    return user


def generate(count: int, *, author: User, approver: User) -> None:
    """`count` items over every assembly constituency, set-wise: a fifth with a second
    constituency, one in 50 for a whole state as well; states by STATE_SHARES; a revision
    with a Hindi and an English variant each; an approval at the national node for the
    approved, one rejection or request for changes for those; their events."""
    tables = ", ".join(f"content_{name}" for name in (
        "content", "revision", "variant", "target", "decision", "event", "notice",
        "trustedauthor",
    ))  # fmt: skip
    cases = []
    start = 0
    for state, share in STATE_SHARES:
        cases.append(f"WHEN i %% 20 BETWEEN {start} AND {start + share - 1} THEN '{state}'")
        start += share
    state_sql = "CASE " + " ".join(cases) + " END"
    national = Group.objects.get(kind=Kind.NATIONAL, parent__isnull=True)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute("DROP TABLE IF EXISTS bench_acs, bench_states, bench_items")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_acs AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS n,"
            " id FROM groups_group WHERE kind = %s",
            [int(Kind.ASSEMBLY)],
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_states AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1"
            " AS n, id FROM groups_group WHERE kind = %s",
            [int(Kind.STATE)],
        )
        cursor.execute("SELECT COUNT(*) FROM bench_acs")
        acs = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM bench_states")
        states = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO content_content (title, kind, campaign_tags, hashtags, author_id,
                send_at, expires_at, priority, state, submitted_at, state_changed_at,
                created_at, updated_at)
            SELECT (ARRAY['Rally','Padyatra','Volunteer drive','Voter registration',
                          'Booth meeting','Membership week','Youth meet','Pledge'])[1 + i %% 8]
                       || ' message #' || i,
                   'text', '["campaign"]', '["Bench"]', %s,
                   CASE WHEN {state_sql} = 'scheduled' THEN NOW() + INTERVAL '3 days' END,
                   NULL, 20, {state_sql},
                   CASE WHEN {state_sql} <> 'draft'
                        THEN NOW() - (%s - i) * INTERVAL '1 minute' END,
                   NOW(), NOW() - (%s - i) * INTERVAL '1 minute', NOW()
            FROM generate_series(0, %s - 1) AS i
            """,
            [author.pk, count, count, count],
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_items AS SELECT id AS content_id, state,"
            " (regexp_match(title, '#(\\d+)$'))[1]::int AS i FROM content_content"
        )
        cursor.execute(
            """
            INSERT INTO content_revision (content_id, number, created_by_id, created_at,
                submitted_at, snapshot)
            SELECT b.content_id, 1, %s, NOW(), c.submitted_at, '{}'
            FROM bench_items b JOIN content_content c ON c.id = b.content_id
            """,
            [author.pk],
        )
        cursor.execute(
            """
            UPDATE content_content c SET current_revision_id = r.id,
                submitted_revision_id = CASE WHEN c.state <> 'draft' THEN r.id END
            FROM content_revision r WHERE r.content_id = c.id
            """
        )
        cursor.execute(
            """
            INSERT INTO content_variant (revision_id, language, body, media, media_caption,
                media_type, media_size, is_default)
            SELECT r.id, v.language, v.body || ' ' || r.content_id, '', '', '', NULL,
                   v.language = 'hi'
            FROM content_revision r
            CROSS JOIN (VALUES ('hi', 'रविवार को रैली में आइए'),
                               ('en', 'Come to the rally on Sunday')) AS v(language, body)
            """
        )
        cursor.execute(
            """
            INSERT INTO content_target (revision_id, group_id, post, approval_id, path)
            SELECT r.id, a.id, '', NULL::bigint, ''
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            JOIN bench_acs a ON a.n = b.i %% %s
            UNION ALL
            SELECT r.id, a.id, '', NULL::bigint, ''
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            JOIN bench_acs a ON a.n = (b.i * 7 + 1) %% %s
            WHERE b.i %% 5 = 0
            UNION ALL
            SELECT r.id, s.id, '', NULL::bigint, ''
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            JOIN bench_states s ON s.n = b.i %% %s
            WHERE b.i %% 50 = 0
            ON CONFLICT DO NOTHING
            """,
            [acs, acs, states],
        )
        # The targets' paths (content.receivers.node_paths), set-wise: the ids up each
        # target's node's chain of parents and the nodes its tree hangs from, top first.
        cursor.execute(
            """
            WITH RECURSIVE chain(group_id, node_id, depth) AS (
                SELECT DISTINCT group_id, group_id, 0 FROM content_target
                UNION ALL
                SELECT chain.group_id, COALESCE(node.parent_id, node.upper_id), chain.depth + 1
                FROM chain JOIN groups_group node ON node.id = chain.node_id
                WHERE COALESCE(node.parent_id, node.upper_id) IS NOT NULL
            ), paths AS (
                SELECT group_id,
                       '/' || string_agg(node_id::text || '/', '' ORDER BY depth DESC) AS path
                FROM chain GROUP BY group_id
            )
            UPDATE content_target t SET path = paths.path FROM paths
            WHERE paths.group_id = t.group_id
            """
        )
        cursor.execute(
            """
            INSERT INTO content_decision (revision_id, approver_id, node_id, decision, comment,
                trust_id, created_at)
            SELECT r.id, %s, %s,
                   CASE b.state WHEN 'rejected' THEN 'reject'
                                WHEN 'changes_requested' THEN 'request_changes'
                                ELSE 'approve' END,
                   CASE WHEN b.state IN ('rejected', 'changes_requested')
                        THEN 'Say where and when.' ELSE '' END,
                   NULL::bigint, NOW()
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            WHERE b.state IN ('approved', 'scheduled', 'rejected', 'changes_requested')
            """,
            [approver.pk, national.pk],
        )
        cursor.execute(
            """
            UPDATE content_target t SET approval_id = d.id FROM content_decision d
            WHERE d.revision_id = t.revision_id AND d.decision = 'approve'
            """
        )
        cursor.execute(
            """
            INSERT INTO content_event (content_id, revision_id, actor_id, kind, from_state,
                to_state, comment, data, created_at)
            SELECT b.content_id, r.id, %s, 'created', 'draft', 'draft', '', '{}'::jsonb,
                   r.created_at
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            UNION ALL
            SELECT b.content_id, r.id, %s, 'submitted', 'draft', 'in_review', '', '{}'::jsonb,
                   r.submitted_at
            FROM bench_items b JOIN content_revision r ON r.content_id = b.content_id
            WHERE b.state <> 'draft'
            UNION ALL
            SELECT d_content.content_id, d.revision_id, d.approver_id, d.decision, 'in_review',
                   d_content.state, d.comment, '{}'::jsonb, d.created_at
            FROM content_decision d JOIN content_revision rr ON rr.id = d.revision_id
            JOIN bench_items d_content ON d_content.content_id = rr.content_id
            """,
            [author.pk, author.pk],
        )
        for table in ("content_content", "content_revision", "content_variant",
                      "content_target", "content_decision", "content_event"):  # fmt: skip
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def timed(operation: Callable[[], object]) -> tuple[float, float]:
    operation()  # warm-up
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        operation()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, round(0.95 * len(timings)) - 1)]


def _fresh(user: User) -> User:
    """The user as a request loads it: nothing cached from the previous run of the case."""
    return User.objects.get(pk=user.pk)


def cases(*, pc_lead: User, state_lead: User, state_viewer: User, sample: Content):
    def queue_page(user: User):
        def operation() -> None:
            queue = selectors.content_review_queue(_fresh(user))
            list(queue[:50])
            queue.count()

        return operation

    def menu_count(user: User):
        def operation() -> None:
            Awaiting(_fresh(user)).count  # noqa: B018 -- the count is the work

        return operation

    def library_page(user: User, word: str = ""):
        def operation() -> None:
            library = selectors.content_library(_fresh(user))
            if word:
                library = library.filter(title__icontains=word)
            library = library.order_by("-submitted_at", "-id")
            list(library[:50])
            library.count()

        return operation

    def content_page() -> None:
        user = _fresh(pc_lead)
        content = selectors.content_get_for_user(user, sample.pk)
        list(selectors.content_timeline(content))
        list(selectors.revision_targets(content.submitted_revision))
        selectors.revision_diff(content.submitted_revision)

    return [
        ("review queue page, Lok Sabha constituency lead", queue_page(pc_lead)),
        ("review queue page, state lead", queue_page(state_lead)),
        ("menu count of what awaits, Lok Sabha constituency lead", menu_count(pc_lead)),
        ("menu count of what awaits, state lead", menu_count(state_lead)),
        ("library first page, Lok Sabha constituency lead", library_page(pc_lead)),
        ("library search 'Padyatra', state viewer", library_page(state_viewer, "Padyatra")),
        ("one content's page, Lok Sabha constituency lead", content_page),
    ]


def _without_scope_indexes(measure: Callable[[], list[tuple[float, float]]]):
    """Run `measure` with the scope indexes dropped, in a transaction rolled back after."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'content_target'"
            " AND indexdef LIKE '%%(group_id)%%'"
        )
        names = SCOPE_INDEXES + [row[0] for row in cursor.fetchall()]
    results: list[tuple[float, float]] = []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                for name in names:
                    cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            results = measure()
            raise _Rollback
    except _Rollback:
        pass
    return results, names


def run(bench: Bench) -> None:
    if connection.vendor != "postgresql":
        print("  content runs on PostgreSQL only (set DATABASE_URL)", flush=True)
        return
    settings.CONTENT_APPROVAL_MIN_KIND = Kind.PARLIAMENTARY
    settings.CONTENT_AWAITING_CACHE_SECONDS = 0  # the menu's count itself, not the cache's copy
    loader.reference_tree_load(with_booths=WITH_BOOTHS)
    bench_superuser("bench-content@cadreconnect.example")
    national = Group.objects.get(kind=Kind.NATIONAL, parent__isnull=True)
    lucknow = Group.objects.get(kind=Kind.PARLIAMENTARY, name="Lucknow")
    uttar_pradesh = Group.objects.get(kind=Kind.STATE, name="Uttar Pradesh")
    author = _user("bench-editor@cadreconnect.example", national, Role.EDITOR)
    approver = _user("bench-approver@cadreconnect.example", national, Role.APPROVER)
    pc_lead = _user("bench-pc-lead@cadreconnect.example", lucknow, Role.LEAD)
    state_lead = _user("bench-state-lead@cadreconnect.example", uttar_pradesh, Role.LEAD)
    state_viewer = _user("bench-state-viewer@cadreconnect.example", uttar_pradesh, Role.VIEWER)
    started = time.perf_counter()
    generate(ITEMS, author=author, approver=approver)
    print(f"  {ITEMS:,} items generated in {time.perf_counter() - started:.0f} s", flush=True)
    for target in Target.objects.order_by("?")[:20]:
        if target.path != node_paths([target.group_id])[target.group_id]:
            raise RuntimeError(f"target {target.pk}: its path is not its node's")
    sample = selectors.content_review_queue(pc_lead).last()
    if sample is None:
        raise RuntimeError("no content waits for the Lucknow lead: too few items generated")

    baseline = lambda: Content.objects.get(pk=sample.pk)  # noqa: E731
    p50, p95 = timed(baseline)
    note = f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
    bench.record("one content by primary key", operations=REPEATS,
                 seconds=p50 * REPEATS / 1000, note=note)  # fmt: skip
    measured = cases(
        pc_lead=pc_lead, state_lead=state_lead, state_viewer=state_viewer, sample=sample
    )
    with_indexes = [timed(operation) for _case, operation in measured]
    without, dropped = _without_scope_indexes(lambda: [timed(op) for _c, op in measured])
    queue_size = selectors.content_review_queue(pc_lead).count()
    print(f"  the Lucknow lead's queue holds {queue_size:,}; without: {', '.join(dropped)}")
    for (case, _operation), (p50, p95), (bare50, bare95) in zip(
        measured, with_indexes, without, strict=True
    ):
        note = (
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms; without the scope indexes "
            f"p50 {bare50:.1f} ms, p95 {bare95:.1f} ms"
        )
        bench.record(f"{case} ({ITEMS:,} items)", operations=REPEATS,
                     seconds=p50 * REPEATS / 1000, note=note)  # fmt: skip
