"""Member figures of the group tree: how many members, active members and booths with an
active member each node has in its subtree, counted set-wise like the booth figures.

A member counts where their home booth is, whether or not the booth is still active (a
deactivated booth's members have not left the party; they wait to be moved); a booth counts
in `booths_with_active_member` only while it is active, as in `booths`.

The counts run as a receiver of groups.services.group_figures_refresh (FIGURES_RECEIVERS),
after the booth figures of a tree are recounted and inside the same transaction. A node
counts the members of the booths in its own nested-set range, plus the stored figures of the
lower trees (assembly constituencies) hanging from a node in that range: lower trees are
counted before the trees they hang from.
"""

from __future__ import annotations

from django.db import connection, transaction

from groups.models import Kind
from groups.services import LOWER_TREES_SQL, UPPER_TREES_SQL
from members.models import Member

# `trees` is a constant subquery of tree ids; values go in as parameters.
_MEMBER_COUNT_SQL = """
    UPDATE groups_groupfigures
    SET members = counts.members, active_members = counts.active_members,
        booths_with_active_member = counts.booths_with_active_member
    FROM (
        SELECT node.id AS group_id,
            COALESCE(own.members, 0) + COALESCE(below.members, 0) AS members,
            COALESCE(own.active_members, 0) + COALESCE(below.active_members, 0)
                AS active_members,
            COALESCE(own.booths_with_active_member, 0)
                + COALESCE(below.booths_with_active_member, 0) AS booths_with_active_member
        FROM groups_group node
        -- The members of the booths in the node's own range: counted per booth once, then
        -- summed over the range.
        LEFT JOIN (
            SELECT node.id AS group_id, SUM(per_booth.members) AS members,
                SUM(per_booth.active_members) AS active_members,
                SUM(CASE WHEN per_booth.active_members > 0 AND booth.is_active
                    AND booth.kind = %(booth)s THEN 1 ELSE 0 END) AS booths_with_active_member
            FROM groups_group node
            JOIN groups_group booth ON booth.tree_id = node.tree_id
                AND booth.lft BETWEEN node.lft AND node.rght
            JOIN (
                SELECT member.booth_id, COUNT(*) AS members,
                    SUM(CASE WHEN member.status = %(active)s THEN 1 ELSE 0 END)
                        AS active_members
                FROM members_member member
                JOIN groups_group home ON home.id = member.booth_id
                WHERE home.tree_id IN ({trees})
                GROUP BY member.booth_id
            ) per_booth ON per_booth.booth_id = booth.id
            WHERE node.tree_id IN ({trees})
            GROUP BY node.id
        ) own ON own.group_id = node.id
        -- The lower trees hanging from a node in the range, as their roots' figures stand.
        LEFT JOIN (
            SELECT node.id AS group_id, SUM(figures.members) AS members,
                SUM(figures.active_members) AS active_members,
                SUM(figures.booths_with_active_member) AS booths_with_active_member
            FROM groups_group node
            JOIN groups_group inside ON inside.tree_id = node.tree_id
                AND inside.lft BETWEEN node.lft AND node.rght
            JOIN groups_group lower_root ON lower_root.upper_id = inside.id
            JOIN groups_groupfigures figures ON figures.group_id = lower_root.id
            WHERE node.tree_id IN ({trees})
            GROUP BY node.id
        ) below ON below.group_id = node.id
        WHERE node.tree_id IN ({trees})
    ) counts
    WHERE groups_groupfigures.group_id = counts.group_id
"""


def _count(trees_sql: str, params: dict) -> None:
    params = {**params, "booth": int(Kind.BOOTH), "active": Member.Status.ACTIVE.value}
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_COUNT_SQL.format(trees=trees_sql), params)


def member_figures_count(*, tree_id: int | None) -> None:
    """Fill the member columns of one tree's figures rows (None: of every tree, the lower
    trees first). The national node is summed afterwards by groups.services."""
    if tree_id is not None:
        _count("%(tree)s", {"tree": tree_id})
        return
    _count(LOWER_TREES_SQL, {})
    _count(UPPER_TREES_SQL, {"national": int(Kind.NATIONAL)})


class _PendingRecounts:
    """The trees a transaction changed members of, recounted once it commits."""

    def __init__(self) -> None:
        self.tree_ids: set[int] = set()

    def __call__(self) -> None:
        from groups.tasks import group_figures_refresh

        for tree_id in sorted(self.tree_ids):
            group_figures_refresh.delay(tree_id)


def member_figures_refresh_on_commit(*tree_ids: int) -> None:
    """Queue a recount of these trees after the transaction commits, once per tree however
    many members the transaction changes (registering the demo's 300 members, say)."""
    db = transaction.get_connection()
    pending = getattr(db, "member_figures_pending", None)
    # The callback is still to run unless the transaction (or the savepoint it was added in)
    # rolled back, which drops it from the connection's list.
    if pending is None or not any(entry[1] is pending for entry in db.run_on_commit):
        pending = db.member_figures_pending = _PendingRecounts()
        pending.tree_ids.update(tree_ids)
        transaction.on_commit(pending)
    else:
        pending.tree_ids.update(tree_ids)
