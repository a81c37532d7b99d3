"""The 2008 to 2024 delimitation of the full tree (the shipped mapping,
groups/data/delimitation-2008-2024.csv, through `manage.py groups_delimit`) with
BENCH_DELIMIT_MEMBERS members (1,000,000 by default) in its booths, next to a fresh load of the
2024 tree in the same run: what changing the edition in place costs against building the new
one from nothing (which would lose the members).

BENCH_DELIMIT_BOOTHS=0 loads both trees without booths (and so without members): a quick check
that the scenario runs.
"""

from __future__ import annotations

import os
import time
from io import StringIO

from django.core.management import call_command
from django.db import connection

from bench.groups_tree import empty_table
from bench.harness import Bench
from bench.members_search import generate_members
from groups import loader, reference, services, tree
from groups.models import Group, Kind
from members.models import Member

MEMBERS = int(os.environ.get("BENCH_DELIMIT_MEMBERS", "1000000"))
WITH_BOOTHS = os.environ.get("BENCH_DELIMIT_BOOTHS", "1") not in ("", "0", "false")


def run(bench: Bench) -> None:
    empty_table()
    started = time.perf_counter()
    report = loader.reference_tree_load(with_booths=WITH_BOOTHS, edition="2024")
    elapsed = time.perf_counter() - started
    bench.record(f"fresh load of the 2024 tree ({report.created_total:,} nodes)",
                 operations=report.created_total, seconds=elapsed,
                 note=f"per node; whole tree {elapsed:.1f} s")  # fmt: skip
    empty_table()

    report = loader.reference_tree_load(with_booths=WITH_BOOTHS, edition="2008")
    members = MEMBERS if WITH_BOOTHS else 0
    if members:
        generate_members(members)
        with connection.cursor() as cursor:
            # Each member's state, as the register keeps it.
            cursor.execute(
                """UPDATE members_member m SET state_id = s.id FROM groups_group b, groups_group s
                   WHERE b.id = m.booth_id AND s.code = split_part(b.code, '-', 1)"""
            )
    services.group_figures_refresh_all()
    print(f"  2008 tree: {report.created_total:,} nodes, {members:,} members", flush=True)

    started = time.perf_counter()
    call_command("groups_delimit", str(reference.MAPPING_2008_2024_CSV), "--no-figures",
                 stdout=StringIO())  # fmt: skip
    elapsed = time.perf_counter() - started
    nodes = Group.objects.count()
    bench.record(f"delimitation 2008 to 2024, full tree ({nodes:,} nodes, {members:,} members)",
                 operations=nodes, seconds=elapsed,
                 note=f"per node; whole run {elapsed:.1f} s")  # fmt: skip
    started = time.perf_counter()
    counted = services.group_figures_refresh_stale() or 0
    bench.record(f"figures recount after it ({counted:,} nodes)", operations=max(counted, 1),
                 seconds=time.perf_counter() - started, note="per node")  # fmt: skip
    assert tree.check_integrity() == []
    moved = Member.objects.filter(booth__code__startswith="S29-").count()
    print(f"  {moved:,} members now in Telangana; "
          f"{Group.objects.filter(kind=Kind.BOOTH, is_active=False).count():,} booths retired",
          flush=True)  # fmt: skip
    empty_table()
