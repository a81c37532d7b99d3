"""Importing a member list: a generated 1,000,000-row CSV through the import service (COPY into
a staging table and INSERT ... ON CONFLICT on PostgreSQL), against django-import-export
importing the first 20,000 rows of the same file into the same model, in the same run; then
the database alone writing the same members, and the import's rate over it ("import / database
alone": what everything but the database costs).

The file's rows go round every booth in the tree: after groups_tree in the same run (or with
BENCH_IMPORT_TREE=full, which loads the whole reference tree first, about 928,000 booths) that is
the full tree; otherwise the booths of three states (17,676). BENCH_IMPORT_BOOTHS=N limits the
file to the first N booths of the tree (in tree order), whatever the tree holds.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from bench.harness import Bench, bench_superuser
from groups import loader
from groups import selectors as group_selectors
from groups.models import Group, Kind
from members import importing
from members.models import Member, MemberImport
from members.validation import phone_normalise

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
FULL_TREE = os.environ.get("BENCH_IMPORT_TREE", "") == "full"
BOOTHS = int(os.environ.get("BENCH_IMPORT_BOOTHS", "0"))
BASELINE_ROWS = int(os.environ.get("BENCH_IMPORT_BASELINE_ROWS", "20000"))
BENCH_RUN = uuid.uuid4().hex  # the claim the bench holds on its import, as a task would
HEADER = ["name", "local name", "mobile", "voter id", "booth code", "whatsapp consent"]
FIRST = ["Asha", "Ravi", "Sunita", "Arjun", "Meena", "Vikas", "Pooja", "Rahul"]
FIRST_HI = ["आशा", "रवि", "सुनीता", "अर्जुन", "मीना", "विकास", "पूजा", "राहुल"]


def write_file(path: Path, booths: list[str], rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow([
                f"{FIRST[n % 8]} Member {n}", f"{FIRST_HI[n % 8]} सदस्य {n}",
                f"09{n % 10}{n:08d}"[-11:], f"BEN{n % 10_000_000:07d}", booths[n % len(booths)],
                "yes" if n % 3 == 0 else "",
            ])  # fmt: skip


def empty_members() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE members_member RESTART IDENTITY CASCADE")
        else:
            cursor.execute("DELETE FROM members_consent")
            cursor.execute("DELETE FROM members_member")


def import_export_baseline(bench: Bench, path: Path) -> None:
    import tablib
    from import_export import fields, resources, widgets

    states: dict[int, int | None] = {}

    class MemberResource(resources.ModelResource):
        booth = fields.Field(attribute="booth", column_name="booth code",
                             widget=widgets.ForeignKeyWidget(Group, field="code"))  # fmt: skip
        full_name = fields.Field(attribute="full_name", column_name="name")
        name_local = fields.Field(attribute="name_local", column_name="local name")
        phone = fields.Field(attribute="phone", column_name="mobile")
        epic = fields.Field(attribute="epic", column_name="voter id")

        class Meta:
            model = Member
            fields = ("full_name", "name_local", "phone", "epic", "booth")
            import_id_fields = ("phone",)

        def before_import_row(self, row, **kwargs) -> None:
            row["mobile"] = phone_normalise(row["mobile"])

        def before_save_instance(self, instance, row, **kwargs) -> None:
            instance.tree_id = instance.booth.tree_id
            if instance.booth_id not in states:
                lineage = group_selectors.group_lineage(instance.booth)
                states[instance.booth_id] = lineage[0].pk if lineage else None
            instance.state_id = states[instance.booth_id]

    with path.open(encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        dataset = tablib.Dataset(headers=header)
        for index, row in enumerate(reader):
            if index == BASELINE_ROWS:
                break
            dataset.append(row)
    started = time.perf_counter()
    result = MemberResource().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    assert not result.has_errors()
    assert Member.objects.count() == BASELINE_ROWS
    bench.record(f"django-import-export, first {BASELINE_ROWS:,} rows", operations=BASELINE_ROWS,
                 seconds=elapsed, note=f"{BASELINE_ROWS / elapsed:,.0f} rows/s")  # fmt: skip


def database_floor(bench: Bench, *, sessions: int) -> float:
    """What this machine's database alone takes to write the same members: the rows just
    imported, copied aside, inserted again by `sessions` sessions side by side with the same
    INSERT ... ON CONFLICT, without file, checks, staging or consents. No import through the
    database can beat it; the import's rate over this one says how much the rest costs."""
    columns = ", ".join(importing.MEMBER_COLUMNS)
    extra = "languages, skills, social_handles, notes, created_at, updated_at"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_floor AS SELECT {columns} FROM members_member")
        cursor.execute("ANALYZE bench_floor")
    empty_members()
    errors: list[BaseException] = []

    def insert(part: int) -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET synchronous_commit TO OFF")
                cursor.execute(
                    f"INSERT INTO members_member ({columns}, {extra})"
                    f" SELECT {columns}, '[]', '[]', '{{}}', '', NOW(), NOW() FROM bench_floor"
                    " WHERE (hashtext(phone) & 2147483647) %% %s = %s ORDER BY phone"
                    " ON CONFLICT (phone) DO NOTHING",
                    [sessions, part],
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=insert, args=(part,)) for part in range(sessions)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor")
    assert Member.objects.count() == ROWS
    bench.record(f"database alone: the same {ROWS:,} members, INSERT ... SELECT in {sessions} "
                 "sessions (no file, checks or consents)", operations=ROWS, seconds=elapsed,
                 note=f"{ROWS / elapsed:,.0f} rows/s: the machine's ceiling")  # fmt: skip
    return ROWS / elapsed


