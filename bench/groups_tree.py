"""The group tree at full scale: bulk load against mptt's one-at-a-time insert, then insert
and move latency of a booth in Uttar Pradesh with the whole tree loaded.

Baseline: mptt's ordinary save() of each node of a 20,000-node slice of the reference tree
(parents first, children in code order), on an empty table. Then the set-wise loader builds
the full tree with generated booths (about 932,000 nodes) from an empty table.
"""

from __future__ import annotations

import os
import random
import statistics
import time

from django.db import connection

from bench.harness import Bench, bench_superuser
from cadreconnect.celery import app as celery_app
from groups import loader, reference, selectors, services, tree
from groups.models import Group, Kind

SLICE = int(os.environ.get("BENCH_MPTT_SLICE", "20000"))
SAMPLES = int(os.environ.get("BENCH_TREE_SAMPLES", "40"))
STATE = "S24"  # Uttar Pradesh, the largest state


def empty_table() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE groups_group RESTART IDENTITY CASCADE")
        else:
            cursor.execute("DELETE FROM groups_groupfigures")
            cursor.execute("DELETE FROM groups_assignment")
            cursor.execute("UPDATE groups_group SET parent_id = NULL, merged_into_id = NULL")
            cursor.execute("DELETE FROM groups_group")


def mptt_slice_insert(bench: Bench) -> None:
    specs = reference.tree_specs(with_booths=True, state_codes=[STATE])[STATE][:SLICE]
    empty_table()
    by_code: dict[str, Group] = {}
    started = time.perf_counter()
    for spec in specs:
        node = Group(
            code=spec.code, name=spec.name, kind=spec.kind, electors=spec.electors,
            is_generated=spec.is_generated, parent=by_code.get(spec.parent_code),
        )  # fmt: skip
        node.save()
        by_code[spec.code] = node
    elapsed = time.perf_counter() - started
    bench.record(f"mptt save(), one node at a time ({len(specs):,}-node slice)",
                 operations=len(specs), seconds=elapsed, note="per node")  # fmt: skip
    empty_table()


def bulk_load(bench: Bench) -> None:
    started = time.perf_counter()
    report = loader.reference_tree_load(with_booths=True)
    elapsed = time.perf_counter() - started
    bench.record(f"bulk loader, full tree of the {reference.DEFAULT_EDITION} list "
                 f"({report.created_total:,} nodes)",
                 operations=report.created_total, seconds=elapsed,
                 note=f"per node; whole tree {elapsed:.1f} s")  # fmt: skip
    problems = tree.check_integrity()
    assert not problems, problems


def latencies(bench: Bench, case: str, operation, samples: int) -> None:
    timings = []
    for index in range(samples):
        started = time.perf_counter()
        operation(index)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    bench.record(case, operations=samples, seconds=sum(timings) / 1000,
                 note=f"p50 {p50:.0f} ms, p95 {p95:.0f} ms")  # fmt: skip


def run(bench: Bench) -> None:
    mptt_slice_insert(bench)
    bulk_load(bench)
    admin = bench_superuser("bench-tree@cadreconnect.example")
    up = Group.objects.get(code=STATE)
    state = selectors.group_subtree(up)
    acs = list(state.filter(kind=Kind.ASSEMBLY).order_by("code"))
    booths = list(state.filter(kind=Kind.BOOTH).values_list("pk", flat=True))
    rng = random.Random(2026)
    print(f"  {STATE}: {len(booths):,} booths, {len(acs)} assembly constituencies", flush=True)

    def insert(index: int) -> None:
        ac = rng.choice(acs)
        services.group_create_child(
            actor=admin, parent=ac, name=f"Bench booth {index}",
            code=f"{ac.code}-B-{9000 + index:04d}", kind=Kind.BOOTH,
        )  # fmt: skip

    def move(index: int) -> None:
        booth = Group.objects.get(pk=rng.choice(booths))
        services.group_move(actor=admin, group=booth, new_parent=rng.choice(acs))

    latencies(bench, f"insert a booth in {up.name} (service, full tree)", insert, SAMPLES)
    latencies(bench, f"move a booth in {up.name} (service, full tree)", move, SAMPLES)
    assert tree.check_integrity() == []
    # The services queued figure recounts; no worker runs in the bench.
    celery_app.control.purge()
