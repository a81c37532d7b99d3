"""Member figures of the group tree: how many members, active members and booths with an
active member each node has in its subtree, counted set-wise like the booth figures.

A member counts where their home booth is, whether or not the booth is still active (a
deactivated booth's members have not left the party; they wait to be moved); a booth counts
in `booths_with_active_member` only while it is active, as in `booths`.

The counts run as a receiver of the recount in groups.services (FIGURES_RECEIVERS), after the
booth figures of the trees are recounted and inside the same transaction; a change to members
marks its trees stale through groups.services.group_figures_stale. A node
counts the members of the booths in its own nested-set range, plus the stored figures of the
lower trees (assembly constituencies) hanging from a node in that range: lower trees are
counted before the trees they hang from.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from groups.models import Kind
from groups.services import LOWER_TREES_SQL, UPPER_TREES_SQL, tree_ids_sql
from members.models import Member

# Both statements run on the figures rows of the trees `trees` selects (a constant subquery or
# list of tree ids; values go in as parameters), which the recount has just written with zero
# members. First each booth's row gets its own members, counted once per booth.
_BOOTH_COUNT_SQL = """
    UPDATE groups_groupfigures
    SET members = per_booth.members, active_members = per_booth.active_members,
        booths_with_active_member = CASE
            WHEN per_booth.active_members > 0 AND per_booth.is_active THEN 1 ELSE 0 END
    FROM (
        SELECT member.booth_id, home.is_active, COUNT(*) AS members,
            SUM(CASE WHEN member.status = %(active)s THEN 1 ELSE 0 END) AS active_members
        FROM members_member member
        JOIN groups_group home ON home.id = member.booth_id
        WHERE home.tree_id IN ({trees}) AND home.kind = %(booth)s
        GROUP BY member.booth_id, home.is_active
    ) per_booth
    WHERE groups_groupfigures.group_id = per_booth.booth_id
"""
# Then every other node sums the booth rows in its range and the rows of the roots of the lower
# trees hanging from a node in its range. Booths are leaves, so this reads only rows it does not
# write; the correlated subqueries walk down each node's range on the (tree_id, lft) index.
_ROLL_UP_SQL = """
    UPDATE groups_groupfigures
    SET {assignments}
    FROM groups_group node
    WHERE groups_groupfigures.group_id = node.id AND node.tree_id IN ({{trees}})
        AND node.kind <> %(booth)s
"""
_ROLL_UP_COLUMN = """
    {column} = COALESCE((SELECT SUM(figures.{column}) FROM groups_group booth
            JOIN groups_groupfigures figures ON figures.group_id = booth.id
          WHERE booth.tree_id = node.tree_id AND booth.lft BETWEEN node.lft AND node.rght
            AND booth.kind = %(booth)s), 0)
        + COALESCE((SELECT SUM(figures.{column}) FROM groups_group inside
            JOIN groups_group lower_root ON lower_root.upper_id = inside.id
            JOIN groups_groupfigures figures ON figures.group_id = lower_root.id
          WHERE inside.tree_id = node.tree_id AND inside.lft BETWEEN node.lft AND node.rght), 0)
"""
_ROLL_UP_SQL = _ROLL_UP_SQL.format(
    assignments=",".join(
        _ROLL_UP_COLUMN.format(column=column)
        for column in ("members", "active_members", "booths_with_active_member")
    )
)


def _count(trees_sql: str, params: dict) -> None:
    params = {**params, "booth": int(Kind.BOOTH), "active": Member.Status.ACTIVE.value}
    with connection.cursor() as cursor:
        cursor.execute(_BOOTH_COUNT_SQL.format(trees=trees_sql), params)
        cursor.execute(_ROLL_UP_SQL.format(trees=trees_sql), params)


def member_figures_count(*, tree_ids: Sequence[int] | None) -> None:
    """Fill the member columns of these trees' figures rows (None: of every tree, the lower
    trees first). The national node is summed afterwards by groups.services."""
    if tree_ids is not None:
        _count(*tree_ids_sql(tree_ids))
        return
    _count(LOWER_TREES_SQL, {})
    _count(UPPER_TREES_SQL, {"national": int(Kind.NATIONAL)})
