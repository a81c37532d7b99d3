"""Member search at scale: BENCH_SEARCH_MEMBERS members (10 million by default) generated in
the database, then the member list page's queries (members.selectors.members_page: the
count, up to 10,000, and one page of 50) as the national office, a state lead and a Lok Sabha
lead.

Baseline: finding one member by exact phone (a unique-index lookup).
"""

from __future__ import annotations

import os
import statistics
import time

from django.db import connection

from accounts.models import User
from bench.harness import Bench, bench_superuser
from groups import loader, services
from groups.models import Group, Kind, Role
from members.models import Member
from members.selectors import MemberFilters, members_page

MEMBERS = int(os.environ.get("BENCH_SEARCH_MEMBERS", "10000000"))
REPEATS = 15


def generate_members(count: int) -> None:
    """Members spread over every booth loaded, with Hindi and English names, set-wise."""
    booths = Group.objects.filter(kind=Kind.BOOTH)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_booths")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_booths AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1"
            " AS n, id, tree_id FROM groups_group WHERE kind = %s",
            [int(Kind.BOOTH)],
        )
        booth_count = booths.count()
        step = 1_000_000
        for start in range(0, count, step):
            stop = min(count, start + step)
            cursor.execute(
                """
                INSERT INTO members_member (full_name, name_local, phone, whatsapp_number, email,
                    gender, birth_year, epic, booth_id, tree_id, state_id, status, joined_on,
                    languages, skills, social_handles, notes, created_at, updated_at)
                SELECT (ARRAY['Asha','Ravi','Sunita','Arjun','Meena','Vikas','Pooja','Rahul'])
                           [1 + i %% 8] || ' Member ' || i,
                       (ARRAY['आशा','रवि','सुनीता','अर्जुन','मीना','विकास','पूजा','राहुल'])
                           [1 + i %% 8] || ' सदस्य ' || i,
                       '+919' || LPAD(i::text, 9, '0'), '', '', '', NULL,
                       'BEN' || LPAD((i %% 10000000)::text, 7, '0'),
                       b.id, b.tree_id, NULL,
                       CASE WHEN i %% 10 = 0 THEN 'inactive' ELSE 'active' END,
                       CURRENT_DATE, '[]', '[]', '{}', '', NOW(), NOW()
                FROM generate_series(%s, %s) AS i
                JOIN bench_booths b ON b.n = i %% %s
                """,
                [start, stop - 1, booth_count],
            )
            print(f"  {stop:,} members", flush=True)
        # What autovacuum does after so many inserts: statistics, and the visibility map that
        # lets a scan answer from an index alone.
        cursor.execute("VACUUM (ANALYZE) members_member")


def timed(query) -> tuple[float, float]:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        query()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, round(0.95 * len(timings)) - 1)]


def run(bench: Bench) -> None:
    if connection.vendor != "postgresql":
        print("  members_search runs on PostgreSQL only (set DATABASE_URL)", flush=True)
        return
    loader.reference_tree_load(with_booths=True)
    started = time.perf_counter()
    generate_members(MEMBERS)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    admin = bench_superuser("bench-search@cadreconnect.example")
    lead = User.objects.create_user("bench-lead@cadreconnect.example", "bench-pass-2026")
    lucknow = Group.objects.get(kind=Kind.PARLIAMENTARY, name="Lucknow")
    services.assignment_add(actor=None, user=lead, group=lucknow, role=Role.LEAD)
    state_lead = User.objects.create_user("bench-state@cadreconnect.example", "bench-pass-2026")
    uttar_pradesh = Group.objects.get(kind=Kind.STATE, name="Uttar Pradesh")
    services.assignment_add(actor=None, user=state_lead, group=uttar_pradesh, role=Role.LEAD)
    sample = Member.objects.order_by("pk")[MEMBERS // 2]

    def page(user: User, number: int = 1, **filters):
        def query() -> None:
            members_page(user=user, filters=MemberFilters(**filters), number=number, per_page=50)

        return query

    cases = [
        ("exact phone, national office", page(admin, query=sample.phone)),
        ("voter id, national office", page(admin, query=sample.epic.lower())),
        ("full name, national office", page(admin, query=sample.full_name)),
        ("name fragment (Latin), national office", page(admin, query="Member 4242")),
        ("name fragment (Devanagari), national office", page(admin, query="सदस्य 4242")),
        ("word start of a rare name, national office", page(admin, query="Member 42424")),
        ("common first name alone (1 in 8 match), national office", page(admin, query="Asha")),
        ("no match, national office", page(admin, query="Zzyzx")),
        ("first page of everyone, national office", page(admin)),
        ("page 100 of everyone, national office", page(admin, number=100)),
        ("inactive members, national office", page(admin, status="inactive")),
        ("verified members, national office", page(admin, verified="yes")),
        ("first page, state lead (Uttar Pradesh)", page(state_lead)),
        ("name fragment, state lead", page(state_lead, query="Member 12")),
        ("first page of the list, Lok Sabha lead", page(lead)),
        ("name fragment, Lok Sabha lead", page(lead, query="Member 12")),
        ("common first name, state lead", page(state_lead, query="Asha")),
        ("common first name, Lok Sabha lead", page(lead, query="Asha")),
        ("two common words, national office", page(admin, query="Asha Member")),
        ("start of a common name, national office", page(admin, query="As")),
        ("inactive members, Lok Sabha lead", page(lead, status="inactive")),
    ]
    for case, query in cases:
        p50, p95 = timed(query)
        note = f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
        bench.record(f"{case} ({MEMBERS:,} members)", operations=REPEATS,
                     seconds=p50 * REPEATS / 1000, note=note)  # fmt: skip
