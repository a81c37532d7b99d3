"""Keeping the register right when the group tree changes (hooks in groups.services)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, OuterRef, Subquery

from groups import selectors as group_selectors
from groups.models import Group, Kind
from members.models import Member, Membership


def members_follow_move(*, group: Group) -> None:
    """A subtree moved: its members' tree and state columns follow, set-wise."""
    lineage = group_selectors.group_lineage(group)
    state = lineage[0] if lineage else (group if group.kind == Kind.STATE else None)
    booths = group_selectors.group_subtree(group).filter(kind=Kind.BOOTH).values("pk")
    Member.objects.filter(booth__in=booths).update(
        tree_id=Subquery(Group.objects.filter(pk=OuterRef("booth_id")).values("tree_id")[:1]),
        state=state,
    )


def members_follow_merge(*, source: Group, survivor: Group) -> int:
    """Booth `source` is merged into `survivor`: its members and memberships move there."""
    lineage = group_selectors.group_lineage(survivor)
    moved = Member.objects.filter(booth=source).update(
        booth=survivor, tree_id=survivor.tree_id, state=lineage[0] if lineage else None
    )
    already = Membership.objects.filter(group=survivor).values("member_id")
    moved += (
        Membership.objects.filter(group=source)
        .exclude(member_id__in=already)
        .update(group=survivor)
    )
    Membership.objects.filter(group=source).delete()
    return moved


def members_follow_trees(*, tree_ids: list[int], state_id: int | None) -> int:
    """A delimitation moved booths between these trees, or these trees to another state: the
    members of their booths take their booth's tree and this state, set-wise (one UPDATE,
    whatever their number), writing only the rows that change; returns how many."""
    if not tree_ids:
        return 0
    placeholders = ", ".join(["%s"] * len(tree_ids))
    if state_id is None:
        state_differs, params = "member.state_id IS NOT NULL", []
    else:
        state_differs = "member.state_id IS NULL OR member.state_id <> %s"
        params = [state_id]
    # The placeholders are "%s" only; every value goes in as a parameter.
    sql = f"""
        UPDATE members_member AS member SET tree_id = booth.tree_id, state_id = %s
        FROM groups_group booth
        WHERE booth.id = member.booth_id AND booth.tree_id IN ({placeholders})
          AND (member.tree_id <> booth.tree_id OR {state_differs})
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [state_id, *tree_ids, *params])
        return cursor.rowcount


def members_in_booths(*, booths) -> dict[int, int]:
    """How many members have their home in each of these booths (those waiting for
    placement), by booth id; booths without members are left out."""
    return dict(
        Member.objects.filter(booth__in=booths).order_by().values("booth")
        .annotate(members=Count("pk")).values_list("booth", "members")
    )  # fmt: skip