def run(bench: Bench) -> None:
    empty_members()  # left by an earlier run when BENCH_KEEPDB keeps the database
    started = time.perf_counter()
    if FULL_TREE:
        report = loader.reference_tree_load(with_booths=True)
    else:
        report = loader.reference_tree_load(with_booths=True, state_codes=["S05", "S23", "U05"])
    print(f"  tree: {report.created_total:,} nodes added, {report.unchanged:,} there already "
          f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    booths = list(Group.objects.filter(kind=Kind.BOOTH).values_list("code", flat=True))
    if BOOTHS:  # the file over the first BOOTHS booths only, whatever the tree holds
        booths = booths[:BOOTHS]
    admin = bench_superuser("bench-import@cadreconnect.example")
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        path = folder / "members.csv"
        write_file(path, booths, ROWS)
        print(f"  {ROWS:,} rows, {path.stat().st_size / 1_048_576:.0f} MB, "
              f"{len(booths):,} booths", flush=True)  # fmt: skip
        import_export_baseline(bench, path)
        empty_members()

        media = Path(settings.MEDIA_ROOT) / "imports"
        media.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, media / "bench-members.csv")
        member_import = MemberImport.objects.create(
            created_by=admin, file="imports/bench-members.csv", original_name="members.csv",
            file_kind="csv", headers=HEADER, mapping=importing.guess_mapping(HEADER),
            notice_version="bench", status=MemberImport.Status.IMPORTING, run_token=BENCH_RUN,
        )  # fmt: skip
        # What the import task does once it holds the import: count the rows (for the
        # progress bar), then read, check and write them, with its heartbeat.
        claim = importing.Claim(member_import.pk, BENCH_RUN)
        started = time.perf_counter()
        with importing.Heartbeat(claim) as heartbeat:
            importing.count_rows(media / "bench-members.csv", "csv")
            importing.member_import_rows(member_import=member_import, dry_run=False, claim=claim,
                                         heartbeat=heartbeat)  # fmt: skip
        elapsed = time.perf_counter() - started
        writers = settings.MEMBER_IMPORT_WRITERS if connection.vendor == "postgresql" else 0
        member_import.refresh_from_db()
        assert member_import.rejected_count == 0, member_import.problems[:5]
        assert Member.objects.count() == member_import.created_count == ROWS
        imported = bench.record(f"CadreConnect import, {ROWS:,} rows (batches of "
                                f"{settings.MEMBER_IMPORT_BATCH_SIZE:,}, {writers} writer "
                                f"threads, {len(booths):,} booths)",
                                operations=ROWS, seconds=elapsed,
                                note=f"{ROWS / elapsed:,.0f} rows/s")  # fmt: skip
        (media / "bench-members.csv").unlink(missing_ok=True)
        if connection.vendor == "postgresql":
            ceiling = database_floor(bench, sessions=max(1, writers))
            ratio = ROWS / elapsed / ceiling
            imported.note += f"; import / database alone: {ratio:.2f}"
            print(
                f"  import {ROWS / elapsed:,.0f} rows/s, database alone {ceiling:,.0f} rows/s:"
                f" import / database alone {ratio:.2f} ({len(booths):,} booths)",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
