"""Set-wise bookkeeping of the nested-set columns (tree_id, lft, rght, level).

django-mptt keeps these columns right for one-node writes. For bulk work it is far too slow
(its own `rebuild()` was measured at 554 s and 7 GB on a million nodes), so this module
computes them in one pass per tree and writes them in bulk: COPY on PostgreSQL, batched
statements elsewhere. The numbering is exactly the one mptt's `rebuild()` gives: roots by code
get tree ids 1, 2, ...; within a tree, children in code order, depth first.

Writers of a tree take its advisory lock (`lock_trees`) inside their transaction: mptt's
concurrent writes to one tree would otherwise corrupt it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction

TABLE = "groups_group"
# First key of the two-key advisory locks; the second is a tree id (0: creating roots).
LOCK_NAMESPACE = 0x47525450
FIGURES_LOCK_NAMESPACE = 0x47524649
# Writers of a tree hold this one shared while they mark its figures stale; a recount takes it
# (without waiting) before it counts the tree (groups.services, "Figures").
STALE_LOCK_NAMESPACE = 0x47525354
ROOTS_LOCK = 0


def lock_trees(*tree_ids: int) -> None:
    """Serialise writes to these trees until the current transaction ends.

    PostgreSQL: transaction-scoped advisory locks, taken in ascending order so that two movers
    never deadlock. SQLite has one writer at a time already (transactions start IMMEDIATE).
    """
    advisory_locks(LOCK_NAMESPACE, tree_ids)


@contextmanager
def session_claim(namespace: int, key: int = 0) -> Iterator[bool]:
    """Hold a one-process claim (namespace, key) for the block, if no other process holds it:
    yields whether it is held, never waits.

    PostgreSQL: a session advisory lock, which goes with the connection when the process dies
    (a killed worker leaves no claim behind). SQLite: always held; it has one writer at a time.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
            except DatabaseError:
                # A connection that cannot say unlock must not live on holding the claim.
                connection.close()


def session_claim_held(namespace: int, key: int = 0) -> bool:
    """Whether some process holds the claim (namespace, key) now, asked without taking it (a
    page that must tell a live worker from a dead one). SQLite: never known, so False."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        # A two-key advisory lock shows as classid, objid and objsubid 2, in its database.
        cursor.execute(
            """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                   AND classid = %s AND objid = %s AND objsubid = 2
                   AND database = (SELECT oid FROM pg_database
                                   WHERE datname = current_database()))""",
            [namespace, key],
        )
        return bool(cursor.fetchone()[0])


def figures_claim():
    """Hold the one claim on recounting figures, if no other process holds it: yields whether
    it is held. Recounts of different trees write the same rows (a state's, the national
    node's), so one process recounts at a time, and a recount that finds the claim taken leaves
    its work to the holder (groups.services.group_figures_refresh_stale). On SQLite each
    recount is one transaction, so two at once do the work twice, never wrong."""
    return session_claim(FIGURES_LOCK_NAMESPACE)


def advisory_locks(namespace: int, keys, *, shared: bool = False) -> None:
    """Transaction-scoped advisory locks on these keys, in ascending order, waiting for each;
    shared ones (`shared=True`) keep out only exclusive holders."""
    assert connection.in_atomic_block, "advisory locks must be taken inside transaction.atomic()"
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute(f"SELECT {function}(%s, %s)", [namespace, key])


def advisory_locks_try(namespace: int, keys) -> list[int]:
    """Take the transaction-scoped advisory locks on these keys that no one else holds, without
    waiting (so never in a deadlock); returns the keys locked. SQLite: all of them."""
    assert connection.in_atomic_block, "advisory locks must be taken inside transaction.atomic()"
    keys = sorted(set(keys))
    if connection.vendor != "postgresql" or not keys:
        return keys
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key FROM unnest(%s::integer[]) key WHERE pg_try_advisory_xact_lock(%s, key)",
            [keys, namespace],
        )
        return sorted(key for (key,) in cursor.fetchall())


@dataclass(frozen=True, slots=True)
class Numbered:
    id: int
    tree_id: int
    lft: int
    rght: int
    level: int


def number_tree(
    *, root_id: int, tree_id: int, edges: Iterable[tuple[int, int | None, str]]
) -> Iterator[Numbered]:
    """Nested-set numbers of one tree, from (id, parent_id, code) rows (any order).

    Children are visited in code order, as mptt's rebuild() does with order_insertion_by.
    Iterative, so depth is no concern. Rows not reachable from the root are ignored.
    """
    children: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for node_id, parent_id, code in edges:
        if parent_id is not None:
            children[parent_id].append((code, node_id))
    for siblings in children.values():
        siblings.sort()

    counter = 2
    stack: list[tuple[int, int, int, Iterator[tuple[str, int]]]] = [
        (root_id, 1, 0, iter(children.get(root_id, ())))
    ]
    while stack:
        node_id, lft, level, pending = stack[-1]
        following = next(pending, None)
        if following is None:
            stack.pop()
            yield Numbered(node_id, tree_id, lft, counter, level)
            counter += 1
        else:
            child_id = following[1]
            stack.append((child_id, counter, level + 1, iter(children.get(child_id, ()))))
            counter += 1


def subtree_rows(root_id: int) -> list[tuple[int, int | None, str, int, int, int, int]]:
    """(id, parent_id, code, tree_id, lft, rght, level) of every node under a root, found by
    following parent links (not the nested-set columns, which may be wrong)."""
    # The columns are read in the recursion itself: joining the ids back to the table made
    # PostgreSQL hash the whole table for each tree (0.3 s per constituency with 72,000 nodes).
    columns = "id, parent_id, code, tree_id, lft, rght, level"
    sql = f"""
        WITH RECURSIVE subtree({columns}) AS (
            SELECT {columns} FROM {TABLE} WHERE id = %s
            UNION ALL
            SELECT child.id, child.parent_id, child.code, child.tree_id, child.lft, child.rght,
                child.level
            FROM {TABLE} child JOIN subtree ON child.parent_id = subtree.id
        )
        SELECT {columns} FROM subtree
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [root_id])
        return cursor.fetchall()


@dataclass
class RebuildReport:
    trees: int = 0
    nodes: int = 0
    changed: int = 0


def rebuild_trees(*, root_ids: Sequence[int] | None = None, dry_run: bool = False) -> RebuildReport:
    """Recompute the nested-set columns from the parent links and write the rows that differ.

    Without `root_ids`, every tree: roots in code order get tree ids 1, 2, ... (as mptt's
    rebuild() numbers them). With `root_ids`, only those trees, each keeping its tree id.
    Runs in one transaction holding the locks of every tree it touches.
    """
    from groups.models import Group

    report = RebuildReport()
    with transaction.atomic():
        roots = list(
            Group.objects.filter(parent__isnull=True).order_by("code").values_list("id", "tree_id")
        )
        if root_ids is None:
            plan = [(root_id, index) for index, (root_id, _) in enumerate(roots, start=1)]
            lock_trees(ROOTS_LOCK, *(tree_id for _, tree_id in roots))
        else:
            wanted = set(root_ids)
            plan = [(root_id, tree_id) for root_id, tree_id in roots if root_id in wanted]
            lock_trees(*(tree_id for _, tree_id in plan))
        for root_id, tree_id in plan:
            rows = subtree_rows(root_id)
            current = {row[0]: row[3:] for row in rows}
            changed = [
                numbered
                for numbered in number_tree(
                    root_id=root_id, tree_id=tree_id, edges=(row[:3] for row in rows)
                )
                if current[numbered.id]
                != (numbered.tree_id, numbered.lft, numbered.rght, numbered.level)
            ]
            report.trees += 1
            report.nodes += len(rows)
            report.changed += len(changed)
            if changed and not dry_run:
                write_numbers(changed)
    return report


def write_numbers(numbers: Sequence[Numbered]) -> None:
    """Set tree_id, lft, rght and level of existing rows."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE groups_numbers (id bigint PRIMARY KEY, tree_id integer,"
                " lft integer, rght integer, level integer) ON COMMIT DROP"
            )
            copy_rows(
                cursor,
                "groups_numbers",
                ["id", "tree_id", "lft", "rght", "level"],
                ((n.id, n.tree_id, n.lft, n.rght, n.level) for n in numbers),
            )
            cursor.execute(
                f"UPDATE {TABLE} node SET tree_id = numbers.tree_id, lft = numbers.lft,"
                " rght = numbers.rght, level = numbers.level"
                " FROM groups_numbers numbers WHERE node.id = numbers.id"
            )
            cursor.execute("DROP TABLE groups_numbers")
        else:
            cursor.executemany(
                f"UPDATE {TABLE} SET tree_id = %s, lft = %s, rght = %s, level = %s WHERE id = %s",
                [(n.tree_id, n.lft, n.rght, n.level, n.id) for n in numbers],
            )


COPY_BATCH = 50_000


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Stream rows into a PostgreSQL table with COPY, in batches; None becomes NULL."""
    raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    total = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    pending = 0
    for row in rows:
        writer.writerow(["\\N" if value is None else value for value in row])
        pending += 1
        if pending == COPY_BATCH:
            buffer.seek(0)
            raw.copy_expert(statement, buffer)
            total += pending
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            pending = 0
    if pending:
        buffer.seek(0)
        raw.copy_expert(statement, buffer)
        total += pending
    return total


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert many rows fast: COPY on PostgreSQL, batched INSERTs elsewhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return copy_rows(cursor, table, columns, rows)
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)})"
            f" VALUES ({', '.join(['%s'] * len(columns))})"
        )
        total = 0
        batch: list[Sequence] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                cursor.executemany(statement, batch)
                total += len(batch)
                batch = []
        if batch:
            cursor.executemany(statement, batch)
            total += len(batch)
        return total


def reserve_ids(table: str, count: int) -> range:
    """Ids for `count` new rows inserted with explicit ids; hold a write lock on the table
    (the loader does) so nothing else takes them meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        highest = cursor.fetchone()[0]
    return range(highest + 1, highest + 1 + count)


def sync_id_sequence(table: str) -> None:
    """After explicit-id inserts, move PostgreSQL's id sequence past the highest id."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",
            [table],
        )


def lock_table_for_load(table: str) -> None:
    """Keep other writers out of the table while a bulk load runs (readers go on)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


# --- Integrity ------------------------------------------------------------------------------

INTEGRITY_CHECKS: list[tuple[str, str]] = [
    (
        "nodes whose lft is not below rght, or whose span is even",
        f"SELECT id FROM {TABLE} WHERE lft >= rght OR MOD(rght - lft, 2) = 0",
    ),
    (
        "roots not numbered from 1 at level 0",
        f"SELECT id FROM {TABLE} WHERE parent_id IS NULL AND (lft <> 1 OR level <> 0)",
    ),
    (
        "trees with more than one root",
        f"SELECT MIN(id) FROM {TABLE} WHERE parent_id IS NULL GROUP BY tree_id HAVING COUNT(*) > 1",
    ),
    (
        "children outside their parent's range, tree or level",
        f"""SELECT child.id FROM {TABLE} child JOIN {TABLE} parent ON parent.id = child.parent_id
            WHERE child.tree_id <> parent.tree_id OR child.lft <= parent.lft
               OR child.rght >= parent.rght OR child.level <> parent.level + 1""",
    ),
    (
        "trees whose root span does not match their node count",
        f"""SELECT root.id FROM {TABLE} root JOIN (
                SELECT tree_id, COUNT(*) AS nodes FROM {TABLE} GROUP BY tree_id
            ) sizes ON sizes.tree_id = root.tree_id
            WHERE root.parent_id IS NULL AND root.rght <> 2 * sizes.nodes""",
    ),
    (
        "numbers used twice within a tree",
        f"""SELECT MIN(id) FROM (
                SELECT id, tree_id, lft AS number FROM {TABLE}
                UNION ALL SELECT id, tree_id, rght FROM {TABLE}
            ) numbers GROUP BY tree_id, number HAVING COUNT(*) > 1""",
    ),
    (
        "siblings not in code order",
        f"""SELECT id FROM (
                SELECT id, code, LAG(code) OVER (PARTITION BY parent_id ORDER BY lft) AS previous
                FROM {TABLE} WHERE parent_id IS NOT NULL
            ) ordered WHERE previous IS NOT NULL AND previous >= code""",
    ),
    (
        "nodes with both a parent and a node above their tree",
        f"SELECT id FROM {TABLE} WHERE parent_id IS NOT NULL AND upper_id IS NOT NULL",
    ),
    (
        "tree roots whose kind is not deeper than the node above them",
        f"""SELECT root.id FROM {TABLE} root JOIN {TABLE} above ON above.id = root.upper_id
            WHERE root.kind <= above.kind""",
    ),
    (
        "tree roots hanging from a tree that hangs from another",
        f"""SELECT root.id FROM {TABLE} root
            JOIN {TABLE} above ON above.id = root.upper_id
            JOIN {TABLE} top ON top.tree_id = above.tree_id AND top.parent_id IS NULL
            WHERE top.upper_id IS NOT NULL""",
    ),
    (
        "children whose kind is not deeper than their parent's",
        f"""SELECT child.id FROM {TABLE} child JOIN {TABLE} parent ON parent.id = child.parent_id
            WHERE child.kind <= parent.kind""",
    ),
]


@dataclass
class IntegrityProblem:
    description: str
    count: int
    example_ids: list[int]


def check_integrity(*, examples: int = 5) -> list[IntegrityProblem]:
    """Set-wise checks of the nested-set columns; an empty list means the table is sound."""
    problems = []
    with connection.cursor() as cursor:
        for description, sql in INTEGRITY_CHECKS:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) found")
            count = cursor.fetchone()[0]
            if count:
                cursor.execute(f"SELECT * FROM ({sql}) found ORDER BY 1 LIMIT %s", [examples])
                problems.append(
                    IntegrityProblem(description, count, [row[0] for row in cursor.fetchall()])
                )
    return problems


def analyze(table: str) -> None:
    """Refresh PostgreSQL's statistics after a bulk write: with stale ones the planner picks
    plans that take minutes instead of a second for range joins on the tree."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
